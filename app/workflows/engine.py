"""Declared state machines and the one way to move a record between states (SPEC P8).

A workflow declares its transitions with @transition; `apply` and `apply_batch` are the
only entry points. Order of checks (DESIGN §3): scoped load (404) → lock → role (403) →
source state (409) → guards (409 with reasons) → side effect → conditional UPDATE on the
expected state (0 rows → 409 状态已变更) → audit → commit.

The lock: a guard may read other rows (every hospital approved before the city submits; the
city report still open before a hospital is reviewed again). Two transitions that each read
what the other writes would both pass on their own snapshot (write skew). So the rows a
flow's guards depend on — its `lock_parents`, top-down — and then the record itself are
locked (SELECT … FOR UPDATE) and read again before the state and the guards are checked: the
two sides of such a pair take the same parent's lock and run one after the other, and the
later one sees what the first one did."""
import contextlib
import contextvars
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import event, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.errors import DomainError
from app.i18n import _
from app.scope import scoped_get
from app.services.audit import record


# A refused transition or rule is one of the platform's domain errors (app/errors.py):
# `Refusal(message, status=…, ineligible=…, fields=…)`, mapped to HTTP in one place.
Refusal = DomainError


@dataclass
class Transition:
    name: str
    label: object
    source: frozenset
    target: str
    roles: frozenset
    guards: tuple = ()
    effect: Callable = None
    batch: bool = False
    comment_required: bool = False
    form: str = None          # name of a view form to fill before firing (e.g. review page)
    style: str = "default"    # button colour: primary / warning / danger / default
    system: bool = False      # fired only by the system (apply_system), never by a user

    def roles_for(self, flow):
        """Roles may name a set on the workflow (generic flows let each module say who)."""
        return getattr(flow, self.roles) if isinstance(self.roles, str) else self.roles

    def refusal(self, obj, user, flow, guards=True):
        """Why `user` may not fire this on `obj` now (None when allowed). guards=False
        skips the guards marked `queries` (they hit the database): cheap enough for every
        row of a list; the engine applies all guards when the transition fires."""
        if self.system:
            return Refusal(_("“%(action)s”由系统自动执行", action=self.label), status=403)
        if not user_has_role(user, self.roles_for(flow)):
            return Refusal(_("您没有“%(action)s”的权限", action=self.label), status=403)
        state = getattr(obj, flow.state_field)
        if state not in self.source:
            return Refusal(_("当前状态为“%(state)s”，不能%(action)s",
                             state=flow.state_label(state), action=self.label))
        for guard in self.guards:
            if not guards and getattr(guard, "queries", False):
                continue
            reason = guard(obj, user)
            if reason is not None:
                return reason if isinstance(reason, Refusal) else Refusal(reason)
        return None


def querying(guard):
    """Mark a guard that reads the database (skipped when drawing list rows)."""
    guard.queries = True
    return guard


def user_has_role(user, roles):
    names = {r.name for r in (getattr(user, "roles", None) or [])}
    return bool(names & set(roles))


def transition(source, target, roles, guards=(), label=None, batch=False,
               comment_required=False, form=None, style="default", system=False):
    def decorate(func):
        func._transition = Transition(
            name=func.__name__, label=label if label is not None else func.__name__,
            source=frozenset(s.value if hasattr(s, "value") else s for s in source),
            target=target.value if hasattr(target, "value") else target,
            roles=roles if isinstance(roles, str) else frozenset(roles), guards=tuple(guards),
            effect=func, batch=batch,
            comment_required=comment_required, form=form, style=style, system=system)
        return func
    return decorate


class Workflow:
    model = None
    object_type = None
    state_field = "state"
    state_labels = {}
    transitions = {}
    naming_notes = {}      # transition → why its name differs from the shared vocabulary

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        # Inherited transitions first (a generic flow), then the subclass's own; a subclass
        # drops an inherited one by naming it `None` (e.g. `delete = None`).
        cls.transitions = {}
        for klass in reversed(cls.__mro__):
            for name, f in vars(klass).items():
                if hasattr(f, "_transition"):
                    cls.transitions[name] = f._transition
                elif f is None and name in cls.transitions:
                    del cls.transitions[name]

    @classmethod
    def lock_parents(cls, obj):
        """The records above `obj` whose state or figures this flow's guards read (a hospital
        report's city report), nearest last; None entries are skipped. The transitions of the
        parent that read `obj`'s rows lock the parent itself, so the two serialize."""
        return ()

    @classmethod
    def state_label(cls, state):
        return str(cls.state_labels.get(state, state))

    @classmethod
    def get(cls, name):
        if name not in cls.transitions:
            raise Refusal(_("未知的操作"), status=404)
        return cls.transitions[name]

    @classmethod
    def available(cls, obj, user, guards=True):
        """Transitions `user` may fire on `obj` now, in declaration order. List rows pass
        guards=False (guards may query; the engine still applies them on firing)."""
        return [t for t in cls.transitions.values()
                if t.refusal(obj, user, cls, guards) is None]

    @classmethod
    def table(cls):
        """states × transitions × roles, for the docs and the tests."""
        return [(t.name, str(t.label), sorted(t.source), t.target, sorted(t.roles_for(cls)))
                for t in cls.transitions.values()]


