"""医疗机构信息维护 rules through the services and the engine (SPEC M1–M7): who may fire what,
the duplicate rule and authorisation (M2), maintenance before and after coding (M3/M4), the
national code (M5, including two approvals at once), agreements and their publication (M6),
staff records (M7) and scope.

Demo (app/demo_registry.py): ty_maint maintains 太原市第一人民医院 (coded H14010500001, staff
李明 approved / 王芳 submitted / 赵丽 draft, agreements TY-YB-2025-0001 and TY-YB-2026-0001
confirmed, TY-YB-2026-0001-B1 pending); ty_maint2 maintains 太原市中心医院 (140106,
submitted); reg_demo added 太原康宁口腔诊所 and uploaded its authorisation (not approved)."""
import dataclasses
import io
import re
import threading
import types

import pytest
from sqlalchemy import func, select, text
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.models.core import Organization
from app.models.registry import (DesignatedInstitution, RegistryAgreement,
                                 RegistryAuthorization, RegistryCertChange,
                                 RegistryInstitution, RegistryStaff)
from app.scope import scoped_get, scoped_query
from app.services import files, registry as rules
from app.services.registry import agreements
from app.services import validators
from app.services.registry import authorization as registry_auth
from app.workflows import engine
from app.workflows.engine import Refusal, apply, apply_batch
from app.workflows.registry import (AgreementFlow, AuthorizationFlow, CertChangeFlow,
                                    InstitutionFlow, StaffFlow)
from tests.conftest import PASSWORD, user

M, R, A, N = rules.MAINTAINER, rules.REGISTRANT, rules.AGENCY, rules.NATIONAL
D, NU = rules.DOCTOR_EDITOR, rules.NURSE_EDITOR
ROLES = (M, R, A, N, D, NU)
HOSP1 = "太原市第一人民医院"
HOSP2 = "太原市中心医院"
CLINIC = "太原康宁口腔诊所"
HOSP1_USCC, HOSP1_LICENCE = "12140100405814452W", "PDY00001914010511A1001"
CLINIC_USCC, CLINIC_LICENCE = "91140105MA0KXQ1P2X", "PDY00003114010521D2152"
CODE_RE = re.compile(r"^H\d{6}\d{5}$")


# ---- helpers ------------------------------------------------------------------------------------
def uscc(n, region="140105"):
    body = f"91{region}{n:09d}"
    return body + validators._uscc_check_char(body)


def form(n, **over):
    """A valid 新增 form for a clinic numbered n in 小店区 (140105), pooling area 太原市."""
    data = {"legal_name": f"太原测试医疗有限公司{n}", "name": f"太原测试诊所{n}",
            "uscc": uscc(n), "licence_no": f"PDY{n:05d}14010521D2152",
            "region_code": "140105", "address": f"山西省太原市小店区测试路{n}号",
            "pooling_code": "140100", "category": "诊所", "grade": "未定级",
            "phone": "0351-7770001", "uses_e_voucher": False}
    data.update(over)
    return data


def inst(name):
    return db.session.execute(select(RegistryInstitution).join(RegistryInstitution.organization)
                              .where(Organization.name == name)).scalar_one()


def fresh(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def staff(name):
    return db.session.execute(select(RegistryStaff).where(RegistryStaff.name == name)).scalar_one()


def agreement(no):
    return db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.agreement_no == no)).scalar_one()


def registrant(login, kind="maintainer", n=0):
    u = registry_auth.register({"username": login, "name": f"{login}信息员",
                                "mobile": f"139{n % 10 ** 8:08d}", "role_kind": kind,
                                "password": PASSWORD, "confirm": PASSWORD})
    db.session.commit()
    return u


def pdf_upload(data, name="授权书（已盖章）.pdf"):
    return FileStorage(io.BytesIO(data), filename=name)


def uploaded(u, institution, kind="maintainer"):
    """授权 as a user does it: request, download the PDF, upload it stamped."""
    auth = registry_auth.request_authorization(u, institution, kind)
    db.session.commit()
    registry_auth.upload_stamped(auth, u, pdf_upload(registry_auth.document_pdf(auth)))
    return auth


def authorised(u, institution, kind="maintainer"):
    auth = uploaded(u, institution, kind)
    apply(AuthorizationFlow, auth, "approve", user("ty_agency"))
    return auth


def maintained(n, **over):
    """A new institution added by a new registrant who is then approved as its maintainer."""
    u = registrant(f"maint{n}", n=n)
    new = rules.add_institution(u, form(n, **over))
    db.session.commit()
    authorised(u, new)
    return fresh(new), u


def submitted(n, **over):
    new, u = maintained(n, **over)
    apply(InstitutionFlow, new, "submit", u)
    return fresh(new), u


def refused(call, *args, **kwargs):
    with pytest.raises(Refusal) as exc:
        call(*args, **kwargs)
    db.session.rollback()
    db.session.expire_all()
    return exc.value


def code_of(institution):
    return fresh(institution).organization.national_code


def counter(region):
    return db.session.execute(text("SELECT last_seq FROM registry_code_counter "
                                    "WHERE region_code = :r"), {"r": region}).scalar()


def ag_data(agency_login="ty_agency", **over):
    data = {"agency_org_id": user(agency_login).organization_id, "agreement_type": "service",
            "agreement_no": "TY-YB-2027-0001", "start_date": "2027-01-01",
            "end_date": "2027-12-31", "content": "2027年度医疗保障定点医疗机构服务协议"}
    data.update(over)
    return data


