"""工伤 REST API (SPEC §X, W3–W8): person lookup, master data, the five declarations with
materials, the hospital → employer → agency chain, the employer timeout, 重新申报, batch."""
import datetime as dt
import io
import uuid

from sqlalchemy import func, select

from app.extensions import db
from app.models.core import Organization, Region
from app.models.files import Attachment
from app.models.injury import InjuryDeclaration, InjuryDetermination, InjuryDeviceItem
from app.services import clock, validators
from app.services.accounts import create_user
from tests.conftest import PASSWORD, png_bytes, user

DECL = "/api/v1/injury_declaration"
DET = "/api/v1/injury_determination"
DEV = "/api/v1/injury_device_item"
RELAPSE = {"diagnosis": "右胫骨骨折术后再骨折", "recurrence_date": "2026-01-08",
           "treatment_plan": "切开复位内固定", "department": "骨科", "opinion": "建议住院治疗"}


def id_number():
    body = "1401051961" + f"{uuid.uuid4().int % 12 + 1:02d}15" + f"{uuid.uuid4().int % 1000:03d}"
    return body + validators._id_check_char(body)


def bad_check_digit(number):
    return number[:17] + ("0" if number[17] != "0" else "1")


def region(code):
    return db.session.execute(select(Region).where(Region.code == code)).scalar_one()


def determination(code="140105", employer="ty_employer", number=None):
    """A determination of our own in region `code`, linked to `employer`'s organisation."""
    reg, org = region(code), user(employer).organization if employer else None
    det = InjuryDetermination(
        id_number=number or id_number(), person_name="测试职工",
        employer_name=org.name if org else "外单位", employer_id=org.id if org else None,
        injury_type="injury", determination_no=f"测认{uuid.uuid4().hex[:12]}",
        injury_date=dt.date(2025, 6, 18), region_id=reg.id)
    det.copy_scope_from(reg)
    db.session.add(det)
    db.session.commit()
    return det.id


def device_item(name="碳纤维小腿假肢", spec="储能脚"):
    item = InjuryDeviceItem(code="T" + uuid.uuid4().hex[:8], name=name, category="假肢",
                            specification=spec, price="12800.00", usage_years=3)
    db.session.add(item)
    db.session.commit()
    return item.code


def declare(c, h, det_id, kind="relapse", **fields):
    body = {"kind": kind, "determination": det_id, **(RELAPSE if kind == "relapse" else {}),
            **fields}
    r = c.post(DECL + "/", headers=h, json=body)
    assert r.status_code == 201, r.json
    return r.json["id"]


def upload(c, h, pk, slot, data=None, name="材料.png"):
    return c.post(f"{DECL}/{pk}/attachments/{slot}", headers=h,
                  data={"file": (io.BytesIO(data if data is not None else png_bytes()), name)},
                  content_type="multipart/form-data")


def with_materials(c, h, pk, slots=("determination_doc", "diagnosis_proof")):
    for slot in slots:
        assert upload(c, h, pk, slot).status_code == 201


def submitted(c, h, det_id):
    pk = declare(c, h, det_id)
    with_materials(c, h, pk)
    r = c.post(f"{DECL}/{pk}/submit", headers=h)
    assert r.status_code == 200 and r.json["state"] == "employer_review", r.json
    return pk


def state(pk):
    db.session.expire_all()
    return db.session.get(InjuryDeclaration, pk).state


def count_declarations():
    return db.session.execute(select(func.count()).select_from(InjuryDeclaration)).scalar()


def transitions(c, h, pk):
    r = c.get(f"{DECL}/{pk}/history", headers=h)
    assert r.status_code == 200
    return [row for row in r.json["result"] if row["action"] == "transition"]


def other_employer():
    """A second employer organisation with its own account → its username."""
    base = user("ty_employer").organization
    suffix = uuid.uuid4().hex[:8]
    org = Organization(name=f"测试机械厂{suffix}", org_type="employer", level=base.level,
                       region_id=base.region_id, unit_code=f"E{suffix}")
    org.copy_scope_from(base)
    db.session.add(org)
    db.session.flush()
    create_user(None, org, f"emp_{suffix}", org.name, password=PASSWORD, must_change=False)
    db.session.commit()
    return f"emp_{suffix}"


