"""疾病应急救助: prepayments and relief applications (SPEC R3, R4, R5)."""

from flask_appbuilder import Model
from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Index,
                        Integer, String, Table, Text, UniqueConstraint, or_, select)
from sqlalchemy.orm import relationship

from app.i18n import _l
from app.models.core import ScopedMixin, utcnow
from app.models.states import State
from app.models.reporting import ReportMixin, ReportTaskMixin
from app.models.types import Money
from app.summaries import Summary


class ApplicationState(State):
    """States of a 救助申请 (SPEC R4–R6)."""
    DRAFT = "draft", _l("待提交")
    SUBMITTED = "submitted", _l("已提交")
    RETURNED = "returned", _l("审核退回")
    APPROVED = "approved", _l("审核通过")
    REJECTED = "rejected", _l("审核不通过")
    DISBURSED = "disbursed", _l("已拨款")
    DELETED = "deleted", _l("已删除")


APPLICATION_STATE_LABELS = ApplicationState.labels()
EDITABLE_STATES = (ApplicationState.DRAFT.value, ApplicationState.RETURNED.value)
RELIEF_CATEGORIES = {"unidentified": _l("身份不明"), "unable_to_pay": _l("无力支付")}
GENDERS = {"1": _l("男"), "2": _l("女"), "0": _l("未知的性别"), "9": _l("未说明的性别")}
DISEASES = ["急性心肌梗死", "急性脑卒中", "严重多发伤", "颅脑损伤", "急性中毒", "重症肺炎",
            "消化道大出血", "大面积烧伤", "休克", "其他"]
YES_NO = {True: _l("是"), False: _l("否")}


class ReliefPrepayment(ScopedMixin, Model):
    __tablename__ = "relief_prepayment"
    id = Column(Integer, primary_key=True)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    organization = relationship("Organization", lazy="joined")
    amount = Column(Money, nullable=False)
    paid_on = Column(Date, nullable=False, index=True)
    remark = Column(String(256))
    created_at = Column(DateTime, default=utcnow)


class ReliefApplication(ScopedMixin, Model):
    __tablename__ = "relief_application"
    id = Column(Integer, primary_key=True)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    organization = relationship("Organization", lazy="joined", foreign_keys=[organization_id])
    # The agency that reviews it: nearest agency up the region chain, fixed at submission.
    reviewer_org_id = Column(Integer, ForeignKey("organization.id"), index=True)
    reviewer_org = relationship("Organization", foreign_keys=[reviewer_org_id])
    state = Column(String(12), nullable=False, default=ApplicationState.DRAFT.value, index=True)

    category = Column(String(16), nullable=False)
    patient_name = Column(String(64))
    gender = Column(String(1))
    id_number = Column(String(18), index=True)
    age = Column(Integer)
    household_address = Column(String(128))
    nationality = Column(String(32))
    phone = Column(String(32))

    relief_place = Column(String(128), nullable=False)
    # 救助开始/结束时间 as the clerk typed them (local), not UTC stamps (app.services.clock)
    start_at = Column(DateTime, nullable=False, info={"wall_clock": True})
    end_at = Column(DateTime, nullable=False, info={"wall_clock": True})
    disease = Column(String(32), nullable=False)
    other_disease = Column(String(128))
    emergency_cost = Column(Money, nullable=False)
    medical_cost = Column(Money, nullable=False)
    living_cost = Column(Money, nullable=False)
    requested_amount = Column(Money, nullable=False)

    poverty = Column(Boolean)
    low_income = Column(Boolean)
    basic_insurance_amount = Column(Money)
    serious_illness_amount = Column(Money)
    medical_assistance_amount = Column(Money)
    other_fund_amount = Column(Money)
    review_opinion = Column(Text)
    reviewed_at = Column(DateTime)
    disbursed_amount = Column(Money)
    disbursed_on = Column(Date)

    submitted_at = Column(DateTime, index=True)
    created_at = Column(DateTime, default=utcnow, nullable=False)
    updated_at = Column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def state_label(self):
        return APPLICATION_STATE_LABELS.get(self.state, self.state)

    @property
    def category_label(self):
        return RELIEF_CATEGORIES.get(self.category, self.category)

    @property
    def gender_label(self):
        return GENDERS.get(self.gender or "", "")

    @property
    def disease_label(self):
        return self.other_disease if self.disease == "其他" and self.other_disease else self.disease

    def __repr__(self):
        return f"{self.patient_name or RELIEF_CATEGORIES['unidentified']} #{self.id}"


