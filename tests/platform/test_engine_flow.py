"""The workflow engine on a toy flow of its own (no business module): scope → role → state →
guards → comment → conditional UPDATE → effect → audit → commit, batches all or nothing,
system transitions. The toy table lives on its own metadata, outside the portal's schema."""
import pytest
from flask_appbuilder import Model
from sqlalchemy import Column, Integer, String, update
from sqlalchemy.orm import DeclarativeBase
from werkzeug.exceptions import NotFound

from app.errors import DomainError
from app.extensions import appbuilder, db
from app.models.audit import AuditLog
from app.models.core import ScopedMixin
from app.workflows.engine import Workflow, apply, apply_batch, apply_system, transition
from tests.conftest import user

CLERK, REVIEWER = "T 引擎测试员", "T 引擎审核员"


class ToyBase(DeclarativeBase):
    pass


class EngineToy(ScopedMixin, ToyBase):
    __tablename__ = "engine_toy"
    id = Column(Integer, primary_key=True)
    organization_id = Column(Integer)
    state = Column(String(20), nullable=False, default="draft")
    note = Column(String(40))
    touched = Column(Integer, default=0)


def needs_note(item, user):
    return None if item.note else "请先填写备注"


class EngineToyFlow(Workflow):
    model = EngineToy
    object_type = "engine_toy"
    state_labels = {"draft": "草稿", "sent": "已送出", "done": "已完成"}

    @transition(source={"draft"}, target="sent", roles={CLERK}, guards=[needs_note],
                label="送出", batch=True)
    def send(self, item, user, data):
        item.touched = (item.touched or 0) + 1
        if data.get("explode"):
            raise RuntimeError("effect failed")

    @transition(source={"sent"}, target="done", roles={REVIEWER}, label="办结",
                comment_required=True)
    def finish(self, item, user, data):
        pass

    @transition(source={"sent"}, target="done", roles=set(), label="超时办结", system=True)
    def expire(self, item, user, data):
        pass


assert Model.metadata.tables.get("engine_toy") is None     # not in the portal's schema


@pytest.fixture
def toys(app, ctx):
    EngineToy.__table__.create(db.engine, checkfirst=True)
    sm = appbuilder.sm
    for login, role in (("ty_hosp1", CLERK), ("ty_agency", REVIEWER)):
        u = user(login)
        u.roles.append(sm.find_role(role) or sm.add_role(role))
    db.session.commit()

    def make(login="ty_hosp1", note="备注", state="draft"):
        org = user(login).organization
        item = EngineToy(organization_id=org.id, note=note, state=state)
        item.copy_scope_from(org)
        db.session.add(item)
        db.session.commit()
        return item.id
    yield make
    db.session.rollback()
    db.session.remove()
    EngineToy.__table__.drop(db.engine)        # the schema stays the portal's own


def state(pk):
    db.session.expire_all()
    return db.session.get(EngineToy, pk).state


def audit_rows(pk):
    return db.session.execute(db.select(AuditLog).where(
        AuditLog.object_type == "engine_toy", AuditLog.object_id == pk)
        .order_by(AuditLog.id)).scalars().all()


def test_checks_in_order_scope_role_state_guard(toys):
    pk = toys()
    with pytest.raises(NotFound):                                  # another city's clerk
        apply(EngineToyFlow, pk, "send", user("yc_hosp1"))
    with pytest.raises(DomainError) as refused:                   # the role may not
        apply(EngineToyFlow, pk, "finish", user("ty_hosp1"), {"comment": "x"})
    assert refused.value.status == 403
    with pytest.raises(DomainError) as refused:                   # not from this state
        apply(EngineToyFlow, pk, "finish", user("ty_agency"), {"comment": "x"})
    assert refused.value.status == 409 and "草稿" in refused.value.message
    without_note = toys(note=None)
    with pytest.raises(DomainError) as refused:                   # a guard's reason
        apply(EngineToyFlow, without_note, "send", user("ty_hosp1"))
    assert refused.value.status == 409 and refused.value.message == "请先填写备注"
    assert state(pk) == "draft" and state(without_note) == "draft"
    assert audit_rows(pk) == []


def test_a_transition_moves_audits_and_commits(toys):
    pk = toys()
    apply(EngineToyFlow, pk, "send", user("ty_hosp1"))
    assert state(pk) == "sent" and db.session.get(EngineToy, pk).touched == 1
    row, = audit_rows(pk)
    assert (row.transition, row.from_state, row.to_state, row.username) == \
        ("send", "draft", "sent", "ty_hosp1")


