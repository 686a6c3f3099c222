"""基本公卫 申请修改 on the screens (issue 22 items 2, 3): a 修改 opens with the institution's
current values and amends them (what was not touched stays), the request keeps only what
changed, and every comparison or log of a change reads labels, never the stored codes."""
import json
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.phs import PhsChangeRequest
from tests.conftest import flashes
from phs_flow_support import approved_at_province, inst, request_change

STATION = "盐湖区龙居镇龙居村卫生室"


def text(r):
    return r.get_data(as_text=True)


def changes_count():
    return db.session.scalar(select(func.count(PhsChangeRequest.id)))


def test_a_modify_request_opens_with_the_current_values(login_as, ctx):
    target = inst(STATION)
    page = text(login_as("yh_county").get(
        f"/phs/changes/new?kind=modify&institution={target.id}"))
    assert 'value="联系人42"' in page and f'name="loaded" type="hidden" value="{target.id}"' in page
    ticked = re.findall(r'<input checked class="service-item"[^>]* value="(\d+)">', page)
    assert ticked == target.service_codes


def test_a_modify_request_amends_and_keeps_what_was_not_touched(login_as, ctx):
    target = inst(STATION)
    before = target.service_codes
    c = login_as("yh_county")
    form = {"kind": "modify", "institution": str(target.id), "loaded": str(target.id),
            "name": target.name, "code": target.code, "contact": target.contact,
            "phone": target.phone, "township": target.township or "",
            "address_detail": target.address_detail, "inst_type": target.inst_type,
            "sponsor": target.sponsor, "longitude": f"{target.longitude:.6f}",
            "latitude": f"{target.latitude:.6f}", "services": before + ["09"],
            "reason": "补充严重精神障碍患者管理"}
    r = c.post("/phs/changes/new", data=form, follow_redirects=True)
    assert "申请修改已提交" in flashes(r)
    change = db.session.execute(select(PhsChangeRequest).where(
        PhsChangeRequest.institution_id == target.id)).scalar_one()
    wanted = ",".join(sorted(before + ["09"]))
    assert json.loads(change.content) == {"services": wanted}     # only what changed
    page = text(login_as("yc_hc").get(f"/phs/changes/show/{change.id}"))
    assert "严重精神障碍患者管理" in page and "联系人42" not in page   # changed items only
    approved_at_province(change)
    db.session.expire_all()
    assert inst(STATION).service_codes == sorted(before + ["09"])   # nothing lost


def test_a_modify_whose_items_were_not_loaded_is_refused_and_loads_them(login_as, ctx):
    target = inst(STATION)
    before = changes_count()
    r = login_as("yh_county").post("/phs/changes/new", data={
        "kind": "modify", "institution": str(target.id), "services": ["02"],
        "reason": "补充健康教育"})
    assert r.status_code == 422
    assert "请在此基础上修改后再提交" in text(r) and 'value="联系人42"' in text(r)
    assert changes_count() == before
    db.session.expire_all()
    assert inst(STATION).services != "02"


def test_a_merged_change_is_logged_with_labels(ctx):
    target = inst(STATION)
    change = request_change({"kind": "modify", "institution": target.id,
                             "content": {"inst_type": "community_station", "sponsor": "2"}})
    approved_at_province(change)
    comment = db.session.execute(select(AuditLog.comment).where(
        AuditLog.object_type == "phs_institution", AuditLog.object_id == target.id)
        .order_by(AuditLog.id.desc()).limit(1)).scalar_one()
    assert "机构类型：村卫生室 → 社区卫生服务站" in comment and "政府办 → 社会办" in comment
    assert "village_clinic" not in comment


def test_the_api_comparison_carries_labels(api, ctx):
    change = request_change({"kind": "modify", "institution": inst(STATION).id,
                             "content": {"inst_type": "community_station"}})
    client, headers = api("yc_hc")
    r = client.get(f"/api/v1/phs_change_request/{change.id}", headers=headers)
    row = r.get_json()["result"]["comparison"][0]
    assert (row["before_label"], row["after_label"]) == ("村卫生室", "社区卫生服务站")