def ag_form(a, **over):
    data = {"agency_org_id": a.agency_org_id, "agreement_type": a.agreement_type,
            "agreement_no": a.agreement_no, "start_date": a.start_date.isoformat(),
            "end_date": a.end_date.isoformat(), "content": a.content}
    data.update(over)
    return data


def published():
    return {r.agreement_id: r for r in db.session.execute(select(DesignatedInstitution))
            .scalars()}


STAFF_FORM = {"name": "孙强", "id_number": "110101199003070011", "staff_type": "doctor",
              "cert_no": "110140000009999"}


def id_number(first17):
    return first17 + validators._id_check_char(first17)


# ---- role table (SPEC P6/P8): every transition of every flow × every registry role -------------
EXPECTED = {
    InstitutionFlow: {"submit": {M}, "send_back": {N}, "approve": {N}, "archive": {A},
                      "delete": {M, R}},
    AuthorizationFlow: {"upload": {R}, "approve": {A}, "reject": {A}},
    CertChangeFlow: {"approve": {A}, "reject": {A}},
    AgreementFlow: {"confirm": {A}, "delete": {M}},
    StaffFlow: {"submit": {M, D, NU}, "approve": {A}, "reject": {A}, "delete": {M, D, NU}},
}


def _fake(role):
    return types.SimpleNamespace(id=-1, organization_id=None, is_authenticated=True,
                                 roles=[types.SimpleNamespace(name=role)])


@pytest.mark.parametrize("flow", list(EXPECTED), ids=lambda f: f.__name__)
def test_table_declares_exactly_the_expected_transitions(flow):
    assert {row[0] for row in flow.table()} == set(EXPECTED[flow])


@pytest.mark.parametrize("flow,row,role", [
    (flow, row, role) for flow in EXPECTED for row in flow.table() for role in ROLES
], ids=lambda v: getattr(v, "__name__", v[0] if isinstance(v, tuple) else str(v)))
def test_role_table(flow, row, role):
    """Declared roles match the spec, and the engine answers 403 to every other role (the
    role check alone: guards off, object in a source state)."""
    name, _label, sources, _target, roles = row
    allowed = role in EXPECTED[flow][name]
    assert (role in roles) is allowed, f"{flow.__name__}.{name}: role {role} declared={roles}"
    t = dataclasses.replace(flow.get(name), guards=())
    obj = flow.model(state=sources[0])
    refusal = t.refusal(obj, _fake(role), flow)
    if allowed:
        assert refusal is None, f"{flow.__name__}.{name} refused {role}: {refusal.message}"
    else:
        assert refusal is not None and refusal.status == 403, \
            f"{flow.__name__}.{name} not refused (403) for {role}"
        assert "权限" in refusal.message


COMMENT_REQUIRED = {(InstitutionFlow, "send_back"), (InstitutionFlow, "archive"),
                    (AuthorizationFlow, "reject"), (CertChangeFlow, "reject"),
                    (StaffFlow, "reject")}


