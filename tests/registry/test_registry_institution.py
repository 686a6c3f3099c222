"""医疗机构信息维护 institutions through the services (SPEC M2–M4): 新增 and the duplicate rule,
the institution form, search and authorisation, maintenance before and after coding,
证号变更申请, 删除 and 提交审核."""
import dataclasses
import threading
import types

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models.registry import RegistryAuthorization, RegistryCertChange
from app.services import files
from app.services.registry import commands, queries, rules
from app.services.registry import authorization as registry_auth
from app.workflows import engine
from app.workflows.engine import Refusal, apply
from app.workflows.registry import (RegistryAuthorizationFlow, RegistryCertChangeFlow,
                                    RegistryInstitutionFlow, RegistryStaffFlow)
from tests.conftest import user
from tests.registry.registry_support import (CLINIC, CLINIC_LICENCE, CLINIC_USCC, HOSP1,
                                             HOSP1_LICENCE, HOSP1_USCC, HOSP2, form, fresh,
                                             inst, maintained, pdf_upload, refused, registrant,
                                             staff, uploaded, uscc)


# ---- M2 add, duplicates, search -----------------------------------------------------------------
def test_duplicate_when_name_licence_and_uscc_are_all_equal(ctx):
    reg = registrant("dup1")
    exc = refused(commands.add_institution, reg, form(
        1, name=CLINIC, uscc=CLINIC_USCC.lower(), licence_no=CLINIC_LICENCE))
    assert exc.status == 422 and "机构信息已存在" in exc.message
    assert "name" in exc.fields


@pytest.mark.parametrize("differs", ["name", "uscc", "licence_no"])
def test_not_a_duplicate_when_one_of_the_three_differs(ctx, differs):
    reg = registrant("dup2")
    same = {"name": CLINIC, "uscc": CLINIC_USCC, "licence_no": CLINIC_LICENCE}
    same[differs] = form(7)[differs]
    added = commands.add_institution(reg, form(7, **same))
    assert added.state == "draft" and added.created_by_id == reg.id
    assert added.organization.name == same["name"]


def test_adding_a_claimed_institution_says_it_is_maintained_by_someone_else(ctx):
    reg = registrant("dup3")
    exc = refused(commands.add_institution, reg, form(
        1, name=HOSP1, uscc=HOSP1_USCC, licence_no=HOSP1_LICENCE))
    assert "该机构已被其他维护用户授权维护" in exc.message


def test_wrong_uscc_check_character_is_refused(ctx):
    good = uscc(5)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    values, errors = rules.clean_institution(form(5, uscc=bad))
    assert list(errors) == ["uscc"] and "校验位" in str(errors["uscc"])
    values, errors = rules.clean_institution(form(5, uscc=good))
    assert errors == {} and values["uscc"] == good


@pytest.mark.parametrize("pooling,message", [
    ("140105", "请选择医保统筹区"),                     # a county: not a pooling area
    ("110000", "同一省内"),                             # 北京: another province
    ("", "请选择医保统筹区"),
])
def test_pooling_area_must_be_a_pooling_area_of_the_province(ctx, pooling, message):
    values, errors = rules.clean_institution(form(5, pooling_code=pooling))
    assert list(errors) == ["pooling"] and message in str(errors["pooling"])


def test_uscc_wu_means_no_uscc(ctx):
    values, errors = rules.clean_institution(form(5, uscc="无"))
    assert errors == {} and values["no_uscc"] and values["uscc"] is None


@pytest.mark.parametrize("military,ok", [(True, True), (False, False)])
def test_military_institutions_may_omit_the_licence_number(ctx, military, ok):
    values, errors = rules.clean_institution(form(5, licence_no="", military=military))
    if ok:
        assert errors == {} and values["licence_no"] is None and values["military"]
    else:
        assert list(errors) == ["licence_no"] and "部队" in str(errors["licence_no"])


def test_no_uscc_needs_the_explanation_pdf_before_submit(ctx):
    new, u = maintained(3, uscc="无")
    assert new.no_uscc and new.organization.uscc is None
    exc = refused(apply, RegistryInstitutionFlow, new, "submit", u)
    assert "说明材料" in exc.message, \
        "ready_for_review let a USCC-无 institution be submitted without the PDF 说明材料"
    assert fresh(new).state == "draft"


