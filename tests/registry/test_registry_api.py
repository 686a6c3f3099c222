"""医疗机构信息维护 REST API (SPEC §X, M1–M7): the whole chain — search, 新增, 授权, the
authorisation PDF and its recognised upload, the agency's review, 维护, 提交审核, national
审核赋码, a designated-service agreement confirmed and published — each step by its own
account over JWT; and every bad input answered as the contract says (422 / 409 / 403 /
404) with nothing changed."""
import io
import re

import pytest
from flask import g
from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import Organization
from app.models.files import Attachment
from app.models.registry import (DesignatedInstitution, RegistryAgreement,
                                 RegistryAuthorization, RegistryCertChange,
                                 RegistryCodeCounter, RegistryInstitution, RegistryStaff)
from app.services.registry import commands, rules
from app.services.registry import authorization as registry_auth
from app.services.validators import _uscc_check_char
from tests.conftest import PASSWORD, png_bytes, user

INST = "/api/v1/registry_institution"
AUTH = "/api/v1/registry_authorization"
AGREEMENT = "/api/v1/registry_agreement"
STAFF = "/api/v1/registry_staff"
HOSP1, HOSP2, CLINIC = "太原市第一人民医院", "太原市中心医院", "太原康宁口腔诊所"
CLINIC_CERTS = {"uscc": "91140105MA0KXQ1P2X", "licence_no": "PDY00003114010521D2152"}
HOSP1_CERTS = {"uscc": "12140100405814452W", "licence_no": "PDY00001914010511A1001"}


def uscc(first17):
    return first17 + _uscc_check_char(first17)


def form(name="太原晋阳康复医院", **extra):
    values = {"legal_name": "太原晋阳康复医疗有限公司", "name": name,
              "uscc": uscc("91140105MA0KXR7T3"), "licence_no": "PDY00009914010521D3001",
              "region_code": "140105", "address": "山西省太原市小店区晋阳街88号",
              "pooling_code": "140100", "uses_e_voucher": True, "category": "康复医院",
              "grade": "二级甲等", "phone": "0351-7788990"}
    values.update(extra)
    return values


def inst(name):
    db.session.expire_all()
    return db.session.execute(select(RegistryInstitution).join(RegistryInstitution.organization)
                              .where(Organization.name == name)).scalar_one()


def agreement(number):
    db.session.expire_all()
    return db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.agreement_no == number)).scalar_one()


def staff(name):
    db.session.expire_all()
    return db.session.execute(select(RegistryStaff).where(RegistryStaff.name == name)) \
        .scalar_one()


def auth_of(login):
    db.session.expire_all()
    return db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.user_id == user(login).id)).scalar_one()


def count(model):
    db.session.expire_all()
    return db.session.scalar(select(func.count(model.id)))


def ok(response, status=200):
    assert response.status_code == status, response.json
    return response.json


def refused(response, status, field=None):
    """A refusal: the status, a Chinese message, and the field named when there is one."""
    assert response.status_code == status, response.json
    assert re.search(r"[\u4e00-\u9fff]", response.json["message"]), response.json
    if field is not None:
        assert field in response.json["fields"], response.json
    return response.json


def register(login, role_kind="maintainer"):
    u = commands.register({"username": login, "name": "信息员", "mobile": "13903519999",
                           "role_kind": role_kind, "password": PASSWORD,
                           "confirm": PASSWORD})
    return u


@pytest.fixture
def newcomer(ctx):
    """A registrant who added 太原晋阳康复医院 and asked to maintain it (authorisation in
    draft), all through the services as the screens do it."""
    u = register("jy_maint")
    inst_ = commands.add_institution(u, form())
    auth = commands.request_authorization(u, inst_, "maintainer")
    return {"user": u.id, "inst": inst_.id, "auth": auth.id, "auth_no": auth.auth_no}


def upload(c, h, auth_id, data, filename):
    return c.post(f"{AUTH}/{auth_id}/upload", headers=h,
                  data={"file": (io.BytesIO(data), filename)},
                  content_type="multipart/form-data")


# ---- the whole chain ---------------------------------------------------------------------