# ---- W3 lookup and the determinations ---------------------------------------------------------


def test_lookup_by_id_number(app, api, ctx):
    number = id_number()
    det_id = determination(number=number)
    c, h = api("ty_hosp1")
    r = c.get(f"{DET}/lookup", headers=h, query_string={"id_number": number.lower()})
    assert r.status_code == 200 and [d["id"] for d in r.json["result"]] == [det_id]
    found = r.json["result"][0]
    assert found["injury_type_label"] == "工伤" and found["employer_name"] == "太原重型机械有限公司"
    r = c.get(f"{DET}/lookup", headers=h, query_string={"id_number": bad_check_digit(number)})
    assert r.status_code == 422 and "校验位错误" in r.json["fields"]["id_number"][0]
    r = c.get(f"{DET}/lookup", headers=h, query_string={"id_number": id_number()})
    assert r.status_code == 200 and r.json["result"] == []
    assert r.json["message"] == "未查询到该人员的工伤认定信息"
    # a 运城 hospital looks people up in its own city only
    yc, yh = api("yc_hosp1")
    r = yc.get(f"{DET}/lookup", headers=yh, query_string={"id_number": number})
    assert r.status_code == 200 and r.json["result"] == []
    # a hospital looks a person up; it never lists or reads the agency's determinations
    assert yc.get(f"{DET}/{det_id}", headers=yh).status_code == 403
    assert yc.get(f"{DET}/", headers=yh).status_code == 403


def determination_body(**change):
    return {"id_number": id_number(), "person_name": "王建国", "injury_type": "injury",
            "determination_no": f"晋工认{uuid.uuid4().hex[:10]}", "injury_date": "20250618",
            "region_code": "140105", "employer_id": user("ty_employer").organization_id,
            **change}


def test_determination_fields_are_checked(app, api, ctx):
    c, h = api("admin")
    body = determination_body()
    r = c.post(DET + "/", headers=h, json=body)
    assert r.status_code == 201, r.json
    det = db.session.get(InjuryDetermination, r.json["id"])
    assert (det.city_code, det.county_code, det.employer_name) == \
        ("140100", "140105", "太原重型机械有限公司")
    before = db.session.execute(select(func.count()).select_from(InjuryDetermination)).scalar()
    for change, field in (({"id_number": bad_check_digit(body["id_number"])}, "id_number"),
                          ({}, "determination_no"),                      # already taken
                          ({"injury_type": "flu"}, "injury_type"),
                          ({"region_code": "140000"}, "region_id"),     # a province
                          ({"injury_date": "2099-01-01"}, "injury_date"),
                          ({"employer_id": user("ty_hosp1").organization_id}, "employer_id")):
        r = c.post(DET + "/", headers=h, json={**body, **change})
        assert r.status_code == 422 and field in r.json["fields"], (change, r.json)
    assert db.session.execute(select(func.count()).select_from(InjuryDetermination)
                              ).scalar() == before
    r = c.post(DET + "/", headers=h, json={**body, "id_number": bad_check_digit(body["id_number"])})
    assert r.status_code == 422 and "校验位错误" in r.json["message"]
    # Determinations are imported master data: the agency's screen imports, it does not edit
    # or delete one, and so neither does the API.
    r = c.put(f"{DET}/{det.id}", headers=h, json={"person_name": "王建军"})
    assert r.status_code == 403 and r.json["message"] == "您没有此操作的权限"
    assert c.delete(f"{DET}/{det.id}", headers=h).status_code == 403
    assert db.session.get(InjuryDetermination, det.id) is not None
    hc, hh = api("ty_hosp1")
    assert hc.post(DET + "/", headers=hh, json=determination_body()).status_code == 403


def test_agency_writes_determinations_of_its_own_region(app, api, ctx):
    c, h = api("ty_agency")
    r = c.post(DET + "/", headers=h, json=determination_body())
    assert r.status_code == 201, r.json
    r = c.post(DET + "/", headers=h, json=determination_body(region_code="140802"))
    assert r.status_code == 422 and "管辖范围" in r.json["fields"]["region_id"][0]
    assert c.get(f"{DET}/{determination('140802', None)}", headers=h).status_code == 404