def _check_comment(t, data):
    if t.comment_required and not (data.get("comment") or "").strip():
        raise Refusal(_("请填写%(action)s意见", action=t.label), status=422,
                      fields={"comment": [_("必填")]})


def _fire(flow, t, obj, user, data):
    """Side effect then the conditional state change; caller commits or rolls back."""
    before = getattr(obj, flow.state_field)
    _check_comment(t, data)
    if t.effect is not None:
        t.effect(flow, obj, user, data)
    db.session.flush()
    column = getattr(flow.model, flow.state_field)
    with state_writes():
        result = db.session.execute(
            update(flow.model).where(flow.model.id == obj.id, column == before)
            .values({flow.state_field: t.target}).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Refusal(_("状态已变更，请刷新后重试"))
    set_committed_value(obj, flow.state_field, t.target)
    record(user, "transition", obj=obj, object_type=flow.object_type, transition=t.name,
           from_state=before, to_state=t.target, comment=data.get("comment"),
           username=None if user is not None else str(_("系统")))


RETRYABLE = {"40P01", "40001"}   # PostgreSQL: deadlock detected, serialization failure
ATTEMPTS = 3


def _transaction(check, work):
    """`check()` locks and checks, `work()` writes; then commit. A refusal from `check` is
    raised as it is: the engine wrote nothing, the caller's session stays as it was (its
    handler rolls back). Any error after that rolls back. A transaction PostgreSQL chose as
    a deadlock victim (two batches taking the same summary rows in opposite orders) runs
    again: `check` locks and checks afresh, so it refuses if the winner has moved the rows
    meanwhile."""
    for attempt in range(ATTEMPTS):
        checked = False
        try:
            check()
            checked = True
            work()
            db.session.commit()
            return
        except DBAPIError as exc:
            db.session.rollback()
            if attempt + 1 < ATTEMPTS and getattr(exc.orig, "sqlstate", None) in RETRYABLE:
                continue
            raise
        except Exception:
            if checked:
                db.session.rollback()
            raise


def lock(rows):
    """Lock `rows` (ORM objects, any models) until the transaction ends and read them again
    (pending changes are flushed first). One fixed order — by table name, then id — so that
    two transactions locking overlapping rows never wait on each other in a circle. On
    PostgreSQL it is SELECT … FOR UPDATE; SQLite has one writer at a time, so there the
    transaction takes that write lock (an UPDATE of no row) and reads after it."""
    by_model = {}
    for row in rows:
        if row is not None and row.id is not None:
            by_model.setdefault(type(row), set()).add(row.id)
    if not by_model:
        return
    if db.session.get_bind().dialect.name == "sqlite":
        name = min(m.__table__.name for m in by_model)
        db.session.execute(text(f'UPDATE "{name}" SET id = id WHERE 0'))
    for model in sorted(by_model, key=lambda m: m.__table__.name):
        db.session.execute(
            select(model).where(model.id.in_(sorted(by_model[model]))).order_by(model.id)
            .with_for_update(of=model).execution_options(populate_existing=True)).scalars().all()


def _lock_for(flow, objs):
    """The parents the flow's guards read, farthest first, then the records; every other
    workflow row already loaded is read again when next used (the guards see fresh states)."""
    levels = {}
    for obj in objs:
        parents = [p for p in flow.lock_parents(obj) if p is not None]
        for depth, parent in enumerate(reversed(parents), 1):
            levels.setdefault(depth, []).append(parent)
    locked = set()
    for depth in sorted(levels, reverse=True):
        lock(levels[depth])
        locked.update(map(id, levels[depth]))
    lock(objs)
    locked.update(map(id, objs))
    for other in list(db.session.identity_map.values()):
        if type(other) in _GUARDED and id(other) not in locked \
                and not db.session.is_modified(other):
            db.session.expire(other)


def _moved(flow, obj, seen):
    """The row's state changed while this transaction waited for its lock (or since the
    caller loaded it): the caller decided on what is no longer there."""
    if getattr(obj, flow.state_field) != seen:
        return Refusal(_("状态已变更，请刷新后重试"))
    return None


def _refusal(flow, t, obj, user, seen):
    """Under the lock: 403 for who may not act at all, then 状态已变更 when the row moved
    meanwhile, then the state and the guards on what the database holds now."""
    refusal = t.refusal(obj, user, flow)
    if refusal is not None and refusal.status == 403:
        return refusal
    return _moved(flow, obj, seen) or refusal


def apply(flow, obj_or_pk, name, user, data=None):
    data = data or {}
    t = flow.get(name)
    obj = obj_or_pk if isinstance(obj_or_pk, flow.model) else scoped_get(flow.model, obj_or_pk, user)
    seen = getattr(obj, flow.state_field)

    def check():
        _lock_for(flow, [obj])
        refusal = _refusal(flow, t, obj, user, seen)
        if refusal is not None:
            raise refusal
    _transaction(check, lambda: _fire(flow, t, obj, user, data))
    return obj


def apply_system(flow, obj, name, comment=None):
    """A transition the system fires (a timer, not a person): state check, effect,
    conditional update and audit as for `apply`, with no user; the audit says 系统."""
    t = flow.get(name)
    seen = getattr(obj, flow.state_field)

    def check():
        _lock_for(flow, [obj])
        state = getattr(obj, flow.state_field)
        if not t.system or state not in t.source:
            raise Refusal(_("当前状态为“%(state)s”，不能%(action)s",
                            state=flow.state_label(state), action=t.label))
        refusal = _moved(flow, obj, seen)
        if refusal is not None:
            raise refusal
    _transaction(check, lambda: _fire(flow, t, obj, None, {"comment": comment}))
    return obj


def cascade(flow, objs, name, user=None, comment=None):
    """A declared system transition fired on other rows inside the current transaction — the
    cascade of another transition's effect or of a command (归档 archives the staff, a new
    name sends staff back to 待提交). Rows not in one of its source states are left alone; the
    caller commits. Returns how many rows moved. The rows are not read again here: the
    caller's guards judged them as loaded, and the conditional UPDATE refuses (状态已变更)
    a row another transaction has moved since."""
    t = flow.get(name)
    assert t.system, f"{flow.__name__}.{name} must be declared system=True to cascade"
    moved = 0
    for obj in objs:
        if getattr(obj, flow.state_field) in t.source:
            _fire(flow, t, obj, user, {"comment": comment})
            moved += 1
    return moved


def apply_batch(flow, pks, name, user, data=None):
    """All or nothing: every row is checked first; if any is ineligible nothing changes."""
    data = data or {}
    t = flow.get(name)
    if not pks:
        raise Refusal(_("请至少选择一条记录"), status=422)
    objs = [scoped_get(flow.model, pk, user) for pk in dict.fromkeys(pks)]
    seen = [getattr(obj, flow.state_field) for obj in objs]

    def check():
        _lock_for(flow, objs)
        ineligible = []
        for obj, was in zip(objs, seen):
            refusal = _refusal(flow, t, obj, user, was)
            if refusal is not None:
                ineligible.append({"id": obj.id, "state": getattr(obj, flow.state_field),
                                   "state_label": flow.state_label(getattr(obj, flow.state_field)),
                                   "reason": refusal.message, "label": str(obj)})
        if ineligible:
            lines = "；".join(f"{row['label']}（{row['state_label']}）：{row['reason']}"
                             for row in ineligible)
            raise Refusal(_("以下记录不能执行“%(action)s”，未做任何修改：%(rows)s",
                            action=t.label, rows=lines), ineligible=ineligible)

    def work():
        for obj in objs:
            _fire(flow, t, obj, user, data)
    _transaction(check, work)
    return objs


# ---- the state columns are written by the engine only ------------------------------------------
_WRITING = contextvars.ContextVar("engine_writes_state", default=False)
_GUARDED = {}          # model → its workflow's state column


class StateWrittenOutsideEngine(RuntimeError):
    """A state column changed by the ORM or an UPDATE outside the engine: a programming
    error (declare a transition, system=True for the system's own, and fire or cascade it)."""


@contextlib.contextmanager
def state_writes():
    """The engine's own writes of a state column. Also for test fixtures and data loads that
    put rows straight into a state, saying so."""
    token = _WRITING.set(True)
    try:
        yield
    finally:
        _WRITING.reset(token)


def guard_state_columns(flows):
    """Refuse, in the ORM, any change of a declared workflow's state column that does not come
    from the engine: an attribute set on a loaded row (flush) or an ORM UPDATE naming it.
    New rows may be created in any state."""
    for flow in flows:
        _GUARDED[flow.model] = flow.state_field
    if not event.contains(Session, "before_flush", _refuse_dirty_state):
        event.listen(Session, "before_flush", _refuse_dirty_state)
        event.listen(Session, "do_orm_execute", _refuse_state_update)


def _refuse_dirty_state(session, flush_context, instances):
    if _WRITING.get():
        return
    for obj in session.dirty:
        field = _GUARDED.get(type(obj))
        if field is not None and inspect(obj).attrs[field].history.has_changes():
            raise StateWrittenOutsideEngine(
                f"{type(obj).__name__}.{field} changed outside the workflow engine")


def _refuse_state_update(orm_execute_state):
    if _WRITING.get() or not orm_execute_state.is_update:
        return
    statement = orm_execute_state.statement
    model = (getattr(statement, "entity_description", None) or {}).get("type")
    field = _GUARDED.get(model)
    names = {getattr(k, "key", k) for k in (getattr(statement, "_values", None) or {})}
    if field is not None and field in names:
        raise StateWrittenOutsideEngine(
            f"UPDATE of {model.__name__}.{field} outside the workflow engine")
