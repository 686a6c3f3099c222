"""工伤定点医疗机构服务 (SPEC W4–W8): the five declaration kinds, declared (fields, required
material slots, line items), and the one state machine they share: hospital 提交 → employer
审核 (or 超时自动通过) → agency 审核."""
import datetime as dt
from dataclasses import dataclass

from app.i18n import _, _l
from app.models.injury import (DECLARATION_KINDS, DECLARATION_STATE_LABELS,
                               HOSPITAL_STATE_LABELS, DeclarationState as S, HospitalState as H,
                               InjuryDeclaration, InjuryHospital)
from app.services import clock
from app.services.files import Slot, missing_slots
from app.services.parameters import param
from app.workflows.engine import Refusal, Workflow, querying, transition

HOSPITAL = "W 医疗机构"
EMPLOYER = "W 用人单位"
AGENCY = "W 经办机构"
SYSTEM = "系统"

IMAGE = ("image",)
TRANSPORTS = ("救护车", "普通车辆", "自行前往", "其他")


@dataclass(frozen=True)
class Field:
    name: str
    label: object
    type: str = "text"         # text / textarea / date / choice
    required: bool = True
    choices: tuple = ()
    max_length: int = None
    # date bounds (issue 21 item 4): "today" as late / as early as it may be, and whether it
    # may not be before the 工伤发生时间 of the determination
    not_future: bool = False
    not_past: bool = False
    after_injury: bool = False


@dataclass(frozen=True)
class Kind:
    code: str
    fields: tuple
    slots: tuple
    has_lines: bool = False
    # (earlier, later, message[, strictly later]): a pair of date fields that must be in order
    date_order: tuple = ()
    # (start, end, most days, message): a period no longer than that
    max_span: tuple = ()

    @property
    def label(self):
        return DECLARATION_KINDS[self.code]


def _slot(name, label, required=True):
    return Slot(name, label, IMAGE, required=required)


CERTIFICATE = _slot("determination_doc", _l("工伤认定决定书"))
DIAGNOSIS = _slot("diagnosis_proof", _l("诊断证明书"))
RECORDS = _slot("medical_records", _l("病历资料"), required=False)

KINDS = {k.code: k for k in (
    Kind("relapse", (
        Field("diagnosis", _l("诊断"), "textarea", max_length=500),
        Field("recurrence_date", _l("复发日期"), "date", not_future=True, after_injury=True),
        Field("treatment_plan", _l("治疗方案"), "textarea", max_length=1000),
        Field("department", _l("就诊科室"), max_length=64),
        Field("opinion", _l("医生意见"), "textarea", max_length=1000)),
        (CERTIFICATE, DIAGNOSIS, RECORDS)),
    Kind("transfer", (
        Field("destination_hospital", _l("转往医院"), max_length=128),
        Field("reason", _l("转诊转院原因"), "textarea", max_length=1000),
        Field("planned_date", _l("计划转院日期"), "date", not_past=True),
        Field("transport", _l("交通方式"), "choice", choices=TRANSPORTS)),
        (_slot("transfer_form", _l("转诊转院审批表")), _slot("medical_records", _l("病历资料")))),
    Kind("rehab", (
        Field("rehab_items", _l("康复项目"), "textarea", max_length=1000),
        Field("start_date", _l("康复开始日期"), "date", after_injury=True),
        Field("end_date", _l("康复结束日期"), "date"),
        Field("rehab_institution", _l("康复机构"), max_length=128),
        Field("opinion", _l("康复意见"), "textarea", max_length=1000)),
        (_slot("rehab_plan", _l("康复治疗方案")), DIAGNOSIS),
        date_order=(("start_date", "end_date", _l("康复结束日期不能早于开始日期")),),
        max_span=(("start_date", "end_date", 366, _l("康复期限不能超过一年，期满仍需康复的请再次申请")),)),
    Kind("device", (
        Field("opinion", _l("配置意见"), "textarea", required=False, max_length=1000),),
        (_slot("prescription", _l("辅助器具配置处方")), _slot("determination_doc",
                                                          _l("工伤认定决定书"), False)),
        has_lines=True),
    Kind("extension", (
        Field("original_end_date", _l("原就医截止日期"), "date", after_injury=True),
        Field("extended_to", _l("延长至"), "date"),
        Field("reason", _l("延长原因"), "textarea", max_length=1000),
        Field("opinion", _l("医生意见"), "textarea", max_length=1000)),
        (_slot("extension_form", _l("延长就医申请表")), DIAGNOSIS),
        date_order=(("original_end_date", "extended_to", _l("延长至日期必须晚于原就医截止日期"),
                     True),)),
)}
EDITABLE_STATES = (S.DRAFT.value,)
PENDING_STATES = (S.EMPLOYER_REVIEW.value, S.AGENCY_REVIEW.value)
# 办理情况查询 status filter (SPEC W8): 未审核 covers both review stages.
STATUS_FILTERS = {"pending": (_l("未审核"), PENDING_STATES),
                  "employer_review": (_l("单位审核中"), (S.EMPLOYER_REVIEW.value,)),
                  "agency_review": (_l("经办审核中"), (S.AGENCY_REVIEW.value,)),
                  "approved": (_l("通过"), (S.APPROVED.value,)),
                  "rejected": (_l("未通过"), (S.REJECTED.value,))}


