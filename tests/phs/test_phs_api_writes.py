"""基本公卫 REST API (SPEC §X, H2–H7): every bad write answered as the contract says — 保存
(422 naming each item, 409 when locked), 新增 / 删除 / 机构隶属关系维护, 申请修改 — and scope,
roles and JWT (404 / 403)."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.core import Organization
from app.models.phs import PhsChangeRequest, PhsInstitution
from phs_api_support import (CHANGE, FILLED, INST, REPORT, count, inst, mine, ok, report,
                             unit_login)
from tests.conftest import user


# ---- 保存 refused ------------------------------------------------------------------------


@pytest.mark.parametrize("body,field,message", [
    ({"phone": "1391234567"}, "phone", "手机号码应为11位"),
    ({"phone": "7654321"}, "phone", "固定电话需包含区号"),
    ({"longitude": "12.5", "latitude": "37.7"}, "coordinates", "经纬度不在中国境内"),
    ({"longitude": 37.7, "latitude": 112.5}, "coordinates", "填反了"),
    ({"longitude": "112.5"}, "coordinates", "经度和纬度需同时填写"),
    ({"inst_type": "hospital_x"}, "inst_type", "请从列表中选择机构类型"),
    ({"sponsor": "4"}, "sponsor", "主办类型只能是"),
    ({"services": ["01", "99"]}, "services", "未知的服务项目：99"),
    ({"name": ""}, "name", "请填写机构名称"),
    ({"code": "编码1"}, "code", "机构编码只能包含"),
    ({"contact": ["张"]}, "contact", "联系人格式无效"),
])
def test_bad_items_are_422_and_nothing_is_saved(api, ctx, body, field, message):
    c, h = api("xd_town1")
    target = inst("小店区北格镇张花村卫生室")
    before = (target.contact, target.phone, target.longitude, target.inst_type, target.name)
    r = c.put(f"{INST}/{target.id}", headers=h, json={"contact": "别人", **body})
    assert r.status_code == 422, r.json
    assert message in r.json["fields"][field][0] and message in r.json["message"]
    after = inst("小店区北格镇张花村卫生室")
    assert (after.contact, after.phone, after.longitude, after.inst_type, after.name) == before


def test_every_bad_item_is_named_at_once(api, ctx):
    c, h = api("xd_town1")
    target = inst("小店区北格镇张花村卫生室")
    r = c.put(f"{INST}/{target.id}", headers=h, json={
        "phone": "1391234567", "longitude": "200", "latitude": "37", "inst_type": "x"})
    assert r.status_code == 422 and set(r.json["fields"]) == {"phone", "coordinates",
                                                              "inst_type"}


@pytest.mark.parametrize("field", ["superior_org_id", "organization_id", "tier", "county_code",
                                   "region_id", "superior", "deleted"])
def test_a_put_never_moves_a_row(api, ctx, field):
    c, h = api("xd_county")
    target = inst("小店区西温庄乡卫生院")
    other = user("yh_county").organization
    value = {"tier": "station", "county_code": "140802", "deleted": True}.get(field, other.id)
    r = c.put(f"{INST}/{target.id}", headers=h, json={"contact": "新联系人", field: value})
    assert r.status_code == 422 and field in r.json["fields"]
    after = inst("小店区西温庄乡卫生院")
    assert (after.superior_org_id, after.organization_id, after.tier, after.county_code,
            after.contact, after.deleted) == (target.superior_org_id, target.organization_id,
                                              "unit", "140105", target.contact, False)


def test_unknown_fields_and_non_objects_are_refused(api, ctx):
    c, h = api("xd_town1")
    target = inst("小店区北格镇张花村卫生室")
    r = c.put(f"{INST}/{target.id}", headers=h, json={"is_complete": True})
    assert r.status_code == 422 and "is_complete" in r.json["fields"]
    assert c.put(f"{INST}/{target.id}", headers=h, json=["x"]).status_code == 400
    assert not inst("小店区北格镇张花村卫生室").is_complete


def test_saving_incomplete_is_allowed_and_audited(api, ctx):
    c, h = api("xd_town1")
    target = inst("小店区北格镇张花村卫生室")
    r = c.put(f"{INST}/{target.id}", headers=h, json={"contact": "张医生", "phone": "13912345678"})
    assert r.status_code == 200 and r.json["result"]["missing"] == ["经纬度", "承担项目内容"]
    history = ok(c.get(f"{INST}/{target.id}/history", headers=h))["result"]
    assert "联系人：联系人03 → 张医生" in history[-1]["comment"]


def test_reported_unit_is_locked_409(api, ctx):
    """迎泽区's units are 通过 and the county has reported: nothing changes any more."""
    target = inst("迎泽区郝庄镇卫生院")
    c, h = api(unit_login("迎泽区郝庄镇卫生院"))
    r = c.put(f"{INST}/{target.id}", headers=h, json={"contact": "别人"})
    assert r.status_code == 409 and "已上报" in r.json["message"]
    assert c.delete(f"{INST}/{inst('迎泽区郝庄镇郝庄村卫生室').id}", headers=h).status_code == 409
    assert inst("迎泽区郝庄镇卫生院").contact != "别人"
    assert not inst("迎泽区郝庄镇郝庄村卫生室").deleted


