"""The hierarchical reporting pattern, built once (SPEC R9–R10; reused by Q4–Q6, H3–H5):
a unit reports to its direct superior; the superior reviews (审核通过 / 退回), then
aggregates its direct subordinates' approved reports into its own report (数据汇总), which
it submits upward in turn; a superior's 退回 reopens the aggregation below it.

A module subclasses `ReportingFlow`, names its model, its roles and the hooks
`superior_of` / `subordinates_of`; the transitions, guards and `aggregate` are shared."""
import datetime as dt

from sqlalchemy import BigInteger, bindparam, func, select, type_coerce, update

from app.extensions import db
from app.i18n import _, _l
from app.models.core import utcnow
from app.models.reporting import REPORT_STATE_LABELS, ReportState as S
from app.models.types import Money, fen_to_yuan
from app.services.audit import record
from app.workflows.engine import Refusal, Workflow, lock, querying, state_writes, transition

FLOWS = {}   # report model → its flow, for the shared guards


def flow_of(report):
    return FLOWS[type(report)]


def own_unit(report, user):
    if report.organization_id != getattr(user, "organization_id", None):
        return Refusal(_("只能操作本单位的上报数据"), status=403)
    return None


def is_reviewer(report, user):
    if report.reviewer_org_id != getattr(user, "organization_id", None):
        return Refusal(_("只有上级单位可以审核该上报数据"), status=403)
    return None


def period_ended(report, user):
    """Reporting is for a finished period: submitting earlier would report figures that
    can still change, so it is refused until the task's period has ended."""
    if report.task.period_end >= dt.date.today():
        return _("统计期至 %(d)s 结束，结束后才能提交", d=report.task.period_end)
    return None


@querying
def has_superior(report, user):
    if flow_of(report).superior_of(report.organization) is None:
        return _("未找到上级单位，无法提交")
    return None


@querying
def own_aggregate_open(report, user):
    """While the reviewer's own aggregate stands (not returned), its inputs are frozen."""
    flow = flow_of(report)
    mine = flow.own_report(report.task_id, report.reviewer_org_id)
    if mine is not None and mine.kind == "aggregate" and mine.state in ("draft", "submitted",
                                                                          "approved") \
            and mine.aggregated_at is not None and report.aggregate_id == mine.id:
        return _("本机构已汇总，需上级退回汇总数据后才能再审核下级数据")
    return None


