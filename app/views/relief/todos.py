"""疾病应急救助's 我的待办 (SPEC P13): applications by state from the summary table, and the
数据上报 reports of the caller (to submit, sent back) and of its subordinates (to review).
Every count is one GROUP BY and links to the list filtered the same way."""
from flask import url_for
from sqlalchemy import func

from app.extensions import db
from app.i18n import _
from app.models.relief import ReliefReport, ReliefReportTask, ReliefSummary
from app.scope import region_scope
from app.workflows.engine import user_has_role
from app.workflows.relief import AGENCY, INSTITUTION, ReliefReportFlow


def _application_counts(where, states):
    """{state: applications} from the summary table (one row per unit, state, category)."""
    S = ReliefSummary
    return {state: int(n or 0) for state, n in db.session.execute(
        db.select(S.state, func.sum(S.n)).where(where, S.state.in_(states)).group_by(S.state))}


def _filtered(endpoint, state, **args):
    return url_for(endpoint, **args) + f"{'&' if args else '?'}_flt_0_state={state}"


def application_todos(user):
    rows = []
    if user_has_role(user, {INSTITUTION}):
        counts = _application_counts(region_scope(ReliefSummary, user), ("draft", "returned"))
        rows += [(_("待提交"), counts.get("draft", 0), "ReliefApplicationView.list", "draft"),
                 (_("退回给我"), counts.get("returned", 0), "ReliefApplicationView.list",
                  "returned")]
    if user_has_role(user, {AGENCY}) and user.organization_id:
        counts = _application_counts(ReliefSummary.reviewer_org_id == user.organization_id,
                                     ("submitted", "approved"))
        rows += [(_("待审核"), counts.get("submitted", 0), "ReliefReviewView.list", "submitted"),
                 (_("待拨款"), counts.get("approved", 0), "ReliefReviewView.list", "approved")]
    return [{"label": label, "count": count, "url": _filtered(endpoint, state)}
            for label, count, endpoint, state in rows]


def report_todos(user):
    """数据上报: the unit's own reports to submit or sent back; 上报数据浏览: the reports
    awaiting this unit's review, one row per 上报任务 (the list shows one task at a time)."""
    if not user.organization_id:
        return []
    rows = []
    if user_has_role(user, ReliefReportFlow.SUBMITTER_ROLES):
        R = ReliefReport
        own = dict(db.session.execute(db.select(R.state, func.count(R.id)).where(
            R.organization_id == user.organization_id, R.state.in_(("draft", "returned")))
            .group_by(R.state)).all())
        rows += [{"label": _("待提交的上报数据"), "count": own.get("draft", 0),
                  "url": _filtered("ReliefReportView.list", "draft")},
                 {"label": _("退回的上报数据"), "count": own.get("returned", 0),
                  "url": _filtered("ReliefReportView.list", "returned")}]
    if user_has_role(user, ReliefReportFlow.REVIEWER_ROLES):
        rows += review_todos(user)
    return rows


def review_todos(user):
    R, T = ReliefReport, ReliefReportTask
    waiting = db.session.execute(db.select(T.id, T.name, func.count(R.id)).join(
        R, R.task_id == T.id).where(R.reviewer_org_id == user.organization_id,
                                    R.state == "submitted")
        .group_by(T.id, T.name).order_by(T.id)).all()
    if not waiting:
        return [{"label": _("待审核的上报数据"), "count": 0,
                 "url": url_for("ReliefReportReviewView.list")}]
    return [{"label": _("待审核的上报数据（%(task)s）", task=name), "count": n,
             "url": _filtered("ReliefReportReviewView.list", "submitted", task=task_id)}
            for task_id, name, n in waiting]


def todos(user):
    return application_todos(user) + report_todos(user)
