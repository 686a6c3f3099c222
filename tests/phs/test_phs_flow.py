"""基本公卫 rules through the services and the engine (SPEC H1–H6): who may fire what, what
“complete” means and when 上报 is allowed, the checks on each data item, scope, the county's
review and 确认并上报, city → province → national, 申请修改 and its routing, and the
上报进度 tree. The screens are covered in tests/phs/test_phs.py.

Demo (app/demo_phs.py): 小店区 has units in every state (北格镇 with an incomplete clinic,
西温庄 已上报, 刘家堡 不通过, the rest 通过); 迎泽区 has reported to 太原市; 盐湖区 → 运城市 →
山西省 with a change request waiting at 运城市, whose data is already with the province."""
import json

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import Organization, User
from app.models.phs import DATA_ITEMS, PhsChangeRequest, PhsInstitution
from app.scope import scoped_get, scoped_query
from app.services import phs
from app.services.phs import changes as phs_changes
from app.services.parameters import param
from app.services.phs import CITY, COUNTY, NATIONAL, PROVINCE, UNIT
from app.workflows.engine import Refusal, apply, apply_batch
from app.workflows.phs import ChangeRequestFlow, PhsReportFlow
from tests.conftest import user

GOOD = {"name": "小店区北格镇张花村卫生室", "code": "PDY0000314010511A1001", "contact": "张医生",
        "phone": "13912345678", "township": "", "address_detail": "张花村1号",
        "inst_type": "village_clinic", "sponsor": "1", "longitude": "112.560000",
        "latitude": "37.730000", "services": ["01", "02", "07"]}
ROLES = (UNIT, COUNTY, CITY, PROVINCE, NATIONAL)


# ---- helpers ------------------------------------------------------------------------------------
def inst(name):
    return db.session.execute(select(PhsInstitution).where(PhsInstitution.name == name)) \
        .scalar_one()


def org_of(login):
    return user(login).organization


def report(who, create=False):
    """The current round's report of a login's organisation or of an organisation."""
    org = org_of(who) if isinstance(who, str) else who
    return phs.report_of(org, create=create)


def unit_account(name):
    """The account of the unit an institution of that name describes."""
    return db.session.execute(select(User).where(
        User.organization_id == inst(name).organization_id).order_by(User.id)).scalars().first()


def fire(flow, obj, name, login_or_user, comment=None):
    actor = user(login_or_user) if isinstance(login_or_user, str) else login_or_user
    return apply(flow, obj, name, actor, {"comment": comment} if comment else {})


def refused(flow, obj, name, login_or_user, comment=None):
    with pytest.raises(Refusal) as exc:
        fire(flow, obj, name, login_or_user, comment)
    db.session.expire_all()
    return exc.value


def role_names(account):
    return {r.name for r in account.roles}


def count(model):
    return db.session.scalar(select(func.count(model.id)))


def xiaodian_units_ready():
    """北格镇 completes its clinic and 上报; 刘家堡 re-reports; the county passes both."""
    town1 = user("xd_town1")
    phs.save(inst("小店区北格镇张花村卫生室"), GOOD, town1)
    fire(PhsReportFlow, report(town1.organization, create=True), "submit", town1)
    ljb = unit_account("小店区刘家堡乡卫生院")
    fire(PhsReportFlow, report(ljb.organization), "submit", ljb)
    waiting = [r.id for r in phs.reports_of_orgs(report("xd_county", True).task_id,
                                                 phs.subordinates_of(org_of("xd_county")))
               if r.state == "submitted"]
    apply_batch(PhsReportFlow, waiting, "approve", user("xd_county"))


def xiaodian_reported():
    xiaodian_units_ready()
    return fire(PhsReportFlow, report("xd_county", create=True), "confirm", "xd_county")


def demo_change():
    return db.session.execute(select(PhsChangeRequest).where(
        PhsChangeRequest.institution_id == inst("盐湖区龙居镇卫生院").id)).scalar_one()


def request_change(data, login="yh_county"):
    return phs_changes.create(user(login), {"reason": "核实后申请", **data})


def approved_at_province(change):
    """运城 passes the request up; 山西省, which holds 盐湖区's data, approves it."""
    fire(ChangeRequestFlow, change, "forward", "yc_hc")
    return fire(ChangeRequestFlow, change, "approve", "sx_hc")


# ---- role table ---------------------------------------------------------------------------------
ROLE_TABLE = {
    PhsReportFlow: {"submit": {UNIT}, "withdraw": {UNIT, COUNTY, CITY, PROVINCE},
                    "approve": {COUNTY}, "reject": {COUNTY},
                    "confirm": {COUNTY, CITY, PROVINCE},
                    "accept": {CITY, PROVINCE, NATIONAL},
                    "send_back": {CITY, PROVINCE, NATIONAL}},
    ChangeRequestFlow: {"forward": {CITY, PROVINCE}, "approve": {CITY, PROVINCE, NATIONAL},
                        "reject": {CITY, PROVINCE, NATIONAL}},
}