def test_no_uscc_with_the_explanation_pdf_can_be_submitted(ctx):
    new, u = maintained(3, uscc="无")
    pdf = registry_auth.document_pdf(queries.authorizations_of(new)[0])
    files.attach(new, rules.EXPLANATION, pdf_upload(pdf, "说明材料.pdf"), u)
    db.session.commit()
    apply(RegistryInstitutionFlow, new, "submit", u)
    assert fresh(new).state == "submitted"


def test_search_excludes_claimed_institutions(ctx):
    assert HOSP1 not in [o.name for o in queries.search("太原市第一人民医院")]
    assert HOSP1 not in [o.name for o in queries.search(HOSP1_USCC)]
    assert [o.name for o in queries.search("康宁口腔")] == [CLINIC]      # nobody approved yet


@pytest.mark.parametrize("keyword,found", [
    (CLINIC_USCC, True), (CLINIC_USCC.lower(), True), (CLINIC_USCC[:-1], False),
    (CLINIC_LICENCE, True), (CLINIC_LICENCE[:10], False),
])
def test_search_by_uscc_and_licence_is_exact(ctx, keyword, found):
    assert ([o.name for o in queries.search(keyword)] == [CLINIC]) is found


def test_request_for_a_claimed_institution_is_refused(ctx):
    reg = registrant("late1")
    exc = refused(commands.request_authorization, reg, inst(HOSP1), "maintainer")
    assert exc.status == 409 and exc.message == "该机构已被其他维护用户授权维护"
    # 医师 / 护士 accounts: several allowed
    assert commands.request_authorization(reg, inst(HOSP1), "doctor").state == "draft"


def test_approving_a_second_maintainer_for_the_same_institution_is_refused(ctx):
    other = registrant("rival1")
    rival = uploaded(other, inst(CLINIC))              # both uploaded before any review
    late = registrant("rival3")
    late_auth = commands.request_authorization(late, inst(CLINIC), "maintainer")
    apply(RegistryAuthorizationFlow, rival, "approve", user("ty_agency"))
    assert inst(CLINIC).maintainer_id == other.id
    first = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.user_id == user("reg_demo").id)).scalar_one()
    exc = refused(apply, RegistryAuthorizationFlow, first, "approve", user("ty_agency"))
    assert "该机构已被其他维护用户授权维护" in exc.message
    assert fresh(first).state == "uploaded" and inst(CLINIC).maintainer_id == other.id
    exc = refused(registry_auth.upload_stamped, late_auth, late,
                  pdf_upload(registry_auth.document_pdf(late_auth)))
    assert "该机构已被其他维护用户授权维护" in exc.message
    assert fresh(late_auth).state == "draft"


def test_two_maintainer_approvals_at_the_same_moment_leave_one_maintainer(app, ctx,
                                                                          monkeypatch):
    """M1 one maintainer per institution, P8 safe under concurrency: both requests pass the
    guard (forced: each thread waits after its guards for the other), then both fire."""
    other = registrant("rival2")
    rival = uploaded(other, inst(CLINIC))
    first = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.user_id == user("reg_demo").id)).scalar_one()
    ids = [first.id, rival.id]
    db.session.commit()
    barrier = threading.Barrier(2)

    def both_checked(auth, u):
        if db.engine.dialect.name != "sqlite":   # SQLite: the engine checks one writer at a time
            barrier.wait(timeout=10)
        return None

    t = RegistryAuthorizationFlow.get("approve")
    monkeypatch.setitem(RegistryAuthorizationFlow.transitions, "approve",
                        dataclasses.replace(t, guards=t.guards + (both_checked,)))
    outcomes = {}

    def work(pk):
        with app.app_context():
            actor = user("ty_agency")
            db.session.commit()
            try:
                engine.apply(RegistryAuthorizationFlow, pk, "approve", actor)
                outcomes[pk] = "ok"
            except Refusal as exc:
                outcomes[pk] = f"Refusal {exc.status}: {exc.message}"
            except Exception as exc:           # noqa: BLE001
                outcomes[pk] = f"{type(exc).__name__}: {exc}"
            db.session.remove()

    threads = [threading.Thread(target=work, args=(pk,)) for pk in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    print("maintainer approvals at once:", outcomes)
    db.session.expire_all()
    approved = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.id.in_(ids), RegistryAuthorization.state == "approved")).all()
    assert len(approved) == 1, f"two approved maintainers for one institution: {outcomes}"
    assert sorted(outcomes.values()) == ["Refusal 409: 该机构已被其他维护用户授权维护", "ok"]
    assert inst(CLINIC).maintainer_id in {user("reg_demo").id, other.id}


