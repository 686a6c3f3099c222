"""疾病应急救助 application state machine (SPEC R4, R5) and its rules."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization, utcnow
from app.models.relief import APPLICATION_STATE_LABELS, ApplicationState as S, ReliefApplication
from app.services.files import Slot, required_attachments
from app.workflows.engine import Refusal, Workflow, transition

INSTITUTION = "R 医疗机构"
AGENCY = "R 经办机构"

ARCHIVE = ("archive",)
SLOTS = (
    Slot("medical_record", _l("病案首页或抢救记录或门诊记录"), ARCHIVE, required=True),
    Slot("cost_list", _l("费用清单"), ARCHIVE, required=True),
    Slot("police_proof", _l("公安/民政证明材料"), ARCHIVE),
    Slot("other_proof", _l("其他相关证明材料"), ARCHIVE),
)
PHOTO_SLOT = Slot("photo", _l("照片"), ("image",), multiple=False)
REVIEW_SLOT = Slot("review_proof", _l("审核补充材料"), ARCHIVE)
ALL_SLOTS = SLOTS + (PHOTO_SLOT, REVIEW_SLOT)


def nearest_agency(org):
    """The agency that reviews `org`: the nearest 经办机构 up its region chain."""
    region = org.region
    while region is not None:
        agency = db.session.execute(
            db.select(Organization).where(Organization.org_type == "agency",
                                          Organization.region_id == region.id,
                                          Organization.active.is_(True))
            .order_by(Organization.id).limit(1)).scalar_one_or_none()
        if agency is not None:
            return agency
        region = region.parent
    return None


def has_reviewer(app, user):
    if nearest_agency(app.organization) is None:
        return _("未找到上级经办机构，无法提交")
    return None


def is_reviewer(app, user):
    if app.reviewer_org_id != getattr(user, "organization_id", None):
        return Refusal(_("只有上级经办机构可以审核该申请"), status=403)
    return None


def not_yet_acted(app, user):
    if app.reviewed_at is not None:
        return _("经办机构已处理，不能撤回")
    return None


def money(data, key, label, required=False):
    raw = (data.get(key) or "").strip()
    if not raw:
        if required:
            raise Refusal(_("请填写%(f)s", f=label), status=422, fields={key: [_("必填")]})
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise Refusal(_("%(f)s必须是金额", f=label), status=422, fields={key: [_("无效金额")]})
    if value < 0 or value != value.quantize(Decimal("0.01")):
        raise Refusal(_("%(f)s必须是不小于0且最多两位小数的金额", f=label), status=422,
                      fields={key: [_("无效金额")]})
    return value


def yes_no(data, key, label, required=False):
    raw = str(data.get(key, "")).strip().lower()
    if raw in ("1", "true", "是", "y", "yes"):
        return True
    if raw in ("0", "false", "否", "n", "no"):
        return False
    if required:
        raise Refusal(_("请选择%(f)s", f=label), status=422, fields={key: [_("必选")]})
    return None


def record_review(app, data):
    """The agency's findings (SPEC R5), required on every review outcome."""
    app.poverty = yes_no(data, "poverty", _("贫困对象"), required=True)
    app.low_income = yes_no(data, "low_income", _("低保"))
    app.basic_insurance_amount = money(data, "basic_insurance_amount", _("基本医保"))
    app.serious_illness_amount = money(data, "serious_illness_amount", _("大病保险"))
    app.medical_assistance_amount = money(data, "medical_assistance_amount", _("医疗救助"))
    app.other_fund_amount = money(data, "other_fund_amount", _("其他"))
    app.review_opinion = (data.get("comment") or "").strip() or None
    app.reviewed_at = utcnow()