def test_whole_chain_from_registration_to_the_designated_list(api, ctx):
    register("chain_maint")
    c, h = api("chain_maint")
    # 授权 search: nothing yet; 新增 the institution
    assert ok(c.get(f"{INST}/search", headers=h, query_string={"q": "晋阳康复"}))["count"] == 0
    created = ok(c.post(f"{INST}/", headers=h, json=form()), 201)
    inst_id = created["id"]
    assert created["state"] == "draft" and created["result"]["name"] == "太原晋阳康复医院"
    assert created["result"]["created_by"] == "chain_maint"
    assert created["result"]["pooling_code"] == "140100"
    # 申请授权 → the PDF, the same bytes twice → the "stamped" scan is recognised
    asked = ok(c.post(f"{AUTH}/", headers=h,
                      json={"institution_id": inst_id, "role_kind": "maintainer"}), 201)
    auth_id = asked["id"]
    assert asked["state"] == "draft" and asked["auth_no"].startswith("SQ")
    first = c.get(f"{AUTH}/{auth_id}/document", headers=h)
    second = c.get(f"{AUTH}/{auth_id}/document", headers=h)
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    assert first.data[:4] == b"%PDF" and first.data == second.data
    done = ok(upload(c, h, auth_id, first.data, "授权书（已盖章）.pdf"))
    assert done["state"] == "uploaded"
    # 太原市经办机构 reviews it: the account now maintains the institution
    agency, ah = api("ty_agency")
    assert auth_id in ok(agency.get(f"{AUTH}/", headers=ah))["ids"]
    assert ok(agency.post(f"{AUTH}/{auth_id}/approve", headers=ah, json={}))["state"] == \
        "approved"
    db.session.expire_all()
    grantee, row = user("chain_maint"), db.session.get(RegistryInstitution, inst_id)
    assert rules.MAINTAINER in {r.name for r in grantee.roles}
    assert grantee.organization_id == row.organization_id and row.maintainer_id == grantee.id
    g.pop("_scope", None)   # conftest's FreshClient keeps scope_of's per-request cache in g
    # 维护 and 提交审核
    kept = ok(c.put(f"{INST}/{inst_id}", headers=h, json={"phone": "0351-7788991"}))
    assert kept["changed"] == ["phone"] and kept["result"]["phone"] == "0351-7788991"
    assert ok(c.post(f"{INST}/{inst_id}/submit", headers=h, json={}))["state"] == "submitted"
    # national 审核赋码: H + region + the region's next sequence number
    last = db.session.get(RegistryCodeCounter, "140105").last_seq
    nation, nh = api("nhc")
    coded = ok(nation.post(f"{INST}/{inst_id}/approve", headers=nh, json={"comment": "同意"}))
    assert coded["state"] == "coded"
    code = ok(c.get(f"{INST}/{inst_id}", headers=h))["result"]["national_code"]
    assert re.fullmatch(r"H\d{6}\d{5}", code) and code == f"H140105{last + 1:05d}"
    # 定点协议: the 医保部门 found by region and name, 新增 → 待确认 → 确认
    found = ok(c.get(f"{AGREEMENT}/agencies", headers=h,
                     query_string={"region": "140100", "name": "太原"}))["result"]
    agency_org = user("ty_ybj").organization_id
    agency, ah = api("ty_ybj")
    assert [a["id"] for a in found] == [agency_org]
    added = ok(c.post(f"{AGREEMENT}/", headers=h, json={
        "institution_id": inst_id, "agency_org_id": agency_org, "agreement_no": "TY-YB-2026-0099",
        "agreement_type": "service", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "content": "2026年度服务协议"}), 201)
    assert added["state"] == "pending" and added["result"]["national_code"] == code
    ag_id = added["id"]
    assert ok(agency.post(f"{AGREEMENT}/{ag_id}/confirm", headers=ah, json={}))["state"] == \
        "confirmed"
    # the institution edits it: back to 待确认; confirmed again, then published (入库)
    assert ok(c.put(f"{AGREEMENT}/{ag_id}", headers=h,
                    json={"end_date": "2027-06-30"}))["state"] == "pending"
    ok(agency.post(f"{AGREEMENT}/{ag_id}/confirm", headers=ah, json={}))
    commands.sync_agreements()
    listed = db.session.execute(select(DesignatedInstitution).where(
        DesignatedInstitution.agreement_id == ag_id)).scalar_one()
    assert (listed.national_code, listed.institution_name, listed.agreement_no,
            listed.end_date.isoformat()) == (code, "太原晋阳康复医院", "TY-YB-2026-0099",
                                             "2027-06-30")
    history = ok(c.get(f"{INST}/{inst_id}/history", headers=h))["result"]
    assert [r["transition"] for r in history if r["action"] == "transition"] == [
        "submit", "approve"]