def test_an_account_of_another_institution_cannot_request_authorisation(ctx):
    exc = refused(commands.request_authorization, user("ty_maint"), inst(CLINIC), "doctor")
    assert "该账号已是其他机构的用户" in exc.message


def test_an_account_bound_by_one_approval_cannot_be_approved_for_another(ctx):
    reg = registrant("two1", kind="doctor")
    a1 = uploaded(reg, inst(HOSP1), "doctor")
    a2 = uploaded(reg, inst(HOSP2), "doctor")          # both asked before any approval
    apply(RegistryAuthorizationFlow, a1, "approve", user("ty_agency"))
    exc = refused(apply, RegistryAuthorizationFlow, a2, "approve", user("ty_agency"))
    assert "该账号已是其他机构的用户" in exc.message
    assert fresh(a2).state == "uploaded"
    assert user("two1").organization_id == inst(HOSP1).organization_id


def test_only_the_applicant_uploads_the_stamped_document(ctx):
    reg, other = registrant("app1"), registrant("app2")
    auth = commands.request_authorization(reg, inst(HOSP1), "nurse")
    pdf = registry_auth.document_pdf(auth)
    assert registry_auth.document_pdf(auth) == pdf            # idempotent download
    exc = refused(registry_auth.upload_stamped, auth, other, pdf_upload(pdf))
    assert exc.status == 403 and "申请人" in exc.message
    assert fresh(auth).state == "draft"


def test_a_document_of_another_authorisation_is_not_recognised(ctx):
    reg = registrant("app3")
    mine = commands.request_authorization(reg, inst(HOSP1), "nurse")
    theirs = commands.request_authorization(reg, inst(HOSP1), "doctor")
    exc = refused(registry_auth.upload_stamped, mine, reg,
                  pdf_upload(registry_auth.document_pdf(theirs)))
    assert exc.status == 422 and theirs.auth_no in exc.message and mine.auth_no in exc.message
    assert fresh(mine).state == "draft"


def test_an_unrecognisable_upload_points_to_the_help(ctx):
    problem = rules.recognition_problem(
        types.SimpleNamespace(auth_no="SQ2026000000001"), b"%PDF-1.4\n%%EOF\n")
    assert "附件无法识别时，如何操作" in problem


# ---- M3/M4 maintenance --------------------------------------------------------------------------
def test_submitted_institution_cannot_be_edited(ctx):
    exc = refused(commands.update_institution, inst(HOSP2), user("ty_maint2"),
                  {"phone": "0351-1234567"})
    assert exc.status == 409 and "待审核" in exc.message
    assert inst(HOSP2).organization.phone != "0351-1234567"


def test_returned_institution_can_be_edited_and_resubmitted(ctx):
    row = inst(HOSP2)
    exc = refused(apply, RegistryInstitutionFlow, row, "send_back", user("nhc"))
    assert exc.status == 422                                      # 退回 needs a reason
    apply(RegistryInstitutionFlow, inst(HOSP2), "send_back", user("nhc"), {"comment": "级别有误"})
    row = inst(HOSP2)
    assert row.state == "returned" and row.review_comment == "级别有误"
    changed, _ = commands.update_institution(row, user("ty_maint2"), {"grade": "三级甲等"})
    assert changed == {"grade": ("三级乙等", "三级甲等")}
    apply(RegistryInstitutionFlow, inst(HOSP2), "submit", user("ty_maint2"))
    assert inst(HOSP2).state == "submitted"


def test_coded_institution_edits_all_but_the_certificates(ctx):
    changed, reset = commands.update_institution(inst(HOSP1), user("ty_maint"),
                                                 {"phone": "0351-4960002"})
    assert changed and reset == 0 and inst(HOSP1).organization.phone == "0351-4960002"


@pytest.mark.parametrize("change", [{"uscc": uscc(9)}, {"licence_no": "PDY99999914010511A1001"},
                                    {"uscc": "无"}])
def test_coded_institution_certificate_change_needs_a_request(ctx, change):
    exc = refused(commands.update_institution, inst(HOSP1), user("ty_maint"), change)
    assert exc.status == 422 and "证号变更申请" in exc.message
    org = inst(HOSP1).organization
    assert (org.uscc, org.licence_no) == (HOSP1_USCC, HOSP1_LICENCE)


def test_cert_change_approved_applies_the_new_numbers(ctx):
    new_uscc = uscc(8)
    change = commands.request_cert_change(inst(HOSP1), user("ty_maint"),
                                          {"new_uscc": new_uscc, "reason": "营业执照换发"})
    assert inst(HOSP1).organization.uscc == HOSP1_USCC           # nothing until reviewed
    apply(RegistryCertChangeFlow, change, "approve", user("ty_agency"))
    org = inst(HOSP1).organization
    assert (org.uscc, org.licence_no) == (new_uscc, HOSP1_LICENCE)
    assert fresh(change).state == "approved"


