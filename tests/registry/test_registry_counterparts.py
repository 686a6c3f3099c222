"""医疗机构信息维护, issue 23 (seed 004 as its users do it): the agreement's counterpart is the
医保部门 found by a search that keeps the form, documents stay bound to the data they
authorise, a deleted draft may be added again, competing requests are flagged, 证号变更 and
staff screens say what fits, archived agreements stay visible, 办理记录 shows names."""
import html
import io
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.registry import RegistryAgreement, RegistryAuthorization
from app.services.registry import commands, queries
from app.services.registry import authorization as registry_auth
from app.workflows.engine import apply
from app.workflows.registry import RegistryInstitutionFlow
from tests.conftest import flashes, user
from tests.registry.registry_support import (CLINIC, HOSP1, ag_data, agreement, authorised,
                                             form, fresh, inst, pdf_upload, refused,
                                             registrant, uploaded)


def text(r):
    return html.unescape(r.get_data(as_text=True))


def agreement_count():
    return db.session.scalar(select(func.count(RegistryAgreement.id)))


AGREEMENT = {"agreement_no": "TY-YB-2027-0101", "agreement_type": "service",
             "start_date": "2027-01-01", "end_date": "2027-12-31", "content": "服务协议"}


# ---- item 1: the agency search keeps the form and leaks nothing into a URL ----------------------
def test_agency_search_keeps_what_was_typed_and_saves_nothing(login_as, ctx):
    c, before = login_as("ty_maint"), agreement_count()
    r = c.post("/registry/agreements/new", data={
        **AGREEMENT, "agency_search": "1", "agency_region": "140800", "agency_name": ""})
    page = text(r)
    assert r.status_code == 200 and agreement_count() == before
    assert 'value="TY-YB-2027-0101"' in page and 'value="2027-01-01"' in page
    assert "运城市医疗保障局" in page and "太原市医疗保障局" not in page
    assert 'formmethod="get"' not in page and "csrf_token=" not in page
    # chosen among the results, saved with everything typed before the search
    r = c.post("/registry/agreements/new", data={
        **AGREEMENT, "agency_region": "140800",
        "agency_org_id": user("yc_ybj").organization_id})
    assert r.status_code == 302, text(r)[:2000]
    assert agreement("TY-YB-2027-0101").agency.name == "运城市医疗保障局"


def test_values_in_the_url_do_not_fill_the_form(login_as, ctx):
    page = text(login_as("ty_maint").get("/registry/agreements/new?agreement_no=LEAK-1"))
    assert "LEAK-1" not in page


# ---- item 2: the counterpart is the 医保部门, never the relief agency --------------------------
def test_agencies_offered_are_the_insurance_bureaus_of_the_region(ctx):
    names = {o.name for o in queries.agencies("140100")}
    assert names == {"太原市医疗保障局"}
    assert {o.name for o in queries.agencies("140000", "运城")} == {"运城市医疗保障局"}


def test_the_relief_agency_cannot_be_the_counterpart(ctx):
    exc = refused(commands.add_agreement, inst(HOSP1), user("ty_maint"), ag_data("ty_agency"))
    assert exc.status == 422 and "医保部门" in str(exc.fields["agency"])


def test_the_insurance_bureau_confirms_and_the_relief_agency_has_no_part(login_as, ctx):
    pending = agreement("TY-YB-2026-0001-B1")
    assert pending.agency.name == "太原市医疗保障局"
    assert login_as("ty_agency").get("/registry/agreements/list/").status_code in (302, 403)
    ybj = login_as("ty_ybj")
    assert "TY-YB-2026-0001-B1" in text(ybj.get("/registry/agreements/list/"))
    assert ybj.post(f"/registry/agreements/transition/confirm/{pending.id}").status_code == 302
    assert fresh(pending).state == "confirmed"


