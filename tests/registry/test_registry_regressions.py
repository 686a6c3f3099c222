"""医疗机构信息维护 regressions (one test per fix of 03d44b0): deleted and archived institutions,
re-authorisation, 证号变更 to 无, doctor / nurse search and the designated list."""
from sqlalchemy import select

from app.extensions import db
from app.models.registry import RegistryAgreement
from app.services.registry import commands, queries
from app.services.registry import authorization as registry_auth
from app.workflows.engine import apply
from app.workflows.registry import (RegistryAuthorizationFlow, RegistryCertChangeFlow,
                                    RegistryInstitutionFlow)
from tests.conftest import user
from tests.registry.registry_support import (CLINIC, HOSP1, HOSP1_LICENCE, HOSP1_USCC, HOSP2,
                                             STAFF_FORM, fresh, inst, pdf_upload, published,
                                             refused, registrant, staff, uscc)


# ---- regressions of 03d44b0 (one test per fix) ---------------------------------------------------
def test_no_upload_after_the_institution_is_deleted(ctx):
    """institution_open guard: the withdrawn (已撤销) authorisation of a deleted institution
    stays so."""
    reg = user("reg_demo")
    auth = queries.authorizations_of(inst(CLINIC))[0]
    assert auth.user_id == reg.id and auth.state == "uploaded"
    apply(RegistryInstitutionFlow, inst(CLINIC), "delete", reg)
    auth = fresh(auth)
    assert auth.state == "withdrawn" and inst(CLINIC).state == "deleted"
    exc = refused(apply, RegistryAuthorizationFlow, auth, "upload", user("reg_demo"))
    assert exc.status == 409
    auth = fresh(auth)
    exc = refused(registry_auth.upload_stamped, auth, user("reg_demo"),
                  pdf_upload(registry_auth.document_pdf(auth)))
    assert exc.status == 409
    assert fresh(auth).state == "withdrawn" and inst(CLINIC).maintainer_id is None


def test_approving_an_authorisation_of_an_archived_institution_is_refused(ctx):
    auth = queries.authorizations_of(inst(CLINIC))[0]
    apply(RegistryInstitutionFlow, inst(CLINIC), "archive", user("ty_agency"), {"comment": "无效数据"})
    assert inst(CLINIC).state == "archived"
    exc = refused(apply, RegistryAuthorizationFlow, fresh(auth), "approve", user("ty_agency"))
    assert "不能授权" in exc.message
    assert fresh(auth).state == "uploaded" and inst(CLINIC).maintainer_id is None
    assert user("reg_demo").organization_id is None


def test_a_deleted_row_of_a_living_organisation_can_be_authorised_again(ctx):
    """institution_for revives the deleted registry row of an organisation still in use."""
    apply(RegistryInstitutionFlow, inst(HOSP2), "send_back", user("nhc"), {"comment": "信息有误"})
    apply(RegistryInstitutionFlow, inst(HOSP2), "delete", user("ty_maint2"))
    row = inst(HOSP2)
    assert row.state == "deleted" and row.maintainer_id is None
    org = row.organization
    assert org.active                              # 太原市中心医院 lives on in other modules
    reg = registrant("again1")
    row = commands.institution_for(org, reg)
    auth = commands.request_authorization(reg, row, "maintainer")
    assert auth.state == "draft"
    row = inst(HOSP2)
    assert row.state == "draft" and row.maintainer_id is None and row.created_by_id is None
    assert row.organization.active
    assert HOSP2 in [o.name for o in queries.search(HOSP2)]
    registry_auth.upload_stamped(fresh(auth), user("again1"),
                                 pdf_upload(registry_auth.document_pdf(fresh(auth))))
    apply(RegistryAuthorizationFlow, fresh(auth), "approve", user("ty_agency"))
    assert inst(HOSP2).maintainer_id == user("again1").id


