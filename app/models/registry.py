"""医疗机构信息维护 (SPEC M1–M7): the registry's view of a medical institution (the same
`organization` row every module uses, plus what only the registry keeps), the maintainers'
authorisations, certificate-number changes, designated-service agreements, the published
designated-institution list, staff records and the national-code sequence per region.

Scope columns (province/city/county codes) of registry rows are those of the institution's
medical-insurance pooling area (统筹区): the agency of that area reviews them (M2, M6)."""

from flask_appbuilder import Model
from sqlalchemy import (Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String,
                        Text)
from sqlalchemy import func, select
from sqlalchemy.orm import object_session, relationship

from app.i18n import _l
from app.models.core import ScopedMixin, utcnow
from app.models.states import State


class InstitutionState(State):
    DRAFT = "draft", _l("待提交")
    SUBMITTED = "submitted", _l("待审核")
    RETURNED = "returned", _l("退回修改")
    CODED = "coded", _l("已赋码")
    ARCHIVED = "archived", _l("已归档")
    DELETED = "deleted", _l("已删除")


class AuthorizationState(State):
    DRAFT = "draft", _l("待上传授权文书")
    UPLOADED = "uploaded", _l("待审核")
    APPROVED = "approved", _l("审核通过")
    REJECTED = "rejected", _l("审核不通过")
    WITHDRAWN = "withdrawn", _l("已撤销")       # its institution was deleted or archived


class CertChangeState(State):
    PENDING = "pending", _l("待审核")
    APPROVED = "approved", _l("审核通过")
    REJECTED = "rejected", _l("审核不通过")


class AgreementState(State):
    PENDING = "pending", _l("待确认")
    CONFIRMED = "confirmed", _l("已确认")
    WITHDRAWN = "withdrawn", _l("已撤销")       # its institution was archived: kept, shown
    DELETED = "deleted", _l("已删除")


class StaffState(State):
    DRAFT = "draft", _l("待提交")
    SUBMITTED = "submitted", _l("待审核")
    APPROVED = "approved", _l("审核通过")
    REJECTED = "rejected", _l("审核不通过")
    ARCHIVED = "archived", _l("已归档")
    DELETED = "deleted", _l("已删除")


INSTITUTION_STATE_LABELS = InstitutionState.labels()
AUTH_STATE_LABELS = AuthorizationState.labels()
REVIEW_STATE_LABELS = CertChangeState.labels()
AGREEMENT_STATE_LABELS = AgreementState.labels()
STAFF_STATE_LABELS = StaffState.labels()
# M1: the roles a registered account may request; the maintainer is one per institution.
ROLE_KINDS = {"maintainer": _l("医疗机构维护人员"), "doctor": _l("医师信息维护"),
              "nurse": _l("护士信息维护")}
STAFF_TYPES = {"doctor": _l("医师"), "nurse": _l("护士")}
# The counterpart of a designated-service agreement (seed 004 第九步): the 医保部门.
AGREEMENT_PARTIES = ("insurance_bureau", "agency")
AGREEMENT_COUNTERPARTS = ("insurance_bureau",)
AGREEMENT_TYPES = {"service": _l("医疗保障定点医疗机构服务协议"),
                   "supplement": _l("补充协议"), "other": _l("其他")}


