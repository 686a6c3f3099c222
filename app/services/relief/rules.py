"""疾病应急救助 field rules (SPEC R3–R11): each checks what a form, an API body or a
transition's data says and raises InvalidError (422) with the field's messages, or
ConflictError (409) when the record is not in a state for it. Rules never write or commit."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from app.errors import ConflictError, ForbiddenError, InvalidError
from app.i18n import _, _l
from app.models.relief import DISEASES, RELIEF_CATEGORIES, REPORT_FIGURES, ApplicationState as S
from app.services.validators import (ValidationError, age_from_id_number, check_id_number,
                                     check_phone)

# The agency's findings on a review (SPEC R5): field → label, shared by the review page's
# form (app/views/relief/forms.py) and the messages below.
REVIEW_LABELS = {
    "poverty": _l("贫困对象"), "low_income": _l("低保"),
    "basic_insurance_amount": _l("基本医保可支付"),
    "serious_illness_amount": _l("大病保险可支付"),
    "medical_assistance_amount": _l("医疗救助可支付"),
    "other_fund_amount": _l("其他可支付"),
}
REVIEW_AMOUNTS = ("basic_insurance_amount", "serious_illness_amount",
                  "medical_assistance_amount", "other_fund_amount")
# the applications a recovery may relate (SPEC R8)
RECOVERABLE_STATES = (S.APPROVED.value, S.DISBURSED.value)


# ---- values of a submitted body -----------------------------------------------------------
def _invalid(field, message):
    """The refusal of one field: its message is also the one shown beside the field."""
    return InvalidError(message, fields={field: [message]})


def money(data, key, label, required=False):
    """`data[key]` as an amount in yuan (≥ 0, at most two decimals); None when empty."""
    raw = str(data.get(key) or "").strip()
    if not raw:
        if required:
            raise _invalid(key, _("请填写%(f)s", f=label))
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise _invalid(key, _("%(f)s必须是金额", f=label))
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise _invalid(key, _("%(f)s必须是不小于0且最多两位小数的金额", f=label))
    return value


def yes_no(data, key, label, required=False):
    raw = str(data.get(key, "")).strip().lower()
    if raw in ("1", "true", "是", "y", "yes"):
        return True
    if raw in ("0", "false", "否", "n", "no"):
        return False
    if required:
        raise _invalid(key, _("请选择%(f)s", f=label))
    return None


def iso_day(data, key, message):
    """`data[key]` as a date written YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(str(data.get(key) or "").strip())
    except ValueError:
        raise _invalid(key, message)


# ---- R4 申请 -------------------------------------------------------------------------------
def application_errors(app):
    """Field → [Chinese messages] for an application being saved (SPEC R4)."""
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
    if app.phone:
        try:
            app.phone = check_phone(app.phone)
        except ValidationError as exc:
            err("phone", exc.message)
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
        raise InvalidError("；".join(m for msgs in errors.values() for m in msgs),
                           fields=errors)


# ---- R5 审核, 拨款 -------------------------------------------------------------------------
def review_findings(data):
    """The agency's findings (SPEC R5), required on every review outcome: column → value."""
    found = {"poverty": yes_no(data, "poverty", REVIEW_LABELS["poverty"], required=True),
             "low_income": yes_no(data, "low_income", REVIEW_LABELS["low_income"])}
    for key in REVIEW_AMOUNTS:
        found[key] = money(data, key, REVIEW_LABELS[key])
    found["review_opinion"] = (data.get("comment") or "").strip() or None
    return found


def disbursement(app, data):
    """(amount, day) of a 拨款: more than 0 and at most the requested amount."""
    amount = money(data, "disbursed_amount", _("拨款金额"), required=True)
    if amount <= 0 or amount > app.requested_amount:
        raise _invalid("disbursed_amount", _("拨款金额必须大于0且不超过申请基金拨付金额 %(a)s 元",
                                             a=app.requested_amount))
    day = iso_day(data, "disbursed_on", _("请填写正确的拨款日期（YYYY-MM-DD）"))
    return amount, day