@pytest.mark.parametrize("flow,transition,role,allowed", [
    (flow, name, role, role in allowed)
    for flow, table in ROLE_TABLE.items() for name, allowed in table.items() for role in ROLES
], ids=lambda v: getattr(v, "__name__", str(v)))
def test_role_table(flow, transition, role, allowed):
    assert (role in flow.transitions[transition].roles_for(flow)) is allowed


@pytest.mark.parametrize("flow", list(ROLE_TABLE), ids=lambda f: f.__name__)
def test_every_declared_transition_is_in_the_role_table(flow):
    assert set(flow.transitions) == set(ROLE_TABLE[flow])


def test_a_report_cannot_be_deleted(ctx):
    assert "delete" not in PhsReportFlow.transitions
    target = report(org_of("xd_town1"), create=True)
    with pytest.raises(Refusal) as exc:
        fire(PhsReportFlow, target, "delete", "xd_town1")
    assert exc.value.status == 404
    assert "delete" not in [t.name for t in PhsReportFlow.available(target, user("xd_town1"))]


def test_a_role_outside_the_table_is_refused_by_the_engine(ctx):
    target = report(inst("小店区西温庄乡卫生院").organization)
    exc = refused(PhsReportFlow, target, "accept", "xd_county")      # a county cannot 确认
    assert exc.status == 403 and "权限" in exc.message
    assert report(inst("小店区西温庄乡卫生院").organization).state == "submitted"


# ---- completeness -------------------------------------------------------------------------------
@pytest.mark.parametrize("item,blank", [
    ("name", {"name": None}), ("code", {"code": None}), ("contact", {"contact": None}),
    ("phone", {"phone": None}), ("address", {"address_detail": None}),
    ("inst_type", {"inst_type": None}), ("sponsor", {"sponsor": None}),
    ("coordinates", {"longitude": None}), ("coordinates", {"latitude": None}),
    ("superior", {"superior_org_id": None}), ("services", {"services": None}),
])
def test_missing_items_names_each_missing_item(ctx, item, blank):
    row = inst("小店区北格镇北格村卫生室")
    assert phs.missing_items(row) == []
    with db.session.no_autoflush:
        for name, value in blank.items():
            setattr(row, name, value)
        assert phs.missing_items(row) == [str(DATA_ITEMS[item])]
    db.session.rollback()


def test_saving_an_incomplete_item_marks_the_institution_incomplete(ctx):
    row = inst("小店区北格镇北格村卫生室")
    assert row.is_complete
    phs.save(row, {"services": []}, user("xd_town1"))
    db.session.expire_all()
    assert not inst("小店区北格镇北格村卫生室").is_complete


def test_submit_refused_listing_every_incomplete_institution(ctx):
    town1 = user("xd_town1")
    phs.save(inst("小店区北格镇卫生院"), {"contact": ""}, town1)      # the unit itself too
    target = report(town1.organization, create=True)
    audits = count(AuditLog)
    exc = refused(PhsReportFlow, target, "submit", "xd_town1")
    assert "小店区北格镇卫生院：缺联系人" in exc.message
    assert "小店区北格镇张花村卫生室：缺经纬度、承担项目内容" in exc.message
    assert "北格村卫生室" not in exc.message                     # complete: not listed
    assert report(town1.organization).state == "draft"
    assert report(town1.organization).reviewer_org_id is None
    assert count(AuditLog) == audits


def test_submit_succeeds_once_everything_is_complete(ctx):
    town1 = user("xd_town1")
    phs.save(inst("小店区北格镇张花村卫生室"), GOOD, town1)
    fire(PhsReportFlow, report(town1.organization, create=True), "submit", town1)
    mine = report(town1.organization)
    assert mine.state == "submitted" and mine.reviewer_org_id == org_of("xd_county").id
    assert mine.state_label == "已上报"


def test_a_reported_unit_can_no_longer_edit(ctx):
    xwz = unit_account("小店区西温庄乡卫生院")                       # 已上报
    with pytest.raises(Refusal) as exc:
        phs.save(inst("小店区西温庄乡西温庄村卫生室"), {"contact": "别人"}, xwz)
    assert "已上报" in exc.value.message
    db.session.expire_all()
    assert inst("小店区西温庄乡西温庄村卫生室").contact == "联系人21"


