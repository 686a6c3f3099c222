"""Conflicting transitions from eight threads at once (issue 8 item 5): approve vs 审核退回 vs
撤回 on the same submitted applications, and two overlapping batch submits against single
submits of the same drafts. Exactly one winner per row, an audit trail that says exactly
what happened, and summary tables equal to a recount. Runs on both databases; on
PostgreSQL the threads really run their transactions side by side."""
import random
import threading
from collections import Counter

from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.relief import ReliefApplication
from app.summaries import differences
from app.workflows import engine
from app.workflows.engine import Refusal
from app.workflows.relief import ReliefApplicationFlow
from tests.conftest import make_application, user

ROWS = 8
REVIEW = {"poverty": "1", "comment": "并发测试"}


def _plan(submitted, drafts):
    """Eight threads: (login, [(transition, [pks], data)]) — single rows unless a list of
    several, which goes through apply_batch."""
    shuffled = random.Random(8).sample(submitted, len(submitted))
    return [
        ("ty_agency", [("approve", [pk], REVIEW) for pk in submitted]),
        ("ty_agency", [("approve", [pk], REVIEW) for pk in reversed(submitted)]),
        ("ty_agency", [("send_back", [pk], REVIEW) for pk in shuffled]),
        ("ty_agency", [("reject", [pk], REVIEW) for pk in reversed(shuffled)]),
        ("ty_hosp1", [("withdraw", [pk], {}) for pk in submitted]),
        ("ty_hosp1", [("submit", drafts[:5], {})]),
        ("ty_hosp1", [("submit", drafts[3:], {})]),
        ("ty_hosp1", [("submit", [pk], {}) for pk in reversed(drafts)]),
    ]


def _run(app, plan):
    barrier = threading.Barrier(len(plan))
    outcomes = []          # (transition, pks, "ok" | refusal status | error text)
    lock = threading.Lock()

    def work(login, steps):
        with app.app_context():
            actor = user(login)
            db.session.commit()              # nothing open while waiting at the barrier
            barrier.wait(timeout=60)
            for name, pks, data in steps:
                try:
                    if len(pks) > 1:
                        engine.apply_batch(ReliefApplicationFlow, pks, name, actor, dict(data))
                    else:
                        engine.apply(ReliefApplicationFlow, pks[0], name, actor, dict(data))
                    result = "ok"
                except Refusal as exc:
                    result = exc.status
                except Exception as exc:     # noqa: BLE001 — reported by the assertion
                    db.session.rollback()
                    result = f"{type(exc).__name__}: {exc}"
                with lock:
                    outcomes.append((name, tuple(pks), result))
            db.session.remove()

    threads = [threading.Thread(target=work, args=step) for step in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return outcomes


def test_eight_threads_one_winner_per_row_audit_and_summaries_agree(app, ctx):
    submitted = [make_application() for _ in range(ROWS)]
    for pk in submitted:
        engine.apply(ReliefApplicationFlow, pk, "submit", user("ty_hosp1"))
    drafts = [make_application() for _ in range(ROWS)]
    db.session.commit()

    outcomes = _run(app, _plan(submitted, drafts))

    errors = [o for o in outcomes if o[2] not in ("ok", 409)]
    assert not errors, errors
    wins = Counter()
    for name, pks, result in outcomes:
        if result == "ok":
            for pk in pks:
                wins[pk] += 1
    # Exactly one transition won on every row; all others were refused with 409.
    assert all(wins[pk] == 1 for pk in submitted + drafts), wins

    db.session.expire_all()
    target = {"approve": "approved", "send_back": "returned", "reject": "rejected",
              "withdraw": "draft", "submit": "submitted"}
    expected = {}
    for name, pks, result in outcomes:
        if result == "ok":
            for pk in pks:
                expected[pk] = (name, target[name])
    for pk, (name, state) in expected.items():
        assert db.session.get(ReliefApplication, pk).state == state, (pk, name)
    # The drafts' batches are all or nothing: a batch either moved all its rows or none.
    for name, pks, result in outcomes:
        if name == "submit" and len(pks) > 1 and result == "ok":
            assert all(expected[pk][0] == "submit" for pk in pks)

    # The audit trail: one transition entry per row after the set-up, the winner's, from
    # the state the row was really in.
    rows = db.session.execute(select(AuditLog).where(
        AuditLog.object_type == "relief_application", AuditLog.action == "transition",
        AuditLog.object_id.in_(submitted + drafts))).scalars().all()
    after_setup = [r for r in rows if not (r.object_id in submitted and r.transition == "submit")]
    assert Counter(r.object_id for r in after_setup) == Counter({pk: 1 for pk in expected})
    for r in after_setup:
        assert (r.transition, r.to_state) == expected[r.object_id]
        assert r.from_state == ("submitted" if r.object_id in submitted else "draft")

    # Summary tables equal a recount of the records.
    db.session.commit()
    with db.engine.connect() as conn:
        assert differences(conn) == []
