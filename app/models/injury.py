"""工伤定点医疗机构服务 (SPEC W1–W8): work-injury determinations (master data imported by an
agency), the assistive-device catalogue, and the five declarations a designated hospital
makes for an injured worker, reviewed by the employer and then by the agency."""

from decimal import Decimal

from flask_appbuilder import Model
from sqlalchemy import (Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String,
                        Text, and_)
from sqlalchemy.orm import relationship

from app.i18n import _l
from app.models.core import ScopedMixin, utcnow
from app.models.states import State
from app.models.types import Money

INJURY_TYPES = {"injury": _l("工伤"), "occupational_disease": _l("职业病"),
                "deemed_injury": _l("视同工伤")}
DECLARATION_KINDS = {
    "relapse": _l("旧伤复发治疗申请"), "transfer": _l("职工转诊转院申请"),
    "rehab": _l("职工康复申请"), "device": _l("职工辅助器具配置申请"),
    "extension": _l("职工延长就医申请"),
}


class DeclarationState(State):
    """The states of a declaration (InjuryDeclarationFlow)."""
    DRAFT = "draft", _l("待提交")
    EMPLOYER_REVIEW = "employer_review", _l("单位审核中")
    AGENCY_REVIEW = "agency_review", _l("经办审核中")
    APPROVED = "approved", _l("通过")
    REJECTED = "rejected", _l("未通过")
    DELETED = "deleted", _l("已删除")


DECLARATION_STATE_LABELS = DeclarationState.labels()


class HospitalState(State):
    """A self-registered hospital's designation (InjuryHospitalFlow)."""
    PENDING = "pending", _l("待审核")
    APPROVED = "approved", _l("审核通过")
    REJECTED = "rejected", _l("审核不通过")


HOSPITAL_STATE_LABELS = HospitalState.labels()


class InjuryHospital(ScopedMixin, Model):
    """定点医疗机构资格 of a hospital that opened its service by 马上注册: 待审核 until the
    agency of its region approves it as a designated institution; until then the person
    lookup and the declarations are refused. A hospital without such a row was set up by
    an administrator (vetted when its account was made)."""
    __tablename__ = "injury_hospital"
    id = Column(Integer, primary_key=True)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False,
                             unique=True)
    organization = relationship("Organization", lazy="joined")
    state = Column(String(16), nullable=False, default=HospitalState.PENDING.value, index=True)
    contact = Column(String(64))
    phone = Column(String(32))
    reason = Column(Text)
    reviewed_at = Column(DateTime)
    created_at = Column(DateTime, default=utcnow, nullable=False)

    @classmethod
    def institution_scope(cls, org):
        return cls.organization_id == org.id

    @property
    def state_label(self):
        return HOSPITAL_STATE_LABELS.get(self.state, self.state)

    def __repr__(self):
        return f"{self.organization.name if self.organization else self.organization_id}"


class InjuryDetermination(ScopedMixin, Model):
    """工伤认定信息. Scope columns are those of the insurance region (参保地)."""
    __tablename__ = "injury_determination"
    id = Column(Integer, primary_key=True)
    id_number = Column(String(18), nullable=False, index=True)
    person_name = Column(String(64), nullable=False)
    employer_name = Column(String(128), nullable=False)
    employer_id = Column(Integer, ForeignKey("organization.id"), index=True)
    employer = relationship("Organization", foreign_keys=[employer_id])
    injury_type = Column(String(24), nullable=False)
    determination_no = Column(String(40), nullable=False, unique=True)
    injury_date = Column(Date, nullable=False)
    region_id = Column(Integer, ForeignKey("region.id"), nullable=False)
    region = relationship("Region", lazy="joined")
    created_at = Column(DateTime, default=utcnow, nullable=False)

    @classmethod
    def institution_scope(cls, org):
        """A hospital looks people up in its own city (统筹区); an employer sees its own."""
        if org.org_type == "employer":
            return cls.employer_id == org.id
        return cls.city_code == org.city_code

    @property
    def injury_type_label(self):
        return INJURY_TYPES.get(self.injury_type, self.injury_type)

    def __repr__(self):
        return f"{self.person_name} {self.determination_no}"


class InjuryDeviceItem(Model):
    """辅助器具目录: read by every signed-in user, maintained by the super-admin."""
    __tablename__ = "injury_device_item"
    __scope_public__ = True
    id = Column(Integer, primary_key=True)
    code = Column(String(20), nullable=False, unique=True)
    name = Column(String(128), nullable=False, index=True)
    category = Column(String(32), nullable=False)
    specification = Column(String(128))
    price = Column(Money, nullable=False)
    usage_years = Column(Integer, nullable=False)
    active = Column(Boolean, default=True, nullable=False)

    def __repr__(self):
        return f"{self.code} {self.name}"