# ---- W4 declaring --------------------------------------------------------------------------


def test_declaration_saved_through_the_rules(app, api, ctx):
    c, h = api("ty_hosp1")
    det_id = determination()
    before = count_declarations()
    r = c.post(DECL + "/", headers=h, json={"kind": "relapse", "determination": det_id,
                                            **RELAPSE, "recurrence_date": "2026-02-30",
                                            "department": ""})
    assert r.status_code == 422 and set(r.json["fields"]) == {"recurrence_date", "department"}
    assert c.post(DECL + "/", headers=h, json={"kind": "surgery", "determination": det_id}
                  ).status_code == 422
    assert count_declarations() == before
    pk = declare(c, h, det_id)
    r = c.get(f"{DECL}/{pk}", headers=h)
    assert r.status_code == 200
    shown = r.json["result"]
    assert (shown["state"], shown["kind_label"], shown["person_name"]) == ("draft", "旧伤复发治疗申请",
                                                                           "测试职工")
    assert shown["determination_no"].startswith("测认") and shown["recurrence_date"] == "2026-01-08"
    assert {s["name"]: s["present"] for s in shown["slots"]} == {
        "determination_doc": False, "diagnosis_proof": False, "medical_records": False}
    assert "submit" in shown["actions"]
    r = c.put(f"{DECL}/{pk}", headers=h, json={"department": "康复科"})
    assert r.status_code == 200 and r.json["result"]["department"] == "康复科"
    assert r.json["result"]["diagnosis"] == RELAPSE["diagnosis"]     # the rest is kept
    assert c.put(f"{DECL}/{pk}", headers=h, json={"kind": "rehab"}).status_code == 422
    assert c.put(f"{DECL}/{pk}", headers=h, json={"extended_to": "x", "department": ""}
                 ).status_code == 422
    assert db.session.get(InjuryDeclaration, pk).department == "康复科"
    # DELETE is the `delete` transition: kept, out of the list, audited
    assert c.delete(f"{DECL}/{pk}", headers=h).json["state"] == "deleted"
    assert state(pk) == "deleted" and c.get(f"{DECL}/{pk}", headers=h).status_code == 404
    assert [t["transition"] for t in transitions(c, h, pk)] == ["delete"]


def test_determination_of_another_region_is_404(app, api, ctx):
    yc_det = determination(code="140802", employer=None)
    c, h = api("ty_hosp1")
    before = count_declarations()
    r = c.post(DECL + "/", headers=h, json={"kind": "relapse", "determination": yc_det,
                                            **RELAPSE})
    assert r.status_code == 404 and count_declarations() == before
    pk = declare(c, h, determination())
    assert c.put(f"{DECL}/{pk}", headers=h, json={"determination_id": yc_det}).status_code == 404
    assert db.session.get(InjuryDeclaration, pk).determination_id != yc_det


def test_bad_configuration_date_saves_nothing(app, api, ctx):
    c, h = api("ty_hosp1")
    code, det_id = device_item(), determination()
    line = {"item": code, "quantity": 1, "price": "12800.00", "configured_on": "20191107",
            "usage_years": 3}
    before = count_declarations()
    r = c.post(DECL + "/", headers=h, json={"kind": "device", "determination": det_id,
                                            "lines": [{**line, "configured_on": "20191332"}]})
    assert r.status_code == 422 and "第1行" in r.json["fields"]["lines"][0]
    assert "20191332" in r.json["message"] and count_declarations() == before
    pk = declare(c, h, det_id, kind="device", lines=[line])
    bad = {**line, "configured_on": "20191332"}
    r = c.put(f"{DECL}/{pk}", headers=h, json={"lines": [line, bad]})
    assert r.status_code == 422 and "第2行" in r.json["fields"]["lines"][0]
    assert c.put(f"{DECL}/{pk}", headers=h, json={"lines": "20191332"}).status_code == 422
    r = c.get(f"{DECL}/{pk}/lines", headers=h)
    assert r.status_code == 200
    assert [(ln["item"], ln["configured_on"]) for ln in r.json["result"]] == [(code, "20191107")]


