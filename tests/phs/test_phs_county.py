"""基本公卫: the county's own screens (issue 22 items 1, 4, 5, 6, 11): a unit added twice is
refused, a unit added by mistake is deleted with its account disabled, the new unit's
account slip, existing institutions attached or marked 不参与本次报送 before 确认并上报 and
released again while the county has not reported, stations need their type and an address
its 门牌号."""
from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import Organization, User
from app.models.phs import PhsInstitution
from app.services.phs import affiliation, queries
from tests.conftest import flashes, user
from phs_flow_support import (GOOD, inst, org_of, report, xiaodian_reported, xiaodian_settled,
                              xiaodian_units_ready)


def text(r):
    return r.get_data(as_text=True)


def orgs_count():
    return db.session.scalar(select(func.count(Organization.id)))


def waiting_names(login="xd_county"):
    return [o.name for o in queries.unattached_orgs(org_of(login))]


NEW_UNIT = {"name": "小店区测试乡卫生院", "township": "测试乡"}


# ---- item 1: a unit added twice, a unit added by mistake ----------------------------------------
def test_a_unit_the_county_already_has_is_refused(login_as, ctx):
    c = login_as("xd_county")
    before = orgs_count()
    for name, township in (("小店区西温庄乡卫生院", "西温庄乡"), ("小店区黄陵乡卫生院", "黄陵乡")):
        r = c.post("/phs/institutions/new", data={"name": name, "township": township})
        assert r.status_code == 422 and f"本县已有“{name}”，请勿重复新增" in text(r)
    r = c.post("/phs/institutions/new", data={**NEW_UNIT, "code": "PDY6001114010511A1001"})
    assert r.status_code == 422 and "已由本县的“小店区西温庄乡卫生院”使用" in text(r)
    assert orgs_count() == before


def test_the_county_deletes_a_unit_it_added_by_mistake(login_as, ctx):
    c = login_as("xd_county")
    assert c.post("/phs/institutions/new", data=NEW_UNIT).status_code == 302
    added = inst("小店区测试乡卫生院")
    account = db.session.execute(select(User).where(
        User.organization_id == added.organization_id)).scalar_one()
    page = text(c.get("/phs/institutions/list/"))
    assert f"/phs/institutions/{added.id}/remove" in page
    r = c.post(f"/phs/institutions/{added.id}/remove", follow_redirects=True)
    assert "已删除“小店区测试乡卫生院”，其账号已停用" in flashes(r)
    db.session.expire_all()
    assert inst("小店区测试乡卫生院").deleted
    assert not db.session.get(User, account.id).active
    assert not db.session.get(Organization, added.organization_id).active
    assert added.organization_id not in [o.id for o in queries.subordinates_of(org_of("xd_county"))]
    assert "小店区测试乡卫生院" not in text(c.get("/phs/review/"))
    assert db.session.execute(select(AuditLog.id).where(
        AuditLog.action == "user_disable", AuditLog.object_id == account.id)).first()


def test_a_unit_is_deleted_only_by_its_county_before_it_reports(login_as, ctx):
    own = inst("小店区北格镇卫生院")
    r = login_as("xd_town1").post(f"/phs/institutions/{own.id}/remove", follow_redirects=True)
    assert "基层机构只能由县级在确认并上报前删除" in flashes(r)
    yz_unit = inst("迎泽区郝庄镇卫生院")
    r = login_as("yz_county").post(f"/phs/institutions/{yz_unit.id}/remove",
                                   follow_redirects=True)
    assert "不能修改" in flashes(r)               # 迎泽区 has reported: a change request now
    db.session.expire_all()
    assert not inst("小店区北格镇卫生院").deleted and not inst("迎泽区郝庄镇卫生院").deleted


# ---- item 4: the new unit's account slip ---------------------------------------------------------
def test_a_new_unit_gets_an_account_slip_with_its_initial_password(app, login_as, ctx):
    c = login_as("xd_county")
    r = c.post("/phs/institutions/new", data=NEW_UNIT)
    assert r.status_code == 302 and "/phs/institutions/slip/" in r.headers["Location"]
    added = inst("小店区测试乡卫生院")
    login = queries.login_names([added.organization_id])[added.organization_id]
    with app.app_context():
        from app.services.parameters import param
        password = param("initial_password")
    page = text(c.get(r.headers["Location"]))
    assert "账号通知单" in page and login in page and password in page
    assert "首次登录须修改密码" in page and "/login" in page
    assert f"初始密码：{password}" in page                   # the flash of 新增
    listed = text(c.get("/phs/institutions/list/"))
    assert "初始密码" in listed and password in listed
    assert login_as("ty_hc").get(r.headers["Location"]).status_code == 404
    yz = org_of("yz_county")
    assert c.get(f"/phs/institutions/slip/{yz.id}").status_code == 404