# ---- the checks on each data item (clean_fields) -----------------------------------------------
@pytest.mark.parametrize("changes,field,message", [
    ({"phone": "7654321"}, "phone", "固定电话需包含区号，如 0351-1234567"),
    ({"phone": "1391234567"}, "phone", "手机号码应为11位（当前10位）"),
    ({"longitude": "12.5"}, "coordinates", "经纬度不在中国境内"),
    ({"longitude": "-73.0", "latitude": "-40.7"}, "coordinates", "经纬度不在中国境内"),
    ({"longitude": "37.73", "latitude": "112.56"}, "coordinates", "经度和纬度是否填反了"),
    ({"latitude": ""}, "coordinates", "经度和纬度需同时填写"),
    ({"longitude": ""}, "coordinates", "经度和纬度需同时填写"),
    ({"inst_type": "hospital_x"}, "inst_type", "请从列表中选择机构类型"),
    ({"sponsor": "9"}, "sponsor", "主办类型只能是政府办、社会办或私人办"),
    ({"services": ["01", "99"]}, "services", "未知的服务项目：99"),
    ({"name": ""}, "name", "请填写机构名称"),
    ({"code": "编码1"}, "code", "机构编码只能包含字母、数字和“-”"),
])
def test_clean_fields_refuses_each_bad_item_with_a_chinese_message(ctx, changes, field,
                                                                   message):
    values, errors = phs.clean_fields({**GOOD, **changes})
    assert list(errors) == [field]
    assert any(message in str(m) for m in errors[field]), errors


@pytest.mark.parametrize("phone,stored", [("0351-7654321", "0351-7654321"),
                                          ("13912345678", "13912345678")])
def test_clean_fields_accepts_landline_with_area_code_and_mobile(ctx, phone, stored):
    values, errors = phs.clean_fields({**GOOD, "phone": phone})
    assert errors == {} and values["phone"] == stored
    assert values["services"] == "01,02,07"


def test_a_bad_item_saves_nothing(ctx):
    row = inst("小店区北格镇张花村卫生室")
    with pytest.raises(Refusal) as exc:
        phs.save(row, {**GOOD, "phone": "7654321"}, user("xd_town1"))
    assert exc.value.status == 422 and "固定电话需包含区号" in exc.value.message
    db.session.expire_all()
    row = inst("小店区北格镇张花村卫生室")
    assert (row.contact, row.phone, row.longitude) == ("联系人03", "0351-7600003", None)


# ---- scope --------------------------------------------------------------------------------------
def test_township_cannot_load_another_townships_village_clinic(ctx):
    town1 = user("xd_town1")
    assert scoped_get(PhsInstitution, inst("小店区北格镇张花村卫生室").id, town1).tier == "station"
    with pytest.raises(NotFound):
        scoped_get(PhsInstitution, inst("小店区西温庄乡西温庄村卫生室").id, town1)
    other = report(inst("小店区西温庄乡卫生院").organization)
    with pytest.raises(NotFound):
        apply(PhsReportFlow, other.id, "withdraw", town1)
    db.session.expire_all()
    assert report(inst("小店区西温庄乡卫生院").organization).state == "submitted"


def test_county_sees_its_county_only(ctx):
    xd = user("xd_county")
    seen = db.session.execute(scoped_query(PhsInstitution, xd)).scalars().all()
    assert {r.county_code for r in seen} == {"140105"} and len(seen) == 11
    with pytest.raises(NotFound):
        scoped_get(PhsInstitution, inst("迎泽区郝庄镇卫生院").id, xd)
    with pytest.raises(NotFound):             # nor review another county's unit
        apply(PhsReportFlow, report(inst("迎泽区郝庄镇卫生院").organization).id, "reject", xd,
              {"comment": "x"})


# ---- the county ---------------------------------------------------------------------------------
def test_county_passes_a_unit(ctx):
    xwz = inst("小店区西温庄乡卫生院").organization
    fire(PhsReportFlow, report(xwz), "approve", "xd_county")
    assert report(xwz).state == "approved" and report(xwz).state_label == "通过"


def test_county_fails_a_unit_only_with_a_reason(ctx):
    xwz = inst("小店区西温庄乡卫生院").organization
    exc = refused(PhsReportFlow, report(xwz), "reject", "xd_county")
    assert exc.status == 422 and "请填写不通过意见" in exc.message
    assert report(xwz).state == "submitted"
    fire(PhsReportFlow, report(xwz), "reject", "xd_county", "经纬度有误")
    assert (report(xwz).state, report(xwz).review_opinion) == ("returned", "经纬度有误")
    assert report(xwz).state_label == "不通过"


def test_county_batch_review_is_all_or_nothing(ctx):
    xwz = report(inst("小店区西温庄乡卫生院").organization)           # 已上报
    wc = report(inst("小店区坞城街道社区卫生服务中心").organization)    # already 通过
    with pytest.raises(Refusal) as exc:
        apply_batch(PhsReportFlow, [xwz.id, wc.id], "approve", user("xd_county"))
    assert "未做任何修改" in exc.value.message and "坞城街道社区卫生服务中心" in exc.value.message
    db.session.expire_all()
    assert report(inst("小店区西温庄乡卫生院").organization).state == "submitted"


