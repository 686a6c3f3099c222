"""疾病应急救助: prepayments and relief applications (SPEC R3, R4, R5)."""
import enum

from flask_appbuilder import Model
from sqlalchemy import (Boolean, Column, Date, DateTime, ForeignKey, Index, Integer,
                        String, Text)
from sqlalchemy.orm import relationship

from app.i18n import _l
from app.models.core import ScopedMixin, utcnow
from app.models.types import Money


class ApplicationState(str, enum.Enum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISBURSED = "disbursed"
    DELETED = "deleted"


APPLICATION_STATE_LABELS = {
    "draft": _l("待提交"), "submitted": _l("已提交"), "returned": _l("审核退回"),
    "approved": _l("审核通过"), "rejected": _l("审核不通过"), "disbursed": _l("已拨款"),
    "deleted": _l("已删除"),
}
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
    start_at = Column(DateTime, nullable=False)
    end_at = Column(DateTime, nullable=False)
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