# ---- items 5, 6: existing institutions first ---------------------------------------------------
def test_confirm_waits_until_every_existing_institution_is_settled(login_as, ctx):
    xiaodian_units_ready()
    c = login_as("xd_county")
    r = c.post("/phs/institutions/report/confirm", follow_redirects=True)
    assert "尚未确定上级机构" in flashes(r) and "小店区黄陵乡卫生院" in flashes(r)
    assert report("xd_county").state == "draft"
    ids = [str(o.id) for o in queries.unattached_orgs(org_of("xd_county"))]
    r = c.post("/phs/affiliation/", data={"org": ids, "action": "dismiss", "reason": ""})
    assert r.status_code == 422 and "请填写不参与本次报送的原因" in text(r)
    assert waiting_names()
    r = c.post("/phs/affiliation/", data={"org": ids, "action": "dismiss",
                                          "reason": "不承担基本公卫项目任务"}, follow_redirects=True)
    assert f"已将 {len(ids)} 个机构标记为不参与本次报送" in flashes(r)
    assert "不承担基本公卫项目任务" in text(r) and not waiting_names()
    r = c.post("/phs/institutions/report/confirm", follow_redirects=True)
    assert "确认并上报成功" in flashes(r)


def test_an_attached_institution_is_released_and_attached_under_another_superior(login_as, ctx):
    c = login_as("xd_county")
    town2 = user("xd_town2").organization
    county = org_of("xd_county")
    assert c.post("/phs/affiliation/", data={"org": [str(town2.id)],
                                             "superior": str(county.id)}).status_code == 302
    row = db.session.execute(select(PhsInstitution).where(
        PhsInstitution.source_org_id == town2.id)).scalar_one()
    page = text(c.get("/phs/affiliation/"))
    assert f"/phs/affiliation/{row.id}/release" in page
    r = c.post(f"/phs/affiliation/{row.id}/release", follow_redirects=True)
    assert "已解除“小店区黄陵乡卫生院”的隶属关系" in flashes(r)
    assert "小店区黄陵乡卫生院" in waiting_names()
    town1 = org_of("xd_town1")
    assert c.post("/phs/affiliation/", data={"org": [str(town2.id)],
                                             "superior": str(town1.id)}).status_code == 302
    now = db.session.execute(select(PhsInstitution).where(
        PhsInstitution.source_org_id == town2.id)).scalar_one()
    assert (now.tier, now.organization_id) == ("station", town1.id)


def test_a_dismissed_hospital_is_released_but_not_a_unit_with_stations(login_as, ctx):
    c = login_as("xd_county")
    [hospital] = affiliation.dismiss_existing(user("xd_county"), [org_of("ty_hosp1").id],
                                              "医院不承担基本公卫项目任务")
    page = text(c.get("/phs/affiliation/"))
    assert "医院不承担基本公卫项目任务" in page and "太原市第一人民医院" not in waiting_names()
    r = c.post(f"/phs/affiliation/{hospital.id}/release", follow_redirects=True)
    assert "已解除" in flashes(r) and hospital.name in waiting_names()
    town1 = inst("小店区北格镇卫生院")
    r = c.post(f"/phs/affiliation/{town1.id}/release", follow_redirects=True)
    assert "还填报有卫生室" in flashes(r)
    db.session.expire_all()
    assert not inst("小店区北格镇卫生院").deleted


def test_affiliation_is_frozen_once_the_county_has_reported(login_as, ctx):
    xiaodian_reported()
    c = login_as("xd_county")
    town1 = inst("小店区北格镇卫生院")
    assert "/release" not in text(c.get("/phs/affiliation/"))
    r = c.post(f"/phs/affiliation/{town1.id}/release", follow_redirects=True)
    assert "本县已确认并上报" in flashes(r)


def test_settling_needs_a_county_account(login_as, ctx):
    assert login_as("xd_town1").post("/phs/affiliation/1/release").status_code in (302, 403)
    xiaodian_settled()
    assert not waiting_names()


# ---- item 11: a station's type, the address's 门牌号 --------------------------------------------
def test_a_station_without_a_type_is_refused(login_as, ctx):
    c = login_as("xd_town1")
    r = c.post("/phs/institutions/new", data={**GOOD, "name": "小店区北格镇新村卫生室",
                                              "code": "", "inst_type": ""})
    assert r.status_code == 422 and "请选择机构类型" in text(r)
    assert inst("小店区坞城街道大马社区卫生服务站").inst_type == "community_station"
    assert inst("小店区坞城街道双塔社区卫生服务站").inst_type == "community_station"


def test_an_address_without_a_house_number_is_refused(login_as, ctx):
    target = inst("小店区北格镇张花村卫生室")
    r = login_as("xd_town1").post(f"/phs/institutions/{target.id}/fill",
                                  data={**GOOD, "address_detail": "张花村"})
    assert r.status_code == 422 and "详细地址需精确到门牌号" in text(r)
    db.session.expire_all()
    assert inst("小店区北格镇张花村卫生室").address_detail != "张花村"