def test_an_opinion_is_required_where_declared(toys):
    pk = toys()
    apply(EngineToyFlow, pk, "send", user("ty_hosp1"))
    with pytest.raises(DomainError) as refused:
        apply(EngineToyFlow, pk, "finish", user("ty_agency"), {"comment": "  "})
    assert refused.value.status == 422 and state(pk) == "sent"
    apply(EngineToyFlow, pk, "finish", user("ty_agency"), {"comment": "同意"})
    assert state(pk) == "done" and audit_rows(pk)[-1].comment == "同意"


def test_someone_else_moved_it_first_then_nothing_is_written(toys):
    pk = toys()
    item = db.session.get(EngineToy, pk)                 # loaded as 草稿 …
    with db.engine.begin() as other:                     # … another request sends it meanwhile
        other.execute(update(EngineToy).where(EngineToy.id == pk).values(state="sent"))
    with pytest.raises(DomainError) as refused:
        apply(EngineToyFlow, item, "send", user("ty_hosp1"))
    assert refused.value.status == 409 and "状态已变更" in refused.value.message
    db.session.expire_all()
    assert db.session.get(EngineToy, pk).touched == 0 and audit_rows(pk) == []


def test_a_failing_effect_leaves_the_row_as_it_was(toys):
    pk = toys()
    with pytest.raises(RuntimeError):
        apply(EngineToyFlow, pk, "send", user("ty_hosp1"), {"explode": "1"})
    assert state(pk) == "draft" and db.session.get(EngineToy, pk).touched == 0
    assert audit_rows(pk) == []


def test_a_batch_changes_all_or_nothing_and_names_the_ineligible(toys):
    good, no_note, sent = toys(), toys(note=None), toys(state="sent")
    with pytest.raises(DomainError) as refused:
        apply_batch(EngineToyFlow, [good, no_note, sent], "send", user("ty_hosp1"))
    ineligible = {row["id"]: row for row in refused.value.ineligible}
    assert set(ineligible) == {no_note, sent}
    assert ineligible[no_note]["reason"] == "请先填写备注" and ineligible[sent]["state"] == "sent"
    assert refused.value.body()["ineligible"][0].keys() == {"id", "state", "reason"}
    assert state(good) == "draft"
    other = toys()
    done = apply_batch(EngineToyFlow, [good, other], "send", user("ty_hosp1"))
    assert [o.id for o in done] == [good, other] and state(good) == state(other) == "sent"
    with pytest.raises(DomainError) as refused:
        apply_batch(EngineToyFlow, [], "send", user("ty_hosp1"))
    assert refused.value.status == 422


def test_system_transitions_are_the_systems_only(toys):
    pk = toys(state="sent")
    with pytest.raises(DomainError) as refused:
        apply(EngineToyFlow, pk, "expire", user("ty_agency"))
    assert refused.value.status == 403 and "系统" in refused.value.message
    apply_system(EngineToyFlow, db.session.get(EngineToy, pk), "expire", comment="超时")
    assert state(pk) == "done"
    row = audit_rows(pk)[-1]
    assert row.transition == "expire" and row.username == "系统" and row.user_id is None
    with pytest.raises(DomainError):                       # not from 已完成
        apply_system(EngineToyFlow, db.session.get(EngineToy, pk), "expire")


def test_the_state_column_is_written_by_the_engine_only(toys):
    from app.workflows.engine import (StateWrittenOutsideEngine, guard_state_columns,
                                      state_writes)
    guard_state_columns([EngineToyFlow])
    pk = toys()
    item = db.session.get(EngineToy, pk)
    item.state = "done"                                   # a shortcut past the engine
    with pytest.raises(StateWrittenOutsideEngine):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(StateWrittenOutsideEngine):        # the same by an ORM UPDATE
        db.session.execute(update(EngineToy).where(EngineToy.id == pk).values(state="done"))
    db.session.rollback()
    item = db.session.get(EngineToy, pk)
    item.note = "改备注"                                   # other columns are free
    db.session.commit()
    with state_writes():                                  # a fixture that says so
        item.state = "sent"
        db.session.commit()
    assert state(pk) == "sent"
    apply_system(EngineToyFlow, db.session.get(EngineToy, pk), "expire")   # the engine may
    assert state(pk) == "done"


def test_transitions_that_mean_the_same_have_the_same_name(app):
    """One vocabulary across modules: the transitions a person fires under one label share
    one name, or their flow's `naming_notes` says why not."""
    from collections import defaultdict
    from app.module import modules
    with app.app_context():
        by_label = defaultdict(list)
        for module in modules():
            for flow in module.workflows:
                for t in flow.transitions.values():
                    if not t.system:
                        by_label[str(t.label)].append((t.name, flow))
    unexplained = {label: sorted(f"{flow.__name__}.{name}" for name, flow in named
                                 if name not in flow.naming_notes)
                   for label, named in by_label.items()}
    assert {label: names for label, names in unexplained.items()
            if len({n.split(".")[1] for n in names}) > 1} == {}