def test_cert_change_to_wu_removes_the_uscc(ctx):
    change = commands.request_cert_change(inst(HOSP1), user("ty_maint"),
                                          {"new_uscc": "无", "reason": "事业单位法人证书注销"})
    change = fresh(change)
    assert change.state == "pending" and change.new_uscc is None
    assert change.old_uscc == HOSP1_USCC and change.new_licence_no == HOSP1_LICENCE
    apply(RegistryCertChangeFlow, change, "approve", user("ty_agency"))
    row = inst(HOSP1)
    assert row.organization.uscc is None and row.no_uscc is True
    assert row.organization.licence_no == HOSP1_LICENCE


def test_doctor_and_nurse_registrants_find_maintained_institutions(ctx, login_as):
    assert HOSP1 not in [o.name for o in queries.search("第一人民")]
    assert HOSP1 in [o.name for o in queries.search("第一人民", include_claimed=True)]
    assert HOSP1 in [o.name for o in queries.search(HOSP1_USCC, include_claimed=True)]
    registrant("docfind1", kind="doctor", n=1)
    registrant("mntfind1", kind="maintainer", n=2)
    page = login_as("docfind1").get("/registry/authorizations/list/?q=第一人民")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert HOSP1 in body and HOSP1_USCC in body and "没有检索到可授权的机构" not in body
    page = login_as("mntfind1").get("/registry/authorizations/list/?q=第一人民")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "没有检索到可授权的机构" in body
    assert HOSP1_USCC not in body


def _designated_names(org_id):
    return {r.institution_name for r in published().values() if r.organization_id == org_id}


def test_a_new_name_republishes_the_confirmed_agreements(ctx):
    commands.sync_agreements()
    org_id = inst(HOSP1).organization_id
    assert _designated_names(org_id) == {HOSP1}
    new_name = "太原市第一人民医院（东院区）"
    commands.update_institution(inst(HOSP1), user("ty_maint"), {"name": new_name})
    count, gone = commands.sync_agreements()
    assert count >= 1 and gone == 0
    assert _designated_names(org_id) == {new_name}


def test_archiving_withdraws_the_agreements_from_the_designated_list(ctx):
    """They stay on the institution as 已撤销 (issue 23 item 9) and leave the list."""
    commands.sync_agreements()
    row = inst(HOSP1)
    org_id = row.organization_id
    mine = {a.id for a in db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.institution_id == row.id)).scalars()}
    listed = {k for k, r in published().items() if r.organization_id == org_id}
    assert listed and listed <= mine
    apply(RegistryInstitutionFlow, row, "archive", user("ty_agency"), {"comment": "机构注销"})
    db.session.expire_all()
    assert {a.state for a in db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.id.in_(mine))).scalars()} == {"withdrawn"}
    count, gone = commands.sync_agreements()
    assert gone == len(listed)
    assert not set(published()) & mine


def test_cert_change_approval_after_archiving_is_refused(ctx):
    change = commands.request_cert_change(inst(HOSP1), user("ty_maint"),
                                          {"new_uscc": uscc(8), "reason": "营业执照换发"})
    apply(RegistryInstitutionFlow, inst(HOSP1), "archive", user("ty_agency"), {"comment": "机构注销"})
    exc = refused(apply, RegistryCertChangeFlow, fresh(change), "approve", user("ty_agency"))
    assert "不能变更证号" in exc.message
    assert fresh(change).state == "pending"
    org = inst(HOSP1).organization
    assert (org.uscc, org.licence_no) == (HOSP1_USCC, HOSP1_LICENCE)


def test_staff_of_another_institution_cannot_be_saved_under_ones_own(ctx):
    theirs = staff("赵丽")                             # 太原市第一人民医院, draft
    before = (theirs.name, theirs.id_number, theirs.staff_type, theirs.cert_no,
              theirs.institution_id, theirs.organization_id)
    exc = refused(commands.save_staff, inst(HOSP2), user("ty_maint2"), STAFF_FORM,
                  staff=theirs)
    assert exc.status == 404
    row = fresh(staff("赵丽"))
    assert (row.name, row.id_number, row.staff_type, row.cert_no, row.institution_id,
            row.organization_id) == before
    assert row.institution_id == inst(HOSP1).id
