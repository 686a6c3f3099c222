"""The hierarchical reporting pattern's columns (SPEC R9–R10; reused by Q4–Q6, H3–H5):
a unit's report for a task, reviewed by its direct superior, which aggregates the
approved reports of its direct subordinates into its own report and reports upward."""
from sqlalchemy import Column, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declared_attr, relationship

from app.i18n import _l
from app.models.core import ScopedMixin, utcnow
from app.models.states import State


class ReportState(State):
    DRAFT = "draft", _l("待提交")
    SUBMITTED = "submitted", _l("已上报")
    APPROVED = "approved", _l("审核通过")
    RETURNED = "returned", _l("已退回")
    DELETED = "deleted", _l("已删除")


REPORT_STATE_LABELS = ReportState.labels()
REPORT_KINDS = {"unit": _l("本单位数据"), "aggregate": _l("汇总数据")}


class ReportTaskMixin:
    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False)
    period_start = Column(Date, nullable=False)
    period_end = Column(Date, nullable=False)
    deadline = Column(Date)          # 按时上报 counts submissions up to this date
    created_at = Column(DateTime, default=utcnow)

    def __repr__(self):
        return f"{self.name} {self.period_start}~{self.period_end}"


class ReportMixin(ScopedMixin):
    """Subclasses add their figure columns and declare them in `FIGURES`."""
    FIGURES = ()
    id = Column(Integer, primary_key=True)
    kind = Column(String(10), nullable=False, default="unit")
    state = Column(String(10), nullable=False, default=ReportState.DRAFT.value, index=True)
    submitted_at = Column(DateTime)
    reviewed_at = Column(DateTime)
    review_opinion = Column(Text)
    aggregated_at = Column(DateTime)
    created_at = Column(DateTime, default=utcnow, nullable=False)

    @declared_attr
    def organization_id(cls):
        return Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)

    @declared_attr
    def organization(cls):
        return relationship("Organization", foreign_keys=[cls.organization_id], lazy="joined")

    @declared_attr
    def reviewer_org_id(cls):
        return Column(Integer, ForeignKey("organization.id"), index=True)

    @declared_attr
    def reviewer_org(cls):
        return relationship("Organization", foreign_keys=[cls.reviewer_org_id])

    @property
    def state_label(self):
        return REPORT_STATE_LABELS.get(self.state, self.state)

    @property
    def kind_label(self):
        return REPORT_KINDS.get(self.kind, self.kind)
