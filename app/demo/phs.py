"""基本公卫 demo (SPEC §Y, H1–H6): 小店区 with units and village clinics in every state, 迎泽区
already reported to 太原市, and the 盐湖区 → 运城市 → 山西省 chain with a change request on
its way up. Everything goes through the services and the engine, as a user would do it."""
from app.demo import make_org
from app.extensions import appbuilder, db
from app.models.core import User
from app.models.phs import PhsRound
from app.services import accounts
from app.services.phs import changes as phs_changes
from app.services.phs import affiliation, commands, queries
from app.workflows import engine
from app.workflows.phs import PhsReportFlow

DEMO_PASSWORD = "Demo@2026"


def _items(n, inst_type, services=("01", "02", "03", "04", "05", "06", "07", "08")):
    return {"code": f"PDY{60000 + n:05d}14010511A1001", "contact": f"联系人{n:02d}",
            "phone": f"0351-76{n:05d}", "address_detail": f"{n}号", "inst_type": inst_type,
            "sponsor": "1", "longitude": f"{112.56 + n / 1000:.6f}",
            "latitude": f"{37.73 + n / 1000:.6f}", "services": list(services)}


def _unit(county_user, name, township, n, inst_type="township_hospital"):
    values = dict(_items(n, inst_type), name=name, township=township)
    inst = commands.add_institution(county_user, values)
    account = db.session.execute(db.select(User).where(
        User.organization_id == inst.organization_id)).scalar_one()
    appbuilder.sm.set_password(account, DEMO_PASSWORD)
    account.must_change_password = False
    db.session.commit()
    return inst, account


def _station(unit_user, name, n, complete=True, inst_type="village_clinic"):
    values = dict(_items(n, inst_type, ("01", "02", "03", "06", "07", "08")), name=name,
                  township=None)
    if not complete:
        values.update(longitude="", latitude="", services=[])
    return commands.add_institution(unit_user, values)


def _dismiss_hospitals(county_user):
    """The county's hospitals of the old report system take no part (机构隶属关系维护)."""
    hospitals = [o.id for o in queries.unattached_orgs(county_user.organization)
                 if o.name.endswith("医院") and "卫生院" not in o.name]
    if hospitals:
        affiliation.dismiss_existing(county_user, hospitals, "医院不承担基本公共卫生服务项目任务")


def _report(user, name, comment=None):
    org = user.organization
    return engine.apply(PhsReportFlow, queries.report_of(org), name, user,
                        {"comment": comment} if comment else {})


def _review(user, unit_org, name, comment=None):
    return engine.apply(PhsReportFlow, queries.report_of(unit_org), name, user,
                        {"comment": comment} if comment else {})


def load_phs(orgs, users):
    db.session.add(PhsRound(name="2026年度医疗卫生机构信息报送"))
    db.session.commit()
    make = _org_maker(orgs)
    xd = users["xd_county"]
    # 小店区: 北格镇卫生院 exists (old report system) and is attached; its 张花村 clinic is
    # still incomplete, so its 上报 is refused until that is filled.
    commands.attach_existing(xd, [orgs["xd_town1"].id], orgs["xd_county"].id)
    town1 = users["xd_town1"]
    own = queries.unit_institution(orgs["xd_town1"])
    commands.save(own, dict(_items(1, "township_hospital"), township="北格镇"), town1)
    _station(town1, "小店区北格镇北格村卫生室", 2)
    _station(town1, "小店区北格镇张花村卫生室", 3, complete=False)
    make("xd_town2", "小店区黄陵乡卫生院", "medical", "township", "140105")  # to attach
    units = {}
    for key, name, township, n, kind in (
            ("xwz", "小店区西温庄乡卫生院", "西温庄乡", 11, "township_hospital"),
            ("wc", "小店区坞城街道社区卫生服务中心", "坞城街道", 12, "community_center"),
            ("ljb", "小店区刘家堡乡卫生院", "刘家堡乡", 13, "township_hospital"),
            ("cdc", "小店区疾病预防控制中心", "", 14, "cdc"),
            ("yp", "小店区营盘社区卫生服务站", "营盘街道", 15, "community_station")):
        units[key] = _unit(xd, name, township or "营盘街道", n, kind)
    _station(units["xwz"][1], "小店区西温庄乡西温庄村卫生室", 21)
    _station(units["wc"][1], "小店区坞城街道大马社区卫生服务站", 22, inst_type="community_station")
    _station(units["wc"][1], "小店区坞城街道双塔社区卫生服务站", 23, inst_type="community_station")
    for key in ("xwz", "wc", "ljb", "cdc", "yp"):
        _report(units[key][1], "submit")
    for key in ("wc", "cdc", "yp"):
        _review(xd, units[key][0].organization, "approve")
    _review(xd, units["ljb"][0].organization, "reject", "经纬度有误，请核实后重新上报")

    # 迎泽区: every unit 通过, the county has confirmed and reported to 太原市.
    yz = make("yz_county", "迎泽区卫生健康局", "health_commission", "county", "140106")
    for n, (name, township, station) in enumerate((
            ("迎泽区郝庄镇卫生院", "郝庄镇", "迎泽区郝庄镇郝庄村卫生室"),
            ("迎泽区桥东街道社区卫生服务中心", "桥东街道", "迎泽区桥东街道朝阳社区卫生服务站")), 31):
        inst, account = _unit(yz, name, township, n)
        _station(account, station, n + 10,
                 inst_type="community_station" if station.endswith("服务站") else "village_clinic")
        _report(account, "submit")
        _review(yz, inst.organization, "approve")
    _dismiss_hospitals(yz)
    _report(yz, "confirm")

    # 盐湖区 → 运城市 → 山西省: reported all the way to the province; a change request of
    # 盐湖区 waits at 运城市, which has to pass it up to the province that holds the data.
    yc = make("yc_hc", "运城市卫生健康委员会", "health_commission", "city", "140800")
    yh = make("yh_county", "盐湖区卫生健康局", "health_commission", "county", "140802")
    inst, account = _unit(yh, "盐湖区龙居镇卫生院", "龙居镇", 41)
    _station(account, "盐湖区龙居镇龙居村卫生室", 42)
    _report(account, "submit")
    _review(yh, inst.organization, "approve")
    _dismiss_hospitals(yh)
    _report(yh, "confirm")
    _report(yc, "confirm")
    phs_changes.create(yh, {"kind": "modify", "institution": inst.id,
                            "content": {"phone": "0359-2612345", "contact": "李红"},
                            "reason": "联系人调整，联系电话随之变更"})


def _org_maker(orgs):
    def make(login, name, org_type, level, code):
        org = make_org(name, org_type, level, code)
        org.category = None
        org.grade = None
        orgs[login] = org
        admin = db.session.execute(db.select(User).where(User.username == "admin")).scalar_one()
        user = accounts.create_user(admin, org, login, name, password=DEMO_PASSWORD,
                                    must_change=False)
        db.session.commit()
        return user
    return make
