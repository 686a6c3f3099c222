"""基本公卫 REST API (SPEC §X, H2–H7): the whole chain township → county → city → province →
national and a change request after reporting, each step by its own account over JWT; what
the reading calls answer; 上报 refused (409 naming what is missing or waiting). The writes
refused (保存, 新增, 删除, 隶属关系, 申请修改) and scope / roles are in test_phs_api_writes.py."""
import io

import prison
from openpyxl import load_workbook
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.phs import PhsChangeRequest, PhsReport
from app.services.phs import queries
from phs_api_support import (CHANGE, FILLED, INST, REPORT, count, fire, inst, mine, ok,
                             report, submitted_units, transitions_logged, unit_login)
from tests.conftest import user
from phs_flow_support import xiaodian_settled


# ---- the whole chain ---------------------------------------------------------------------


def test_whole_chain_through_rest_then_a_change_request(api, ctx):
    # 北格镇卫生院 completes its 张花村 clinic, sees it complete, and 上报
    town, th = api("xd_town1")
    clinic = inst("小店区北格镇张花村卫生室")
    shown = ok(town.get(f"{INST}/{clinic.id}", headers=th))["result"]
    assert shown["missing"] == ["经纬度", "承担项目内容"] and shown["is_complete"] is False
    r = town.put(f"{INST}/{clinic.id}", headers=th, json=FILLED)
    assert r.status_code == 200, r.json
    assert r.json["result"]["is_complete"] and r.json["result"]["missing"] == []
    assert r.json["result"]["services"] == ["01", "02", "07"]
    own = inst("小店区北格镇卫生院")
    done = fire(town, th, f"{INST}/{own.id}/submit")
    assert done["state"] == "submitted" and done["id"] == report("xd_town1").id
    # 刘家堡 was 不通过 (经纬度有误): it reads why, fixes its coordinates and re-reports
    ljb, lh = api(unit_login("小店区刘家堡乡卫生院"))
    ljb_report = ok(ljb.get(f"{REPORT}/mine", headers=lh))["result"]
    assert ljb_report["state"] == "returned" and "经纬度有误" in ljb_report["review_opinion"]
    target = inst("小店区刘家堡乡卫生院")
    assert ljb.put(f"{INST}/{target.id}", headers=lh,
                   json={"longitude": 112.6, "latitude": 37.75}).status_code == 200
    fire(ljb, lh, f"{REPORT}/{ljb_report['id']}/submit")
    # 小店区 通过 every submitted unit (a batch, and one through its institution) …
    county, ch = api("xd_county")
    ids, names = submitted_units(county, ch, "xd_county")
    assert set(names) == {"小店区西温庄乡卫生院", "小店区北格镇卫生院", "小店区刘家堡乡卫生院"}
    assert fire(county, ch, f"{REPORT}/batch/approve", ids=ids[:-1])["state"] == "approved"
    last = db.session.get(PhsReport, ids[-1])
    unit_inst = queries.unit_institution(last.organization)
    assert fire(county, ch, f"{INST}/{unit_inst.id}/approve")["state"] == "approved"
    # … settles its existing institutions first, and 确认并上报 to 太原市, which 确认并上报
    # to 山西省 (运城市 already reported)
    xiaodian_settled()
    county_report = mine(county, ch)
    assert fire(county, ch, f"{REPORT}/{county_report}/confirm")["state"] == "submitted"
    city, yh = api("ty_hc")
    assert fire(city, yh, f"{REPORT}/{mine(city, yh)}/confirm")["state"] == "submitted"
    seen = ok(city.get(f"{REPORT}/{county_report}", headers=yh))["result"]
    assert seen["state"] == "approved" and seen["state_label"] == "已确认"
    province, ph = api("sx_hc")
    province_report = mine(province, ph)
    assert fire(province, ph, f"{REPORT}/{province_report}/confirm")["state"] == "submitted"
    # national 确认 the province: the round ends for 山西
    nation, nh = api("nhc")
    assert fire(nation, nh, f"{REPORT}/{province_report}/accept")["state"] == "approved"
    history = ok(nation.get(f"{REPORT}/{province_report}/history", headers=nh))["result"]
    assert [row["transition"] for row in history if row["action"] == "transition"] == [
        "confirm", "accept"]
    # after reporting the county's rows are locked; it asks for the change instead
    yp = inst("小店区营盘社区卫生服务站")
    r = county.put(f"{INST}/{yp.id}", headers=ch, json={"phone": "0351-7654321"})
    assert r.status_code == 409 and "申请修改" in r.json["message"]
    r = county.post(f"{CHANGE}/", headers=ch, json={
        "kind": "modify", "institution": yp.id, "content": {"phone": "0351-7654321"},
        "reason": "电话变更"})
    assert r.status_code == 201, r.json
    change = r.json["id"]
    assert r.json["result"]["reviewer_name"] == "太原市卫生健康委员会"
    # the data is with the nation now: 太原 and 山西 pass it up, the nation approves it
    r = city.post(f"{CHANGE}/{change}/approve", headers=yh)
    assert r.status_code == 409 and "国家卫生健康委员会" in r.json["message"]
    fire(city, yh, f"{CHANGE}/{change}/forward")
    fire(province, ph, f"{CHANGE}/{change}/forward")
    shown = ok(nation.get(f"{CHANGE}/{change}", headers=nh))["result"]
    assert shown["comparison"] == [{"field": "phone", "label": "联系电话",
                                    "before": "0351-7600015", "after": "0351-7654321",
                                    "before_label": "0351-7600015",
                                    "after_label": "0351-7654321"}]
    assert shown["actions"] == ["approve", "reject"]
    assert fire(nation, nh, f"{CHANGE}/{change}/approve")["state"] == "approved"
    assert ok(county.get(f"{INST}/{yp.id}", headers=ch))["result"]["phone"] == "0351-7654321"