def test_village_clinic_of_another_township_is_404(api, ctx):
    other = inst("小店区西温庄乡西温庄村卫生室")
    c, h = api("xd_town1")
    assert c.get(f"{INST}/{other.id}", headers=h).status_code == 404
    assert c.put(f"{INST}/{other.id}", headers=h, json={"contact": "张医生"}).status_code == 404
    assert c.delete(f"{INST}/{other.id}", headers=h).status_code == 404
    assert c.get(f"{INST}/{other.id}/history", headers=h).status_code == 404
    after = inst("小店区西温庄乡西温庄村卫生室")
    assert after.contact != "张医生" and not after.deleted


def test_county_may_not_fill_a_townships_clinic_403(api, ctx):
    c, h = api("xd_county")
    target = inst("小店区北格镇张花村卫生室")
    r = c.put(f"{INST}/{target.id}", headers=h, json={"contact": "县里填"})
    assert r.status_code == 403
    assert inst("小店区北格镇张花村卫生室").contact == "联系人03"


# ---- 新增, 删除, 机构隶属关系维护 --------------------------------------------------------


def test_county_adds_a_unit_and_gets_its_login_name(api, ctx):
    c, h = api("xd_county")
    r = c.post(f"{INST}/", headers=h, json={"name": "小店区新镇卫生院", "township": "新镇",
                                            "phone": "0351-7000001"})
    assert r.status_code == 201, r.json
    assert r.json["result"]["tier"] == "unit" and r.json["result"]["superior_label"] == "小店区"
    login = r.json["login_name"]
    assert login and login in r.json["message"]
    account = user(login)
    assert account.must_change_password and "H 基层机构" in {x.name for x in account.roles}
    assert account.organization.name == "小店区新镇卫生院"


def test_county_add_needs_a_township_and_creates_nothing(api, ctx):
    c, h = api("xd_county")
    institutions, orgs = count(PhsInstitution), count(Organization)
    r = c.post(f"{INST}/", headers=h, json={"name": "小店区无乡镇卫生院", "phone": "123"})
    assert r.status_code == 422 and set(r.json["fields"]) == {"township", "phone"}
    assert (count(PhsInstitution), count(Organization)) == (institutions, orgs)


def test_township_adds_a_village_clinic_under_itself(api, ctx):
    c, h = api("xd_town1")
    r = c.post(f"{INST}/", headers=h, json={"name": "小店区北格镇新村卫生室",
                                            "phone": "13912345678",
                                            "inst_type": "village_clinic", **FILLED})
    assert r.status_code == 201, r.json
    row = r.json["result"]
    assert (row["tier"], row["inst_type_label"], row["superior_label"]) == (
        "station", "村卫生室", "小店区北格镇卫生院")
    assert row["missing"] == ["机构编码", "联系人", "机构地址", "主办类型"]
    assert "login_name" not in r.json
    assert r.json["id"] in ok(c.get(f"{INST}/", headers=h))["ids"]