# ---- item 3: documents bound to the data they authorise -----------------------------------------
def test_printed_data_is_locked_while_the_stamped_authorisation_waits(ctx):
    clinic, reg = inst(CLINIC), user("reg_demo")
    values = {**_stored(clinic), "legal_name": "改过的法人单位名称"}
    exc = refused(commands.update_institution, clinic, reg, values)
    assert exc.status == 422 and "授权文书待审核" in str(exc.fields["legal_name"])
    assert fresh(clinic).legal_name == "太原康宁口腔医疗有限公司"
    changed, _reset = commands.update_institution(clinic, reg, {**_stored(clinic),
                                                                "phone": "0351-7770009"})
    assert "phone" in changed                       # not printed: still maintained


def test_a_scan_printed_before_the_data_changed_is_refused(ctx):
    reg = registrant("bound1", n=71)
    new = commands.add_institution(reg, form(71))
    auth = commands.request_authorization(reg, new, "maintainer")
    old_pdf = registry_auth.document_pdf(auth)
    commands.update_institution(fresh(new), reg, {**_stored(fresh(new)),
                                                  "address": "山西省太原市小店区新地址9号"})
    auth = fresh(auth)
    exc = refused(registry_auth.upload_stamped, auth, reg, pdf_upload(old_pdf))
    assert exc.status == 422 and "重新生成授权文件" in exc.message
    assert fresh(auth).state == "draft"
    registry_auth.upload_stamped(fresh(auth), reg, pdf_upload(registry_auth.document_pdf(auth)))
    assert fresh(auth).state == "uploaded"


def test_the_reviewer_sees_the_printed_data_beside_the_scan(login_as, ctx):
    auth = queries.authorizations_of(inst(CLINIC))[0]
    page = text(login_as("ty_agency").get(f"/registry/authorizations/show/{auth.id}"))
    assert 'id="registry-review-data"' in page
    assert "太原康宁口腔医疗有限公司" in page and "山西省太原市小店区长风街8号" in page
    assert 'id="registry-match"' in page and 'id="registry-mismatch"' not in page