def test_demo_change_request_goes_up_to_the_province_that_holds_the_data(api, ctx):
    change = db.session.execute(select(PhsChangeRequest)).scalars().first()
    city, h = api("yc_hc")
    listed = ok(city.get(f"{CHANGE}/", headers=h))
    assert listed["ids"] == [change.id]
    row = listed["result"][0]
    assert row["kind_label"] == "修改" and row["state_label"] == "待审核"
    assert row["content"] == {"phone": "0359-2612345", "contact": "李红"}
    assert {c["field"]: c["after"] for c in row["comparison"]} == {
        "contact": "李红", "phone": "0359-2612345"}
    r = city.post(f"{CHANGE}/{change.id}/approve", headers=h)
    assert r.status_code == 409 and "山西省卫生健康委员会" in r.json["message"]
    province, ph = api("sx_hc")
    r = province.post(f"{CHANGE}/{change.id}/approve", headers=ph)
    assert r.status_code == 403                      # not at the province yet
    fire(city, h, f"{CHANGE}/{change.id}/forward")
    r = province.post(f"{CHANGE}/{change.id}/reject", headers=ph, json={})
    assert r.status_code == 422 and "comment" in r.json["fields"]
    fire(province, ph, f"{CHANGE}/{change.id}/approve", comment="同意")
    merged = inst("盐湖区龙居镇卫生院")
    assert (merged.phone, merged.contact) == ("0359-2612345", "李红")
    shown = ok(province.get(f"{CHANGE}/{change.id}", headers=ph))["result"]
    assert shown["state"] == "approved" and shown["review_opinion"] == "同意"
    assert {c["field"]: c["before"] for c in shown["comparison"]} == {
        "contact": "联系人41", "phone": "0351-7600041"}
    assert shown["before"]["phone"] == "0351-7600041"


def test_an_approved_add_request_makes_a_reported_unit_with_an_account(api, ctx):
    county = user("yh_county").organization
    c, h = api("yh_county")
    content = {"name": "盐湖区新镇卫生院", "code": "PDY9", "contact": "王", "phone": "0359-2000000",
               "township": "新镇", "address_detail": "1号", "inst_type": "township_hospital",
               "sponsor": "1", "longitude": 111.0, "latitude": 35.0, "services": ["01"],
               "superior": county.id}
    r = c.post(f"{CHANGE}/", headers=h, json={"kind": "add", "content": content, "reason": "新建"})
    assert r.status_code == 201 and r.json["result"]["institution_id"] is None
    city, yh = api("yc_hc")
    fire(city, yh, f"{CHANGE}/{r.json['id']}/forward")
    province, ph = api("sx_hc")
    fire(province, ph, f"{CHANGE}/{r.json['id']}/approve")
    made = inst("盐湖区新镇卫生院")
    assert (made.tier, made.is_complete, made.superior_org_id) == ("unit", True, county.id)
    assert queries.report_of(made.organization, create=False).state == "approved"
    row = ok(c.get(f"{INST}/{made.id}", headers=h))["result"]
    assert row["login_name"] and row["editable"] is False


# ---- reading -----------------------------------------------------------------------------


def test_township_lists_its_own_rows_with_labels(api, ctx):
    c, h = api("xd_town1")
    r = c.get(f"{INST}/", headers=h)
    assert r.status_code == 200
    rows = {row["name"]: row for row in r.json["result"]}
    assert set(rows) == {"小店区北格镇卫生院", "小店区北格镇北格村卫生室",
                         "小店区北格镇张花村卫生室"}
    own = rows["小店区北格镇卫生院"]
    assert (own["inst_type_label"], own["sponsor_label"], own["superior_label"]) == (
        "乡镇卫生院", "政府办", "小店区")
    assert own["service_items"][0] == {"code": "01", "label": "居民健康档案管理"}
    assert own["services"][:2] == ["01", "02"] and own["address"].startswith("山西省太原市小店区")
    clinic = rows["小店区北格镇北格村卫生室"]
    assert clinic["superior_label"] == "小店区北格镇卫生院"
    assert clinic["tier_label"] == "村卫生室/社区卫生服务站"
    assert "login_name" not in own