def test_a_new_station_without_a_type_is_refused(api, ctx):
    c, h = api("xd_town1")
    before = count(PhsInstitution)
    r = c.post(f"{INST}/", headers=h, json={"name": "小店区北格镇新村卫生室"})
    assert r.status_code == 422 and "请选择机构类型" in r.json["fields"]["inst_type"][0]
    assert count(PhsInstitution) == before
    r = c.post(f"{INST}/", headers=h, json={"name": "小店区北格镇新村卫生室",
                                            "inst_type": "community_station"})
    assert r.status_code == 201 and r.json["result"]["inst_type"] == "community_station"


def test_a_post_cannot_place_a_row_elsewhere(api, ctx):
    c, h = api("xd_town1")
    before = count(PhsInstitution)
    r = c.post(f"{INST}/", headers=h, json={
        "name": "别处卫生室", "superior_org_id": user("yh_county").organization_id})
    assert r.status_code == 422 and "superior_org_id" in r.json["fields"]
    assert count(PhsInstitution) == before


def test_city_adds_its_own_institution_national_adds_nothing(api, ctx):
    c, h = api("ty_hc")
    r = c.post(f"{INST}/", headers=h, json={"name": "太原市疾病预防控制中心", "inst_type": "cdc"})
    assert r.status_code == 201 and r.json["result"]["tier"] == "area"
    n, nh = api("nhc")
    assert n.post(f"{INST}/", headers=nh, json={"name": "某机构"}).status_code == 403


def test_delete_keeps_the_station_marked_and_never_a_unit(api, ctx):
    c, h = api("xd_town1")
    clinic = inst("小店区北格镇张花村卫生室")
    r = c.delete(f"{INST}/{clinic.id}", headers=h)
    assert r.status_code == 200 and "已删除" in r.json["message"]
    assert inst("小店区北格镇张花村卫生室").deleted
    for method in ("get", "put", "delete"):
        assert getattr(c, method)(f"{INST}/{clinic.id}", headers=h, json={}).status_code == 404
    assert c.get(f"{INST}/{clinic.id}/history", headers=h).status_code == 404
    assert clinic.id not in ok(c.get(f"{INST}/", headers=h))["ids"]
    r = c.delete(f"{INST}/{inst('小店区北格镇卫生院').id}", headers=h)
    assert r.status_code == 409 and "基层机构只能由县级在确认并上报前删除" in r.json["message"]


def test_affiliation_attaches_an_existing_institution(api, ctx):
    c, h = api("xd_county")
    town2 = user("xd_town2").organization
    county = user("xd_county").organization
    listed = ok(c.get(f"{INST}/unattached", headers=h))
    assert town2.id in [o["id"] for o in listed["result"]]
    assert listed["superiors"][0]["id"] == county.id
    r = c.post(f"{INST}/affiliation", headers=h, json={"org_ids": [town2.id],
                                                        "superior": county.id})
    assert r.status_code == 201, r.json
    row = db.session.get(PhsInstitution, r.json["ids"][0])
    assert (row.tier, row.superior_org_id, row.source_org_id) == ("unit", county.id, town2.id)
    assert "H 基层机构" in {x.name for x in user("xd_town2").roles}
    assert town2.id not in [o["id"] for o in ok(c.get(f"{INST}/unattached", headers=h))["result"]]


@pytest.mark.parametrize("body,status", [
    ({"org_ids": ["TOWN2", "OTHER"], "superior": "COUNTY"}, 404),   # another county's org
    ({"org_ids": ["TOWN2"], "superior": "OTHER_COUNTY"}, 422),        # not a superior here
    ({"org_ids": "TOWN2", "superior": "COUNTY"}, 422),
    ({"org_ids": [], "superior": "COUNTY"}, 422),
])
def test_bad_affiliation_changes_nothing(api, ctx, body, status):
    ids = {"TOWN2": user("xd_town2").organization_id, "OTHER": user("ty_hosp2").organization_id,
           "COUNTY": user("xd_county").organization_id,
           "OTHER_COUNTY": user("yh_county").organization_id}
    body = {k: ([ids[x] for x in v] if isinstance(v, list) else ids[v]) for k, v in body.items()}
    c, h = api("xd_county")
    before = count(PhsInstitution)
    r = c.post(f"{INST}/affiliation", headers=h, json=body)
    assert r.status_code == status, r.json
    assert count(PhsInstitution) == before


