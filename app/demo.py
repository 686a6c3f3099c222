"""Demo data of SPEC §Y: 山西省 with 太原市 and 运城市; all names fictitious."""
import datetime as dt
import io
import zipfile
from decimal import Decimal

from werkzeug.datastructures import FileStorage

from app.extensions import appbuilder, db
from app.models.core import Announcement, Organization, Region, User
from app.models.relief import ReliefApplication, ReliefPrepayment
from app.services import accounts, files
from app.workflows import engine
from app.workflows.relief import SLOTS, ApplicationFlow

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
    load_relief(orgs, users)
    load_relief_reporting(orgs, users)
    from app.demo_ivd import load_ivd
    load_ivd(orgs, users)
    from app.demo_injury import load_injury
    load_injury(orgs, users)
    from app.demo_phs import load_phs
    load_phs(orgs, users)
    from app.demo_registry import load_registry
    load_registry(orgs, users)
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


def new_application(org, n, category="unable_to_pay"):
    start = dt.datetime(2026, 3, 1, 8, 0) + dt.timedelta(days=n)
    medical, living = Decimal("12000.50") + n * 100, Decimal("800.00")
    app = ReliefApplication(
        organization=org, category=category, relief_place=f"{org.name}急诊科",
        start_at=start, end_at=start + dt.timedelta(days=7), disease="急性心肌梗死",
        emergency_cost=Decimal("3000.00"), medical_cost=medical, living_cost=living,
        requested_amount=medical + living, state="draft")
    if category == "unable_to_pay":
        app.patient_name, app.gender, app.id_number = f"患者{n:02d}", "1", "310115199003071239"
        app.age, app.nationality, app.household_address = 36, "中国", "山西省太原市小店区"
    app.copy_scope_from(org)
    db.session.add(app)
    db.session.flush()
    return app


def load_relief(orgs, users):
    hosp = orgs["ty_hosp1"]
    for n, (amount, day) in enumerate([("50000.00", 10), ("30000.00", 40), ("20000.00", 100)]):
        db.session.add(ReliefPrepayment(organization=hosp, amount=Decimal(amount),
                                        paid_on=dt.date(2026, 1, 1) + dt.timedelta(days=day),
                                        remark=f"2026年第{n + 1}批预拨款",
                                        province_code=hosp.province_code,
                                        city_code=hosp.city_code, county_code=hosp.county_code))
    plan = {"draft": [], "submitted": ["submit"], "returned": ["submit", "send_back"],
            "approved": ["submit", "approve"], "rejected": ["submit", "reject"],
            "disbursed": ["submit", "approve", "disburse"]}
    n = 0
    for org_key, agency_key in (("ty_hosp1", "ty_agency"), ("ty_hosp2", "ty_agency"),
                                ("yc_hosp1", "yc_agency")):
        for state, steps in plan.items():
            n += 1
            app = new_application(orgs[org_key], n, "unidentified" if n % 5 == 0 else
                                  "unable_to_pay")
            for slot in SLOTS[:2]:
                files.attach(app, slot, demo_zip(str(slot.label)), users[org_key])
            db.session.commit()
            review = {"poverty": "0", "low_income": "0", "comment": "材料不全，请补充"}
            for step in steps:
                actor = users[org_key] if step == "submit" else users[agency_key]
                data = dict(review, disbursed_amount=str(app.requested_amount),
                            disbursed_on="2026-04-01")
                engine.apply(ApplicationFlow, app, step, actor, data)


def load_relief_reporting(orgs, users):
    """A finished and a running report task, one report awaiting review, an evaluation
    and a recovery, so that every R7–R10 screen has something to show."""
    from app.models.relief import ReliefApplication, ReliefReport, ReliefReportTask
    from app.workflows.relief import ReliefReportFlow, evaluate, extract_figures
    # The demo applications were 'submitted' in spring: date them so, for the first task.
    for app in db.session.execute(db.select(ReliefApplication)).scalars():
        if app.submitted_at is not None:
            app.submitted_at = app.start_at + dt.timedelta(days=1)
            if app.reviewed_at is not None:
                app.reviewed_at = app.start_at + dt.timedelta(days=3)
    first = ReliefReportTask(name="2026年上半年", period_start=dt.date(2026, 1, 1),
                             period_end=dt.date(2026, 6, 30), deadline=dt.date(2026, 7, 31))
    second = ReliefReportTask(name="2026年下半年", period_start=dt.date(2026, 7, 1),
                              period_end=dt.date(2026, 12, 31), deadline=dt.date(2027, 1, 31))
    db.session.add_all([first, second])
    db.session.commit()
    org = orgs["ty_hosp2"]
    report = ReliefReport(task_id=first.id, organization_id=org.id, kind="unit", state="draft",
                          **extract_figures(org, first))
    report.copy_scope_from(org)
    db.session.add(report)
    db.session.commit()
    engine.apply(ReliefReportFlow, report, "submit", users["ty_hosp2"])
    disbursed = db.session.execute(db.select(ReliefApplication).where(
        ReliefApplication.organization_id == orgs["ty_hosp1"].id,
        ReliefApplication.state == "disbursed")).scalars().first()
    if disbursed is not None:
        evaluate(disbursed, users["ty_agency"], 92, "材料齐全，救治及时。")