def test_one_pending_cert_change_at_a_time(ctx):
    commands.request_cert_change(inst(HOSP1), user("ty_maint"),
                                 {"new_uscc": uscc(8), "reason": "营业执照换发"})
    exc = refused(commands.request_cert_change, inst(HOSP1), user("ty_maint"),
                  {"new_licence_no": "PDY99999914010511A1001", "reason": "许可证换发"})
    assert exc.status == 409 and "已有待审核的证号变更申请" in exc.message
    assert db.session.scalar(select(func.count(RegistryCertChange.id))) == 1


def test_cert_change_before_coding_is_refused(ctx):
    exc = refused(commands.request_cert_change, inst(HOSP2), user("ty_maint2"),
                  {"new_uscc": uscc(8), "reason": "x"})
    assert exc.status == 409


@pytest.mark.parametrize("change", [{"name": "太原市第一人民医院（东院区）"},
                                    {"pooling_code": "140000"}], ids=["name", "pooling"])
def test_name_or_pooling_change_resets_staff_to_draft(ctx, change):
    assert [staff(n).state for n in ("李明", "王芳", "赵丽")] == ["approved", "submitted", "draft"]
    changed, reset = commands.update_institution(inst(HOSP1), user("ty_maint"), change)
    assert reset == 2
    assert [fresh(staff(n)).state for n in ("李明", "王芳", "赵丽")] == ["draft"] * 3


def test_archive_archives_the_staff(ctx):
    exc = refused(apply, RegistryInstitutionFlow, inst(HOSP1), "archive", user("ty_agency"))
    assert exc.status == 422                                     # 归档 needs a reason
    apply(RegistryInstitutionFlow, inst(HOSP1), "archive", user("ty_agency"), {"comment": "机构注销"})
    assert inst(HOSP1).state == "archived"
    assert {fresh(staff(n)).state for n in ("李明", "王芳", "赵丽")} == {"archived"}
    exc = refused(apply, RegistryStaffFlow, staff("赵丽"), "submit", user("ty_maint"))
    assert exc.status == 409


def test_staff_of_an_archived_institution_cannot_be_submitted(ctx):
    row = inst(HOSP1)
    db.session.execute(text("UPDATE registry_institution SET state = 'archived' WHERE id = :i"),
                       {"i": row.id})
    db.session.commit()
    exc = refused(apply, RegistryStaffFlow, staff("赵丽"), "submit", user("ty_maint"))
    assert "机构信息已归档" in exc.message


def test_a_coded_institution_cannot_be_deleted(ctx):
    exc = refused(apply, RegistryInstitutionFlow, inst(HOSP1), "delete", user("ty_maint"))
    assert "归档" in exc.message
    assert inst(HOSP1).state == "coded"


def test_an_uncoded_institution_can_be_deleted_by_the_one_who_added_it(ctx):
    apply(RegistryInstitutionFlow, inst(CLINIC), "delete", user("reg_demo"))
    row = inst(CLINIC)
    assert row.state == "deleted" and not row.organization.active
    assert {a.state for a in queries.authorizations_of(row)} == {"withdrawn"}
    assert queries.search("康宁口腔") == []


def test_someone_else_cannot_delete_or_submit_an_institution(ctx):
    for transition in ("delete", "submit"):
        exc = refused(apply, RegistryInstitutionFlow, inst(CLINIC), transition, user("ty_maint2"))
        assert exc.status == 403 and "只有该机构的维护人员" in exc.message
    assert inst(CLINIC).state == "draft"


def test_submit_needs_an_approved_maintainer(ctx):
    me = user("ty_maint2")                          # a maintainer adding a second record
    new = commands.add_institution(me, form(4))
    exc = refused(apply, RegistryInstitutionFlow, new, "submit", me)
    assert exc.status == 422 and "授权尚未审核通过" in exc.message


def test_submit_names_every_missing_field(ctx):
    new, u = maintained(4)
    db.session.execute(text("UPDATE organization SET category = NULL WHERE id = :i"),
                       {"i": new.organization_id})
    db.session.commit()
    exc = refused(apply, RegistryInstitutionFlow, fresh(new), "submit", u)
    assert "医疗机构类别：必填" in exc.message
    assert fresh(new).state == "draft"
