"""Demo data of SPEC §Y: 山西省 with 太原市 and 运城市; all names fictitious. Here the
organisations and accounts every module shares; each module's records in app/demo/<module>.py,
loaded through its declaration (Module.demo)."""
import io
import zipfile

from werkzeug.datastructures import FileStorage

from app.extensions import appbuilder, db
from app.models.core import Announcement, Organization, Region, User
from app.module import modules
from app.services import accounts

DEMO_PASSWORD = "Demo@2026"

# login, organisation name, org type, level, region code
ORGS = [
    ("nhc", "国家卫生健康委员会", "national", "nation", "000000"),
    ("sx_hc", "山西省卫生健康委员会", "health_commission", "province", "140000"),
    ("sx_agency", "山西省疾病应急救助经办机构", "agency", "province", "140000"),
    ("sx_ybj", "山西省医疗保障局", "insurance_bureau", "province", "140000"),
    ("ty_hc", "太原市卫生健康委员会", "health_commission", "city", "140100"),
    ("ty_agency", "太原市疾病应急救助经办机构", "agency", "city", "140100"),
    ("ty_ybj", "太原市医疗保障局", "insurance_bureau", "city", "140100"),
    ("yc_agency", "运城市疾病应急救助经办机构", "agency", "city", "140800"),
    ("ty_hosp1", "太原市第一人民医院", "medical", "county", "140105"),
    ("ty_hosp2", "太原市中心医院", "medical", "county", "140106"),
    ("yc_hosp1", "运城市中心医院", "medical", "county", "140802"),
    ("xd_county", "小店区卫生健康局", "health_commission", "county", "140105"),
    ("xd_town1", "小店区北格镇卫生院", "medical", "township", "140105"),
    ("ty_employer", "太原重型机械有限公司", "employer", "county", "140105"),
    # 体外诊断试剂报量: the 运城 and 省本级 reviewers and hospitals in every state
    ("yc_ybj", "运城市医疗保障局", "insurance_bureau", "city", "140800"),
    ("sx_sbj", "山西省省本级医疗保障局", "insurance_bureau", "city", "149900"),
    ("ty_hosp3", "太原市第三人民医院", "medical", "county", "140107"),
    ("ty_mch", "太原市妇幼保健院", "medical", "county", "140109"),
    ("yc_hosp2", "运城市第二人民医院", "medical", "county", "140802"),
    ("sx_hosp", "山西省人民医院", "medical", "city", "149900"),
]
EXTRA_USERS = [("ty_maint", "太原市第一人民医院", "机构信息维护员")]


def region(code):
    return db.session.execute(db.select(Region).where(Region.code == code)).scalar_one()


def ensure_admin(username="admin", password=DEMO_PASSWORD, org=None):
    sm = appbuilder.sm
    user = sm.find_user(username=username)
    if user is None:
        user = User(username=username, first_name="超级管理员", last_name="",
                    email=f"{username}@users.invalid", active=True, organization=org)
        db.session.add(user)
    user.roles = [sm.find_role("Admin"), sm.find_role("P 基础")]
    sm.set_password(user, password)
    db.session.commit()
    return user


def make_org(name, org_type, level, code):
    r = region(code)
    org = Organization(name=name, org_type=org_type, level=level, region=r,
                       unit_code=accounts.next_unit_code(r), province_code=r.province_code,
                       city_code=r.city_code, county_code=r.county_code,
                       category="综合医院" if org_type == "medical" else None,
                       grade="三级甲等" if org_type == "medical" and level == "county" else None)
    db.session.add(org)
    db.session.flush()
    return org


def load_demo():
    """Loads once, on a database with no demo accounts; returns False when kept."""
    if db.session.execute(db.select(User.id).where(User.username == "ty_hosp1")).first():
        return False
    orgs, users = {}, {}
    for login, name, org_type, level, code in ORGS:
        orgs[login] = make_org(name, org_type, level, code)
    admin = ensure_admin(org=orgs["nhc"])
    for login, name, *_ in ORGS:
        users[login] = accounts.create_user(admin, orgs[login], login, name,
                                            password=DEMO_PASSWORD, must_change=False)
    for login, org_name, display in EXTRA_USERS:
        org = next(o for o in orgs.values() if o.name == org_name)
        accounts.create_user(admin, org, login, display, password=DEMO_PASSWORD,
                             must_change=False, roles=["P 基础"])
    db.session.commit()
    for module in modules():
        if module.demo:
            module.demo(orgs, users)
    db.session.add(Announcement(title="关于做好2026年度疾病应急救助工作的通知",
                                content="请各医疗机构按时提交救助申请，经办机构及时审核。"))
    db.session.commit()
    return True


def demo_zip(name):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("说明.txt", f"{name}（演示材料）")
    buf.seek(0)
    return FileStorage(stream=buf, filename=f"{name}.zip")