def test_county_confirm_refused_naming_each_unit_not_passed(ctx):
    exc = refused(PhsReportFlow, report("xd_county", create=True), "confirm", "xd_county")
    assert "尚未审核通过" in exc.message
    for name in ("小店区北格镇卫生院（未上报）", "小店区西温庄乡卫生院（已上报）",
                 "小店区刘家堡乡卫生院（不通过）"):
        assert name in exc.message
    assert "坞城街道" not in exc.message                          # 通过: not named
    assert report("xd_county").state == "draft"


def test_county_confirms_and_reports_once_every_unit_passed(ctx):
    xiaodian_reported()
    mine = report("xd_county")
    assert mine.state == "submitted" and mine.reviewer_org_id == org_of("ty_hc").id
    units = phs.reports_of_orgs(mine.task_id, phs.subordinates_of(org_of("xd_county")))
    assert len(units) == 6 and {u.aggregate_id for u in units} == {mine.id}


def test_after_confirming_unit_reviews_and_edits_are_frozen(ctx):
    xiaodian_reported()
    wc = inst("小店区坞城街道社区卫生服务中心")
    exc = refused(PhsReportFlow, report(wc.organization), "reject", "xd_county", "再看看")
    assert "本机构已汇总" in exc.message
    assert report(wc.organization).state == "approved"
    for actor in (user("xd_county"), unit_account("小店区坞城街道社区卫生服务中心")):
        with pytest.raises(Refusal) as exc:
            phs.save(inst("小店区坞城街道社区卫生服务中心"), {"contact": "别人"}, actor)
        assert "不能修改" in exc.value.message
    with pytest.raises(Refusal) as exc:
        phs.add_institution(user("xd_county"), {"name": "小店区晚到卫生院", "township": "晚到乡"})
    assert "不能新增" in exc.value.message
    db.session.expire_all()
    assert inst("小店区坞城街道社区卫生服务中心").contact == "联系人12"
    assert db.session.execute(select(PhsInstitution).where(
        PhsInstitution.name == "小店区晚到卫生院")).first() is None


def test_county_adds_a_unit_with_its_organisation_and_account(ctx):
    xd = user("xd_county")
    added = phs.add_institution(xd, {"name": "小店区新镇卫生院", "township": "新镇"})
    org = db.session.get(Organization, added.organization_id)
    assert org.name == "小店区新镇卫生院" and org.county_code == "140105"
    assert (added.tier, added.superior_org_id, added.source_org_id) == ("unit", xd.organization_id,
                                                                        org.id)
    account = db.session.execute(select(User).where(User.organization_id == org.id)).scalar_one()
    assert account.username == org.unit_code
    assert phs.login_names([org.id]) == {org.id: org.unit_code}
    assert check_password_hash(account.password, param("initial_password"))
    assert account.must_change_password
    assert UNIT in role_names(account)
    assert org.id in [o.id for o in phs.subordinates_of(xd.organization)]
    assert not added.is_complete                      # the unit fills the rest itself


def test_county_add_needs_a_township_and_creates_nothing_without(ctx):
    before = (count(PhsInstitution), count(Organization), count(User))
    with pytest.raises(Refusal) as exc:
        phs.add_institution(user("xd_county"), {"name": "小店区无乡镇卫生院"})
    assert exc.value.status == 422 and "请填写所在乡镇" in exc.value.message
    assert (count(PhsInstitution), count(Organization), count(User)) == before


@pytest.mark.parametrize("other", ["unknown", "ty_hosp2"])
def test_attach_existing_is_all_or_nothing(ctx, other):
    town2 = org_of("xd_town2")
    other_id = 999999 if other == "unknown" else org_of(other).id     # or another county's
    with pytest.raises(Refusal) as exc:
        phs.attach_existing(user("xd_county"), [town2.id, other_id], org_of("xd_county").id)
    assert exc.value.status == 404
    db.session.expire_all()
    assert db.session.execute(select(PhsInstitution).where(
        PhsInstitution.source_org_id == town2.id)).first() is None
    assert UNIT not in role_names(user("xd_town2"))


def test_attach_existing_under_the_county_makes_units_and_gives_their_accounts_the_role(ctx):
    county = org_of("xd_county")
    hosp = org_of("ty_hosp1")                   # two accounts: ty_hosp1 and ty_maint
    made = phs.attach_existing(user("xd_county"), [org_of("xd_town2").id, hosp.id], county.id)
    assert [(m.tier, m.superior_org_id) for m in made] == [("unit", county.id)] * 2
    for login in ("xd_town2", "ty_hosp1", "ty_maint"):
        assert UNIT in role_names(user(login)), login
    assert made[0].organization_id == org_of("xd_town2").id
    # What is left unattached is the registry demo's clinic of 小店区, not the two above.
    assert [o.name for o in phs.unattached_orgs(county)] == ["太原康宁口腔诊所"]
    assert {o.id for o in phs.subordinates_of(county)} >= {org_of("xd_town2").id, hosp.id}