def test_only_a_county_maintains_affiliation(api, ctx):
    c, h = api("xd_town1")
    assert c.get(f"{INST}/unattached", headers=h).status_code == 403
    r = c.post(f"{INST}/affiliation", headers=h, json={
        "org_ids": [user("xd_town2").organization_id],
        "superior": user("xd_town1").organization_id})
    assert r.status_code == 403


# ---- 申请修改 refused --------------------------------------------------------------------


@pytest.mark.parametrize("body,message", [
    ({"kind": "add", "institution": "INST", "content": {"name": "x"}},
     "新增类申请不能选择已有机构"),
    ({"kind": "add", "content": {"name": "盐湖区新村卫生室"}}, "请选择上级机构"),
    ({"kind": "add", "content": {"name": "盐湖区新村卫生室", "superior": "COUNTY"}},
     "新增的机构信息不完整"),
    ({"kind": "modify", "content": {"phone": "0359-1111111"}}, "修改类申请需选择要修改的机构"),
    ({"kind": "modify", "institution": "INST"}, "修改类申请需填写要修改的内容"),
    ({"kind": "modify", "institution": "INST", "content": {"phone": "1391234567"}},
     "手机号码应为11位"),
    ({"kind": "modify", "institution": "INST", "content": {"contact": "联系人42"}},
     "所填内容与现有机构信息相同"),
    ({"kind": "delete", "institution": "INST", "content": {"phone": "0359-1111111"}},
     "删除类申请不需填写机构信息"),
    ({"kind": "delete"}, "删除类申请需选择要删除的机构"),
    ({"kind": "", "institution": "INST"}, "请选择申请类型"),
    ({"kind": "rename", "institution": "INST"}, "请选择申请类型"),
    ({"kind": "delete", "institution": "INST", "reason": ""}, "请填写申请说明"),
    ({"kind": "modify", "institution": "INST", "content": "{not json"}, "申请内容格式无效"),
])
def test_change_request_kind_must_fit_its_content_422(api, ctx, body, message):
    target = inst("盐湖区龙居镇龙居村卫生室")
    ids = {"INST": target.id, "COUNTY": user("yh_county").organization_id}
    body = {"reason": "核实", **{k: ids.get(v, v) if isinstance(v, str) else v
                                for k, v in body.items()}}
    if isinstance(body.get("content"), dict):
        body["content"] = {k: ids.get(v, v) for k, v in body["content"].items()}
    before = count(PhsChangeRequest)
    c, h = api("yh_county")
    r = c.post(f"{CHANGE}/", headers=h, json=body)
    assert r.status_code == 422, r.json
    assert message in r.json["message"]
    assert count(PhsChangeRequest) == before


def test_change_request_of_another_county_institution_is_404(api, ctx):
    c, h = api("yh_county")
    before = count(PhsChangeRequest)
    r = c.post(f"{CHANGE}/", headers=h, json={
        "kind": "delete", "institution": inst("小店区营盘社区卫生服务站").id, "reason": "撤并"})
    assert r.status_code == 404 and count(PhsChangeRequest) == before


def test_change_request_before_reporting_is_409(api, ctx):
    c, h = api("xd_county")
    r = c.post(f"{CHANGE}/", headers=h, json={
        "kind": "delete", "institution": inst("小店区营盘社区卫生服务站").id, "reason": "撤并"})
    assert r.status_code == 409 and "尚未确认并上报" in r.json["message"]


def test_a_change_request_is_made_by_a_county_only(api, ctx):
    target = inst("盐湖区龙居镇龙居村卫生室").id
    body = {"kind": "delete", "institution": target, "reason": "撤并"}
    c, h = api("yc_hc")
    assert c.post(f"{CHANGE}/", headers=h, json=body).status_code == 403
    u, uh = api(unit_login("盐湖区龙居镇卫生院"))
    assert u.post(f"{CHANGE}/", headers=uh, json=body).status_code == 403
    assert u.get(f"{CHANGE}/", headers=uh).status_code == 403