def test_search_finds_only_institutions_nobody_maintains(api):
    c, h = api("reg_demo")
    by_name = ok(c.get(f"{INST}/search", headers=h, query_string={"q": "康宁口腔"}))
    assert [r["name"] for r in by_name["result"]] == [CLINIC]
    by_uscc = ok(c.get(f"{INST}/search", headers=h, query_string={"q": CLINIC_CERTS["uscc"]}))
    assert by_uscc["result"][0]["state"] == "draft"
    hidden = ok(c.get(f"{INST}/search", headers=h, query_string={"q": HOSP1}))
    assert hidden["count"] == 0 and "其他维护用户" in hidden["message"]
    other, oh = api("ty_hosp1")                  # no registry role at all
    assert other.get(f"{INST}/search", headers=oh, query_string={"q": "医院"}).status_code == 403


def test_doctor_registrant_search_finds_maintained_institutions_as_on_the_screen(api, ctx):
    register("search_doc", role_kind="doctor")
    c, h = api("search_doc")
    found = ok(c.get(f"{INST}/search", headers=h, query_string={"q": HOSP1}))
    assert [r["name"] for r in found["result"]] == [HOSP1]


def test_authorisation_of_an_organisation_found_by_search(api, ctx):
    register("hosp3_maint")
    c, h = api("hosp3_maint")
    hit = ok(c.get(f"{INST}/search", headers=h, query_string={"q": "太原市第三人民医院"}))
    org_id = hit["result"][0]["organization_id"]
    asked = ok(c.post(f"{AUTH}/", headers=h, json={"organization_id": org_id}), 201)
    assert asked["result"]["role_kind"] == "maintainer"      # the role chosen at registration
    again = ok(c.post(f"{AUTH}/", headers=h, json={"organization_id": org_id}))
    assert again["id"] == asked["id"]                         # the open request, not a second
    # 太原市第一人民医院 has its maintainer: the manual's message, nothing added
    before = count(RegistryAuthorization)
    hosp1 = inst(HOSP1).organization_id
    refused(c.post(f"{AUTH}/", headers=h, json={"organization_id": hosp1}), 409)
    assert "该机构已被其他维护用户授权维护" in c.post(
        f"{AUTH}/", headers=h, json={"organization_id": hosp1}).json["message"]
    assert count(RegistryAuthorization) == before


def test_doctor_editor_is_authorised_for_a_maintained_institution(api, ctx):
    register("hosp1_doctor", role_kind="doctor")
    c, h = api("hosp1_doctor")
    asked = ok(c.post(f"{AUTH}/", headers=h,
                      json={"organization_id": inst(HOSP1).organization_id}), 201)
    assert asked["result"]["role_kind"] == "doctor"
    pdf = c.get(f"{AUTH}/{asked['id']}/document", headers=h).data
    ok(upload(c, h, asked["id"], pdf, "授权书.pdf"))
    agency, ah = api("ty_agency")
    ok(agency.post(f"{AUTH}/{asked['id']}/approve", headers=ah, json={}))
    g.pop("_scope", None)   # conftest's FreshClient keeps scope_of's per-request cache in g
    assert inst(HOSP1).maintainer_id == user("ty_maint").id      # still ty_maint's
    person = {"institution_id": inst(HOSP1).id, "name": "周医生", "id_number": "11010519491231002X",
              "cert_no": "110140000007777"}
    refused(c.post(f"{STAFF}/", headers=h, json={**person, "staff_type": "nurse"}), 403)
    assert ok(c.post(f"{STAFF}/", headers=h, json={**person, "staff_type": "doctor"}), 201)[
        "state"] == "draft"
    refused(c.put(f"{INST}/{inst(HOSP1).id}", headers=h, json={"phone": "0351-1111111"}), 403)