def test_attach_existing_under_a_unit_makes_a_station(ctx):
    town1 = org_of("xd_town1")
    [row] = phs.attach_existing(user("xd_county"), [org_of("ty_hosp1").id], town1.id)
    assert (row.tier, row.organization_id, row.superior_org_id) == ("station", town1.id,
                                                                    town1.id)
    assert row.source_org_id == org_of("ty_hosp1").id
    assert UNIT not in role_names(user("ty_hosp1"))
    assert scoped_get(PhsInstitution, row.id, user("xd_town1")).id == row.id


# ---- city, province, national -------------------------------------------------------------------
def test_city_confirm_refused_while_a_county_has_not_reported(ctx):
    exc = refused(PhsReportFlow, report("ty_hc", create=True), "confirm", "ty_hc")
    assert "小店区卫生健康局（未上报）" in exc.message and "迎泽区" not in exc.message
    assert report("ty_hc").state == "draft"
    assert report("yz_county").state == "submitted"


def test_city_confirm_confirms_each_submitted_county_and_audits_it(ctx):
    xiaodian_reported()
    city = fire(PhsReportFlow, report("ty_hc", create=True), "confirm", "ty_hc")
    assert city.state == "submitted" and city.reviewer_org_id == org_of("sx_hc").id
    for login in ("xd_county", "yz_county"):
        county = report(login)
        assert (county.state, county.aggregate_id) == ("approved", city.id), login
        row = db.session.execute(select(AuditLog).where(
            AuditLog.object_type == "phs_report", AuditLog.object_id == county.id,
            AuditLog.transition == "accept")).scalar_one()
        assert (row.username, row.from_state, row.to_state) == ("ty_hc", "submitted",
                                                                 "approved")
        assert row.comment == "确认并上报时一并确认"


def test_province_confirm_refused_while_a_city_has_not_reported(ctx):
    exc = refused(PhsReportFlow, report("sx_hc", create=True), "confirm", "sx_hc")
    assert "太原市卫生健康委员会（未上报）" in exc.message and "运城市" not in exc.message
    assert report("sx_hc").state == "draft" and report("yc_hc").state == "submitted"


def test_city_returns_a_county_only_with_a_reason(ctx):
    exc = refused(PhsReportFlow, report("yz_county"), "send_back", "ty_hc")
    assert exc.status == 422 and "请填写退回意见" in exc.message
    assert report("yz_county").state == "submitted"


def test_city_return_reopens_the_countys_reviews(ctx):
    unit = inst("迎泽区郝庄镇卫生院").organization
    exc = refused(PhsReportFlow, report(unit), "reject", "yz_county", "经纬度有误")
    assert "本机构已汇总" in exc.message                           # frozen while reported
    fire(PhsReportFlow, report("yz_county"), "send_back", "ty_hc", "郝庄镇经纬度有误")
    county = report("yz_county")
    assert (county.state, county.review_opinion, county.aggregated_at) == (
        "returned", "郝庄镇经纬度有误", None)
    assert report(unit).aggregate_id is None
    fire(PhsReportFlow, report(unit), "reject", "yz_county", "经纬度有误")
    assert report(unit).state == "returned"
    account = unit_account("迎泽区郝庄镇卫生院")                       # and the unit may edit
    phs.save(inst("迎泽区郝庄镇卫生院"), {"longitude": "112.6", "latitude": "37.8"}, account)
    fire(PhsReportFlow, report(unit), "submit", account)
    assert report(unit).state == "submitted"


def test_province_return_reopens_the_citys_reviews(ctx):
    yh = report("yh_county")
    exc = refused(PhsReportFlow, yh, "send_back", "yc_hc", "再核实")
    assert "本机构已汇总" in exc.message
    fire(PhsReportFlow, report("yc_hc"), "send_back", "sx_hc", "盐湖区再核实")
    assert report("yc_hc").state == "returned"
    fire(PhsReportFlow, report("yh_county"), "send_back", "yc_hc", "再核实")
    assert report("yh_county").state == "returned"


def test_national_confirmation_ends_the_round_for_a_province(ctx):
    xiaodian_reported()
    fire(PhsReportFlow, report("ty_hc", create=True), "confirm", "ty_hc")
    fire(PhsReportFlow, report("sx_hc", create=True), "confirm", "sx_hc")
    province = report("sx_hc")
    assert province.state == "submitted" and province.reviewer_org_id == org_of("nhc").id
    assert report("ty_hc").state == report("yc_hc").state == "approved"
    fire(PhsReportFlow, province, "accept", "nhc")
    assert report("sx_hc").state == "approved" and report("sx_hc").state_label == "已确认"
    assert PhsReportFlow.available(report("sx_hc"), user("sx_hc")) == []
    assert [t.name for t in PhsReportFlow.available(report("sx_hc"), user("nhc"))] == \
        ["send_back"]


