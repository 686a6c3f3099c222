"""定点协议, staff records and scope through the services (SPEC M6, M7): confirmation and the
入库 job, who edits which staff, and what each account sees."""
import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.models.registry import (RegistryAgreement, RegistryAuthorization, RegistryInstitution,
                                 RegistryStaff)
from app.scope import scoped_get, scoped_query
from app.services.registry import commands
from app.workflows.engine import apply
from app.workflows.registry import RegistryAgreementFlow, RegistryStaffFlow
from tests.conftest import user
from tests.registry.registry_support import (CLINIC, D, HOSP1, HOSP2, M, STAFF_FORM, ag_data,
                                             ag_form, agreement, authorised, fresh, id_number,
                                             inst, published, refused, registrant, staff)


# ---- M6 agreements ------------------------------------------------------------------------------
def test_agreement_needs_a_coded_institution(ctx):
    exc = refused(commands.add_agreement, inst(HOSP2), user("ty_maint2"), ag_data())
    assert exc.status == 409 and "赋码" in exc.message


def test_new_agreement_waits_for_confirmation(ctx):
    a = commands.add_agreement(inst(HOSP1), user("ty_maint"), ag_data())
    assert a.state == "pending" and a.city_code == "140100"


def test_agency_modification_keeps_the_confirmed_state(ctx):
    a = agreement("TY-YB-2025-0001")
    assert a.state == "confirmed"
    commands.edit_agreement(a, user("ty_ybj"), ag_form(a, end_date="2025-11-30"))
    a = fresh(a)
    assert a.state == "confirmed" and a.end_date.isoformat() == "2025-11-30"


def test_institution_edit_returns_a_confirmed_agreement_to_pending(ctx):
    a = agreement("TY-YB-2025-0001")
    commands.edit_agreement(a, user("ty_maint"), ag_form(a, content="补充条款"))
    assert fresh(a).state == "pending"


def test_another_agency_cannot_confirm(ctx):
    a = agreement("TY-YB-2026-0001-B1")
    for login in ("yc_ybj", "sx_ybj"):
        exc = refused(apply, RegistryAgreementFlow, a, "confirm", user(login))
        assert exc.status == 403 and "协议选择的经办机构" in exc.message
        with pytest.raises(NotFound):                  # nor even see it
            apply(RegistryAgreementFlow, a.id, "confirm", user(login))
    assert fresh(a).state == "pending"
    apply(RegistryAgreementFlow, a, "confirm", user("ty_ybj"))
    assert fresh(a).state == "confirmed"


def test_another_agency_cannot_modify(ctx):
    a = agreement("TY-YB-2025-0001")
    exc = refused(commands.edit_agreement, a, user("yc_ybj"), ag_form(a, content="x"))
    assert exc.status == 403


def test_only_pending_agreements_are_deleted_and_only_by_their_institution(ctx):
    exc = refused(apply, RegistryAgreementFlow, agreement("TY-YB-2025-0001"), "delete",
                  user("ty_maint"))
    assert exc.status == 409
    exc = refused(apply, RegistryAgreementFlow, agreement("TY-YB-2026-0001-B1"), "delete",
                  user("ty_maint2"))
    assert exc.status == 403
    apply(RegistryAgreementFlow, agreement("TY-YB-2026-0001-B1"), "delete", user("ty_maint"))
    assert agreement("TY-YB-2026-0001-B1").state == "deleted"


def test_sync_publishes_confirmed_agreements_only(ctx):
    a = commands.add_agreement(inst(HOSP1), user("ty_maint"), ag_data())
    commands.sync_agreements()
    listed = published()
    ids = {r.id for r in db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.state == "confirmed")).scalars()}
    assert set(listed) == ids and a.id not in listed
    apply(RegistryAgreementFlow, fresh(a), "confirm", user("ty_ybj"))
    assert commands.sync_agreements() == (1, 0)
    row = published()[a.id]
    assert (row.national_code, row.institution_name, row.agreement_no) == \
        ("H14010500001", HOSP1, "TY-YB-2027-0001")
    assert row.agency_org_id == user("ty_ybj").organization_id and row.city_code == "140100"


def test_second_sync_without_changes_publishes_nothing(ctx):
    commands.sync_agreements()                 # the demo's agency correction is pending
    assert commands.sync_agreements() == (0, 0)


def test_sync_republishes_a_confirmed_agreement_after_a_change(ctx):
    commands.sync_agreements()
    a = agreement("TY-YB-2025-0001")
    commands.edit_agreement(a, user("ty_ybj"), ag_form(a, end_date="2025-10-31"))
    assert commands.sync_agreements() == (1, 0)
    assert published()[a.id].end_date.isoformat() == "2025-10-31"
    assert commands.sync_agreements() == (0, 0)


def test_sync_removes_deleted_agreements(ctx):
    commands.sync_agreements()
    a = agreement("TY-YB-2025-0001")
    assert a.id in published()
    commands.edit_agreement(a, user("ty_maint"), ag_form(a, content="改"))   # → pending
    apply(RegistryAgreementFlow, fresh(a), "delete", user("ty_maint"))
    assert commands.sync_agreements() == (0, 1)
    assert a.id not in published()