# ---- 新增: bad input ---------------------------------------------------------------------


def test_uscc_with_a_wrong_check_character_is_422_and_nothing_added(api, ctx):
    c, h = api("reg_demo")
    good = uscc("91140105MA0KXR7T3")
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    before = count(Organization)
    body = refused(c.post(f"{INST}/", headers=h, json=form(uscc=bad)), 422, "uscc")
    assert "校验位错误" in body["fields"]["uscc"][0] and "统一社会信用代码" in body["message"]
    assert count(Organization) == before


def test_duplicate_institution_is_refused_with_the_manuals_messages(api, ctx):
    register("dup_maint")
    c, h = api("dup_maint")
    before = count(Organization)
    clinic = form(name=CLINIC, **CLINIC_CERTS)
    body = refused(c.post(f"{INST}/", headers=h, json=clinic), 422, "name")
    assert "机构信息已存在" in body["message"]
    hosp1 = form(name=HOSP1, region_code="140105", **HOSP1_CERTS)
    body = refused(c.post(f"{INST}/", headers=h, json=hosp1), 422, "name")
    assert "该机构已被其他维护用户授权维护" in body["fields"]["name"][0]
    assert count(Organization) == before


def test_api_military_institution_may_omit_the_licence_number(api, ctx):
    c, h = api("reg_demo")
    refused(c.post(f"{INST}/", headers=h, json=form(licence_no="")), 422, "licence_no")
    made = ok(c.post(f"{INST}/", headers=h, json=form(licence_no="", military=True)), 201)
    assert made["result"]["licence_no"] is None and made["result"]["military"] is True


def test_placement_fields_in_a_body_are_refused_by_name(api, ctx):
    c, h = api("ty_maint")
    hosp1 = inst(HOSP1)
    body = refused(c.put(f"{INST}/{hosp1.id}", headers=h, json={
        "state": "draft", "national_code": "H14010599999", "maintainer_id": 1,
        "organization_id": 1, "phone": "0351-1111111"}), 422)
    assert set(body["fields"]) == {"state", "national_code", "maintainer_id", "organization_id"}
    hosp1 = inst(HOSP1)
    assert (hosp1.state, hosp1.organization.national_code, hosp1.organization.phone) == (
        "coded", "H14010500001", "0351-4960001")
    refused(c.post(f"{INST}/", headers=h, json=form(state="coded")), 422, "state")


# ---- 授权文书上传 -----------------------------------------------------------------------------


def test_blank_png_is_not_recognised_and_nothing_kept(api, newcomer):
    c, h = api("jy_maint")
    body = refused(upload(c, h, newcomer["auth"], png_bytes(), "扫描件.png"), 422, "file")
    assert "无法识别" in body["message"] and "附件无法识别时，如何操作" in body["message"]
    db.session.expire_all()
    assert db.session.get(RegistryAuthorization, newcomer["auth"]).state == "draft"
    assert db.session.scalar(select(func.count(Attachment.id)).where(
        Attachment.owner_type == "registry_authorization",
        Attachment.owner_id == newcomer["auth"])) == 0


def test_another_authorisations_pdf_names_the_other_number(api, newcomer):
    other = auth_of("reg_demo")
    pdf = registry_auth.document_pdf(other)
    c, h = api("jy_maint")
    body = refused(upload(c, h, newcomer["auth"], pdf, "授权书.pdf"), 422, "file")
    assert other.auth_no in body["message"] and newcomer["auth_no"] in body["message"]
    db.session.expire_all()
    assert db.session.get(RegistryAuthorization, newcomer["auth"]).state == "draft"
    # its own PDF is recognised; a bare `upload` transition does not exist in the API
    ok(upload(c, h, newcomer["auth"], registry_auth.document_pdf(
        db.session.get(RegistryAuthorization, newcomer["auth"])), "授权书.pdf"))
    assert c.post(f"{AUTH}/batch/upload", headers=h,
                  json={"ids": [newcomer["auth"]]}).status_code == 404