@pytest.mark.parametrize("flow,name", [(f, n) for f in EXPECTED for n in EXPECTED[f]],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_refusals_and_returns_need_a_reason(flow, name):
    assert flow.get(name).comment_required is ((flow, name) in COMMENT_REQUIRED)


def test_rejecting_an_authorisation_without_a_reason_is_422(ctx):
    auth = rules.authorizations_of(inst(CLINIC))[0]
    exc = refused(apply, AuthorizationFlow, auth, "reject", user("ty_agency"))
    assert exc.status == 422 and list(exc.fields) == ["comment"]
    assert fresh(auth).state == "uploaded"
    apply(AuthorizationFlow, fresh(auth), "reject", user("ty_agency"), {"comment": "公章不清晰"})
    assert fresh(auth).state == "rejected" and inst(CLINIC).maintainer_id is None


@pytest.mark.parametrize("flow,target,transition,login,data", [
    (InstitutionFlow, HOSP2, "approve", "ty_agency", {}),          # 经办机构 cannot 赋码
    (InstitutionFlow, HOSP2, "send_back", "ty_maint2", {"comment": "x"}),
    (InstitutionFlow, HOSP1, "archive", "nhc", {"comment": "x"}),  # 国家 does not 归档
    (InstitutionFlow, CLINIC, "submit", "reg_demo", {}),           # not yet a maintainer
], ids=["agency-approve", "maintainer-send-back", "national-archive", "registrant-submit"])
def test_real_users_outside_the_role_table_get_403_and_nothing_changes(ctx, flow, target,
                                                                      transition, login, data):
    row = inst(target)
    before = row.state
    exc = refused(apply, flow, row, transition, user(login), data)
    assert exc.status == 403 and "权限" in exc.message
    assert inst(target).state == before


# ---- M5 national code ---------------------------------------------------------------------------
def test_approval_codes_h_region_and_five_digit_sequence(ctx):
    row = inst(HOSP2)                             # 140106: first coded institution there
    apply(InstitutionFlow, row, "approve", user("nhc"), {"comment": "同意"})
    row = inst(HOSP2)
    assert row.state == "coded" and row.coded_at is not None
    code = row.organization.national_code
    assert CODE_RE.match(code) and code == "H14010600001", code
    assert counter("140106") == 1


def test_sequence_increments_per_region_and_regions_are_independent(ctx):
    a, _ = submitted(1)
    b, _ = submitted(2)
    assert inst(HOSP1).organization.national_code == "H14010500001"
    apply(InstitutionFlow, a, "approve", user("nhc"))
    apply(InstitutionFlow, inst(HOSP2), "approve", user("nhc"))
    apply(InstitutionFlow, b, "approve", user("nhc"))
    assert (code_of(a), code_of(b)) == ("H14010500002", "H14010500003")
    assert inst(HOSP2).organization.national_code == "H14010600001"


def test_batch_approval_in_one_region_gives_consecutive_codes(ctx):
    a, _ = submitted(1)
    b, _ = submitted(2)
    apply_batch(InstitutionFlow, [a.id, b.id], "approve", user("nhc"))
    assert sorted([code_of(a), code_of(b)]) == ["H14010500002", "H14010500003"]


def test_a_code_is_never_reused_after_archiving(ctx):
    a, _ = submitted(1)
    b, _ = submitted(2)
    apply(InstitutionFlow, a, "approve", user("nhc"))
    assert code_of(a) == "H14010500002"
    apply(InstitutionFlow, fresh(a), "archive", user("ty_agency"), {"comment": "无效数据"})
    assert fresh(a).state == "archived" and code_of(a) == "H14010500002"
    apply(InstitutionFlow, b, "approve", user("nhc"))
    assert code_of(b) == "H14010500003", "the archived institution's number was issued again"


def _approve_together(app, pks, login="nhc"):
    """Approve each pk in its own thread, own app context and own session, all released at
    once by a barrier. A clean 409 is retried once. Returns {pk: outcome}."""
    barrier = threading.Barrier(len(pks))
    outcomes = {}

    def work(pk):
        with app.app_context():
            actor = user(login)
            db.session.commit()               # nothing open while waiting at the barrier
            attempts = []
            barrier.wait(timeout=30)
            for _ in range(2):
                try:
                    engine.apply(InstitutionFlow, pk, "approve", actor)
                    attempts.append("ok")
                    break
                except Refusal as exc:
                    db.session.rollback()
                    attempts.append(f"Refusal {exc.status}: {exc.message}")
                    if exc.status != 409:
                        break
                except Exception as exc:       # noqa: BLE001 — reported, never swallowed
                    db.session.rollback()
                    attempts.append(f"{type(exc).__name__}: {exc}")
                    break
            outcomes[pk] = attempts
            db.session.remove()

    threads = [threading.Thread(target=work, args=(pk,)) for pk in pks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "an approval thread hangs"
    return outcomes


def test_two_approvals_in_one_region_at_the_same_time_get_distinct_codes(app, ctx):
    a, _ = submitted(1)
    b, _ = submitted(2)
    db.session.commit()
    outcomes = _approve_together(app, [a.id, b.id])
    print("concurrent approvals (140105):", outcomes)
    assert all(o[-1] == "ok" for o in outcomes.values()), outcomes
    assert all(len(o) == 1 for o in outcomes.values()), f"needed a retry: {outcomes}"
    codes = {code_of(a), code_of(b)}
    assert codes == {"H14010500002", "H14010500003"}, codes
    assert counter("140105") == 3


def test_the_same_institution_approved_twice_at_once_is_coded_once(app, ctx):
    """SPEC P8: two reviewers press 审核赋码 together → one succeeds, the other 状态已变更,
    and the loser's number is not consumed."""
    a, _ = submitted(1)
    db.session.commit()
    barrier = threading.Barrier(2)
    outcomes = []

    def work():
        with app.app_context():
            actor = user("nhc")
            db.session.commit()
            barrier.wait(timeout=30)
            try:
                engine.apply(InstitutionFlow, a.id, "approve", actor)
                outcomes.append("ok")
            except Refusal as exc:
                outcomes.append(f"Refusal {exc.status}: {exc.message}")
            except Exception as exc:           # noqa: BLE001
                outcomes.append(f"{type(exc).__name__}: {exc}")
            db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    print("same institution approved twice:", outcomes)
    assert sorted(outcomes) == ["Refusal 409: 状态已变更，请刷新后重试", "ok"] or \
        sorted(outcomes)[0].startswith("Refusal 409: 当前状态为"), outcomes
    assert code_of(a) == "H14010500002" and counter("140105") == 2


def test_first_approvals_in_a_new_region_at_the_same_time_get_distinct_codes(app, ctx):
    """Same race where the region has no counter row yet (both threads create it)."""
    a, _ = submitted(1, region_code="140107", uscc=uscc(1, "140107"))
    b, _ = submitted(2, region_code="140107", uscc=uscc(2, "140107"))
    assert counter("140107") is None
    db.session.commit()
    outcomes = _approve_together(app, [a.id, b.id])
    print("concurrent approvals (new region 140107):", outcomes)
    assert all(o[-1] == "ok" for o in outcomes.values()), outcomes
    assert {code_of(a), code_of(b)} == {"H14010700001", "H14010700002"}
    assert counter("140107") == 2


# ---- M2 add, duplicates, search -----------------------------------------------------------------
def test_duplicate_when_name_licence_and_uscc_are_all_equal(ctx):
    reg = registrant("dup1")
    exc = refused(rules.add_institution, reg, form(
        1, name=CLINIC, uscc=CLINIC_USCC.lower(), licence_no=CLINIC_LICENCE))
    assert exc.status == 422 and "机构信息已存在" in exc.message
    assert "name" in exc.fields


@pytest.mark.parametrize("differs", ["name", "uscc", "licence_no"])
def test_not_a_duplicate_when_one_of_the_three_differs(ctx, differs):
    reg = registrant("dup2")
    same = {"name": CLINIC, "uscc": CLINIC_USCC, "licence_no": CLINIC_LICENCE}
    same[differs] = form(7)[differs]
    added = rules.add_institution(reg, form(7, **same))
    db.session.commit()
    assert added.state == "draft" and added.created_by_id == reg.id
    assert added.organization.name == same["name"]


def test_adding_a_claimed_institution_says_it_is_maintained_by_someone_else(ctx):
    reg = registrant("dup3")
    exc = refused(rules.add_institution, reg, form(
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
    exc = refused(apply, InstitutionFlow, new, "submit", u)
    assert "说明材料" in exc.message, \
        "ready_for_review let a USCC-无 institution be submitted without the PDF 说明材料"
    assert fresh(new).state == "draft"


def test_no_uscc_with_the_explanation_pdf_can_be_submitted(ctx):
    new, u = maintained(3, uscc="无")
    pdf = registry_auth.document_pdf(rules.authorizations_of(new)[0])
    files.attach(new, rules.EXPLANATION, pdf_upload(pdf, "说明材料.pdf"), u)
    db.session.commit()
    apply(InstitutionFlow, new, "submit", u)
    assert fresh(new).state == "submitted"


def test_search_excludes_claimed_institutions(ctx):
    assert HOSP1 not in [o.name for o in rules.search("太原市第一人民医院")]
    assert HOSP1 not in [o.name for o in rules.search(HOSP1_USCC)]
    assert [o.name for o in rules.search("康宁口腔")] == [CLINIC]      # nobody approved yet


@pytest.mark.parametrize("keyword,found", [
    (CLINIC_USCC, True), (CLINIC_USCC.lower(), True), (CLINIC_USCC[:-1], False),
    (CLINIC_LICENCE, True), (CLINIC_LICENCE[:10], False),
])
def test_search_by_uscc_and_licence_is_exact(ctx, keyword, found):
    assert ([o.name for o in rules.search(keyword)] == [CLINIC]) is found


def test_request_for_a_claimed_institution_is_refused(ctx):
    reg = registrant("late1")
    exc = refused(registry_auth.request_authorization, reg, inst(HOSP1), "maintainer")
    assert exc.status == 409 and exc.message == "该机构已被其他维护用户授权维护"
    # 医师 / 护士 accounts: several allowed
    assert registry_auth.request_authorization(reg, inst(HOSP1), "doctor").state == "draft"


def test_approving_a_second_maintainer_for_the_same_institution_is_refused(ctx):
    other = registrant("rival1")
    rival = uploaded(other, inst(CLINIC))              # both uploaded before any review
    late = registrant("rival3")
    late_auth = registry_auth.request_authorization(late, inst(CLINIC), "maintainer")
    db.session.commit()                                # asked before the approval
    apply(AuthorizationFlow, rival, "approve", user("ty_agency"))
    assert inst(CLINIC).maintainer_id == other.id
    first = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.user_id == user("reg_demo").id)).scalar_one()
    exc = refused(apply, AuthorizationFlow, first, "approve", user("ty_agency"))
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
        barrier.wait(timeout=10)
        return None

    t = AuthorizationFlow.get("approve")
    monkeypatch.setitem(AuthorizationFlow.transitions, "approve",
                        dataclasses.replace(t, guards=t.guards + (both_checked,)))
    outcomes = {}

    def work(pk):
        with app.app_context():
            actor = user("ty_agency")
            db.session.commit()
            try:
                engine.apply(AuthorizationFlow, pk, "approve", actor)
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
    exc = refused(registry_auth.request_authorization, user("ty_maint"), inst(CLINIC), "doctor")
    assert "该账号已是其他机构的用户" in exc.message


def test_an_account_bound_by_one_approval_cannot_be_approved_for_another(ctx):
    reg = registrant("two1", kind="doctor")
    a1 = uploaded(reg, inst(HOSP1), "doctor")
    a2 = uploaded(reg, inst(HOSP2), "doctor")          # both asked before any approval
    apply(AuthorizationFlow, a1, "approve", user("ty_agency"))
    exc = refused(apply, AuthorizationFlow, a2, "approve", user("ty_agency"))
    assert "该账号已是其他机构的用户" in exc.message
    assert fresh(a2).state == "uploaded"
    assert user("two1").organization_id == inst(HOSP1).organization_id


def test_only_the_applicant_uploads_the_stamped_document(ctx):
    reg, other = registrant("app1"), registrant("app2")
    auth = registry_auth.request_authorization(reg, inst(HOSP1), "nurse")
    db.session.commit()
    pdf = registry_auth.document_pdf(auth)
    assert registry_auth.document_pdf(auth) == pdf            # idempotent download
    exc = refused(registry_auth.upload_stamped, auth, other, pdf_upload(pdf))
    assert exc.status == 403 and "申请人" in exc.message
    assert fresh(auth).state == "draft"


def test_a_document_of_another_authorisation_is_not_recognised(ctx):
    reg = registrant("app3")
    mine = registry_auth.request_authorization(reg, inst(HOSP1), "nurse")
    theirs = registry_auth.request_authorization(reg, inst(HOSP1), "doctor")
    db.session.commit()
    exc = refused(registry_auth.upload_stamped, mine, reg,
                  pdf_upload(registry_auth.document_pdf(theirs)))
    assert exc.status == 422 and theirs.auth_no in exc.message and mine.auth_no in exc.message
    assert fresh(mine).state == "draft"


def test_an_unrecognisable_upload_points_to_the_help(ctx):
    problem = registry_auth.recognition_problem(
        types.SimpleNamespace(auth_no="SQ2026000000001"), b"%PDF-1.4\n%%EOF\n")
    assert "附件无法识别时，如何操作" in problem


# ---- M3/M4 maintenance --------------------------------------------------------------------------
def test_submitted_institution_cannot_be_edited(ctx):
    exc = refused(rules.update_institution, inst(HOSP2), user("ty_maint2"),
                  {"phone": "0351-1234567"})
    assert exc.status == 409 and "待审核" in exc.message
    assert inst(HOSP2).organization.phone != "0351-1234567"


def test_returned_institution_can_be_edited_and_resubmitted(ctx):
    row = inst(HOSP2)
    exc = refused(apply, InstitutionFlow, row, "send_back", user("nhc"))
    assert exc.status == 422                                      # 退回 needs a reason
    apply(InstitutionFlow, inst(HOSP2), "send_back", user("nhc"), {"comment": "级别有误"})
    row = inst(HOSP2)
    assert row.state == "returned" and row.review_comment == "级别有误"
    changed, _ = rules.update_institution(row, user("ty_maint2"), {"grade": "三级甲等"})
    db.session.commit()
    assert changed == {"grade": ("三级乙等", "三级甲等")}
    apply(InstitutionFlow, inst(HOSP2), "submit", user("ty_maint2"))
    assert inst(HOSP2).state == "submitted"


def test_coded_institution_edits_all_but_the_certificates(ctx):
    changed, reset = rules.update_institution(inst(HOSP1), user("ty_maint"),
                                              {"phone": "0351-4960002"})
    db.session.commit()
    assert changed and reset == 0 and inst(HOSP1).organization.phone == "0351-4960002"


@pytest.mark.parametrize("change", [{"uscc": uscc(9)}, {"licence_no": "PDY99999914010511A1001"},
                                    {"uscc": "无"}])
def test_coded_institution_certificate_change_needs_a_request(ctx, change):
    exc = refused(rules.update_institution, inst(HOSP1), user("ty_maint"), change)
    assert exc.status == 422 and "证号变更申请" in exc.message
    org = inst(HOSP1).organization
    assert (org.uscc, org.licence_no) == (HOSP1_USCC, HOSP1_LICENCE)


def test_cert_change_approved_applies_the_new_numbers(ctx):
    new_uscc = uscc(8)
    change = rules.request_cert_change(inst(HOSP1), user("ty_maint"),
                                       {"new_uscc": new_uscc, "reason": "营业执照换发"})
    db.session.commit()
    assert inst(HOSP1).organization.uscc == HOSP1_USCC           # nothing until reviewed
    apply(CertChangeFlow, change, "approve", user("ty_agency"))
    org = inst(HOSP1).organization
    assert (org.uscc, org.licence_no) == (new_uscc, HOSP1_LICENCE)
    assert fresh(change).state == "approved"


def test_one_pending_cert_change_at_a_time(ctx):
    rules.request_cert_change(inst(HOSP1), user("ty_maint"),
                              {"new_uscc": uscc(8), "reason": "营业执照换发"})
    db.session.commit()
    exc = refused(rules.request_cert_change, inst(HOSP1), user("ty_maint"),
                  {"new_licence_no": "PDY99999914010511A1001", "reason": "许可证换发"})
    assert exc.status == 409 and "已有待审核的证号变更申请" in exc.message
    assert db.session.scalar(select(func.count(RegistryCertChange.id))) == 1


def test_cert_change_before_coding_is_refused(ctx):
    exc = refused(rules.request_cert_change, inst(HOSP2), user("ty_maint2"),
                  {"new_uscc": uscc(8), "reason": "x"})
    assert exc.status == 409


@pytest.mark.parametrize("change", [{"name": "太原市第一人民医院（东院区）"},
                                    {"pooling_code": "140000"}], ids=["name", "pooling"])
def test_name_or_pooling_change_resets_staff_to_draft(ctx, change):
    assert [staff(n).state for n in ("李明", "王芳", "赵丽")] == ["approved", "submitted", "draft"]
    changed, reset = rules.update_institution(inst(HOSP1), user("ty_maint"), change)
    db.session.commit()
    assert reset == 2
    assert [fresh(staff(n)).state for n in ("李明", "王芳", "赵丽")] == ["draft"] * 3


def test_archive_archives_the_staff(ctx):
    exc = refused(apply, InstitutionFlow, inst(HOSP1), "archive", user("ty_agency"))
    assert exc.status == 422                                     # 归档 needs a reason
    apply(InstitutionFlow, inst(HOSP1), "archive", user("ty_agency"), {"comment": "机构注销"})
    assert inst(HOSP1).state == "archived"
    assert {fresh(staff(n)).state for n in ("李明", "王芳", "赵丽")} == {"archived"}
    exc = refused(apply, StaffFlow, staff("赵丽"), "submit", user("ty_maint"))
    assert exc.status == 409


def test_staff_of_an_archived_institution_cannot_be_submitted(ctx):
    row = inst(HOSP1)
    db.session.execute(text("UPDATE registry_institution SET state = 'archived' WHERE id = :i"),
                       {"i": row.id})
    db.session.commit()
    exc = refused(apply, StaffFlow, staff("赵丽"), "submit", user("ty_maint"))
    assert "机构信息已归档" in exc.message


def test_a_coded_institution_cannot_be_deleted(ctx):
    exc = refused(apply, InstitutionFlow, inst(HOSP1), "delete", user("ty_maint"))
    assert "归档" in exc.message
    assert inst(HOSP1).state == "coded"


def test_an_uncoded_institution_can_be_deleted_by_the_one_who_added_it(ctx):
    apply(InstitutionFlow, inst(CLINIC), "delete", user("reg_demo"))
    row = inst(CLINIC)
    assert row.state == "deleted" and not row.organization.active
    assert {a.state for a in rules.authorizations_of(row)} == {"rejected"}
    assert rules.search("康宁口腔") == []


def test_someone_else_cannot_delete_or_submit_an_institution(ctx):
    for transition in ("delete", "submit"):
        exc = refused(apply, InstitutionFlow, inst(CLINIC), transition, user("ty_maint2"))
        assert exc.status == 403 and "只有该机构的维护人员" in exc.message
    assert inst(CLINIC).state == "draft"


def test_submit_needs_an_approved_maintainer(ctx):
    me = user("ty_maint2")                          # a maintainer adding a second record
    new = rules.add_institution(me, form(4))
    db.session.commit()
    exc = refused(apply, InstitutionFlow, new, "submit", me)
    assert exc.status == 422 and "授权尚未审核通过" in exc.message


def test_submit_names_every_missing_field(ctx):
    new, u = maintained(4)
    db.session.execute(text("UPDATE organization SET category = NULL WHERE id = :i"),
                       {"i": new.organization_id})
    db.session.commit()
    exc = refused(apply, InstitutionFlow, fresh(new), "submit", u)
    assert "医疗机构类别：必填" in exc.message
    assert fresh(new).state == "draft"


# ---- M6 agreements ------------------------------------------------------------------------------
def test_agreement_needs_a_coded_institution(ctx):
    exc = refused(agreements.add_agreement, inst(HOSP2), user("ty_maint2"), ag_data())
    assert exc.status == 409 and "赋码" in exc.message


def test_new_agreement_waits_for_confirmation(ctx):
    a = agreements.add_agreement(inst(HOSP1), user("ty_maint"), ag_data())
    db.session.commit()
    assert a.state == "pending" and a.city_code == "140100"


def test_agency_modification_keeps_the_confirmed_state(ctx):
    a = agreement("TY-YB-2025-0001")
    assert a.state == "confirmed"
    agreements.edit_agreement(a, user("ty_agency"), ag_form(a, end_date="2025-11-30"))
    db.session.commit()
    a = fresh(a)
    assert a.state == "confirmed" and a.end_date.isoformat() == "2025-11-30"


def test_institution_edit_returns_a_confirmed_agreement_to_pending(ctx):
    a = agreement("TY-YB-2025-0001")
    agreements.edit_agreement(a, user("ty_maint"), ag_form(a, content="补充条款"))
    db.session.commit()
    assert fresh(a).state == "pending"


def test_another_agency_cannot_confirm(ctx):
    a = agreement("TY-YB-2026-0001-B1")
    for login in ("yc_agency", "sx_agency"):
        exc = refused(apply, AgreementFlow, a, "confirm", user(login))
        assert exc.status == 403 and "协议选择的经办机构" in exc.message
        with pytest.raises(NotFound):                  # nor even see it
            apply(AgreementFlow, a.id, "confirm", user(login))
    assert fresh(a).state == "pending"
    apply(AgreementFlow, a, "confirm", user("ty_agency"))
    assert fresh(a).state == "confirmed"


def test_another_agency_cannot_modify(ctx):
    a = agreement("TY-YB-2025-0001")
    exc = refused(agreements.edit_agreement, a, user("yc_agency"), ag_form(a, content="x"))
    assert exc.status == 403


def test_only_pending_agreements_are_deleted_and_only_by_their_institution(ctx):
    exc = refused(apply, AgreementFlow, agreement("TY-YB-2025-0001"), "delete", user("ty_maint"))
    assert exc.status == 409
    exc = refused(apply, AgreementFlow, agreement("TY-YB-2026-0001-B1"), "delete",
                  user("ty_maint2"))
    assert exc.status == 403
    apply(AgreementFlow, agreement("TY-YB-2026-0001-B1"), "delete", user("ty_maint"))
    assert agreement("TY-YB-2026-0001-B1").state == "deleted"


def test_sync_publishes_confirmed_agreements_only(ctx):
    a = agreements.add_agreement(inst(HOSP1), user("ty_maint"), ag_data())
    db.session.commit()
    agreements.sync_agreements()
    listed = published()
    ids = {r.id for r in db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.state == "confirmed")).scalars()}
    assert set(listed) == ids and a.id not in listed
    apply(AgreementFlow, fresh(a), "confirm", user("ty_agency"))
    assert agreements.sync_agreements() == (1, 0)
    row = published()[a.id]
    assert (row.national_code, row.institution_name, row.agreement_no) == \
        ("H14010500001", HOSP1, "TY-YB-2027-0001")
    assert row.agency_org_id == user("ty_agency").organization_id and row.city_code == "140100"