def test_device_catalogue_search_and_admin_writes(app, api, ctx):
    code = device_item(name="测试碳纤维小腿假肢", spec="储能脚QX9")
    c, h = api("ty_hosp1")
    for q in ("试碳纤维小腿", code[2:7].upper(), "QX9"):
        r = c.get(f"{DEV}/search", headers=h, query_string={"q": q})
        assert r.status_code == 200 and code in [d["code"] for d in r.json["result"]], q
    r = c.get(f"{DEV}/search", headers=h)
    assert r.status_code == 200 and len(r.json["result"]) <= 20
    body = {"code": "T" + uuid.uuid4().hex[:8], "name": "肘拐", "category": "助行器",
            "price": "80.50", "usage_years": 2}
    assert c.post(DEV + "/", headers=h, json=body).status_code == 403
    ac, ah = api("admin")
    r = ac.post(DEV + "/", headers=ah, json=body)
    assert r.status_code == 201 and r.json["result"]["price"] is not None
    r = ac.post(DEV + "/", headers=ah, json=body)
    assert r.status_code == 422 and r.json["fields"]["code"] == ["该产品编码已存在"]
    r = ac.post(DEV + "/", headers=ah, json={**body, "code": "Z1", "price": "-1", "usage_years": 0})
    assert r.status_code == 422 and set(r.json["fields"]) == {"price", "usage_years"}
    assert ac.put(f"{DEV}/{r.json.get('id', 0) or 10**9}", headers=ah, json={}).status_code == 404


# ---- materials and 提交 ---------------------------------------------------------------------


def test_materials_are_images_in_declared_slots(app, api, ctx):
    c, h = api("ty_hosp1")
    pk = declare(c, h, determination())

    def attachments():
        return db.session.execute(select(func.count()).select_from(Attachment).where(
            Attachment.owner_type == "injury_declaration", Attachment.owner_id == pk)).scalar()
    r = upload(c, h, pk, "determination_doc", data=b"%PDF-1.4 not an image", name="决定书.pdf")
    assert r.status_code == 422 and "只能上传" in r.json["message"] and attachments() == 0
    r = upload(c, h, pk, "determination_doc", data=b"plain text", name="假图片.png")
    assert r.status_code == 422 and attachments() == 0
    assert upload(c, h, pk, "prescription").status_code == 404       # a slot of another kind
    yc, yh = api("yc_hosp1")
    assert upload(yc, yh, pk, "determination_doc").status_code == 404
    r = upload(c, h, pk, "determination_doc")
    assert r.status_code == 201 and attachments() == 1
    r = c.get(f"{DECL}/{pk}", headers=h)
    assert r.status_code == 200
    shown = r.json["result"]
    assert [a["slot"] for a in shown["attachments"]] == ["determination_doc"]


def test_submit_without_required_material_names_it(app, api, ctx):
    c, h = api("ty_hosp1")
    pk = declare(c, h, determination())
    with_materials(c, h, pk, slots=("determination_doc",))
    r = c.post(f"{DECL}/{pk}/submit", headers=h)
    assert r.status_code == 422 and "诊断证明书" in r.json["message"]
    assert "工伤认定决定书" not in r.json["message"] and state(pk) == "draft"
    device_pk = declare(c, h, determination(), kind="device")
    with_materials(c, h, device_pk, slots=("prescription",))
    r = c.post(f"{DECL}/{device_pk}/submit", headers=h)
    assert r.status_code == 422 and "辅助器具" in r.json["message"] and state(device_pk) == "draft"


def test_batch_submit_is_all_or_nothing(app, api, ctx):
    c, h = api("ty_hosp1")
    ready, lacking = declare(c, h, determination()), declare(c, h, determination())
    with_materials(c, h, ready)
    r = c.post(f"{DECL}/batch/submit", headers=h, json={"ids": [ready, lacking]})
    assert r.status_code == 409 and [row["id"] for row in r.json["ineligible"]] == [lacking]
    assert "诊断证明书" in r.json["ineligible"][0]["reason"]
    assert (state(ready), state(lacking)) == ("draft", "draft")
    with_materials(c, h, lacking)
    r = c.post(f"{DECL}/batch/submit", headers=h, json={"ids": [ready, lacking]})
    assert r.status_code == 200 and r.json["state"] == "employer_review"
    assert (state(ready), state(lacking)) == ("employer_review", "employer_review")