def test_registrant_requests_authorisation_only(api, newcomer):
    agency, ah = api("ty_agency")
    refused(agency.post(f"{AUTH}/", headers=ah, json={"institution_id": newcomer["inst"]}), 403)
    c, h = api("jy_maint")
    refused(c.post(f"{AUTH}/", headers=h, json={"role_kind": "maintainer"}), 422,
            "institution_id")
    assert c.post(f"{AUTH}/", headers=h, json={"institution_id": inst(HOSP1).id}) \
        .status_code == 404                      # not an institution this account added


# ---- 维护, 删除, 证号变更 ----------------------------------------------------------------------


def test_delete_of_a_coded_institution_is_409(api, ctx):
    c, h = api("ty_maint")
    hosp1 = inst(HOSP1)
    body = refused(c.delete(f"{INST}/{hosp1.id}", headers=h), 409)
    assert "已赋码的机构不能删除" in body["message"] and "归档" in body["message"]
    assert inst(HOSP1).state == "coded"


def test_delete_before_coding_hides_the_record(api, newcomer):
    c, h = api("jy_maint")
    ok(c.delete(f"{INST}/{newcomer['inst']}", headers=h))
    db.session.expire_all()
    row = db.session.get(RegistryInstitution, newcomer["inst"])
    assert row.state == "deleted" and row.organization.active is False
    assert db.session.get(RegistryAuthorization, newcomer["auth"]).state == "withdrawn"
    assert c.get(f"{INST}/{newcomer['inst']}", headers=h).status_code == 404
    assert c.put(f"{INST}/{newcomer['inst']}", headers=h, json={"phone": ""}).status_code == 404


def test_put_after_submit_is_409_until_sent_back(api, ctx):
    c, h = api("ty_maint2")
    hosp2 = inst(HOSP2)
    body = refused(c.put(f"{INST}/{hosp2.id}", headers=h, json={"phone": "0351-1234567"}), 409)
    assert "待审核" in body["message"]
    assert inst(HOSP2).organization.phone != "0351-1234567"
    nation, nh = api("nhc")
    refused(nation.post(f"{INST}/{hosp2.id}/send_back", headers=nh, json={}), 422, "comment")
    ok(nation.post(f"{INST}/{hosp2.id}/send_back", headers=nh, json={"comment": "地址有误"}))
    ok(c.put(f"{INST}/{hosp2.id}", headers=h, json={"phone": "0351-1234567"}))
    assert inst(HOSP2).organization.phone == "0351-1234567"


def test_changing_the_uscc_of_a_coded_institution_needs_a_cert_change(api, ctx):
    c, h = api("ty_maint")
    hosp1 = inst(HOSP1)
    new = uscc("12140100405814461")
    body = refused(c.put(f"{INST}/{hosp1.id}", headers=h, json={"uscc": new}), 422, "uscc")
    assert "证号变更申请" in body["fields"]["uscc"][0]
    assert inst(HOSP1).organization.uscc == HOSP1_CERTS["uscc"]
    refused(c.post(f"{INST}/{hosp1.id}/cert_change", headers=h, json={"new_uscc": new}), 422,
            "reason")
    asked = ok(c.post(f"{INST}/{hosp1.id}/cert_change", headers=h,
                      json={"new_uscc": new, "reason": "营业执照换发"}), 201)
    assert asked["state"] == "pending"
    refused(c.post(f"{INST}/{hosp1.id}/cert_change", headers=h,
                   json={"new_uscc": new, "reason": "再次申请"}), 409)
    assert count(RegistryCertChange) == 1 and inst(HOSP1).organization.uscc == \
        HOSP1_CERTS["uscc"]