Index("ix_relief_app_city_id", ReliefApplication.city_code, ReliefApplication.id)
Index("ix_relief_app_county_id", ReliefApplication.county_code, ReliefApplication.id)
Index("ix_relief_app_province_id", ReliefApplication.province_code, ReliefApplication.id)
Index("ix_relief_app_org_id", ReliefApplication.organization_id, ReliefApplication.id)
Index("ix_relief_app_reviewer_state", ReliefApplication.reviewer_org_id, ReliefApplication.state)


# ---- R7 evaluation, R8 recovery, R9–R10 reporting, R11 performance -------------------------


EVALUATION_SIDES = {"agency": _l("经办机构评价医疗机构"), "institution": _l("医疗机构评价经办机构")}


class ReliefEvaluation(ScopedMixin, Model):
    """评价: one per side per disbursed application (SPEC R7)."""
    __tablename__ = "relief_evaluation"
    __table_args__ = (UniqueConstraint("application_id", "side"),)
    id = Column(Integer, primary_key=True)
    application_id = Column(Integer, ForeignKey("relief_application.id"), nullable=False,
                            index=True)
    application = relationship("ReliefApplication")
    side = Column(String(12), nullable=False)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    organization = relationship("Organization", foreign_keys=[organization_id], lazy="joined")
    evaluated_org_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    evaluated_org = relationship("Organization", foreign_keys=[evaluated_org_id], lazy="joined")
    year = Column(Integer, nullable=False)
    score = Column(Integer, nullable=False)
    content = Column(Text)
    created_at = Column(DateTime, default=utcnow, nullable=False)
    updated_at = Column(DateTime, default=utcnow, onupdate=utcnow)


recovery_application = Table(
    "relief_recovery_application", Model.metadata,
    Column("recovery_id", Integer, ForeignKey("relief_recovery.id"), primary_key=True),
    Column("application_id", Integer, ForeignKey("relief_application.id"), primary_key=True),
)


class ReliefRecovery(ScopedMixin, Model):
    """追缴资金登记 (SPEC R8)."""
    __tablename__ = "relief_recovery"
    id = Column(Integer, primary_key=True)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    organization = relationship("Organization", lazy="joined")
    amount = Column(Money, nullable=False)
    recovered_on = Column(Date, nullable=False, index=True)
    remark = Column(String(256))
    applications = relationship("ReliefApplication", secondary=recovery_application)
    created_at = Column(DateTime, default=utcnow, nullable=False)

    @classmethod
    def institution_scope(cls, org):
        """An institution sees the recoveries it registered and those registered (by its
        agency) against its own applications."""
        against_mine = (select(recovery_application.c.recovery_id)
                        .join(ReliefApplication,
                              ReliefApplication.id == recovery_application.c.application_id)
                        .where(ReliefApplication.organization_id == org.id))
        return or_(cls.organization_id == org.id, cls.id.in_(against_mine))


class ReliefSummary(Model):
    """Applications per institution, state and category (app/summaries.py): the home page's
    counts and the area figures read these rows, not the records. Kept by triggers."""
    __tablename__ = "relief_summary"
    organization_id = Column(Integer, primary_key=True)
    reviewer_org_id = Column(Integer, primary_key=True, index=True)   # 0 before submission
    province_code = Column(String(6), primary_key=True)
    city_code = Column(String(6), primary_key=True, index=True)
    county_code = Column(String(6), primary_key=True, index=True)
    state = Column(String(12), primary_key=True)
    category = Column(String(16), primary_key=True)
    n = Column(BigInteger, nullable=False, default=0)
    requested_fen = Column(BigInteger, nullable=False, default=0)
    disbursed_fen = Column(BigInteger, nullable=False, default=0)
    __table_args__ = (Index("ix_relief_summary_province", "province_code"),)


RELIEF_SUMMARY = Summary(
    table="relief_summary", source="relief_application",
    keys={"organization_id": "{r}.organization_id",
          "reviewer_org_id": "COALESCE({r}.reviewer_org_id, 0)",
          "province_code": "COALESCE({r}.province_code, '')",
          "city_code": "COALESCE({r}.city_code, '')",
          "county_code": "COALESCE({r}.county_code, '')",
          "state": "{r}.state", "category": "{r}.category"},
    measures={"n": "1", "requested_fen": "COALESCE({r}.requested_amount, 0)",
              "disbursed_fen": "COALESCE({r}.disbursed_amount, 0)"},
    watched=("organization_id", "reviewer_org_id", "province_code", "city_code", "county_code",
             "state", "category", "requested_amount", "disbursed_amount"))