def test_second_sync_without_changes_publishes_nothing(ctx):
    agreements.sync_agreements()                 # the demo's agency correction is pending
    assert agreements.sync_agreements() == (0, 0)


def test_sync_republishes_a_confirmed_agreement_after_a_change(ctx):
    agreements.sync_agreements()
    a = agreement("TY-YB-2025-0001")
    agreements.edit_agreement(a, user("ty_agency"), ag_form(a, end_date="2025-10-31"))
    db.session.commit()
    assert agreements.sync_agreements() == (1, 0)
    assert published()[a.id].end_date.isoformat() == "2025-10-31"
    assert agreements.sync_agreements() == (0, 0)


def test_sync_removes_deleted_agreements(ctx):
    agreements.sync_agreements()
    a = agreement("TY-YB-2025-0001")
    assert a.id in published()
    agreements.edit_agreement(a, user("ty_maint"), ag_form(a, content="改"))   # → pending
    db.session.commit()
    apply(AgreementFlow, fresh(a), "delete", user("ty_maint"))
    assert agreements.sync_agreements() == (0, 1)
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
    exc = refused(agreements.save_staff, inst(HOSP1), doctor_editor,
                  {**STAFF_FORM, "staff_type": "nurse"})
    assert exc.status == 403 and "护士" in exc.message
    doc = agreements.save_staff(inst(HOSP1), doctor_editor, STAFF_FORM)      # a doctor: fine
    db.session.commit()
    exc = refused(agreements.save_staff, inst(HOSP1), doctor_editor,
                  {**STAFF_FORM, "staff_type": "nurse"}, staff=fresh(doc))   # nor turn one
    assert exc.status == 403 and fresh(doc).staff_type == "doctor"