# ---- R3 预拨款 -----------------------------------------------------------------------------
def check_prepayment(item):
    if item.amount is None or item.amount <= 0:
        raise _invalid("amount", _("拨款金额必须大于0"))
    if item.amount != Decimal(item.amount).quantize(Decimal("0.01")):
        raise _invalid("amount", _("拨款金额必须是不小于0且最多两位小数的金额"))


def prepayment_refusal(item, user, reports):
    """Why `user` may not correct or withdraw a registered prepayment (None when allowed):
    only its institution, and only before a submitted report has carried it up."""
    if item.organization_id != getattr(user, "organization_id", None):
        return ForbiddenError(_("只能修改或撤回本机构登记的预拨款"))
    if reports:
        return ConflictError(_("该预拨款已计入上报数据（%(r)s），不能修改或撤回",
                               r="、".join(str(r) for r in reports)))
    return None


# ---- R7 评价 -------------------------------------------------------------------------------
def score(raw):
    """A score typed on a form or sent in a body: an integer 1–100."""
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        value = None
    if value is None or not 1 <= value <= 100:
        raise _invalid("score", _("分值必须是1到100之间的整数"))
    return value


def check_evaluation(item, user):
    """An evaluation being edited: only the evaluating unit's own, score 1–100."""
    if item.organization_id != getattr(user, "organization_id", None):
        raise ForbiddenError(_("只能修改本单位的评价"))
    if not isinstance(item.score, int) or not 1 <= item.score <= 100:
        raise _invalid("score", _("分值必须是1到100之间的整数"))


def evaluation_side(app, user):
    """(side, evaluated organisation id) of `user` evaluating `app` (SPEC R7)."""
    if app.state != S.DISBURSED:
        raise ConflictError(_("拨款完成后才能评价"))
    org_id = getattr(user, "organization_id", None)
    if org_id == app.organization_id:
        return "institution", app.reviewer_org_id
    if org_id is not None and org_id == app.reviewer_org_id:
        return "agency", app.organization_id
    raise ForbiddenError(_("只有申请的医疗机构和审核经办机构可以评价"))


# ---- R8 追缴 -------------------------------------------------------------------------------
def recovery_input(applications, amount, recovered_on):
    """(amount, day) of a recovery; the related applications must be 审核通过 or 已拨款."""
    if not applications:
        raise _invalid("app_id", _("请勾选关联的救助申请"))
    wrong = [a for a in applications if a.state not in RECOVERABLE_STATES]
    if wrong:
        raise _invalid("app_id", _("只能关联审核通过或已拨款的申请：%(rows)s", rows="；".join(
            f"{a}（{a.state_label}）" for a in wrong)))
    value = money({"amount": amount}, "amount", _("追缴金额"), required=True)
    if value <= 0:
        raise _invalid("amount", _("追缴金额必须大于0"))
    day = iso_day({"recovered_on": recovered_on}, "recovered_on",
                  _("请填写正确的追缴日期（YYYY-MM-DD）"))
    return value, day


# ---- R9 上报任务, 上报数据 -----------------------------------------------------------------
def check_report_task(item):
    if item.period_start and item.period_end and item.period_end < item.period_start:
        raise _invalid("period_end", _("结束日期不能早于开始日期"))
    if item.deadline and item.period_end and item.deadline < item.period_end:
        raise _invalid("deadline", _("上报截止日期不能早于结束日期"))


def check_report_figures(item):
    """A unit's own report edited by hand: every figure present and not negative."""
    if item.kind != "unit":
        raise ConflictError(_("汇总数据由下级数据汇总生成，不能手工修改"))
    for name in REPORT_FIGURES:
        value = getattr(item, name)
        if value is None or value < 0:
            raise _invalid(name, _("%(f)s不能为空或小于0", f=REPORT_FIGURES[name]))