class RegistryInstitution(ScopedMixin, Model):
    """One per organisation. Name, certificates, region, address, category, grade, phone and
    the national code live on the organisation itself (one institution, one record)."""
    __tablename__ = "registry_institution"
    id = Column(Integer, primary_key=True)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False,
                             unique=True)
    organization = relationship("Organization", lazy="joined")
    legal_name = Column(String(128))
    pooling_region_id = Column(Integer, ForeignKey("region.id"), nullable=False)
    pooling_region = relationship("Region", lazy="joined")
    uses_e_voucher = Column(Boolean, default=False, nullable=False)
    no_uscc = Column(Boolean, default=False, nullable=False)
    military = Column(Boolean, default=False, nullable=False)
    state = Column(String(12), nullable=False, default="draft", index=True)
    # The approved 医疗机构维护人员 (M1: one per institution) and who added the record.
    maintainer_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    maintainer = relationship("app.models.core.User", foreign_keys=[maintainer_id])
    created_by_id = Column(Integer, ForeignKey("ab_user.id"), index=True)
    submitted_at = Column(DateTime)
    coded_at = Column(DateTime)
    review_comment = Column(String(500))
    created_at = Column(DateTime, default=utcnow, nullable=False)

    @classmethod
    def personal_scope(cls, user):
        """A registrant sees the institution they added before any authorisation is
        approved; the approved maintainer sees the one they maintain."""
        return (cls.maintainer_id == user.id) | (cls.created_by_id == user.id)

    @property
    def state_label(self):
        return INSTITUTION_STATE_LABELS.get(self.state, self.state)

    @property
    def name(self):
        return self.organization.name

    # The organisation's own attributes, read through the registry row on the screens.
    uscc = property(lambda self: self.organization.uscc or "无")
    licence_no = property(lambda self: self.organization.licence_no or "")
    region = property(lambda self: self.organization.region.full_name)
    address = property(lambda self: self.organization.address)
    category = property(lambda self: self.organization.category)
    grade = property(lambda self: self.organization.grade)
    phone = property(lambda self: self.organization.phone)
    national_code = property(lambda self: self.organization.national_code)

    @property
    def e_voucher_label(self):
        return _l("是") if self.uses_e_voucher else _l("否")

    @property
    def maintainer_label(self):
        user = self.maintainer
        return f"{user.first_name}（{user.username}）" if user is not None else ""

    def __repr__(self):
        return self.organization.name if self.organization else f"#{self.id}"


class RegistryAuthorization(ScopedMixin, Model):
    """授权: an account asks to maintain an institution in a role; the PDF carries the
    number and its QR code; the stamped scan is recognised; the pooling area's agency
    reviews it."""
    __tablename__ = "registry_authorization"
    id = Column(Integer, primary_key=True)
    auth_no = Column(String(20), unique=True)
    user_id = Column(Integer, ForeignKey("ab_user.id"), nullable=False, index=True)
    user = relationship("app.models.core.User", foreign_keys=[user_id], lazy="joined")
    institution_id = Column(Integer, ForeignKey("registry_institution.id"), nullable=False,
                            index=True)
    institution = relationship("RegistryInstitution", lazy="joined")
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False,
                             index=True)
    role_kind = Column(String(12), nullable=False)
    state = Column(String(10), nullable=False, default="draft", index=True)
    uploaded_at = Column(DateTime)
    reviewed_at = Column(DateTime)
    review_comment = Column(String(500))
    created_at = Column(DateTime, default=utcnow, nullable=False)

    @classmethod
    def personal_scope(cls, user):
        return cls.user_id == user.id

    @property
    def state_label(self):
        return AUTH_STATE_LABELS.get(self.state, self.state)

    @property
    def role_label(self):
        return ROLE_KINDS.get(self.role_kind, self.role_kind)

    @property
    def competitors(self):
        """Other 待审核 requests to be this institution's one maintainer (competing)."""
        if self.state != "uploaded" or self.role_kind != "maintainer":
            return 0
        return object_session(self).execute(select(func.count(RegistryAuthorization.id)).where(
            RegistryAuthorization.institution_id == self.institution_id,
            RegistryAuthorization.role_kind == "maintainer",
            RegistryAuthorization.state == "uploaded",
            RegistryAuthorization.id != self.id)).scalar()

    @property
    def competition_label(self):
        n = self.competitors
        return _l("另有%(n)s份待审核的维护人员授权申请", n=n) if n else ""

    def __repr__(self):
        return self.auth_no or f"#{self.id}"


class RegistryCertChange(ScopedMixin, Model):
    """证号变更申请: a coded institution's USCC / licence number change, reviewed."""
    __tablename__ = "registry_cert_change"
    id = Column(Integer, primary_key=True)
    institution_id = Column(Integer, ForeignKey("registry_institution.id"), nullable=False,
                            index=True)
    institution = relationship("RegistryInstitution", lazy="joined")
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False,
                             index=True)
    old_uscc = Column(String(18))
    old_licence_no = Column(String(32))
    new_uscc = Column(String(18))
    new_licence_no = Column(String(32))
    reason = Column(String(500), nullable=False)
    state = Column(String(10), nullable=False, default="pending", index=True)
    review_comment = Column(String(500))
    created_at = Column(DateTime, default=utcnow, nullable=False)

    @property
    def state_label(self):
        return REVIEW_STATE_LABELS.get(self.state, self.state)

    def __repr__(self):
        return f"{self.institution} #{self.id}"