def test_doctor_editor_cannot_submit_a_nurse(doctor_editor):
    exc = refused(apply, StaffFlow, staff("赵丽"), "submit", doctor_editor)
    assert exc.status == 403 and staff("赵丽").state == "draft"
    doc = agreements.save_staff(inst(HOSP1), doctor_editor, STAFF_FORM)
    db.session.commit()
    apply(StaffFlow, doc, "submit", doctor_editor)
    assert fresh(doc).state == "submitted"


def test_another_institutions_maintainer_cannot_touch_the_staff(ctx):
    exc = refused(apply, StaffFlow, staff("赵丽"), "submit", user("ty_maint2"))
    assert exc.status == 403 and "本机构" in exc.message
    exc = refused(agreements.save_staff, inst(HOSP1), user("ty_maint2"), STAFF_FORM)
    assert exc.status == 403


@pytest.mark.parametrize("bad", ["110101199003070012", "11010119900307001", "110101199002300011"])
def test_staff_id_number_is_checked(ctx, bad):
    exc = refused(agreements.save_staff, inst(HOSP1), user("ty_maint"),
                  {**STAFF_FORM, "id_number": bad})
    assert exc.status == 422 and list(exc.fields) == ["id_number"]


def test_duplicate_id_number_in_one_institution_is_refused(ctx):
    exc = refused(agreements.save_staff, inst(HOSP1), user("ty_maint"),
                  {**STAFF_FORM, "id_number": staff("李明").id_number})
    assert exc.status == 422 and "本机构已有该身份证号的人员" in exc.message
    x_id = id_number("14010519900101018")
    assert x_id.endswith("X"), x_id
    agreements.save_staff(inst(HOSP1), user("ty_maint"), {**STAFF_FORM, "id_number": x_id})
    db.session.commit()
    exc = refused(agreements.save_staff, inst(HOSP1), user("ty_maint"),
                  {**STAFF_FORM, "name": "另一人", "id_number": x_id.lower()})
    assert "本机构已有该身份证号的人员" in exc.message
    # another institution may employ the same person
    agreements.save_staff(inst(HOSP2), user("ty_maint2"),
                          {**STAFF_FORM, "id_number": staff("李明").id_number})
    db.session.commit()


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
    ty = _seen(model, "ty_agency")
    assert ty and {r.city_code for r in ty} == {"140100"}
    assert _seen(model, "yc_agency") == set()
    with pytest.raises(NotFound):
        scoped_get(model, next(iter(ty)).id, user("yc_agency"))