# ---- 申请修改 --------------------------------------------------------------------------------------
@pytest.mark.parametrize("login,status,message", [
    ("xd_county", 409, "本县尚未确认并上报"),
    ("xd_town1", 403, "申请修改的主体为县级用户"),
    ("ty_hc", 403, "申请修改的主体为县级用户"),
])
def test_only_a_county_that_has_reported_requests_a_change(ctx, login, status, message):
    before = count(PhsChangeRequest)
    with pytest.raises(Refusal) as exc:
        request_change({"kind": "delete", "institution": inst("小店区营盘社区卫生服务站").id},
                       login)
    assert exc.value.status == status and message in exc.value.message
    assert count(PhsChangeRequest) == before


@pytest.mark.parametrize("data,message", [
    ({"kind": "add", "institution": "STATION", "content": {"name": "盐湖区新村卫生室"}},
     "新增类申请不能选择已有机构"),
    ({"kind": "modify", "content": {"phone": "0359-1111111"}}, "修改类申请需选择要修改的机构"),
    ({"kind": "modify", "institution": "STATION"}, "修改类申请需填写要修改的内容"),
    ({"kind": "modify", "institution": "STATION", "content": {"contact": "联系人42"}},
     "没有需要修改的内容"),
    ({"kind": "modify", "institution": "STATION", "content": {"phone": "7654321"}},
     "固定电话需包含区号"),
    ({"kind": "delete", "institution": "STATION", "content": {"phone": "0359-1111111"}},
     "删除类申请不需填写机构信息"),
    ({"kind": "add", "content": {"name": "盐湖区新村卫生室"}}, "请选择上级机构"),
    ({"kind": "", "institution": "STATION"}, "请选择申请类型"),
    ({"kind": "delete", "institution": "STATION", "reason": ""}, "请填写申请说明"),
])
def test_change_request_kind_must_fit_its_content(ctx, data, message):
    station = inst("盐湖区龙居镇龙居村卫生室").id
    data = {k: (station if v == "STATION" else v) for k, v in data.items()}
    before = count(PhsChangeRequest)
    with pytest.raises(Refusal) as exc:
        request_change(data)
    assert exc.value.status == 422 and message in exc.value.message
    assert count(PhsChangeRequest) == before


def test_add_request_needs_the_whole_institution(ctx):
    with pytest.raises(Refusal) as exc:
        request_change({"kind": "add", "content": {"name": "盐湖区新村卫生室",
                                                  "superior": org_of("yh_county").id}})
    assert exc.value.status == 422 and "新增的机构信息不完整：缺机构编码" in exc.value.message
    assert count(PhsChangeRequest) == 1


def test_change_request_goes_to_the_countys_superior(ctx):
    change = request_change({"kind": "modify", "institution": inst("盐湖区龙居镇龙居村卫生室").id,
                             "content": {"contact": "王医生"}})
    assert (change.state, change.reviewer_org_id) == ("pending", org_of("yc_hc").id)
    assert json.loads(change.content) == {"contact": "王医生"}
    assert inst("盐湖区龙居镇龙居村卫生室").contact == "联系人42"     # nothing merged yet


def test_a_second_pending_request_for_the_same_institution_is_refused(ctx):
    with pytest.raises(Refusal) as exc:
        request_change({"kind": "modify", "institution": inst("盐湖区龙居镇卫生院").id,
                        "content": {"contact": "赵六"}})
    assert "已有待审核的申请修改" in exc.value.message
    assert count(PhsChangeRequest) == 1


def test_request_at_a_level_that_passed_the_data_on_must_be_forwarded(ctx):
    change = demo_change()
    exc = refused(ChangeRequestFlow, change, "approve", "yc_hc")
    assert "需逐级上报至山西省卫生健康委员会" in exc.message
    assert demo_change().state == "pending"
    assert inst("盐湖区龙居镇卫生院").contact == "联系人41"
    assert [t.name for t in ChangeRequestFlow.available(demo_change(), user("yc_hc"))] == \
        ["forward", "reject"]


def test_forward_moves_the_request_to_the_level_holding_the_data(ctx):
    fire(ChangeRequestFlow, demo_change(), "forward", "yc_hc")
    change = demo_change()
    assert (change.state, change.reviewer_org_id) == ("pending", org_of("sx_hc").id)
    exc = refused(ChangeRequestFlow, change, "forward", "sx_hc")          # holds the data
    assert "县级数据在本级或已退回下级，请在本级直接审核" in exc.message
    exc = refused(ChangeRequestFlow, demo_change(), "reject", "yc_hc", "不同意")
    assert exc.status == 403 and "不在本级审核" in exc.message


def test_approving_merges_the_change_with_before_and_after(ctx):
    change = approved_at_province(demo_change())
    merged = inst("盐湖区龙居镇卫生院")
    assert (merged.phone, merged.contact) == ("0359-2612345", "李红")
    assert demo_change().state == "approved"
    before = json.loads(demo_change().before)
    assert (before["phone"], before["contact"]) == ("0351-7600041", "联系人41")
    row = db.session.execute(select(AuditLog).where(
        AuditLog.object_type == "phs_institution", AuditLog.object_id == merged.id,
        AuditLog.action == "update")).scalars().all()[-1]
    assert row.username == "sx_hc" and f"申请修改#{change.id} 审核通过" in row.comment
    assert "联系电话：0351-7600041 → 0359-2612345" in row.comment
    assert "联系人：联系人41 → 李红" in row.comment