def kind_of(declaration):
    return KINDS[declaration.kind]


@querying
def materials_complete(declaration, user):
    missing = missing_slots(declaration, kind_of(declaration).slots)
    if missing:
        # the batch's message names the row already (its label, then this reason)
        return Refusal(_("缺少电子材料：%(slots)s",
                         slots="、".join(str(s.label) for s in missing)), status=422)
    return None


@querying
def has_lines(declaration, user):
    if kind_of(declaration).has_lines and not declaration.lines:
        return Refusal(_("请至少添加一条辅助器具配置信息"), status=422)
    return None


@querying
def hospital_designated(declaration, user):
    """A self-registered hospital submits once its agency approved it (issue 21 item 1)."""
    from app.services.injury.queries import designation_problem   # services import this
    problem = designation_problem(user)
    return Refusal(problem, status=403) if problem else None


def within_employer_deadline(declaration, user):
    """Past the deadline the employer's turn is over: the system approves in its place."""
    if declaration.employer_due_at is not None and clock.now() >= declaration.employer_due_at:
        return _("已超过单位审核时限（%(h)s小时），该申报已超时自动通过",
                 h=param("employer_auto_approve_hours"))
    return None


def _label(declaration):
    return f"{declaration.kind_label}（{declaration.person_name}）"


class InjuryDeclarationFlow(Workflow):
    naming_notes = {"employer_approve": "two reviews of one declaration (用人单位, then 经办机构): "
                                        "`employer_`/`agency_` name whose 审核通过 it is",
                    "agency_approve": "see employer_approve",
                    "employer_reject": "see employer_approve",
                    "agency_reject": "see employer_approve"}
    model = InjuryDeclaration
    object_type = "injury_declaration"
    state_labels = DECLARATION_STATE_LABELS

    @transition(source={S.DRAFT}, target=S.EMPLOYER_REVIEW, roles={HOSPITAL},
                guards=[hospital_designated, materials_complete, has_lines], label=_l("提交"), batch=True,
                style="primary")
    def submit(self, declaration, user, data):
        now = clock.now()
        declaration.submitted_at = now
        declaration.employer_due_at = now + dt.timedelta(hours=param("employer_auto_approve_hours"))

    @transition(source={S.DRAFT}, target=S.DELETED, roles={HOSPITAL}, label=_l("删除"),
                batch=True, style="danger")
    def delete(self, declaration, user, data):
        pass

    @transition(source={S.EMPLOYER_REVIEW}, target=S.AGENCY_REVIEW, roles={EMPLOYER},
                guards=[within_employer_deadline], label=_l("审核通过"), form="review",
                style="success")
    def employer_approve(self, declaration, user, data):
        declaration.employer_opinion = (data.get("comment") or "").strip() or None
        declaration.employer_reviewed_at = clock.now()

    @transition(source={S.EMPLOYER_REVIEW}, target=S.REJECTED, roles={EMPLOYER},
                guards=[within_employer_deadline], label=_l("审核不通过"), form="review",
                comment_required=True, style="danger")
    def employer_reject(self, declaration, user, data):
        declaration.employer_opinion = data["comment"].strip()
        declaration.employer_reviewed_at = clock.now()

    @transition(source={S.EMPLOYER_REVIEW}, target=S.AGENCY_REVIEW, roles={SYSTEM},
                label=_l("超时自动通过"), system=True)
    def auto_approve(self, declaration, user, data):
        declaration.employer_auto_approved = True
        declaration.employer_reviewed_at = clock.now()

    @transition(source={S.AGENCY_REVIEW}, target=S.APPROVED, roles={AGENCY},
                label=_l("审核通过"), form="review", style="success")
    def agency_approve(self, declaration, user, data):
        declaration.agency_opinion = (data.get("comment") or "").strip() or None
        declaration.agency_reviewed_at = clock.now()

    @transition(source={S.AGENCY_REVIEW}, target=S.REJECTED, roles={AGENCY},
                label=_l("审核不通过"), form="review", comment_required=True, style="danger")
    def agency_reject(self, declaration, user, data):
        declaration.agency_opinion = data["comment"].strip()
        declaration.agency_reviewed_at = clock.now()


class InjuryHospitalFlow(Workflow):
    """定点医疗机构审核 (issue 21 item 1): a hospital registered by 马上注册 waits for the
    agency of its region; 审核不通过 says why, and the agency may approve it later."""
    model = InjuryHospital
    object_type = "injury_hospital"
    state_labels = HOSPITAL_STATE_LABELS

    @transition(source={H.PENDING, H.REJECTED}, target=H.APPROVED, roles={AGENCY},
                label=_l("审核通过"), style="success")
    def approve(self, hospital, user, data):
        hospital.reason = (data.get("comment") or "").strip() or None
        hospital.reviewed_at = clock.now()

    @transition(source={H.PENDING}, target=H.REJECTED, roles={AGENCY}, label=_l("审核不通过"),
                comment_required=True, style="danger")
    def reject(self, hospital, user, data):
        hospital.reason = data["comment"].strip()
        hospital.reviewed_at = clock.now()