def test_an_agency_sees_only_agreements_made_with_it(ctx):
    a = agreements.add_agreement(inst(HOSP1), user("ty_maint"),
                                 ag_data("yc_agency", agreement_no="YC-2027-01"))
    db.session.commit()
    assert {x.agreement_no for x in _seen(RegistryAgreement, "yc_agency")} == {"YC-2027-01"}
    assert a not in _seen(RegistryAgreement, "ty_agency")         # 太原's institution, though
    assert _seen(RegistryAgreement, "sx_agency") == set()          # province: none with it
    assert a in _seen(RegistryAgreement, "ty_maint")


# ---- regressions of 03d44b0 (one test per fix) ---------------------------------------------------
def test_no_upload_after_the_institution_is_deleted(ctx):
    """institution_open guard: the rejected authorisation of a deleted institution stays so."""
    reg = user("reg_demo")
    auth = rules.authorizations_of(inst(CLINIC))[0]
    assert auth.user_id == reg.id and auth.state == "uploaded"
    apply(InstitutionFlow, inst(CLINIC), "delete", reg)
    auth = fresh(auth)
    assert auth.state == "rejected" and inst(CLINIC).state == "deleted"
    exc = refused(apply, AuthorizationFlow, auth, "upload", user("reg_demo"))
    assert "不能授权" in exc.message
    auth = fresh(auth)
    exc = refused(registry_auth.upload_stamped, auth, user("reg_demo"),
                  pdf_upload(registry_auth.document_pdf(auth)))
    assert "不能授权" in exc.message
    assert fresh(auth).state == "rejected" and inst(CLINIC).maintainer_id is None


