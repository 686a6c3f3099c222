"""医疗机构信息维护 state machines (SPEC M2–M7): the institution (提交审核 → national 审核赋码
or 退回修改; 归档; 删除 before coding), the maintainer's authorisation (授权文书上传 → agency
审核), the 证号变更申请, the designated-service agreement and the staff record."""
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import appbuilder, db
from app.i18n import _, _l
from app.models.registry import (AGREEMENT_STATE_LABELS, AUTH_STATE_LABELS,
                                 INSTITUTION_STATE_LABELS, REVIEW_STATE_LABELS,
                                 STAFF_STATE_LABELS, RegistryAgreement, RegistryAuthorization,
                                 RegistryCertChange, RegistryInstitution, RegistryStaff)
from app.models.registry import AgreementState as Agr
from app.models.registry import AuthorizationState as Auth
from app.models.registry import CertChangeState as Cert
from app.models.registry import InstitutionState as Inst
from app.models.registry import StaffState as Staff
from app.services.clock import now
from app.services.registry import commands, rules
from app.services.registry.queries import authorizations_of, code_region
from app.services.files import files_of
from app.workflows.engine import Refusal, Workflow, cascade, querying, transition

MAINTAINER, AGENCY, NATIONAL = rules.MAINTAINER, rules.AGENCY, rules.NATIONAL
INSURER = rules.INSURER
REGISTRANT = rules.REGISTRANT
STAFF_EDITORS = {MAINTAINER, rules.DOCTOR_EDITOR, rules.NURSE_EDITOR}


def holds_institution(inst, user):
    if not rules.holds(inst, user):
        return Refusal(_("只有该机构的维护人员可以操作"), status=403)
    return None


@querying
def ready_for_review(inst, user):
    """What 提交审核 needs: an approved maintainer, every required field, and the 说明材料
    when there is no USCC."""
    problems = []
    if inst.maintainer_id is None:
        problems.append(str(_("机构维护授权尚未审核通过")))
    values, errors = rules.clean_institution(rules.form_values(inst))
    problems += [f"{rules.FIELD_LABELS.get(k, k)}：{v}" for k, v in errors.items()]
    if inst.no_uscc and not files_of(inst).get(rules.EXPLANATION.name):
        problems.append(str(_("无统一社会信用代码时须上传说明材料（PDF，加盖单位公章）")))
    if problems:
        return Refusal(_("不能提交审核：%(p)s", p="；".join(problems)), status=422)
    return None


def not_coded(inst, user):
    if inst.state == "coded":
        return _("已赋码的机构不能删除；信息错误或无效时请联系上级医保部门归档")
    return None


class RegistryInstitutionFlow(Workflow):
    model = RegistryInstitution
    object_type = "registry_institution"
    state_labels = INSTITUTION_STATE_LABELS

    @transition(source={Inst.DRAFT, Inst.RETURNED}, target=Inst.SUBMITTED, roles={MAINTAINER},
                guards=[holds_institution, ready_for_review], label=_l("提交审核"),
                style="primary")
    def submit(self, inst, user, data):
        inst.submitted_at = now()

    @transition(source={Inst.SUBMITTED}, target=Inst.RETURNED, roles={NATIONAL},
                label=_l("退回修改"), comment_required=True, style="warning")
    def send_back(self, inst, user, data):
        inst.review_comment = data["comment"].strip()

    @transition(source={Inst.SUBMITTED}, target=Inst.CODED, roles={NATIONAL}, label=_l("审核赋码"),
                style="success", batch=True)
    def approve(self, inst, user, data):
        org = inst.organization
        if not org.national_code:
            org.national_code = commands.next_national_code(code_region(org))
        inst.coded_at = now()
        inst.review_comment = (data.get("comment") or "").strip() or None

    @transition(source={Inst.DRAFT, Inst.RETURNED, Inst.CODED}, target=Inst.ARCHIVED,
                roles={AGENCY}, label=_l("归档"), comment_required=True, style="danger")
    def archive(self, inst, user, data):
        archive_staff(inst, user)
        withdraw_agreements(inst, user)
        inst.review_comment = data["comment"].strip()

    @transition(source={Inst.DRAFT, Inst.RETURNED, Inst.CODED}, target=Inst.DELETED,
                roles={MAINTAINER, REGISTRANT}, guards=[not_coded, holds_institution],
                label=_l("删除"), style="danger")
    def delete(self, inst, user, data):
        if inst.created_by_id is not None and inst.organization.national_code is None:
            inst.organization.active = False     # added here, used nowhere else yet
        cascade(RegistryAuthorizationFlow, authorizations_of(inst), "withdraw", user,
                comment=str(_("机构信息已删除")))
        inst.maintainer_id = None

    # Deleted here while the organisation lives on (other modules use it): it may be
    # authorised again, from the start (M3).
    @transition(source={Inst.DELETED}, target=Inst.DRAFT, roles=set(), label=_l("重新纳入维护"),
                system=True)
    def restore(self, inst, user, data):
        inst.maintainer_id = inst.created_by_id = None

    @transition(source={Inst.DELETED}, target=Inst.CODED, roles=set(), label=_l("重新纳入维护（已赋码）"),
                system=True)
    def restore_coded(self, inst, user, data):
        inst.maintainer_id = inst.created_by_id = None


