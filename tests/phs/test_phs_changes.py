"""基本公卫 申请修改 (SPEC H6) through the services and the engine: only a county that has
reported asks, the kind must fit the content, the request climbs to the level holding the
county's data, approving merges the change (before and after kept)."""
import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import User
from app.models.phs import PhsChangeRequest, PhsInstitution
from app.services.phs import queries
from app.services.phs import changes as phs_changes
from app.services.phs.rules import UNIT
from app.workflows.engine import Refusal
from app.workflows.phs import PhsChangeRequestFlow, PhsReportFlow
from tests.conftest import user
from phs_flow_support import (GOOD, approved_at_province, count, demo_change, fire, inst, org_of,
                              refused, report, request_change, role_names, xiaodian_reported)


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
    exc = refused(PhsChangeRequestFlow, change, "approve", "yc_hc")
    assert "需逐级上报至山西省卫生健康委员会" in exc.message
    assert demo_change().state == "pending"
    assert inst("盐湖区龙居镇卫生院").contact == "联系人41"
    assert [t.name for t in PhsChangeRequestFlow.available(demo_change(), user("yc_hc"))] == \
        ["forward", "reject"]


def test_forward_moves_the_request_to_the_level_holding_the_data(ctx):
    fire(PhsChangeRequestFlow, demo_change(), "forward", "yc_hc")
    change = demo_change()
    assert (change.state, change.reviewer_org_id) == ("pending", org_of("sx_hc").id)
    exc = refused(PhsChangeRequestFlow, change, "forward", "sx_hc")          # holds the data
    assert "县级数据在本级或已退回下级，请在本级直接审核" in exc.message
    exc = refused(PhsChangeRequestFlow, demo_change(), "reject", "yc_hc", "不同意")
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
    fire(PhsChangeRequestFlow, demo_change(), "approve", "yc_hc")
    assert inst("盐湖区龙居镇卫生院").contact == "李红"


def test_request_climbs_one_level_at_a_time_up_to_national(ctx):
    xiaodian_reported()
    fire(PhsReportFlow, report("ty_hc", create=True), "confirm", "ty_hc")
    fire(PhsReportFlow, report("sx_hc", create=True), "confirm", "sx_hc")
    fire(PhsChangeRequestFlow, demo_change(), "forward", "yc_hc")
    exc = refused(PhsChangeRequestFlow, demo_change(), "approve", "sx_hc")
    assert "需逐级上报至国家卫生健康委员会" in exc.message
    fire(PhsChangeRequestFlow, demo_change(), "forward", "sx_hc")
    assert demo_change().reviewer_org_id == org_of("nhc").id
    fire(PhsChangeRequestFlow, demo_change(), "approve", "nhc")
    assert inst("盐湖区龙居镇卫生院").contact == "李红"


def test_a_level_with_a_pending_request_cannot_confirm_until_it_decides(ctx):
    fire(PhsReportFlow, report("yc_hc"), "send_back", "sx_hc", "盐湖区再核实")
    exc = refused(PhsReportFlow, report("yc_hc"), "confirm", "yc_hc")
    assert "有待审核的申请修改" in exc.message and report("yc_hc").state == "returned"
    fire(PhsChangeRequestFlow, demo_change(), "approve", "yc_hc")
    fire(PhsReportFlow, report("yc_hc"), "confirm", "yc_hc")
    assert report("yc_hc").state == "submitted"


def test_a_request_is_not_forwarded_past_data_that_was_returned_below_it(ctx):
    """At 山西省 when the province returns 运城市: the data is at 运城 again, below the
    request; passing the request further up (to 国家) takes it away from the data."""
    fire(PhsChangeRequestFlow, demo_change(), "forward", "yc_hc")
    fire(PhsReportFlow, report("yc_hc"), "send_back", "sx_hc", "盐湖区再核实")
    assert queries.data_holder(org_of("yh_county")).id == org_of("yc_hc").id
    refused(PhsChangeRequestFlow, demo_change(), "forward", "sx_hc")
    assert demo_change().reviewer_org_id == org_of("sx_hc").id


def test_rejecting_needs_a_reason_and_changes_nothing(ctx):
    exc = refused(PhsChangeRequestFlow, demo_change(), "reject", "yc_hc")
    assert exc.status == 422
    fire(PhsChangeRequestFlow, demo_change(), "reject", "yc_hc", "电话未变")
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
    assert added.organization_id in [o.id for o in queries.subordinates_of(yh)]


def test_approved_delete_marks_the_unit_and_its_stations_deleted(ctx):
    fire(PhsChangeRequestFlow, demo_change(), "reject", "yc_hc", "另行处理")
    unit = inst("盐湖区龙居镇卫生院")
    approved_at_province(request_change({"kind": "delete", "institution": unit.id,
                                         "reason": "已撤并"}))
    kept = [inst("盐湖区龙居镇卫生院"), inst("盐湖区龙居镇龙居村卫生室")]   # rows kept
    assert [r.deleted for r in kept] == [True, True]
    assert queries.subordinates_of(org_of("yh_county")) == []
    assert db.session.execute(select(AuditLog).where(
        AuditLog.object_type == "phs_institution", AuditLog.object_id == unit.id,
        AuditLog.action == "delete")).first() is not None


def test_modify_request_cannot_move_an_institution_to_another_superior(ctx):
    yh = user("yh_county")
    target = db.session.execute(select(PhsInstitution).where(
        PhsInstitution.name == "盐湖区龙居镇龙居村卫生室")).scalar_one()
    with pytest.raises(Refusal) as exc:
        phs_changes.create(yh, {"kind": "modify", "institution": target.id, "reason": "调整",
                                "content": {"superior": yh.organization_id}})
    assert exc.value.status == 422 and "不能变更上级机构" in exc.value.message