def test_approving_an_authorisation_of_an_archived_institution_is_refused(ctx):
    auth = rules.authorizations_of(inst(CLINIC))[0]
    apply(InstitutionFlow, inst(CLINIC), "archive", user("ty_agency"), {"comment": "无效数据"})
    assert inst(CLINIC).state == "archived"
    exc = refused(apply, AuthorizationFlow, fresh(auth), "approve", user("ty_agency"))
    assert "不能授权" in exc.message
    assert fresh(auth).state == "uploaded" and inst(CLINIC).maintainer_id is None
    assert user("reg_demo").organization_id is None


def test_a_deleted_row_of_a_living_organisation_can_be_authorised_again(ctx):
    """institution_for revives the deleted registry row of an organisation still in use."""
    apply(InstitutionFlow, inst(HOSP2), "send_back", user("nhc"), {"comment": "信息有误"})
    apply(InstitutionFlow, inst(HOSP2), "delete", user("ty_maint2"))
    row = inst(HOSP2)
    assert row.state == "deleted" and row.maintainer_id is None
    org = row.organization
    assert org.active                              # 太原市中心医院 lives on in other modules
    reg = registrant("again1")
    row = rules.institution_for(org, reg)
    auth = registry_auth.request_authorization(reg, row, "maintainer")
    db.session.commit()
    assert auth.state == "draft"
    row = inst(HOSP2)
    assert row.state == "draft" and row.maintainer_id is None and row.created_by_id is None
    assert row.organization.active
    assert HOSP2 in [o.name for o in rules.search(HOSP2)]
    registry_auth.upload_stamped(fresh(auth), user("again1"),
                                 pdf_upload(registry_auth.document_pdf(fresh(auth))))
    apply(AuthorizationFlow, fresh(auth), "approve", user("ty_agency"))
    assert inst(HOSP2).maintainer_id == user("again1").id