class InjuryDeclaration(ScopedMixin, Model):
    """One declaration of any of the five kinds; the columns a kind does not use stay
    empty (which columns a kind uses is declared in app.workflows.injury.KINDS)."""
    __tablename__ = "injury_declaration"
    id = Column(Integer, primary_key=True)
    kind = Column(String(12), nullable=False, index=True)
    state = Column(String(16), nullable=False, default=DeclarationState.DRAFT.value, index=True)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    organization = relationship("Organization", lazy="joined", foreign_keys=[organization_id])
    determination_id = Column(Integer, ForeignKey("injury_determination.id"), nullable=False,
                              index=True)
    determination = relationship("InjuryDetermination", lazy="joined")
    employer_id = Column(Integer, ForeignKey("organization.id"), index=True)
    employer = relationship("Organization", foreign_keys=[employer_id])
    resubmitted_from_id = Column(Integer, ForeignKey("injury_declaration.id"), index=True)
    # Copied from the determination when it is chosen (the manual's auto-fill).
    id_number = Column(String(18), nullable=False, index=True)
    person_name = Column(String(64), nullable=False)
    employer_name = Column(String(128), nullable=False)
    injury_type = Column(String(24), nullable=False)
    determination_no = Column(String(40), nullable=False)
    injury_date = Column(Date, nullable=False)
    # Type-specific fields (SPEC W4).
    diagnosis = Column(Text)
    recurrence_date = Column(Date)
    treatment_plan = Column(Text)
    department = Column(String(64))
    opinion = Column(Text)
    destination_hospital = Column(String(128))
    reason = Column(Text)
    planned_date = Column(Date)
    transport = Column(String(32))
    rehab_items = Column(Text)
    start_date = Column(Date)
    end_date = Column(Date)
    rehab_institution = Column(String(128))
    original_end_date = Column(Date)
    extended_to = Column(Date)
    # Review.
    submitted_at = Column(DateTime, index=True)
    employer_due_at = Column(DateTime)
    employer_opinion = Column(Text)
    employer_reviewed_at = Column(DateTime)
    employer_auto_approved = Column(Boolean, default=False, nullable=False)
    agency_opinion = Column(Text)
    agency_reviewed_at = Column(DateTime)
    created_at = Column(DateTime, default=utcnow, nullable=False)
    updated_at = Column(DateTime, default=utcnow, onupdate=utcnow)

    lines = relationship("InjuryDeviceLine", order_by="InjuryDeviceLine.id",
                         cascade="all, delete-orphan", back_populates="declaration")

    @classmethod
    def institution_scope(cls, org):
        """A hospital sees its own declarations; an employer those of its workers once
        submitted (drafts are the hospital's business) — SPEC P7, app.scope.region_scope."""
        if org.org_type == "employer":
            return and_(cls.employer_id == org.id, cls.submitted_at.is_not(None))
        return cls.organization_id == org.id

    @property
    def kind_label(self):
        return DECLARATION_KINDS.get(self.kind, self.kind)

    @property
    def state_label(self):
        return DECLARATION_STATE_LABELS.get(self.state, self.state)

    @property
    def injury_type_label(self):
        return INJURY_TYPES.get(self.injury_type, self.injury_type)

    @property
    def last_opinion(self):
        """The latest 审核意见, with whose it is (经办机构 after 用人单位)."""
        if self.agency_reviewed_at is not None:
            return f"{_l('经办机构')}：{self.agency_opinion or ''}"
        if self.employer_auto_approved:
            return f"{_l('用人单位')}：{_l('超时自动通过')}"
        if self.employer_reviewed_at is not None:
            return f"{_l('用人单位')}：{self.employer_opinion or ''}"
        return ""

    @property
    def total_amount(self):
        """辅助器具配置 合计金额: quantity × price over the lines."""
        return sum((ln.quantity * ln.price for ln in self.lines), Decimal("0.00"))

    def __repr__(self):
        return f"{self.kind_label} · {self.person_name} #{self.id}"


class InjuryDeviceLine(Model):
    """辅助器具配置 line item of a declaration."""
    __tablename__ = "injury_device_line"
    id = Column(Integer, primary_key=True)
    declaration_id = Column(Integer, ForeignKey("injury_declaration.id"), nullable=False,
                            index=True)
    declaration = relationship("InjuryDeclaration", back_populates="lines")
    item_id = Column(Integer, ForeignKey("injury_device_item.id"), nullable=False)
    item = relationship("InjuryDeviceItem", lazy="joined")
    quantity = Column(Integer, nullable=False)
    price = Column(Money, nullable=False)
    configured_on = Column(Date, nullable=False)
    usage_years = Column(Integer, nullable=False)


# The auto-approval job and the lazy check read only this: state + due time.
Index("ix_injury_decl_state_due", InjuryDeclaration.state, InjuryDeclaration.employer_due_at)
Index("ix_injury_decl_org_state", InjuryDeclaration.organization_id, InjuryDeclaration.state,
      InjuryDeclaration.kind)
Index("ix_injury_decl_employer_state", InjuryDeclaration.employer_id, InjuryDeclaration.state)
Index("ix_injury_decl_city_id", InjuryDeclaration.city_code, InjuryDeclaration.id)
Index("ix_injury_decl_province_id", InjuryDeclaration.province_code, InjuryDeclaration.id)
Index("ix_injury_det_city_idno", InjuryDetermination.city_code, InjuryDetermination.id_number)
