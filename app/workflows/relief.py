"""疾病应急救助 application state machine (SPEC R4, R5) and its rules."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization, utcnow
from app.models.relief import APPLICATION_STATE_LABELS, ApplicationState as S, ReliefApplication
from app.services.files import Slot, required_attachments
from app.workflows.engine import Refusal, Workflow, querying, transition

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


@querying
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


# ---- R9–R10 数据上报 / 上报数据浏览 ---------------------------------------------------------------
from app.models.relief import (REPORT_FIGURES, ReliefPrepayment, ReliefRecovery,  # noqa: E402
                               ReliefReport)
from app.workflows.reporting import ReportingFlow  # noqa: E402

HEALTH_COMMISSION = "R 卫健委"


def _agencies_by_region():
    rows = db.session.execute(db.select(Organization).where(
        Organization.org_type == "agency", Organization.active.is_(True))
        .order_by(Organization.id)).scalars()
    out = {}
    for org in rows:
        out.setdefault(org.region_id, org)
    return out


def _agency_from(region, agencies):
    while region is not None:
        if region.id in agencies:
            return agencies[region.id]
        region = region.parent
    return None


def _one(org_type, **where):
    query = db.select(Organization).where(Organization.org_type == org_type,
                                          Organization.active.is_(True))
    for key, value in where.items():
        query = query.where(getattr(Organization, key) == value)
    return db.session.execute(query.order_by(Organization.id).limit(1)).scalar_one_or_none()


class ReliefReportFlow(ReportingFlow):
    """Institutions → city agency → province agency → province health commission →
    national health commission; a province agency may report to national directly."""
    model = ReliefReport
    object_type = "relief_report"
    SUBMITTER_ROLES = frozenset({INSTITUTION, AGENCY, HEALTH_COMMISSION})
    REVIEWER_ROLES = frozenset({AGENCY, HEALTH_COMMISSION})

    @classmethod
    def superior_of(cls, org, to_national=False, agencies=None):
        agencies = agencies if agencies is not None else _agencies_by_region()
        if org.org_type in ("medical", "public_health"):
            return _agency_from(org.region, agencies)
        if org.org_type == "agency" and org.level == "province":
            return (_one("national") if to_national else
                    _one("health_commission", level="province",
                         province_code=org.province_code))
        if org.org_type == "agency":
            return _agency_from(org.region.parent, agencies)
        if org.org_type == "health_commission" and org.level == "province":
            return _one("national")
        return None

    @classmethod
    def subordinates_of(cls, org):
        from app.scope import LEVEL_COLUMN
        query = db.select(Organization).where(
            Organization.active.is_(True), Organization.id != org.id,
            Organization.org_type.in_(("medical", "public_health", "agency",
                                       "health_commission")))
        level = org.region.level
        if level in LEVEL_COLUMN:
            query = query.where(getattr(Organization, LEVEL_COLUMN[level]) ==
                                getattr(org.region, LEVEL_COLUMN[level]))
        agencies = _agencies_by_region()
        return [o for o in db.session.execute(query.order_by(Organization.unit_code)).scalars()
                if (s := cls.superior_of(o, agencies=agencies)) is not None and s.id == org.id]


def extract_figures(org, task):
    """数据提取: the unit's own figures in the task's period, each one SQL aggregate
    (applications counted by submission date; drafts never submitted are not reported)."""
    from sqlalchemy import BigInteger, case, func, type_coerce
    from app.models.types import fen_to_yuan
    start = dt.datetime.combine(task.period_start, dt.time.min)
    end = dt.datetime.combine(task.period_end + dt.timedelta(days=1), dt.time.min)
    A = ReliefApplication
    fen = lambda col: type_coerce(col, BigInteger)  # noqa: E731
    count_if = lambda cond: func.coalesce(func.sum(case((cond, 1), else_=0)), 0)  # noqa: E731
    sum_if = lambda cond, col: func.coalesce(func.sum(case((cond, fen(col)), else_=0)), 0)  # noqa
    ok = A.state.in_(("approved", "disbursed"))
    row = db.session.execute(db.select(
        func.count(A.id), count_if(A.category == "unidentified"),
        count_if(A.category == "unable_to_pay"), count_if(A.state == "submitted"),
        count_if(ok), count_if(A.state == "returned"), count_if(A.state == "rejected"),
        count_if(A.state == "disbursed"), func.coalesce(func.sum(fen(A.requested_amount)), 0),
        sum_if(ok, A.requested_amount), func.coalesce(func.sum(fen(A.disbursed_amount)), 0))
        .where(A.organization_id == org.id, A.submitted_at >= start, A.submitted_at < end,
               A.state != "deleted")).one()
    prepaid = db.session.execute(db.select(func.coalesce(func.sum(fen(ReliefPrepayment.amount)), 0))
                                 .where(ReliefPrepayment.organization_id == org.id,
                                        ReliefPrepayment.paid_on >= task.period_start,
                                        ReliefPrepayment.paid_on <= task.period_end)).scalar()
    recovered = db.session.execute(db.select(func.coalesce(func.sum(fen(ReliefRecovery.amount)), 0))
                                   .where(ReliefRecovery.organization_id == org.id,
                                          ReliefRecovery.recovered_on >= task.period_start,
                                          ReliefRecovery.recovered_on <= task.period_end)).scalar()
    counts = [int(v) for v in row[:8]]
    amounts = [fen_to_yuan(v) for v in row[8:]] + [fen_to_yuan(prepaid), fen_to_yuan(recovered)]
    return dict(zip(REPORT_FIGURES, counts + amounts))


# ---- R7 评价, R8 追缴, R11 绩效 -------------------------------------------------------------------
def _score(raw):
    try:
        score = int(str(raw).strip())
    except (TypeError, ValueError):
        score = None
    if score is None or not 1 <= score <= 100:
        raise Refusal(_("分值必须是1到100之间的整数"), status=422, fields={"score": [_("1–100")]})
    return score


def evaluate(app, user, score, content):
    """评价 a disbursed application once per side; evaluated and evaluating organisations
    and the year are filled by the system (SPEC R7)."""
    from app.models.relief import ReliefEvaluation
    from app.services.audit import record
    if app.state != "disbursed":
        raise Refusal(_("拨款完成后才能评价"))
    org_id = getattr(user, "organization_id", None)
    if org_id == app.organization_id:
        side, evaluated = "institution", app.reviewer_org_id
    elif org_id is not None and org_id == app.reviewer_org_id:
        side, evaluated = "agency", app.organization_id
    else:
        raise Refusal(_("只有申请的医疗机构和审核经办机构可以评价"), status=403)
    exists = db.session.execute(db.select(ReliefEvaluation.id).where(
        ReliefEvaluation.application_id == app.id, ReliefEvaluation.side == side)).first()
    if exists:
        raise Refusal(_("本单位已评价过该申请，不能重复评价，可在“我的评价”中修改"))
    row = ReliefEvaluation(application_id=app.id, side=side, organization_id=org_id,
                           evaluated_org_id=evaluated, year=utcnow().year, score=_score(score),
                           content=(content or "").strip() or None)
    row.copy_scope_from(app)
    db.session.add(row)
    db.session.flush()
    record(user, "create", obj=row, comment=f"{row.score}")
    db.session.commit()
    return row


RECOVERY_SLOT = Slot("recovery_proof", _l("追缴附件"), ("archive", "pdf", "image"), required=True)


def register_recovery(user, applications, amount, recovered_on, remark, upload):
    """添加追缴记录: related applications (already scope-checked by the caller) must be
    审核通过 or 已拨款; amount > 0; the attachment is required (SPEC R8)."""
    from app.models.relief import ReliefRecovery
    from app.services import files
    from app.services.attachments import AttachmentError
    from app.services.audit import record
    if not applications:
        raise Refusal(_("请勾选关联的救助申请"), status=422)
    wrong = [a for a in applications if a.state not in ("approved", "disbursed")]
    if wrong:
        raise Refusal(_("只能关联审核通过或已拨款的申请：%(rows)s", rows="；".join(
            f"{a}（{a.state_label}）" for a in wrong)), status=422)
    value = money({"amount": amount}, "amount", _("追缴金额"), required=True)
    if value <= 0:
        raise Refusal(_("追缴金额必须大于0"), status=422, fields={"amount": [_("必须大于0")]})
    try:
        day = dt.date.fromisoformat(str(recovered_on or "").strip())
    except ValueError:
        raise Refusal(_("请填写正确的追缴日期（YYYY-MM-DD）"), status=422)
    org = user.organization
    row = ReliefRecovery(organization=org, amount=value, recovered_on=day,
                         remark=(remark or "").strip() or None, applications=list(applications))
    row.copy_scope_from(org)
    db.session.add(row)
    db.session.flush()
    try:
        files.attach(row, RECOVERY_SLOT, upload, user)
    except AttachmentError as exc:
        db.session.rollback()
        raise Refusal(str(exc), status=422)
    record(user, "create", obj=row, comment=str(value))
    db.session.commit()
    return row


def days_between(start, end):
    """end − start in days as an SQL expression, on either database."""
    from sqlalchemy import func
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def generate_performance(user, start, end):
    """生成绩效数据 for the caller's unit; regenerating refreshes the figures and keeps the
    qualitative text (SPEC R11). Agencies are measured on what they reviewed,
    institutions on what they submitted."""
    from sqlalchemy import BigInteger, case, func, type_coerce
    from app.models.relief import ReliefPerformance
    from app.models.types import fen_to_yuan
    from app.services.audit import record
    org = user.organization
    A = ReliefApplication
    unit = A.reviewer_org_id if org.org_type == "agency" else A.organization_id
    lo = dt.datetime.combine(start, dt.time.min)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min)
    fen = lambda col: type_coerce(col, BigInteger)  # noqa: E731
    count_if = lambda cond: func.coalesce(func.sum(case((cond, 1), else_=0)), 0)  # noqa: E731
    ok = A.state.in_(("approved", "disbursed"))
    received, approved, returned, rejected, amount_ok, amount_paid = db.session.execute(
        db.select(func.count(A.id), count_if(ok), count_if(A.state == "returned"),
                  count_if(A.state == "rejected"),
                  func.coalesce(func.sum(case((ok, fen(A.requested_amount)), else_=0)), 0),
                  func.coalesce(func.sum(fen(A.disbursed_amount)), 0))
        .where(unit == org.id, A.submitted_at >= lo, A.submitted_at < hi,
               A.state != "deleted")).one()
    avg_days = db.session.execute(db.select(func.avg(days_between(A.submitted_at, A.reviewed_at)))
                                  .where(unit == org.id, A.submitted_at >= lo, A.submitted_at < hi,
                                         A.reviewed_at.is_not(None))).scalar()
    recovered = db.session.execute(db.select(func.coalesce(func.sum(fen(ReliefRecovery.amount)), 0))
                                   .where(ReliefRecovery.organization_id == org.id,
                                          ReliefRecovery.recovered_on >= start,
                                          ReliefRecovery.recovered_on <= end)).scalar()
    from app.models.relief import ReliefReportTask
    T, R = ReliefReportTask, ReliefReport
    deadline = func.coalesce(T.deadline, T.period_end)
    on_time, total_reports = db.session.execute(
        db.select(count_if(func.date(R.submitted_at) <= deadline), func.count(R.id))
        .join(T, T.id == R.task_id)
        .where(R.organization_id == org.id, R.submitted_at.is_not(None),
               T.period_end >= start, T.period_end <= end)).one()
    row = db.session.execute(db.select(ReliefPerformance).where(
        ReliefPerformance.organization_id == org.id, ReliefPerformance.period_start == start,
        ReliefPerformance.period_end == end)).scalar_one_or_none()
    if row is None:
        row = ReliefPerformance(organization_id=org.id, period_start=start, period_end=end)
        row.copy_scope_from(org)
        db.session.add(row)
    row.apps_received, row.apps_approved = int(received), int(approved)
    row.apps_returned, row.apps_rejected = int(returned), int(rejected)
    row.approval_rate = round(1000 * int(approved) / int(received)) if received else None
    row.avg_review_days = round(100 * float(avg_days)) if avg_days is not None else None
    row.amount_approved, row.amount_disbursed = fen_to_yuan(amount_ok), fen_to_yuan(amount_paid)
    row.amount_recovered = fen_to_yuan(recovered)
    row.reports_on_time, row.reports_total = int(on_time), int(total_reports)
    row.generated_at = utcnow()
    db.session.flush()
    record(user, "update", obj=row, comment=f"{start}~{end}")
    db.session.commit()
    return row