# ---- M7 staff -----------------------------------------------------------------------------------
@pytest.fixture
def doctor_editor(ctx):
    u = registrant("doc1", kind="doctor")
    authorised(u, inst(HOSP1), "doctor")
    u = user("doc1")
    assert D in {r.name for r in u.roles} and M not in {r.name for r in u.roles}
    return u


def test_doctor_editor_cannot_save_a_nurse(doctor_editor):
    exc = refused(commands.save_staff, inst(HOSP1), doctor_editor,
                  {**STAFF_FORM, "staff_type": "nurse"})
    assert exc.status == 403 and "护士" in exc.message
    doc = commands.save_staff(inst(HOSP1), doctor_editor, STAFF_FORM)      # a doctor: fine
    exc = refused(commands.save_staff, inst(HOSP1), doctor_editor,
                  {**STAFF_FORM, "staff_type": "nurse"}, staff=fresh(doc))   # nor turn one
    assert exc.status == 403 and fresh(doc).staff_type == "doctor"


def test_doctor_editor_cannot_submit_a_nurse(doctor_editor):
    exc = refused(apply, RegistryStaffFlow, staff("赵丽"), "submit", doctor_editor)
    assert exc.status == 403 and staff("赵丽").state == "draft"
    doc = commands.save_staff(inst(HOSP1), doctor_editor, STAFF_FORM)
    apply(RegistryStaffFlow, doc, "submit", doctor_editor)
    assert fresh(doc).state == "submitted"


def test_another_institutions_maintainer_cannot_touch_the_staff(ctx):
    exc = refused(apply, RegistryStaffFlow, staff("赵丽"), "submit", user("ty_maint2"))
    assert exc.status == 403 and "本机构" in exc.message
    exc = refused(commands.save_staff, inst(HOSP1), user("ty_maint2"), STAFF_FORM)
    assert exc.status == 403


@pytest.mark.parametrize("bad", ["110101199003070012", "11010119900307001", "110101199002300011"])
def test_staff_id_number_is_checked(ctx, bad):
    exc = refused(commands.save_staff, inst(HOSP1), user("ty_maint"),
                  {**STAFF_FORM, "id_number": bad})
    assert exc.status == 422 and list(exc.fields) == ["id_number"]


def test_duplicate_id_number_in_one_institution_is_refused(ctx):
    exc = refused(commands.save_staff, inst(HOSP1), user("ty_maint"),
                  {**STAFF_FORM, "id_number": staff("李明").id_number})
    assert exc.status == 422 and "本机构已有该身份证号的人员" in exc.message
    x_id = id_number("14010519900101018")
    assert x_id.endswith("X"), x_id
    commands.save_staff(inst(HOSP1), user("ty_maint"), {**STAFF_FORM, "id_number": x_id})
    exc = refused(commands.save_staff, inst(HOSP1), user("ty_maint"),
                  {**STAFF_FORM, "name": "另一人", "id_number": x_id.lower()})
    assert "本机构已有该身份证号的人员" in exc.message
    # another institution may employ the same person
    commands.save_staff(inst(HOSP2), user("ty_maint2"),
                        {**STAFF_FORM, "id_number": staff("李明").id_number})


# ---- scope --------------------------------------------------------------------------------------
def _seen(model, login):
    return set(db.session.execute(scoped_query(model, user(login))).scalars())


def test_registrant_sees_own_authorisation_and_institution_only(ctx):
    reg = user("reg_demo")
    assert {str(i) for i in _seen(RegistryInstitution, "reg_demo")} == {CLINIC}
    auths = _seen(RegistryAuthorization, "reg_demo")
    assert {a.user_id for a in auths} == {reg.id} and len(auths) == 1
    with pytest.raises(NotFound):
        scoped_get(RegistryInstitution, inst(HOSP1).id, reg)
    assert _seen(RegistryAgreement, "reg_demo") == set()


def test_maintainer_sees_own_institution_only(ctx):
    assert {str(i) for i in _seen(RegistryInstitution, "ty_maint")} == {HOSP1}
    assert {str(i) for i in _seen(RegistryInstitution, "ty_maint2")} == {HOSP2}


@pytest.mark.parametrize("model", [RegistryInstitution, RegistryAuthorization, RegistryStaff,
                                   RegistryAgreement], ids=lambda m: m.__name__)
def test_region_scope_of_agencies(ctx, model):
    # agreements are the 医保部门's (ty_ybj), the rest the agency's
    ty_login, yc_login = (("ty_ybj", "yc_ybj") if model is RegistryAgreement
                          else ("ty_agency", "yc_agency"))
    ty = _seen(model, ty_login)
    assert ty and {r.city_code for r in ty} == {"140100"}
    assert _seen(model, yc_login) == set()
    with pytest.raises(NotFound):
        scoped_get(model, next(iter(ty)).id, user(yc_login))


def test_an_agency_sees_only_agreements_made_with_it(ctx):
    a = commands.add_agreement(inst(HOSP1), user("ty_maint"),
                               ag_data("yc_ybj", agreement_no="YC-2027-01"))
    assert {x.agreement_no for x in _seen(RegistryAgreement, "yc_ybj")} == {"YC-2027-01"}
    assert a not in _seen(RegistryAgreement, "ty_ybj")            # 太原's institution, though
    assert _seen(RegistryAgreement, "sx_ybj") == set()             # province: none with it
    assert a in _seen(RegistryAgreement, "ty_maint")