def test_renaming_an_institution_resets_its_staff_to_draft(api, ctx):
    c, h = api("ty_maint")
    hosp1 = inst(HOSP1)
    done = ok(c.put(f"{INST}/{hosp1.id}", headers=h, json={"name": "太原市第一人民医院（东院区）"}))
    assert done["staff_reset"] == 2 and done["result"]["name"] == "太原市第一人民医院（东院区）"
    assert {staff(n).state for n in ("李明", "王芳", "赵丽")} == {"draft"}


def test_archive_by_the_agency_archives_the_staff(api, ctx):
    agency, ah = api("ty_agency")
    hosp1 = inst(HOSP1)
    refused(agency.post(f"{INST}/{hosp1.id}/archive", headers=ah, json={}), 422, "comment")
    assert staff("李明").state == "approved"
    ok(agency.post(f"{INST}/{hosp1.id}/archive", headers=ah, json={"comment": "重复机构"}))
    assert inst(HOSP1).state == "archived"
    assert {staff(n).state for n in ("李明", "王芳", "赵丽")} == {"archived"}


def test_no_uscc_without_explanation_cannot_be_submitted(api, ctx):
    agency, ah = api("ty_agency")
    ok(agency.post(f"{AUTH}/{auth_of('reg_demo').id}/approve", headers=ah, json={}))
    c, h = api("reg_demo")
    clinic = inst(CLINIC)
    kept = ok(c.put(f"{INST}/{clinic.id}", headers=h, json={"uscc": "无"}))
    assert kept["result"]["no_uscc"] is True and kept["result"]["uscc"] is None
    body = refused(c.post(f"{INST}/{clinic.id}/submit", headers=h, json={}), 422)
    assert "说明材料" in body["message"]
    assert inst(CLINIC).state == "draft"


def test_no_uscc_with_its_explanation_is_submitted(api, ctx):
    agency, ah = api("ty_agency")
    ok(agency.post(f"{AUTH}/{auth_of('reg_demo').id}/approve", headers=ah, json={}))
    c, h = api("reg_demo")
    clinic = inst(CLINIC)
    ok(c.put(f"{INST}/{clinic.id}", headers=h, json={"no_uscc": True}))
    refused(c.post(f"{INST}/{clinic.id}/attachments/no_uscc_explanation", headers=h,
                   data={"file": (io.BytesIO(png_bytes()), "说明.png")},
                   content_type="multipart/form-data"), 422, "file")
    pdf = registry_auth.document_pdf(auth_of("reg_demo"))     # any PDF will do
    ok(c.post(f"{INST}/{clinic.id}/attachments/no_uscc_explanation", headers=h,
              data={"file": (io.BytesIO(pdf), "说明材料.pdf")},
              content_type="multipart/form-data"), 201)
    assert ok(c.post(f"{INST}/{clinic.id}/submit", headers=h, json={}))["state"] == "submitted"


def test_a_uscc_in_the_body_ends_no_uscc(api, ctx):
    c, h = api("reg_demo")
    clinic = inst(CLINIC)
    # reviewed first: while the stamped authorisation waits its printed data is locked
    agency, ah = api("ty_agency")
    ok(agency.post(f"{AUTH}/{auth_of('reg_demo').id}/approve", headers=ah, json={}))
    assert ok(c.put(f"{INST}/{clinic.id}", headers=h, json={"uscc": "无"}))["result"][
        "no_uscc"] is True
    kept = ok(c.put(f"{INST}/{clinic.id}", headers=h, json={"uscc": CLINIC_CERTS["uscc"]}))
    assert (kept["result"]["no_uscc"], kept["result"]["uscc"]) == (False, CLINIC_CERTS["uscc"])


# ---- agreements and staff ----------------------------------------------------------------