def test_county_list_carries_its_units_login_names(api, ctx):
    c, h = api("xd_county")
    q = prison.dumps({"filters": [{"col": "tier", "opr": "eq", "value": "unit"}],
                      "page_size": 100})
    rows = c.get(f"{INST}/", headers=h, query_string={"q": q}).json["result"]
    names = {row["name"]: row.get("login_name") for row in rows}
    assert names["小店区西温庄乡卫生院"] == unit_login("小店区西温庄乡卫生院")
    assert "迎泽区郝庄镇卫生院" not in names


def test_mine_opens_the_callers_report_once(api, ctx):
    c, h = api("ty_hc")
    assert report("ty_hc") is None
    before = count(PhsReport)
    r = c.get(f"{REPORT}/mine", headers=h)
    assert r.status_code == 200 and r.json["result"]["kind"] == "aggregate"
    assert r.json["result"]["state_label"] == "待上报"
    assert r.json["result"]["actions"] == ["confirm"]
    assert mine(c, h) == r.json["id"] and count(PhsReport) == before + 1


def test_report_show_names_what_is_incomplete(api, ctx):
    pk = queries.report_of(user("xd_town1").organization).id
    db.session.commit()
    c, h = api("xd_county")
    shown = ok(c.get(f"{REPORT}/{pk}", headers=h))["result"]
    assert shown["organization_name"] == "小店区北格镇卫生院"
    assert shown["problems"] == ["小店区北格镇张花村卫生室：缺经纬度、承担项目内容"]


def test_export_is_the_callers_scope(api, ctx):
    c, h = api("xd_town1")
    r = c.get(f"{INST}/export", headers=h, query_string={"columns": "id,name"})
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.data)).active.iter_rows(values_only=True))
    assert sorted(row[1] for row in rows[1:]) == sorted(
        ["小店区北格镇卫生院", "小店区北格镇北格村卫生室", "小店区北格镇张花村卫生室"])


# ---- 上报 refused ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["institution", "report"])
def test_submit_with_incomplete_items_is_409_listing_them(api, ctx, path):
    c, h = api("xd_town1")
    pk = mine(c, h)
    logged = transitions_logged()
    url = (f"{INST}/{inst('小店区北格镇卫生院').id}/submit" if path == "institution"
           else f"{REPORT}/{pk}/submit")
    r = c.post(url, headers=h)
    assert r.status_code == 409
    assert "小店区北格镇张花村卫生室：缺经纬度、承担项目内容" in r.json["message"]
    assert report("xd_town1").state == "draft" and transitions_logged() == logged


def test_confirm_with_a_level_below_still_pending_is_409(api, ctx):
    xiaodian_settled()
    c, h = api("xd_county")
    pk = mine(c, h)
    r = c.post(f"{REPORT}/{pk}/confirm", headers=h)
    assert r.status_code == 409
    assert "尚未审核通过" in r.json["message"]
    assert "小店区西温庄乡卫生院（已上报）" in r.json["message"]
    assert report("xd_county").state == "draft"
    city, yh = api("ty_hc")                      # and a city while a county has not reported
    r = city.post(f"{REPORT}/{mine(city, yh)}/confirm", headers=yh)
    assert r.status_code == 409 and "小店区卫生健康局（待上报）" in r.json["message"]


def test_batch_with_one_ineligible_report_changes_nothing(api, ctx):
    c, h = api("xd_county")
    waiting = report(unit_login("小店区西温庄乡卫生院"))
    draft = queries.report_of(user("xd_town1").organization)
    db.session.commit()
    r = c.post(f"{REPORT}/batch/approve", headers=h, json={"ids": [waiting.id, draft.id]})
    assert r.status_code == 409
    assert [(row["id"], row["state"]) for row in r.json["ineligible"]] == [(draft.id, "draft")]
    assert report(unit_login("小店区西温庄乡卫生院")).state == "submitted"


def test_reject_needs_a_reason(api, ctx):
    c, h = api("xd_county")
    target = inst("小店区西温庄乡卫生院")
    r = c.post(f"{INST}/{target.id}/reject", headers=h, json={"comment": " "})
    assert r.status_code == 422 and r.json["fields"] == {"comment": ["必填"]}
    done = fire(c, h, f"{INST}/{target.id}/reject", comment="机构编码有误")
    assert done["state"] == "returned"
    assert report(unit_login("小店区西温庄乡卫生院")).review_opinion == "机构编码有误"


def test_unit_transition_only_for_a_unit_and_its_four_actions(api, ctx):
    c, h = api("xd_town1")
    station = inst("小店区北格镇北格村卫生室")
    assert c.post(f"{INST}/{station.id}/submit", headers=h).status_code == 404
    own = inst("小店区北格镇卫生院")
    for name in ("confirm", "accept", "send_back", "nonsense"):
        assert c.post(f"{INST}/{own.id}/{name}", headers=h).status_code == 404