class RegistryAgreement(ScopedMixin, Model):
    """定点协议 between a coded institution and the agency it chose. Scope columns are the
    agency's region; an agency sees only the agreements made with it."""
    __tablename__ = "registry_agreement"
    id = Column(Integer, primary_key=True)
    institution_id = Column(Integer, ForeignKey("registry_institution.id"), nullable=False,
                            index=True)
    institution = relationship("RegistryInstitution", lazy="joined")
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False,
                             index=True)
    agency_org_id = Column(Integer, ForeignKey("organization.id"), nullable=False,
                           index=True)
    agency = relationship("Organization", foreign_keys=[agency_org_id], lazy="joined")
    agreement_no = Column(String(64), nullable=False)
    agreement_type = Column(String(12), nullable=False)
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=False)
    content = Column(Text)
    state = Column(String(10), nullable=False, default="pending", index=True)
    confirmed_at = Column(DateTime)
    changed_at = Column(DateTime, default=utcnow, nullable=False)
    synced_at = Column(DateTime)
    created_at = Column(DateTime, default=utcnow, nullable=False)

    @classmethod
    def organization_scope(cls, org):
        """The 医保部门 (or any agency) sees the agreements made with it, not its whole
        region's."""
        return cls.agency_org_id == org.id if org.org_type in AGREEMENT_PARTIES else None

    @property
    def state_label(self):
        return AGREEMENT_STATE_LABELS.get(self.state, self.state)

    @property
    def type_label(self):
        return AGREEMENT_TYPES.get(self.agreement_type, self.agreement_type)

    def __repr__(self):
        return self.agreement_no


class DesignatedInstitution(ScopedMixin, Model):
    """定点医疗机构名单: confirmed agreements as published by the scheduled job (入库)."""
    __tablename__ = "designated_institution"
    id = Column(Integer, primary_key=True)
    agreement_id = Column(Integer, ForeignKey("registry_agreement.id"), nullable=False,
                          unique=True)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False,
                             index=True)
    agency_org_id = Column(Integer, ForeignKey("organization.id"), nullable=False,
                           index=True)
    national_code = Column(String(12), nullable=False)
    institution_name = Column(String(128), nullable=False)
    agency_name = Column(String(128), nullable=False)
    agreement_no = Column(String(64), nullable=False)
    agreement_type = Column(String(12), nullable=False)
    start_date = Column(Date, nullable=False)
    end_date = Column(Date, nullable=False)
    published_at = Column(DateTime, default=utcnow, nullable=False)

    @property
    def type_label(self):
        return AGREEMENT_TYPES.get(self.agreement_type, self.agreement_type)


class RegistryStaff(ScopedMixin, Model):
    """医师 / 护士 records of an institution (M7), reviewed by the pooling area's agency."""
    __tablename__ = "registry_staff"
    id = Column(Integer, primary_key=True)
    institution_id = Column(Integer, ForeignKey("registry_institution.id"), nullable=False,
                            index=True)
    institution = relationship("RegistryInstitution", lazy="joined")
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False,
                             index=True)
    name = Column(String(64), nullable=False)
    id_number = Column(String(18), nullable=False)
    staff_type = Column(String(8), nullable=False)
    cert_no = Column(String(32), nullable=False)
    state = Column(String(10), nullable=False, default="draft", index=True)
    review_comment = Column(String(500))
    created_at = Column(DateTime, default=utcnow, nullable=False)

    @property
    def state_label(self):
        return STAFF_STATE_LABELS.get(self.state, self.state)

    @property
    def type_label(self):
        return STAFF_TYPES.get(self.staff_type, self.staff_type)

    @property
    def masked_id_number(self):
        """As lists show it: 1401**********1234."""
        n = self.id_number or ""
        return n[:4] + "*" * (len(n) - 8) + n[-4:] if len(n) > 8 else n

    def __repr__(self):
        return self.name


class RegistryCodeCounter(Model):
    """The last national-code sequence used per region (M5): only ever increases, so a code
    is never issued twice even after an institution is archived."""
    __tablename__ = "registry_code_counter"
    region_code = Column(String(6), primary_key=True)
    last_seq = Column(Integer, nullable=False, default=0)


Index("ix_registry_staff_inst_state", RegistryStaff.institution_id, RegistryStaff.state)
Index("ix_registry_agreement_sync", RegistryAgreement.state, RegistryAgreement.synced_at)