# ---- W5–W7 the chain --------------------------------------------------------------------------


def test_hospital_employer_agency_chain(app, api, ctx):
    c, h = api("ty_hosp1")
    code, det_id = device_item(), determination()
    line = {"item": code, "quantity": 2, "price": "", "configured_on": "20251107",
            "usage_years": ""}
    pk = declare(c, h, det_id, kind="device", opinion="建议配置", lines=[line])
    r = c.get(f"{DECL}/{pk}", headers=h)
    assert r.status_code == 200
    shown = r.json["result"]
    assert shown["lines"] == [{"item": code, "name": "碳纤维小腿假肢", "quantity": 2,
                               "price": "12800.00", "configured_on": "20251107",
                               "usage_years": 3}]
    ec, eh = api("ty_employer")
    assert ec.get(f"{DECL}/{pk}", headers=eh).status_code == 404      # drafts stay private
    with_materials(c, h, pk, slots=("prescription",))
    assert c.post(f"{DECL}/{pk}/submit", headers=h).json["state"] == "employer_review"
    assert c.put(f"{DECL}/{pk}", headers=h, json={"opinion": "x"}).status_code == 409
    assert upload(c, h, pk, "prescription").status_code == 409
    assert ec.put(f"{DECL}/{pk}", headers=eh, json={"opinion": "改"}).status_code == 403
    assert ec.get(f"{DECL}/", headers=eh).json["result"][0]["id"] == pk
    ac, ah = api("ty_agency")
    assert ac.post(f"{DECL}/{pk}/agency_approve", headers=ah).status_code == 409
    r = ec.post(f"{DECL}/{pk}/employer_approve", headers=eh, json={"comment": "情况属实"})
    assert r.status_code == 200 and r.json["state"] == "agency_review"
    yc, yh = api("yc_agency")
    assert yc.post(f"{DECL}/{pk}/agency_approve", headers=yh).status_code == 404
    assert c.post(f"{DECL}/{pk}/agency_approve", headers=h).status_code == 403
    r = ac.post(f"{DECL}/{pk}/agency_approve", headers=ah, json={"comment": "同意配置"})
    assert r.status_code == 200 and r.json["state"] == "approved"
    r = c.get(f"{DECL}/{pk}", headers=h)
    assert r.status_code == 200
    shown = r.json["result"]
    assert (shown["state_label"], shown["employer_opinion"], shown["agency_opinion"],
            shown["employer_auto_approved"]) == ("通过", "情况属实", "同意配置", False)
    assert [(t["transition"], t["comment"]) for t in transitions(c, h, pk)] == [
        ("submit", None), ("employer_approve", "情况属实"), ("agency_approve", "同意配置")]
    r = ac.get(f"{DECL}/export", headers=ah, query_string={"columns": "id,kind,state"})
    assert r.status_code == 200 and r.data[:2] == b"PK"


def test_rejected_declaration_resubmitted_prefilled_and_linked(app, api, ctx):
    c, h = api("ty_hosp1")
    pk = submitted(c, h, determination())
    ec, eh = api("ty_employer")
    assert ec.post(f"{DECL}/{pk}/employer_reject", headers=eh).status_code == 422
    assert c.post(f"{DECL}/{pk}/resubmit", headers=h).status_code == 409   # not rejected yet
    r = ec.post(f"{DECL}/{pk}/employer_reject", headers=eh, json={"comment": "非本单位职工"})
    assert r.status_code == 200 and r.json["state"] == "rejected"
    assert ec.post(f"{DECL}/{pk}/resubmit", headers=eh).status_code == 403
    r = c.post(f"{DECL}/{pk}/resubmit", headers=h)
    assert r.status_code == 201 and r.json["resubmitted_from_id"] == pk
    new = r.json["id"]
    assert c.post(f"{DECL}/{pk}/resubmit", headers=h).json["id"] == new    # one open copy
    old, copy = (c.get(f"{DECL}/{i}", headers=h).json["result"] for i in (pk, new))
    assert (copy["state"], copy["resubmitted_from_id"], copy["submitted_at"]) == ("draft", pk, None)
    assert all(copy[f] == old[f] for f in list(RELAPSE) + ["determination_id", "id_number"])
    assert old["employer_opinion"] == "非本单位职工"
    with_materials(c, h, new)
    assert c.post(f"{DECL}/{new}/submit", headers=h).json["state"] == "employer_review"
    assert state(pk) == "rejected"


