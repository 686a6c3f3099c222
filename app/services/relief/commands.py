"""疾病应急救助 commands (SPEC R7–R11): each writes its rows and their audit and commits at
its end; a refusal raised before that leaves nothing behind (the error handler rolls back).
Transitions of applications and reports go through the workflow engine instead."""
from app.errors import ConflictError, InvalidError
from app.extensions import db
from app.i18n import _, _l
from app.models.core import utcnow
from app.models.relief import ReliefEvaluation, ReliefPerformance, ReliefRecovery, ReliefReport
from app.services import files
from app.services.attachments import AttachmentError
from app.services.audit import record
from app.services.files import Slot
from app.services.relief import queries, rules
from app.workflows.engine import lock
from app.workflows.relief import ReliefReportFlow

RECOVERY_SLOT = Slot("recovery_proof", _l("追缴附件"), ("archive", "pdf", "image"), required=True)


def evaluate(app, user, score, content):
    """评价 a disbursed application once per side; evaluated and evaluating organisations
    and the year are filled by the system (SPEC R7)."""
    side, evaluated = rules.evaluation_side(app, user)
    exists = db.session.execute(db.select(ReliefEvaluation.id).where(
        ReliefEvaluation.application_id == app.id, ReliefEvaluation.side == side)).first()
    if exists:
        raise ConflictError(_("本单位已评价过该申请，不能重复评价，可在“我的评价”中修改"))
    row = ReliefEvaluation(application_id=app.id, side=side, organization_id=user.organization_id,
                           evaluated_org_id=evaluated, year=utcnow().year,
                           score=rules.score(score), content=(content or "").strip() or None)
    row.copy_scope_from(app)
    db.session.add(row)
    db.session.flush()
    record(user, "create", obj=row, comment=f"{row.score}")
    db.session.commit()
    return row


def register_recovery(user, applications, amount, recovered_on, remark, upload):
    """添加追缴记录: related applications (already scope-checked by the caller) must be
    审核通过 or 已拨款; amount > 0; the attachment is required (SPEC R8)."""
    value, day = rules.recovery_input(applications, amount, recovered_on)
    org = user.organization
    row = ReliefRecovery(organization=org, amount=value, recovered_on=day,
                         remark=(remark or "").strip() or None, applications=list(applications))
    row.copy_scope_from(org)
    db.session.add(row)
    db.session.flush()
    try:
        files.attach(row, RECOVERY_SLOT, upload, user)
    except AttachmentError as exc:   # the upload's own refusal, as invalid input of `file`
        raise InvalidError(str(exc), fields={"file": [str(exc)]}) from exc
    record(user, "create", obj=row, comment=str(value))
    db.session.commit()
    return row


def create_report(user, task):
    """数据提取 into the unit's new report for `task` (one per unit per task, SPEC R9)."""
    if task is None:
        raise InvalidError(_("请选择上报任务（每个任务每个单位只能上报一份）"),
                           fields={"task_id": [_("必选")]})
    org = user.organization
    if ReliefReportFlow.own_report(task.id, org.id) is not None:
        raise ConflictError(_("本单位已有该任务的上报数据"))
    report = ReliefReport(task_id=task.id, organization_id=org.id, kind="unit", state="draft",
                          **queries.extract_figures(org, task))
    report.copy_scope_from(org)
    db.session.add(report)
    db.session.flush()
    record(user, "create", obj=report, comment=str(task))
    db.session.commit()
    return report


def extract_again(report, user, editable_states=("draft", "returned")):
    """数据提取 again into the unit's own report while it can still be edited."""
    lock([report])      # not while it is being submitted: one after the other
    if report.kind != "unit" or report.state not in editable_states:
        raise ConflictError(_("只有待提交或已退回的本单位数据可以重新提取"))
    for name, value in queries.extract_figures(report.organization, report.task).items():
        setattr(report, name, value)
    record(user, "update", obj=report, comment=str(_("数据提取")))
    db.session.commit()
    return report


def generate_performance(user, start, end):
    """生成绩效数据 for the caller's unit; regenerating refreshes the figures and keeps the
    qualitative text (SPEC R11)."""
    org = user.organization
    figures = queries.performance_figures(org, start, end)
    row = db.session.execute(db.select(ReliefPerformance).where(
        ReliefPerformance.organization_id == org.id, ReliefPerformance.period_start == start,
        ReliefPerformance.period_end == end)).scalar_one_or_none()
    if row is None:
        row = ReliefPerformance(organization_id=org.id, period_start=start, period_end=end)
        row.copy_scope_from(org)
        db.session.add(row)
    for name, value in figures.items():
        setattr(row, name, value)
    row.generated_at = utcnow()
    db.session.flush()
    record(user, "update", obj=row, comment=f"{start}~{end}")
    db.session.commit()
    return row


def remove_file(user, application, attachment, may_remove):
    """A wrongly uploaded file taken away (audited). The application is locked first and
    `may_remove(application)` asked again under the lock, so a 提交 at the same moment cannot
    pass its attachment check on a file removed meanwhile."""
    try:
        lock([application])
        if not may_remove(application):
            raise ConflictError(_("当前状态为“%(state)s”，不能删除附件",
                                  state=application.state_label))
        db.session.delete(attachment)
        record(user, "update", obj=application,
               comment=_("删除附件：%(name)s", name=attachment.original_name))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