def test_after_the_province_returns_the_city_the_city_approves_directly(ctx):
    fire(PhsReportFlow, report("yc_hc"), "send_back", "sx_hc", "盐湖区再核实")
    fire(ChangeRequestFlow, demo_change(), "approve", "yc_hc")
    assert inst("盐湖区龙居镇卫生院").contact == "李红"


def test_request_climbs_one_level_at_a_time_up_to_national(ctx):
    xiaodian_reported()
    fire(PhsReportFlow, report("ty_hc", create=True), "confirm", "ty_hc")
    fire(PhsReportFlow, report("sx_hc", create=True), "confirm", "sx_hc")
    fire(ChangeRequestFlow, demo_change(), "forward", "yc_hc")
    exc = refused(ChangeRequestFlow, demo_change(), "approve", "sx_hc")
    assert "需逐级上报至国家卫生健康委员会" in exc.message
    fire(ChangeRequestFlow, demo_change(), "forward", "sx_hc")
    assert demo_change().reviewer_org_id == org_of("nhc").id
    fire(ChangeRequestFlow, demo_change(), "approve", "nhc")
    assert inst("盐湖区龙居镇卫生院").contact == "李红"


def test_a_level_with_a_pending_request_cannot_confirm_until_it_decides(ctx):
    fire(PhsReportFlow, report("yc_hc"), "send_back", "sx_hc", "盐湖区再核实")
    exc = refused(PhsReportFlow, report("yc_hc"), "confirm", "yc_hc")
    assert "有待审核的申请修改" in exc.message and report("yc_hc").state == "returned"
    fire(ChangeRequestFlow, demo_change(), "approve", "yc_hc")
    fire(PhsReportFlow, report("yc_hc"), "confirm", "yc_hc")
    assert report("yc_hc").state == "submitted"


def test_a_request_is_not_forwarded_past_data_that_was_returned_below_it(ctx):
    """At 山西省 when the province returns 运城市: the data is at 运城 again, below the
    request; passing the request further up (to 国家) takes it away from the data."""
    fire(ChangeRequestFlow, demo_change(), "forward", "yc_hc")
    fire(PhsReportFlow, report("yc_hc"), "send_back", "sx_hc", "盐湖区再核实")
    assert phs.data_holder(org_of("yh_county")).id == org_of("yc_hc").id
    refused(ChangeRequestFlow, demo_change(), "forward", "sx_hc")
    assert demo_change().reviewer_org_id == org_of("sx_hc").id


def test_rejecting_needs_a_reason_and_changes_nothing(ctx):
    exc = refused(ChangeRequestFlow, demo_change(), "reject", "yc_hc")
    assert exc.status == 422
    fire(ChangeRequestFlow, demo_change(), "reject", "yc_hc", "电话未变")
    assert (demo_change().state, demo_change().review_opinion) == ("rejected", "电话未变")
    assert inst("盐湖区龙居镇卫生院").contact == "联系人41"


def test_approved_add_creates_a_unit_with_account_counted_as_passed(ctx):
    yh = org_of("yh_county")
    content = {k: v for k, v in GOOD.items()}
    content.update(name="盐湖区解州镇卫生院", township="解州镇", inst_type="township_hospital",
                   superior=yh.id)
    change = approved_at_province(request_change({"kind": "add", "content": content}))
    added = inst("盐湖区解州镇卫生院")
    assert demo_change().state == "pending"                      # the other one untouched
    assert change.institution_id == added.id and change.state == "approved"
    assert (added.tier, added.superior_org_id, added.is_complete) == ("unit", yh.id, True)
    account = db.session.execute(select(User).where(
        User.organization_id == added.organization_id)).scalar_one()
    assert UNIT in role_names(account) and account.must_change_password
    unit_report = report(added.organization)
    assert (unit_report.state, unit_report.reviewer_org_id) == ("approved", yh.id)
    assert unit_report.state_label == "通过"
    assert unit_report.aggregate_id == report(yh).id
    assert added.organization_id in [o.id for o in phs.subordinates_of(yh)]


def test_approved_delete_marks_the_unit_and_its_stations_deleted(ctx):
    fire(ChangeRequestFlow, demo_change(), "reject", "yc_hc", "另行处理")
    unit = inst("盐湖区龙居镇卫生院")
    approved_at_province(request_change({"kind": "delete", "institution": unit.id,
                                         "reason": "已撤并"}))
    kept = [inst("盐湖区龙居镇卫生院"), inst("盐湖区龙居镇龙居村卫生室")]   # rows kept
    assert [r.deleted for r in kept] == [True, True]
    assert phs.subordinates_of(org_of("yh_county")) == []
    assert db.session.execute(select(AuditLog).where(
        AuditLog.object_type == "phs_institution", AuditLog.object_id == unit.id,
        AuditLog.action == "delete")).first() is not None