class ReportingFlow(Workflow):
    state_labels = REPORT_STATE_LABELS
    SUBMITTER_ROLES = frozenset()
    REVIEWER_ROLES = frozenset()

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        if cls.model is not None:
            FLOWS[cls.model] = cls

    # ---- hooks ---------------------------------------------------------------------------
    @classmethod
    def superior_of(cls, org, to_national=False):
        raise NotImplementedError

    @classmethod
    def lock_parents(cls, report):
        """The reviewer's own report: its 汇总 reads the approved reports below it, a review
        of one of them reads whether it is aggregated."""
        return [cls.own_report(report.task_id, report.reviewer_org_id)]

    @classmethod
    def subordinates_of(cls, org):
        raise NotImplementedError

    # ---- transitions ---------------------------------------------------------------------
    @transition(source={S.DRAFT, S.RETURNED}, target=S.SUBMITTED, roles="SUBMITTER_ROLES",
                guards=[own_unit, period_ended, has_superior], label=_l("提交"),
                style="primary")
    def submit(self, report, user, data):
        to_national = str(data.get("to_national", "")).lower() in ("1", "true", "是")
        report.reviewer_org_id = self.superior_of(report.organization, to_national).id
        report.submitted_at = utcnow()
        report.review_opinion = None

    @transition(source={S.SUBMITTED}, target=S.DRAFT, roles="SUBMITTER_ROLES",
                guards=[own_unit], label=_l("撤回"), style="warning")
    def withdraw(self, report, user, data):
        report.submitted_at = None

    @transition(source={S.SUBMITTED}, target=S.APPROVED, roles="REVIEWER_ROLES",
                guards=[is_reviewer, own_aggregate_open], label=_l("审核通过"), style="success")
    def approve(self, report, user, data):
        report.reviewed_at = utcnow()
        report.review_opinion = (data.get("comment") or "").strip() or None

    @transition(source={S.SUBMITTED, S.APPROVED}, target=S.RETURNED, roles="REVIEWER_ROLES",
                guards=[is_reviewer, own_aggregate_open], label=_l("退回"),
                comment_required=True, style="warning")
    def send_back(self, report, user, data):
        report.reviewed_at = utcnow()
        report.review_opinion = data.get("comment").strip()

    @transition(source={S.DRAFT, S.RETURNED}, target=S.DELETED, roles="SUBMITTER_ROLES",
                guards=[own_unit], label=_l("删除"), style="danger")
    def delete(self, report, user, data):
        model = type(report)     # the aggregate's inputs become free again
        db.session.execute(update(model).where(model.aggregate_id == report.id)
                           .values(aggregate_id=None))

    # ---- queries ---------------------------------------------------------------------------
    @classmethod
    def own_report(cls, task_id, org_id):
        if org_id is None:
            return None
        return db.session.execute(select(cls.model).where(
            cls.model.task_id == task_id, cls.model.organization_id == org_id,
            cls.model.state != "deleted")).scalar_one_or_none()

    @classmethod
    def missing_subordinates(cls, task_id, org):
        """Direct subordinates that have not submitted for the task (for the confirmation)."""
        done = set(db.session.execute(select(cls.model.organization_id).where(
            cls.model.task_id == task_id, cls.model.reviewer_org_id == org.id,
            cls.model.state.in_(("submitted", "approved")))).scalars())
        return [o for o in cls.subordinates_of(org) if o.id not in done]

    @classmethod
    def sums_statement(cls):
        """SUM of every figure over some reports (the ids of an aggregate's inputs), in one
        SQL statement (money summed as integer fen). Built once per flow: rebuilding
        26 SQL expressions per call cost ~1 ms, more than the query itself."""
        if cls.__dict__.get("_sums_stmt") is None:
            table = cls.model.__table__      # Core columns: no ORM compile step per call
            cols = []
            for name in cls.model.FIGURES:
                col = table.c[name]
                if isinstance(col.type, Money):
                    col = type_coerce(col, BigInteger)
                cols.append(func.coalesce(func.sum(col), 0))
            cls._sums_stmt = select(*cols).where(
                table.c.id.in_(bindparam("ids", expanding=True)))
        return cls._sums_stmt

    @classmethod
    def sums(cls, ids):
        model = cls.model
        row = db.session.connection().execute(cls.sums_statement(), {"ids": list(ids)}).one()
        return {name: (fen_to_yuan(v) if isinstance(getattr(model, name).type, Money) else int(v))
                for name, v in zip(model.FIGURES, row)}

    @classmethod
    def aggregate(cls, task, user):
        """数据汇总: the caller's unit report := Σ approved reports of its direct subordinates."""
        org = user.organization
        mine = cls.own_report(task.id, org.id)
        lock([mine])        # as a review below does (lock_parents): one after the other
        if mine is not None and mine.aggregated_at is not None and mine.state != "returned":
            raise Refusal(_("本机构已汇总，需上级退回后才能再次汇总"))
        if mine is not None and mine.kind == "unit" and mine.state not in ("draft", "returned"):
            raise Refusal(_("本机构已提交本单位数据，不能汇总"))
        children = cls._approved_below(task.id, org.id)
        if not children:
            raise Refusal(_("没有审核通过的下级数据，无法汇总"))
        figures = cls.sums(children)
        if mine is None:
            mine = cls.model(task_id=task.id, organization_id=org.id, state="draft")
            mine.copy_scope_from(org)
            db.session.add(mine)
        before = mine.state
        mine.kind = "aggregate"
        for name, value in figures.items():
            setattr(mine, name, value)
        mine.aggregated_at = utcnow()
        with state_writes():     # 汇总 is this flow's own step: a returned aggregate is redone
            mine.state = "draft" if before == "returned" else mine.state
            db.session.flush()
        db.session.execute(update(cls.model).where(cls.model.aggregate_id == mine.id)
                           .values(aggregate_id=None))
        db.session.execute(update(cls.model).where(cls.model.id.in_(children))
                           .values(aggregate_id=mine.id))
        record(user, "transition", obj=mine, object_type=cls.object_type, transition="aggregate",
               from_state=before, to_state=mine.state,
               comment=_("汇总下级数据 %(n)s 份", n=len(children)))
        db.session.commit()
        return mine

    @classmethod
    def _approved_below(cls, task_id, reviewer_id):
        """The ids of the approved reports under `reviewer_id`, locked and read again: one
        being 退回 now is either done first (and left out) or waits for the 汇总 (and then
        finds itself aggregated); the sums are taken over exactly these rows."""
        model = cls.model
        rows = db.session.execute(select(model).where(
            model.task_id == task_id, model.reviewer_org_id == reviewer_id,
            model.state == "approved")).scalars().all()
        lock(rows)
        return [r.id for r in rows if r.state == "approved" and r.reviewer_org_id == reviewer_id]

    @classmethod
    def children(cls, report):
        return db.session.execute(select(cls.model).where(cls.model.aggregate_id == report.id)
                                  .order_by(cls.model.id)).scalars().all()