def test_agency_rejection_needs_an_opinion(app, api, ctx):
    c, h = api("ty_hosp1")
    pk = submitted(c, h, determination())
    ec, eh = api("ty_employer")
    assert ec.post(f"{DECL}/{pk}/employer_approve", headers=eh).status_code == 200
    ac, ah = api("ty_agency")
    r = ac.post(f"{DECL}/{pk}/agency_reject", headers=ah, json={"comment": " "})
    assert r.status_code == 422 and state(pk) == "agency_review"
    r = ac.post(f"{DECL}/{pk}/agency_reject", headers=ah, json={"comment": "材料不全"})
    assert r.status_code == 200 and state(pk) == "rejected"
    assert c.post(f"{DECL}/{pk}/resubmit", headers=h).status_code == 201


def test_employer_of_another_company_sees_nothing(app, api, ctx):
    c, h = api("ty_hosp1")
    pk = submitted(c, h, determination())
    oc, oh = api(other_employer())
    assert oc.get(f"{DECL}/{pk}", headers=oh).status_code == 404
    assert pk not in oc.get(f"{DECL}/", headers=oh).json["ids"]
    for name in ("employer_approve", "employer_reject"):
        r = oc.post(f"{DECL}/{pk}/{name}", headers=oh, json={"comment": "不同意"})
        assert r.status_code == 404
    assert oc.post(f"{DECL}/batch/employer_approve", headers=oh, json={"ids": [pk]}
                   ).status_code == 404
    assert state(pk) == "employer_review"
    ec, eh = api("ty_employer")
    assert pk in ec.get(f"{DECL}/", headers=eh).json["ids"]


def test_employer_timeout_auto_approves_when_read(app, api, ctx, monkeypatch):
    c, h = api("ty_hosp1")
    pk = submitted(c, h, determination())
    ac, ah = api("ty_agency")
    ec, eh = api("ty_employer")
    rows = {r["id"]: r["state"] for r in ac.get(f"{DECL}/", headers=ah).json["result"]}
    assert rows[pk] == "employer_review"
    later = clock.now() + dt.timedelta(hours=25)
    monkeypatch.setattr("app.services.clock.now", lambda: later)
    rows = {r["id"]: r for r in ac.get(f"{DECL}/", headers=ah).json["result"]}
    assert rows[pk]["state"] == "agency_review" and rows[pk]["employer_auto_approved"] is True
    last = transitions(ac, ah, pk)[-1]
    assert (last["transition"], last["comment"], last["user"]) == ("auto_approve", "超时自动通过",
                                                                   "系统")
    r = ec.post(f"{DECL}/{pk}/employer_approve", headers=eh, json={"comment": "同意"})
    assert r.status_code == 409 and state(pk) == "agency_review"
    assert ec.post(f"{DECL}/{pk}/employer_reject", headers=eh, json={"comment": "否"}
                   ).status_code == 409
    assert ac.post(f"{DECL}/{pk}/agency_approve", headers=ah).json["state"] == "approved"


def test_employer_within_the_deadline_still_decides(app, api, ctx, monkeypatch):
    c, h = api("ty_hosp1")
    pk = submitted(c, h, determination())
    later = clock.now() + dt.timedelta(hours=23)
    monkeypatch.setattr("app.services.clock.now", lambda: later)
    ec, eh = api("ty_employer")
    assert ec.get(f"{DECL}/{pk}", headers=eh).json["result"]["state"] == "employer_review"
    r = ec.post(f"{DECL}/{pk}/employer_approve", headers=eh)
    assert r.status_code == 200
    assert db.session.get(InjuryDeclaration, pk).employer_auto_approved is False