class ApplicationFlow(Workflow):
    model = ReliefApplication
    object_type = "relief_application"
    state_labels = APPLICATION_STATE_LABELS

    @transition(source={S.DRAFT, S.RETURNED}, target=S.SUBMITTED, roles={INSTITUTION},
                guards=[required_attachments(SLOTS), has_reviewer], label=_l("提交"),
                batch=True, style="primary")
    def submit(self, app, user, data):
        app.reviewer_org_id = nearest_agency(app.organization).id
        app.submitted_at = utcnow()
        app.reviewed_at = None

    @transition(source={S.SUBMITTED}, target=S.DRAFT, roles={INSTITUTION},
                guards=[not_yet_acted], label=_l("撤回"), style="warning")
    def withdraw(self, app, user, data):
        app.submitted_at = None

    @transition(source={S.SUBMITTED}, target=S.APPROVED, roles={AGENCY}, guards=[is_reviewer],
                label=_l("审核通过"), form="review", style="success")
    def approve(self, app, user, data):
        record_review(app, data)

    @transition(source={S.SUBMITTED}, target=S.RETURNED, roles={AGENCY}, guards=[is_reviewer],
                label=_l("审核退回"), form="review", comment_required=True, style="warning")
    def send_back(self, app, user, data):
        record_review(app, data)

    @transition(source={S.SUBMITTED}, target=S.REJECTED, roles={AGENCY}, guards=[is_reviewer],
                label=_l("审核不通过"), form="review", comment_required=True, style="danger")
    def reject(self, app, user, data):
        record_review(app, data)

    @transition(source={S.APPROVED}, target=S.DISBURSED, roles={AGENCY}, guards=[is_reviewer],
                label=_l("拨款"), form="disburse", style="primary")
    def disburse(self, app, user, data):
        amount = money(data, "disbursed_amount", _("拨款金额"), required=True)
        if amount <= 0 or amount > app.requested_amount:
            raise Refusal(_("拨款金额必须大于0且不超过申请基金拨付金额 %(a)s 元",
                            a=app.requested_amount), status=422,
                          fields={"disbursed_amount": [_("无效金额")]})
        try:
            app.disbursed_on = dt.date.fromisoformat((data.get("disbursed_on") or "").strip())
        except ValueError:
            raise Refusal(_("请填写正确的拨款日期（YYYY-MM-DD）"), status=422,
                          fields={"disbursed_on": [_("无效日期")]})
        app.disbursed_amount = amount

    @transition(source={S.DRAFT, S.RETURNED}, target=S.DELETED, roles={INSTITUTION},
                label=_l("删除"), batch=True, style="danger")
    def delete(self, app, user, data):
        """Deleting is a transition too: checked like any other, audited, and the row
        is kept (hidden from every list) so that no record is ever lost."""


def application_errors(app):
    """Field → [Chinese messages] for an application being saved (SPEC R4)."""
    from app.models.relief import DISEASES, RELIEF_CATEGORIES
    from app.services.validators import ValidationError, age_from_id_number, check_id_number
    errors = {}

    def err(field, message):
        errors.setdefault(field, []).append(message)

    if app.category not in RELIEF_CATEGORIES:
        err("category", _("请选择救助类别"))
    if app.category == "unable_to_pay":
        for field, label in (("patient_name", _("姓名")), ("gender", _("性别")),
                             ("id_number", _("身份证号"))):
            if not (getattr(app, field) or "").strip():
                err(field, _("救助类别为“无力支付”时必须填写%(f)s", f=label))
    if app.id_number:
        try:
            app.id_number = check_id_number(app.id_number)
            app.age = age_from_id_number(app.id_number)
        except ValidationError as exc:
            err("id_number", exc.message)
    if app.age is not None and not 0 <= app.age <= 150:
        err("age", _("年龄应在0到150之间"))
    if app.start_at and app.end_at and app.end_at < app.start_at:
        err("end_at", _("救助结束时间不能早于救助开始时间"))
    if app.disease not in DISEASES:
        err("disease", _("请选择疾病名称"))
    if app.disease == "其他" and not (app.other_disease or "").strip():
        err("other_disease", _("疾病名称为“其他”时必须填写其他疾病"))
    for field in ("emergency_cost", "medical_cost", "living_cost", "requested_amount"):
        value = getattr(app, field)
        if value is None or Decimal(value) < 0:
            err(field, _("金额不能为空且不能小于0"))
    if not errors:
        medical, living = Decimal(app.medical_cost), Decimal(app.living_cost)
        requested = Decimal(app.requested_amount)
        if medical + living != requested:
            err("requested_amount", _(
                "申请基金拨付金额 %(r)s 元必须等于医疗费用 %(m)s 元与生活费用 %(l)s 元之和（%(s)s 元）",
                r=requested, m=medical, l=living, s=medical + living))
    return errors


def check_application(app):
    errors = application_errors(app)
    if errors:
        raise Refusal("；".join(m for msgs in errors.values() for m in msgs), status=422,
                      fields=errors)