def test_agency_edit_keeps_the_state_and_the_institutions_edit_resets_it(api, ctx):
    agency, ah = api("ty_ybj")
    signed = agreement("TY-YB-2025-0001")
    done = ok(agency.put(f"{AGREEMENT}/{signed.id}", headers=ah, json={"content": "经办修订"}))
    assert done["state"] == "confirmed" and done["result"]["content"] == "经办修订"
    c, h = api("ty_maint")
    refused(c.put(f"{AGREEMENT}/{signed.id}", headers=h, json={"end_date": "2024-01-01"}),
            422, "end_date")
    assert agreement("TY-YB-2025-0001").state == "confirmed"
    assert ok(c.put(f"{AGREEMENT}/{signed.id}", headers=h,
                    json={"content": "机构修订"}))["state"] == "pending"
    refused(c.delete(f"{AGREEMENT}/{agreement('TY-YB-2026-0001').id}", headers=h), 409)
    draft = agreement("TY-YB-2026-0001-B1")
    assert ok(c.delete(f"{AGREEMENT}/{draft.id}", headers=h))["state"] == "deleted"
    assert c.get(f"{AGREEMENT}/{draft.id}", headers=h).status_code == 404


def test_agreement_for_an_uncoded_institution_is_refused(api, ctx):
    c, h = api("ty_maint2")
    before = count(RegistryAgreement)
    body = refused(c.post(f"{AGREEMENT}/", headers=h, json={
        "institution_id": inst(HOSP2).id, "agency_org_id": user("ty_agency").organization_id,
        "agreement_no": "X-1", "agreement_type": "service", "start_date": "2026-01-01",
        "end_date": "2026-12-31"}), 409)
    assert "赋码后才能新增定点协议" in body["message"]
    assert count(RegistryAgreement) == before


def test_staff_saved_submitted_reviewed_and_locked(api, ctx):
    c, h = api("ty_maint")
    hosp1 = inst(HOSP1)
    before = count(RegistryStaff)
    refused(c.post(f"{STAFF}/", headers=h, json={
        "institution_id": hosp1.id, "name": "孙强", "id_number": "140105198001010012",
        "staff_type": "doctor", "cert_no": "110140000009999"}), 422, "id_number")
    assert count(RegistryStaff) == before
    made = ok(c.post(f"{STAFF}/", headers=h, json={
        "institution_id": hosp1.id, "name": "孙强", "id_number": "140105198001010011",
        "staff_type": "doctor", "cert_no": "110140000009999"}), 422)   # 李明's number
    assert "已有该身份证号" in made["message"]
    made = ok(c.post(f"{STAFF}/", headers=h, json={
        "institution_id": hosp1.id, "name": "孙强", "id_number": "11010519491231002X",
        "staff_type": "doctor", "cert_no": "110140000009999"}), 201)
    assert made["state"] == "draft" and made["result"]["type_label"] == "医师"
    ok(c.put(f"{STAFF}/{made['id']}", headers=h, json={"cert_no": "110140000008888"}))
    ok(c.post(f"{STAFF}/{made['id']}/submit", headers=h, json={}))
    agency, ah = api("ty_agency")
    ok(agency.post(f"{STAFF}/{made['id']}/approve", headers=ah, json={}))
    refused(c.put(f"{STAFF}/{made['id']}", headers=h, json={"name": "孙强强"}), 409)
    assert staff("孙强").cert_no == "110140000008888"


# ---- scope, roles, batch, history ---------------------------------------------------------


def test_yc_agency_cannot_confirm_or_see_taiyuans_agreement(api, ctx):
    c, h = api("yc_ybj")
    draft = agreement("TY-YB-2026-0001-B1")
    assert c.post(f"{AGREEMENT}/{draft.id}/confirm", headers=h, json={}).status_code == 404
    assert c.get(f"{AGREEMENT}/{draft.id}", headers=h).status_code == 404
    assert ok(c.get(f"{AGREEMENT}/", headers=h))["count"] == 0
    assert agreement("TY-YB-2026-0001-B1").state == "pending"