# ---- 上报进度 --------------------------------------------------------------------------------------
def _find(nodes, name):
    for n in nodes:
        if n["name"] == name:
            return n
        found = _find(n["children"], name)
        if found:
            return found
    return None


def _state(n):
    return n["report"].state if n["report"] is not None else None


def test_progress_tree_of_a_county_counts_units_and_stations(ctx):
    tree = phs.progress_tree(user("xd_county"))
    assert [n["name"] for n in tree] == ["小店区卫生健康局"]
    county = tree[0]
    assert (county["total"], county["complete"]) == (11, 10)
    units = {n["name"]: n for n in county["children"]}
    assert len(units) == 6
    assert (units["小店区北格镇卫生院"]["total"], units["小店区北格镇卫生院"]["complete"]) == (3, 2)
    assert (units["小店区坞城街道社区卫生服务中心"]["total"],
            units["小店区坞城街道社区卫生服务中心"]["complete"]) == (3, 3)
    assert {name: _state(n) for name, n in units.items()} == {
        "小店区北格镇卫生院": None, "小店区西温庄乡卫生院": "submitted",
        "小店区坞城街道社区卫生服务中心": "approved", "小店区刘家堡乡卫生院": "returned",
        "小店区疾病预防控制中心": "approved", "小店区营盘社区卫生服务站": "approved"}
    phs.save(inst("小店区北格镇张花村卫生室"), GOOD, user("xd_town1"))
    county = phs.progress_tree(user("xd_county"))[0]
    assert (county["total"], county["complete"]) == (11, 11)


def test_progress_tree_of_a_city_rolls_counties_up(ctx):
    [city] = phs.progress_tree(user("ty_hc"))
    assert city["name"] == "太原市卫生健康委员会"
    assert (city["total"], city["complete"]) == (15, 14)
    yz = _find([city], "迎泽区卫生健康局")
    assert (yz["total"], yz["complete"], _state(yz)) == (4, 4, "submitted")
    assert _find([city], "迎泽区郝庄镇卫生院")["total"] == 2
    assert _find([city], "盐湖区卫生健康局") is None


def test_progress_tree_of_a_province_stops_at_counties_with_their_totals(ctx):
    [province] = phs.progress_tree(user("sx_hc"))
    assert (province["total"], province["complete"]) == (17, 16)
    for name, counted, state in (("小店区卫生健康局", (11, 10), None),
                                 ("迎泽区卫生健康局", (4, 4), "submitted"),
                                 ("盐湖区卫生健康局", (2, 2), "approved")):
        county = _find([province], name)
        assert ((county["total"], county["complete"]), _state(county)) == (counted, state)
        assert county["children"] == []                      # units not listed
    assert _state(_find([province], "运城市卫生健康委员会")) == "submitted"
    assert _find([province], "小店区北格镇卫生院") is None
    opened = phs.progress_tree(user("sx_hc"), county="140105")
    assert _find(opened, "小店区北格镇卫生院")["total"] == 3
    assert _find(opened, "迎泽区郝庄镇卫生院") is None


def test_modify_request_cannot_move_an_institution_to_another_superior(ctx):
    yh = user("yh_county")
    target = db.session.execute(select(PhsInstitution).where(
        PhsInstitution.name == "盐湖区龙居镇龙居村卫生室")).scalar_one()
    with pytest.raises(Refusal) as exc:
        phs_changes.create(yh, {"kind": "modify", "institution": target.id, "reason": "调整",
                                "content": {"superior": yh.organization_id}})
    assert exc.value.status == 422 and "不能变更上级机构" in exc.value.message


def test_renaming_a_unit_renames_its_account_organisation(ctx):
    town1 = user("xd_town1")
    own = phs.unit_institution(town1.organization)
    phs.save(own, {"name": "小店区北格镇中心卫生院"}, town1)
    db.session.expire_all()
    assert user("xd_town1").organization.name == "小店区北格镇中心卫生院"


def test_county_add_refused_cleanly_when_the_generated_login_is_taken(ctx):
    from app.services import accounts
    county = user("xd_county")
    taken = accounts.next_unit_code(county.organization.region)    # the login it would get
    accounts.create_user(None, user("ty_hosp1").organization, taken, "同名账号")
    db.session.commit()
    orgs = db.session.scalar(select(func.count(Organization.id)))
    with pytest.raises(Refusal) as exc:
        phs.add_institution(county, {"name": "小店区重名卫生院", "township": "重名乡"})
    assert exc.value.status == 422 and taken in exc.value.message
    assert db.session.scalar(select(func.count(Organization.id))) == orgs
