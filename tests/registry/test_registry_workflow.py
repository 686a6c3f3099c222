"""医疗机构信息维护 state machines through the engine (SPEC P6/P8, M5): the role table of every
transition, reasons required, and the national code (H + region + sequence, also when two
approvals run at once)."""
import dataclasses
import threading
import types

import pytest

from app.extensions import db
from app.services.registry import queries
from app.workflows import engine
from app.workflows.engine import Refusal, apply, apply_batch
from app.workflows.registry import (RegistryAgreementFlow, RegistryAuthorizationFlow,
                                    RegistryCertChangeFlow, RegistryInstitutionFlow,
                                    RegistryStaffFlow)
from tests.conftest import user
from tests.registry.registry_support import (A, CLINIC, CODE_RE, D, HOSP1, HOSP2, I, M, N, NU, R,
                                             ROLES, code_of, counter, fresh, inst, refused,
                                             submitted, uscc)


# ---- role table (SPEC P6/P8): every transition of every flow × every registry role -------------
# set(): the system's own transitions (cascades the engine fires), refused to every person.
EXPECTED = {
    RegistryInstitutionFlow: {"submit": {M}, "send_back": {N}, "approve": {N},
                              "archive": {A}, "delete": {M, R}, "restore": set(),
                              "restore_coded": set()},
    RegistryAuthorizationFlow: {"upload": {R}, "approve": {A}, "reject": {A}, "withdraw": set()},
    RegistryCertChangeFlow: {"approve": {A}, "reject": {A}},
    RegistryAgreementFlow: {"confirm": {I}, "delete": {M}, "withdraw": set(), "reopen": set()},
    RegistryStaffFlow: {"submit": {M, D, NU}, "approve": {A}, "reject": {A},
                        "delete": {M, D, NU}, "reset": set(), "archive": set()},
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
        assert ("系统" if t.system else "权限") in refusal.message


COMMENT_REQUIRED = {(RegistryInstitutionFlow, "send_back"), (RegistryInstitutionFlow, "archive"),
                    (RegistryAuthorizationFlow, "reject"), (RegistryCertChangeFlow, "reject"),
                    (RegistryStaffFlow, "reject")}


@pytest.mark.parametrize("flow,name", [(f, n) for f in EXPECTED for n in EXPECTED[f]],
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_refusals_and_returns_need_a_reason(flow, name):
    assert flow.get(name).comment_required is ((flow, name) in COMMENT_REQUIRED)


def test_rejecting_an_authorisation_without_a_reason_is_422(ctx):
    auth = queries.authorizations_of(inst(CLINIC))[0]
    exc = refused(apply, RegistryAuthorizationFlow, auth, "reject", user("ty_agency"))
    assert exc.status == 422 and list(exc.fields) == ["comment"]
    assert fresh(auth).state == "uploaded"
    apply(RegistryAuthorizationFlow, fresh(auth), "reject", user("ty_agency"),
          {"comment": "公章不清晰"})
    assert fresh(auth).state == "rejected" and inst(CLINIC).maintainer_id is None


@pytest.mark.parametrize("flow,target,transition,login,data", [
    (RegistryInstitutionFlow, HOSP2, "approve", "ty_agency", {}),          # 经办机构 cannot 赋码
    (RegistryInstitutionFlow, HOSP2, "send_back", "ty_maint2", {"comment": "x"}),
    (RegistryInstitutionFlow, HOSP1, "archive", "nhc", {"comment": "x"}),  # 国家 does not 归档
    (RegistryInstitutionFlow, CLINIC, "submit", "reg_demo", {}),           # not yet a maintainer
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
    apply(RegistryInstitutionFlow, row, "approve", user("nhc"), {"comment": "同意"})
    row = inst(HOSP2)
    assert row.state == "coded" and row.coded_at is not None
    code = row.organization.national_code
    assert CODE_RE.match(code) and code == "H14010600001", code
    assert counter("140106") == 1


def test_sequence_increments_per_region_and_regions_are_independent(ctx):
    a, _ = submitted(1)
    b, _ = submitted(2)
    assert inst(HOSP1).organization.national_code == "H14010500001"
    apply(RegistryInstitutionFlow, a, "approve", user("nhc"))
    apply(RegistryInstitutionFlow, inst(HOSP2), "approve", user("nhc"))
    apply(RegistryInstitutionFlow, b, "approve", user("nhc"))
    assert (code_of(a), code_of(b)) == ("H14010500002", "H14010500003")
    assert inst(HOSP2).organization.national_code == "H14010600001"


def test_batch_approval_in_one_region_gives_consecutive_codes(ctx):
    a, _ = submitted(1)
    b, _ = submitted(2)
    apply_batch(RegistryInstitutionFlow, [a.id, b.id], "approve", user("nhc"))
    assert sorted([code_of(a), code_of(b)]) == ["H14010500002", "H14010500003"]


def test_a_code_is_never_reused_after_archiving(ctx):
    a, _ = submitted(1)
    b, _ = submitted(2)
    apply(RegistryInstitutionFlow, a, "approve", user("nhc"))
    assert code_of(a) == "H14010500002"
    apply(RegistryInstitutionFlow, fresh(a), "archive", user("ty_agency"), {"comment": "无效数据"})
    assert fresh(a).state == "archived" and code_of(a) == "H14010500002"
    apply(RegistryInstitutionFlow, b, "approve", user("nhc"))
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
                    engine.apply(RegistryInstitutionFlow, pk, "approve", actor)
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
                engine.apply(RegistryInstitutionFlow, a.id, "approve", actor)
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
