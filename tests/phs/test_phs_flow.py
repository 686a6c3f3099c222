"""基本公卫 report chain through the engine (SPEC H3–H5): who may fire what (the role
table), the county's review and 确认并上报, city → province → national with 退回, and the
上报进度 tree. Rules of the items: test_phs_rules.py; 申请修改: test_phs_changes.py; the
screens: test_phs_pages.py (in Chromium: tests/browser/test_phs_screens.py).

Demo (app/demo/phs.py): 小店区 has units in every state (北格镇 with an incomplete clinic,
西温庄 已上报, 刘家堡 不通过, the rest 通过); 迎泽区 has reported to 太原市; 盐湖区 → 运城市 →
山西省 with a change request waiting at 运城市, whose data is already with the province."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.phs import PhsInstitution
from app.services.phs import commands, queries
from app.services.phs.rules import CITY, COUNTY, NATIONAL, PROVINCE, UNIT
from app.workflows.engine import Refusal, apply_batch
from app.workflows.phs import PhsChangeRequestFlow, PhsReportFlow
from tests.conftest import user
from phs_flow_support import (GOOD, ROLES, fire, inst, org_of, refused, report, unit_account,
                              xiaodian_reported, xiaodian_settled)


# ---- role table ---------------------------------------------------------------------------------


ROLE_TABLE = {
    PhsReportFlow: {"submit": {UNIT}, "withdraw": {UNIT, COUNTY, CITY, PROVINCE},
                    "approve": {COUNTY}, "reject": {COUNTY},
                    "confirm": {COUNTY, CITY, PROVINCE},
                    "accept": {CITY, PROVINCE, NATIONAL},
                    "accept_with_confirm": set(),       # the system's, inside 确认并上报
                    "include_added": set(),             # the system's, 申请修改 新增 approved
                    "send_back": {CITY, PROVINCE, NATIONAL}},
    PhsChangeRequestFlow: {"forward": {CITY, PROVINCE}, "withdraw": {COUNTY},
                           "approve": {CITY, PROVINCE, NATIONAL},
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
    xiaodian_settled()
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
    units = queries.reports_of_orgs(mine.task_id, queries.subordinates_of(org_of("xd_county")))
    assert len(units) == 6 and {u.aggregate_id for u in units} == {mine.id}


def test_after_confirming_unit_reviews_and_edits_are_frozen(ctx):
    xiaodian_reported()
    wc = inst("小店区坞城街道社区卫生服务中心")
    exc = refused(PhsReportFlow, report(wc.organization), "reject", "xd_county", "再看看")
    assert "本县已确认并上报（已上报），不能再审核" in exc.message
    assert report(wc.organization).state == "approved"
    for actor in (user("xd_county"), unit_account("小店区坞城街道社区卫生服务中心")):
        with pytest.raises(Refusal) as exc:
            commands.save(inst("小店区坞城街道社区卫生服务中心"), {"contact": "别人"}, actor)
        assert "不能修改" in exc.value.message
    with pytest.raises(Refusal) as exc:
        commands.add_institution(user("xd_county"), {"name": "小店区晚到卫生院", "township": "晚到乡"})
    assert "不能新增" in exc.value.message
    db.session.expire_all()
    assert inst("小店区坞城街道社区卫生服务中心").contact == "联系人12"
    assert db.session.execute(select(PhsInstitution).where(
        PhsInstitution.name == "小店区晚到卫生院")).first() is None


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
            AuditLog.transition == "accept_with_confirm")).scalar_one()
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
    assert "本县已确认并上报（已上报），不能再审核" in exc.message   # frozen
    fire(PhsReportFlow, report("yz_county"), "send_back", "ty_hc", "郝庄镇经纬度有误")
    county = report("yz_county")
    assert (county.state, county.review_opinion, county.aggregated_at) == (
        "returned", "郝庄镇经纬度有误", None)
    assert report(unit).aggregate_id is None
    fire(PhsReportFlow, report(unit), "reject", "yz_county", "经纬度有误")
    assert report(unit).state == "returned"
    account = unit_account("迎泽区郝庄镇卫生院")                       # and the unit may edit
    commands.save(inst("迎泽区郝庄镇卫生院"), {"longitude": "112.6", "latitude": "37.8"}, account)
    fire(PhsReportFlow, report(unit), "submit", account)
    assert report(unit).state == "submitted"


def test_province_return_reopens_the_citys_reviews(ctx):
    yh = report("yh_county")
    exc = refused(PhsReportFlow, yh, "send_back", "yc_hc", "再核实")
    assert "本级已确认并上报（已上报），需上级退回后才能再确认或退回下级" in exc.message
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
    tree = queries.progress_tree(user("xd_county"))
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
    commands.save(inst("小店区北格镇张花村卫生室"), GOOD, user("xd_town1"))
    county = queries.progress_tree(user("xd_county"))[0]
    assert (county["total"], county["complete"]) == (11, 11)


def test_progress_tree_of_a_city_rolls_counties_up(ctx):
    [city] = queries.progress_tree(user("ty_hc"))
    assert city["name"] == "太原市卫生健康委员会"
    assert (city["total"], city["complete"]) == (15, 14)
    yz = _find([city], "迎泽区卫生健康局")
    assert (yz["total"], yz["complete"], _state(yz)) == (4, 4, "submitted")
    assert _find([city], "迎泽区郝庄镇卫生院")["total"] == 2
    assert _find([city], "盐湖区卫生健康局") is None


def test_progress_tree_of_a_province_stops_at_counties_with_their_totals(ctx):
    [province] = queries.progress_tree(user("sx_hc"))
    assert (province["total"], province["complete"]) == (17, 16)
    for name, counted, state in (("小店区卫生健康局", (11, 10), None),
                                 ("迎泽区卫生健康局", (4, 4), "submitted"),
                                 ("盐湖区卫生健康局", (2, 2), "approved")):
        county = _find([province], name)
        assert ((county["total"], county["complete"]), _state(county)) == (counted, state)
        assert county["children"] == []                      # units not listed
    assert _state(_find([province], "运城市卫生健康委员会")) == "submitted"
    assert _find([province], "小店区北格镇卫生院") is None
    opened = queries.progress_tree(user("sx_hc"), county="140105")
    assert _find(opened, "小店区北格镇卫生院")["total"] == 3
    assert _find(opened, "迎泽区郝庄镇卫生院") is None