def test_out_of_scope_reads_are_404(api, ctx):
    hosp1, hosp2 = inst(HOSP1), inst(HOSP2)
    reg_auth = auth_of("reg_demo")
    c, h = api("ty_maint")
    for url in (f"{INST}/{hosp2.id}", f"{INST}/{hosp2.id}/history", f"{AUTH}/{reg_auth.id}",
                f"{AUTH}/{reg_auth.id}/document", f"{AUTH}/{reg_auth.id}/history"):
        assert c.get(url, headers=h).status_code == 404, url
    yc, yh = api("yc_agency")
    assert yc.get(f"{INST}/{hosp1.id}", headers=yh).status_code == 404
    assert yc.get(f"{STAFF}/{staff('李明').id}", headers=yh).status_code == 404
    assert yc.post(f"{STAFF}/{staff('王芳').id}/approve", headers=yh, json={}).status_code == 404
    r, rh = api("reg_demo")
    assert r.get(f"{INST}/{hosp1.id}", headers=rh).status_code == 404
    assert ok(r.get(f"{INST}/", headers=rh))["result"][0]["name"] == CLINIC
    assert staff("王芳").state == "submitted"


def test_wrong_role_for_a_registry_action_is_403(api, ctx):
    hosp1, hosp2 = inst(HOSP1), inst(HOSP2)
    c, h = api("ty_maint2")
    refused(c.post(f"{INST}/{hosp2.id}/approve", headers=h, json={}), 403)
    agency, ah = api("ty_agency")
    refused(agency.put(f"{INST}/{hosp1.id}", headers=ah, json={"phone": "0351-1111111"}), 403)
    refused(agency.post(f"{INST}/{hosp1.id}/cert_change", headers=ah,
                        json={"new_licence_no": "PDY1", "reason": "x"}), 403)
    hosp_user, hh = api("ty_hosp1")
    assert hosp_user.get(f"{INST}/", headers=hh).status_code == 403
    assert inst(HOSP2).state == "submitted"
    assert inst(HOSP1).organization.phone == "0351-4960001"


def test_batch_is_all_or_nothing(api, ctx):
    c, h = api("ty_maint")
    draft, submitted = staff("赵丽"), staff("王芳")
    body = refused(c.post(f"{STAFF}/batch/submit", headers=h,
                          json={"ids": [draft.id, submitted.id]}), 409)
    assert [(r["id"], r["state"]) for r in body["ineligible"]] == [(submitted.id, "submitted")]
    assert staff("赵丽").state == "draft"
    agency, ah = api("ty_ybj")
    pending, confirmed = agreement("TY-YB-2026-0001-B1"), agreement("TY-YB-2025-0001")
    refused(agency.post(f"{AGREEMENT}/batch/confirm", headers=ah,
                        json={"ids": [pending.id, confirmed.id]}), 409)
    assert agreement("TY-YB-2026-0001-B1").state == "pending"
    done = ok(agency.post(f"{AGREEMENT}/batch/confirm", headers=ah, json={"ids": [pending.id]}))
    assert done == {"ids": [pending.id], "state": "confirmed"}


def test_history_and_list_labels(api, ctx):
    agency, ah = api("ty_agency")
    listed = ok(agency.get(f"{INST}/", headers=ah))
    rows = {r["name"]: r for r in listed["result"]}
    assert set(rows) == {HOSP1, HOSP2, CLINIC}
    assert (rows[HOSP1]["state_label"], rows[HOSP1]["national_code"], rows[HOSP1]["maintainer"],
            rows[HOSP1]["pooling_name"]) == ("已赋码", "H14010500001", "ty_maint",
                                             "山西省太原市")
    shown = ok(agency.get(f"{INST}/{rows[HOSP1]['id']}", headers=ah))["result"]
    assert "archive" in shown["actions"] and shown["editable"] is False
    auth = ok(agency.get(f"{AUTH}/{auth_of('reg_demo').id}", headers=ah))["result"]
    assert (auth["state_label"], auth["user_login"], auth["institution_name"]) == (
        "待审核", "reg_demo", CLINIC) and "approve" in auth["actions"]
    history = ok(agency.get(f"{INST}/{rows[HOSP1]['id']}/history", headers=ah))["result"]
    assert [(r["transition"], r["user"]) for r in history if r["action"] == "transition"] == [
        ("submit", "ty_maint"), ("approve", "nhc")]
    export = agency.get(f"{INST}/export", headers=ah, query_string={"columns": "id,state"})
    assert export.status_code == 200 and export.data[:2] == b"PK"
    assert db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action == "export", AuditLog.object_type == "registry_institution")) == 1