def test_a_new_attachment_sends_a_confirmed_agreement_back_for_confirmation(login_as, ctx):
    confirmed = agreement("TY-YB-2025-0001")
    assert confirmed.state == "confirmed"
    r = login_as("ty_maint").post(
        f"/registry/agreements/upload/{confirmed.id}/agreement_doc",
        data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "新协议.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    assert fresh(confirmed).state == "pending"


# ---- item 4: a deleted, never-coded institution may be added again ------------------------------
def test_a_deleted_draft_does_not_block_its_reentry(login_as, ctx):
    clinic, reg = inst(CLINIC), user("reg_demo")
    data = {**_stored(clinic)}
    old_auth = queries.authorizations_of(clinic)[0]
    apply(RegistryInstitutionFlow, clinic, "delete", reg)
    assert fresh(old_auth).state == "withdrawn" and fresh(old_auth).state_label == "已撤销"
    again = registrant("again23", n=72)
    auth = commands.add_institution_and_request(again, data, "maintainer")
    row = inst(CLINIC)
    assert row.state == "draft" and row.created_by_id == again.id and row.organization.active
    assert fresh(auth).state == "draft" and fresh(auth).institution_id == row.id


# ---- item 5: competing requests are flagged to the reviewer ------------------------------------
def test_two_waiting_maintainer_requests_are_flagged(login_as, ctx):
    rival = registrant("rival23", n=73)
    second = uploaded(rival, inst(CLINIC))
    ty = login_as("ty_agency")
    listed = text(ty.get("/registry/authorizations/list/"))
    assert listed.count("另有1份待审核的维护人员授权申请") == 2
    shown = text(ty.get(f"/registry/authorizations/show/{second.id}"))
    assert 'id="registry-competing"' in shown


# ---- item 6: 证号变更申请 says what fits ------------------------------------------------------------
def test_an_empty_cert_change_asks_for_a_number(login_as, ctx):
    r = login_as("ty_maint").post(f"/registry/cert-changes/new/{inst(HOSP1).id}",
                                  data={"new_uscc": "", "new_licence_no": "", "reason": "换证"})
    page = text(r)
    assert r.status_code == 422 and "请至少填写一项要变更的证号" in page
    assert "new_uscc：" not in page and "新证号与现有证号相同" not in page


def test_the_cert_change_form_says_at_once_that_one_is_pending(login_as, ctx):
    hosp1 = inst(HOSP1)
    commands.request_cert_change(hosp1, user("ty_maint"),
                                 {"new_licence_no": "PDY00001914010511A1009", "reason": "换证"})
    r = login_as("ty_maint").get(f"/registry/cert-changes/new/{hosp1.id}",
                                 follow_redirects=True)
    assert "已有待审核的证号变更申请" in flashes(r)


# ---- item 7: an agreement number is unique per institution and agency ---------------------------
def test_a_duplicate_agreement_number_is_refused(ctx):
    before = agreement_count()
    exc = refused(commands.add_agreement, inst(HOSP1), user("ty_maint"),
                  ag_data(agreement_no="ty-yb-2025-0001"))
    assert exc.status == 422 and "已有编号" in str(exc.fields["agreement_no"])
    assert agreement_count() == before


# ---- item 8: staff actions by kind, ID numbers masked in lists ---------------------------------
def test_a_doctor_editor_gets_no_nurse_actions_and_sees_masked_ids(login_as, ctx):
    doc = registrant("doc23", kind="doctor", n=74)
    authorised(doc, inst(HOSP1), "doctor")
    c = login_as("doc23")
    listed = text(c.get("/registry/staff/list/"))
    nurse_row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*赵丽(?:(?!</tr>).)*</tr>", listed, re.S)
    assert nurse_row is not None and "修改" not in nurse_row.group(0)
    assert "1401**********0048" in listed and "140105199002020048" not in listed
    form_page = text(c.get("/registry/staff/new"))
    assert 'value="doctor"' in form_page and 'value="nurse"' not in form_page
    maint_show = text(login_as("ty_maint").get(
        f"/registry/staff/show/{_staff_id('赵丽')}"))
    assert "140105199002020048" in maint_show


# ---- item 9: archiving keeps the agreements visible ---------------------------------------------
def test_archived_institution_keeps_its_agreements_as_withdrawn(login_as, ctx):
    hosp1 = inst(HOSP1)
    apply(RegistryInstitutionFlow, hosp1, "archive", user("ty_agency"), {"comment": "机构注销"})
    assert agreement("TY-YB-2025-0001").state == "withdrawn"
    shown = text(login_as("ty_agency").get(f"/registry/institutions/show/{hosp1.id}"))
    assert "TY-YB-2025-0001" in shown and "已撤销" in shown
    r = login_as("ty_maint").get("/registry/agreements/new", follow_redirects=True)
    assert "机构已归档" in flashes(r)


# ---- item 14: names, not codes, in 办理记录 -----------------------------------------------------
def test_region_changes_are_recorded_with_names(ctx):
    new, u = _maintained_clinic(75)
    commands.update_institution(new, u, {**_stored(new), "region_code": "140106"})
    comment = db.session.execute(select(AuditLog.comment).where(
        AuditLog.action == "registry_edit").order_by(AuditLog.id.desc())).scalars().first()
    assert "小店区" in comment and "迎泽区" in comment and "140105" not in comment


# ---- helpers -------------------------------------------------------------------------------------
def _stored(institution):
    from app.services.registry import rules
    return rules.form_values(institution)


def _staff_id(name):
    from app.models.registry import RegistryStaff
    return db.session.execute(select(RegistryStaff.id).where(
        RegistryStaff.name == name)).scalar_one()


def _maintained_clinic(n):
    u = registrant(f"maint{n}", n=n)
    new = commands.add_institution(u, form(n))
    authorised(u, new)
    return fresh(new), user(f"maint{n}")