def test_a_change_request_is_never_edited_or_deleted(api, ctx):
    change = db.session.execute(select(PhsChangeRequest)).scalars().first()
    c, h = api("yc_hc")
    assert c.put(f"{CHANGE}/{change.id}", headers=h, json={"state": "approved"}).status_code == 405
    assert c.delete(f"{CHANGE}/{change.id}", headers=h).status_code == 405
    db.session.expire_all()
    assert db.session.get(PhsChangeRequest, change.id).state == "pending"


def test_a_report_moves_only_by_its_transitions(api, ctx):
    c, h = api("xd_county")
    pk = report(unit_login("小店区西温庄乡卫生院")).id
    assert c.put(f"{REPORT}/{pk}", headers=h, json={"state": "approved"}).status_code == 405
    assert c.delete(f"{REPORT}/{pk}", headers=h).status_code == 405
    assert c.post(f"{REPORT}/", headers=h, json={"state": "approved"}).status_code == 405
    assert report(unit_login("小店区西温庄乡卫生院")).state == "submitted"


# ---- scope, roles, JWT -------------------------------------------------------------------


def test_out_of_scope_is_404(api, ctx):
    change = db.session.execute(select(PhsChangeRequest)).scalars().first()
    yc_report = report("yc_hc")
    c, h = api("ty_hc")
    assert c.get(f"{REPORT}/{yc_report.id}", headers=h).status_code == 404
    assert c.post(f"{REPORT}/{yc_report.id}/accept", headers=h).status_code == 404
    assert c.get(f"{REPORT}/{yc_report.id}/history", headers=h).status_code == 404
    assert c.post(f"{REPORT}/batch/accept", headers=h, json={"ids": [yc_report.id]}) \
        .status_code == 404
    assert c.get(f"{CHANGE}/{change.id}", headers=h).status_code == 404
    assert c.post(f"{CHANGE}/{change.id}/forward", headers=h).status_code == 404
    assert change.id not in ok(c.get(f"{CHANGE}/", headers=h))["ids"]
    assert c.get(f"{INST}/{inst('盐湖区龙居镇卫生院').id}", headers=h).status_code == 404
    county, ch = api("xd_county")
    target = inst("迎泽区郝庄镇卫生院")
    assert county.get(f"{INST}/{target.id}", headers=ch).status_code == 404
    assert county.post(f"{INST}/{target.id}/reject", headers=ch,
                       json={"comment": "x"}).status_code == 404
    town, th = api("xd_town1")
    other = report(unit_login("小店区西温庄乡卫生院"))
    assert town.get(f"{REPORT}/{other.id}", headers=th).status_code == 404
    assert report("yc_hc").state == "submitted" and report(
        unit_login("迎泽区郝庄镇卫生院")).state == "approved"


def test_wrong_role_is_403(api, ctx):
    xwz = report(unit_login("小店区西温庄乡卫生院"))
    town, th = api("xd_town1")
    own = inst("小店区北格镇卫生院")
    assert town.post(f"{INST}/{own.id}/approve", headers=th).status_code == 403
    assert town.post(f"{REPORT}/{mine(town, th)}/confirm", headers=th).status_code == 403
    city, yh = api("ty_hc")
    assert city.post(f"{REPORT}/{xwz.id}/approve", headers=yh).status_code == 403
    county, ch = api("xd_county")
    assert county.post(f"{REPORT}/{xwz.id}/withdraw", headers=ch).status_code == 403
    hosp, hh = api("ty_hosp1")
    assert hosp.get(f"{INST}/", headers=hh).status_code == 403
    assert hosp.get(f"{REPORT}/mine", headers=hh).status_code == 403
    assert report(unit_login("小店区西温庄乡卫生院")).state == "submitted"


def test_jwt_only(login_as, ctx):
    browser = login_as("xd_county")
    target = inst("小店区西温庄乡卫生院")
    for method, url in (("get", f"{INST}/"), ("get", f"{REPORT}/mine"),
                        ("post", f"{INST}/{target.id}/approve"), ("get", f"{CHANGE}/")):
        assert getattr(browser, method)(url).status_code == 401
    assert report(unit_login("小店区西温庄乡卫生院")).state == "submitted"