class ReliefReportTask(ReportTaskMixin, Model):
    __tablename__ = "relief_report_task"


# figure column → label (SPEC R9); every figure is a whole number or an amount (Money)
REPORT_FIGURES = {
    "apps_total": _l("申请总数"), "apps_unidentified": _l("身份不明申请数"),
    "apps_unable_to_pay": _l("无力支付申请数"), "apps_pending": _l("待审核申请数"),
    "apps_approved": _l("审核通过申请数"), "apps_returned": _l("退回申请数"),
    "apps_rejected": _l("审核不通过申请数"), "apps_disbursed": _l("已拨款申请数"),
    "amount_requested": _l("申请金额"), "amount_approved": _l("审核通过金额"),
    "amount_disbursed": _l("拨款金额"), "amount_prepaid": _l("预拨款金额"),
    "amount_recovered": _l("追缴金额"),
}
MONEY_FIGURES = ("amount_requested", "amount_approved", "amount_disbursed", "amount_prepaid",
                 "amount_recovered")


class ReliefReport(ReportMixin, Model):
    """数据上报: a unit's figures for a task, or the aggregate of its subordinates."""
    __tablename__ = "relief_report"
    __table_args__ = (UniqueConstraint("task_id", "organization_id"),)
    FIGURES = tuple(REPORT_FIGURES)
    task_id = Column(Integer, ForeignKey("relief_report_task.id"), nullable=False, index=True)
    task = relationship("ReliefReportTask", lazy="joined")
    aggregate_id = Column(Integer, ForeignKey("relief_report.id"), index=True)
    apps_total = Column(Integer, nullable=False, default=0)
    apps_unidentified = Column(Integer, nullable=False, default=0)
    apps_unable_to_pay = Column(Integer, nullable=False, default=0)
    apps_pending = Column(Integer, nullable=False, default=0)
    apps_approved = Column(Integer, nullable=False, default=0)
    apps_returned = Column(Integer, nullable=False, default=0)
    apps_rejected = Column(Integer, nullable=False, default=0)
    apps_disbursed = Column(Integer, nullable=False, default=0)
    amount_requested = Column(Money, nullable=False, default=0)
    amount_approved = Column(Money, nullable=False, default=0)
    amount_disbursed = Column(Money, nullable=False, default=0)
    amount_prepaid = Column(Money, nullable=False, default=0)
    amount_recovered = Column(Money, nullable=False, default=0)

    def __repr__(self):
        return f"{self.organization} · {self.task.name if self.task else ''}"


class ReliefPerformance(ScopedMixin, Model):
    """绩效填报 (SPEC R11): quantitative figures computed, qualitative text typed."""
    __tablename__ = "relief_performance"
    __table_args__ = (UniqueConstraint("organization_id", "period_start", "period_end"),)
    id = Column(Integer, primary_key=True)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    organization = relationship("Organization", lazy="joined")
    period_start = Column(Date, nullable=False)
    period_end = Column(Date, nullable=False)
    apps_received = Column(Integer, nullable=False, default=0)
    apps_approved = Column(Integer, nullable=False, default=0)
    apps_returned = Column(Integer, nullable=False, default=0)
    apps_rejected = Column(Integer, nullable=False, default=0)
    approval_rate = Column(Integer)               # per mille, shown as a percentage
    avg_review_days = Column(Integer)             # hundredths of a day
    amount_approved = Column(Money, nullable=False, default=0)
    amount_disbursed = Column(Money, nullable=False, default=0)
    amount_recovered = Column(Money, nullable=False, default=0)
    reports_on_time = Column(Integer, nullable=False, default=0)
    reports_total = Column(Integer, nullable=False, default=0)
    work_summary = Column(Text)          # 定性: 工作开展情况
    problems = Column(Text)              # 定性: 存在问题
    improvements = Column(Text)          # 定性: 改进措施
    generated_at = Column(DateTime)

    @property
    def approval_rate_text(self):
        return "" if self.approval_rate is None else f"{self.approval_rate / 10:.1f}%"

    @property
    def avg_review_days_text(self):
        return "" if self.avg_review_days is None else f"{self.avg_review_days / 100:.2f}"