def test_cert_change_to_wu_removes_the_uscc(ctx):
    change = rules.request_cert_change(inst(HOSP1), user("ty_maint"),
                                       {"new_uscc": "无", "reason": "事业单位法人证书注销"})
    db.session.commit()
    change = fresh(change)
    assert change.state == "pending" and change.new_uscc is None
    assert change.old_uscc == HOSP1_USCC and change.new_licence_no == HOSP1_LICENCE
    apply(CertChangeFlow, change, "approve", user("ty_agency"))
    row = inst(HOSP1)
    assert row.organization.uscc is None and row.no_uscc is True
    assert row.organization.licence_no == HOSP1_LICENCE


def test_doctor_and_nurse_registrants_find_maintained_institutions(ctx, login_as):
    assert HOSP1 not in [o.name for o in rules.search("第一人民")]
    assert HOSP1 in [o.name for o in rules.search("第一人民", include_claimed=True)]
    assert HOSP1 in [o.name for o in rules.search(HOSP1_USCC, include_claimed=True)]
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
    agreements.sync_agreements()
    org_id = inst(HOSP1).organization_id
    assert _designated_names(org_id) == {HOSP1}
    new_name = "太原市第一人民医院（东院区）"
    rules.update_institution(inst(HOSP1), user("ty_maint"), {"name": new_name})
    db.session.commit()
    count, gone = agreements.sync_agreements()
    assert count >= 1 and gone == 0
    assert _designated_names(org_id) == {new_name}


def test_archiving_withdraws_the_agreements_from_the_designated_list(ctx):
    agreements.sync_agreements()
    row = inst(HOSP1)
    org_id = row.organization_id
    mine = {a.id for a in db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.institution_id == row.id)).scalars()}
    listed = {k for k, r in published().items() if r.organization_id == org_id}
    assert listed and listed <= mine
    apply(InstitutionFlow, row, "archive", user("ty_agency"), {"comment": "机构注销"})
    db.session.expire_all()
    assert {a.state for a in db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.id.in_(mine))).scalars()} == {"deleted"}
    count, gone = agreements.sync_agreements()
    assert gone == len(listed)
    assert not set(published()) & mine


def test_cert_change_approval_after_archiving_is_refused(ctx):
    change = rules.request_cert_change(inst(HOSP1), user("ty_maint"),
                                       {"new_uscc": uscc(8), "reason": "营业执照换发"})
    db.session.commit()
    apply(InstitutionFlow, inst(HOSP1), "archive", user("ty_agency"), {"comment": "机构注销"})
    exc = refused(apply, CertChangeFlow, fresh(change), "approve", user("ty_agency"))
    assert "不能变更证号" in exc.message
    assert fresh(change).state == "pending"
    org = inst(HOSP1).organization
    assert (org.uscc, org.licence_no) == (HOSP1_USCC, HOSP1_LICENCE)


def test_staff_of_another_institution_cannot_be_saved_under_ones_own(ctx):
    theirs = staff("赵丽")                             # 太原市第一人民医院, draft
    before = (theirs.name, theirs.id_number, theirs.staff_type, theirs.cert_no,
              theirs.institution_id, theirs.organization_id)
    exc = refused(agreements.save_staff, inst(HOSP2), user("ty_maint2"), STAFF_FORM,
                  staff=theirs)
    assert exc.status == 404
    row = fresh(staff("赵丽"))
    assert (row.name, row.id_number, row.staff_type, row.cert_no, row.institution_id,
            row.organization_id) == before
    assert row.institution_id == inst(HOSP1).id