def is_applicant(auth, user):
    if user is None or auth.user_id != user.id:
        return Refusal(_("只有申请人可以上传授权文书"), status=403)
    return None


def institution_open(auth, user):
    state = auth.institution.state
    if state in ("archived", "deleted"):
        return _("机构信息%(state)s，不能授权", state=auth.institution.state_label)
    return None


@querying
def maintainer_free(auth, user):
    if auth.role_kind != "maintainer":
        return None
    inst = auth.institution
    if inst.maintainer_id is not None and inst.maintainer_id != auth.user_id:
        return _("该机构已被其他维护用户授权维护")
    return None


@querying
def account_free(auth, user):
    """An account works for one institution (its organisation)."""
    org_id = auth.user.organization_id
    if org_id is not None and org_id != auth.organization_id:
        return _("该账号已是其他机构的用户，不能再授权维护本机构")
    return None


def claim_maintainer(inst, grantee):
    """One maintainer per institution, also when two agency clerks approve two requests at
    the same moment: the conditional UPDATE (a row lock on PostgreSQL, the write lock on
    SQLite) lets only the first one through."""
    result = db.session.execute(
        update(RegistryInstitution).where(
            RegistryInstitution.id == inst.id,
            (RegistryInstitution.maintainer_id.is_(None))
            | (RegistryInstitution.maintainer_id == grantee.id))
        .values(maintainer_id=grantee.id).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise Refusal(_("该机构已被其他维护用户授权维护"))
    set_committed_value(inst, "maintainer_id", grantee.id)


class RegistryAuthorizationFlow(Workflow):
    model = RegistryAuthorization
    object_type = "registry_authorization"
    state_labels = AUTH_STATE_LABELS

    @transition(source={Auth.DRAFT, Auth.REJECTED}, target=Auth.UPLOADED, roles={REGISTRANT},
                guards=[is_applicant, institution_open, maintainer_free],
                label=_l("授权文书上传"),
                form="upload", style="primary")
    def upload(self, auth, user, data):
        auth.uploaded_at = now()

    @transition(source={Auth.UPLOADED}, target=Auth.APPROVED, roles={AGENCY},
                guards=[institution_open, maintainer_free, account_free], label=_l("审核通过"),
                style="success")
    def approve(self, auth, user, data):
        grantee = auth.user
        role = appbuilder.sm.find_role(rules.ROLE_OF_KIND[auth.role_kind])
        if role is not None and role not in grantee.roles:
            grantee.roles.append(role)
        grantee.organization_id = auth.organization_id
        grantee.copy_scope_from(auth.institution.organization)
        if not grantee.user_type:
            grantee.user_type = "medical"
        if auth.role_kind == "maintainer":
            claim_maintainer(auth.institution, grantee)
        auth.reviewed_at = now()
        auth.review_comment = (data.get("comment") or "").strip() or None

    @transition(source={Auth.DRAFT, Auth.UPLOADED}, target=Auth.WITHDRAWN, roles=set(),
                label=_l("机构删除时撤销"), system=True)
    def withdraw(self, auth, user, data):
        auth.review_comment = data.get("comment")

    @transition(source={Auth.UPLOADED}, target=Auth.REJECTED, roles={AGENCY}, label=_l("审核不通过"),
                comment_required=True, style="danger")
    def reject(self, auth, user, data):
        auth.reviewed_at = now()
        auth.review_comment = data["comment"].strip()


def institution_coded(change, user):
    if change.institution.state != "coded":
        return _("机构信息%(state)s，不能变更证号", state=change.institution.state_label)
    return None


class RegistryCertChangeFlow(Workflow):
    model = RegistryCertChange
    object_type = "registry_cert_change"
    state_labels = REVIEW_STATE_LABELS

    @transition(source={Cert.PENDING}, target=Cert.APPROVED, roles={AGENCY},
                guards=[institution_coded], label=_l("审核通过"), style="success")
    def approve(self, change, user, data):
        org = change.institution.organization
        org.uscc, org.licence_no = change.new_uscc, change.new_licence_no
        change.institution.no_uscc = change.new_uscc is None
        change.review_comment = (data.get("comment") or "").strip() or None

    @transition(source={Cert.PENDING}, target=Cert.REJECTED, roles={AGENCY}, label=_l("审核不通过"),
                comment_required=True, style="danger")
    def reject(self, change, user, data):
        change.review_comment = data["comment"].strip()


def agreement_holder(agreement, user):
    return holds_institution(agreement.institution, user)


def own_agency(agreement, user):
    if user is None or agreement.agency_org_id != user.organization_id:
        return Refusal(_("只有协议选择的经办机构可以确认"), status=403)
    return None


class RegistryAgreementFlow(Workflow):
    model = RegistryAgreement
    object_type = "registry_agreement"
    state_labels = AGREEMENT_STATE_LABELS

    @transition(source={Agr.PENDING}, target=Agr.CONFIRMED, roles={INSURER}, guards=[own_agency],
                label=_l("确认"), style="success", batch=True)
    def confirm(self, agreement, user, data):
        agreement.confirmed_at = agreement.changed_at = now()

    @transition(source={Agr.PENDING}, target=Agr.DELETED, roles={MAINTAINER},
                guards=[agreement_holder], label=_l("删除"), style="danger")
    def delete(self, agreement, user, data):
        agreement.changed_at = now()

    @transition(source={Agr.PENDING, Agr.CONFIRMED}, target=Agr.WITHDRAWN, roles=set(),
                label=_l("机构归档时撤销"), system=True)
    def withdraw(self, agreement, user, data):
        agreement.changed_at = now()

    @transition(source={Agr.CONFIRMED}, target=Agr.PENDING, roles=set(),
                label=_l("机构修改后待重新确认"), system=True)
    def reopen(self, agreement, user, data):
        pass


# The maintainer edits both kinds; 医师信息维护 the doctors, 护士信息维护 the nurses (a rule the
# staff form applies too).
staff_editor = rules.staff_editor


@querying
def institution_active(staff, user):
    state = db.session.execute(select(RegistryInstitution.state).where(
        RegistryInstitution.id == staff.institution_id)).scalar()
    if state in ("archived", "deleted"):
        return _("机构信息已归档，不能提交人员信息")
    return None


class RegistryStaffFlow(Workflow):
    model = RegistryStaff
    object_type = "registry_staff"
    state_labels = STAFF_STATE_LABELS

    @transition(source={Staff.DRAFT, Staff.REJECTED}, target=Staff.SUBMITTED, roles=STAFF_EDITORS,
                guards=[staff_editor, institution_active], label=_l("提交"), batch=True,
                style="primary")
    def submit(self, staff, user, data):
        pass

    @transition(source={Staff.SUBMITTED}, target=Staff.APPROVED, roles={AGENCY}, label=_l("审核通过"),
                batch=True, style="success")
    def approve(self, staff, user, data):
        staff.review_comment = (data.get("comment") or "").strip() or None

    @transition(source={Staff.SUBMITTED}, target=Staff.REJECTED, roles={AGENCY}, label=_l("审核不通过"),
                comment_required=True, style="danger")
    def reject(self, staff, user, data):
        staff.review_comment = data["comment"].strip()

    @transition(source={Staff.DRAFT, Staff.REJECTED}, target=Staff.DELETED, roles=STAFF_EDITORS,
                guards=[staff_editor], label=_l("删除"), style="danger")
    def delete(self, staff, user, data):
        pass

    @transition(source={Staff.SUBMITTED, Staff.APPROVED, Staff.REJECTED}, target=Staff.DRAFT,
                roles=set(), label=_l("机构信息变更后重置"), system=True)
    def reset(self, staff, user, data):
        pass

    @transition(source={Staff.DRAFT, Staff.SUBMITTED, Staff.APPROVED, Staff.REJECTED},
                target=Staff.ARCHIVED,
                roles=set(), label=_l("机构归档"), system=True)
    def archive(self, staff, user, data):
        pass


# ---- cascades: other rows moved by an institution's transition or a command ---------------------

def _rows(model, **where):
    stmt = select(model).where(*[getattr(model, k) == v for k, v in where.items()])
    return db.session.execute(stmt.order_by(model.id)).scalars().all()


def reset_staff(inst, user):
    """M3: a new name or pooling area sends every staff record (but archived or deleted) back
    to 待提交; returns how many."""
    return cascade(RegistryStaffFlow, _rows(RegistryStaff, institution_id=inst.id), "reset",
                   user)


def archive_staff(inst, user):
    return cascade(RegistryStaffFlow, _rows(RegistryStaff, institution_id=inst.id), "archive",
                   user)


def withdraw_agreements(inst, user):
    """An archived institution's agreements leave the designated list at the next run."""
    return cascade(RegistryAgreementFlow, _rows(RegistryAgreement, institution_id=inst.id),
                   "withdraw", user)


def reopen_agreement(agreement, user):
    """The institution changed a confirmed agreement: its agency confirms it again."""
    return cascade(RegistryAgreementFlow, [agreement], "reopen", user)


def restore_institution(inst, user):
    return cascade(RegistryInstitutionFlow, [inst],
                   "restore_coded" if inst.organization.national_code else "restore", user)
