"""疾病应急救助 (SPEC R1–R10) as a module of the portal: its menu, resources, roles, to-dos."""
from flask import url_for
from sqlalchemy import func

from app.demo.relief import load_relief, load_relief_reporting
from app.extensions import db
from app.i18n import _, _l
from app.models.relief import ReliefSummary
from app.module import Link, Module, View
from app.scope import region_scope
from app.views.relief import reporting as rr
from app.views.relief.screens import (ReliefApplicationApi, ReliefApplicationView,
                                      ReliefPrepaymentApi, ReliefPrepaymentView,
                                      ReliefReviewView)
from app.workflows.engine import user_has_role
from app.workflows.relief import (AGENCY, HEALTH_COMMISSION, INSTITUTION,
                                  ReliefApplicationFlow, ReliefReportFlow)

SHARED = {"ReliefEvaluationView": "*", "ReliefEvaluationApi": "*",
          "ReliefRecoveryView": "*", "ReliefRecoveryApi": "*", "ReliefReportView": "*",
          "ReliefReportApi": "*", "ReliefPerformanceView": "*", "ReliefPerformanceApi": "*",
          "ReliefReportTaskApi": ["can_get", "can_info"], "机构互评总览": ["menu_access"],
          "ReliefStatisticsView": "*"}
REVIEW = {"ReliefReportReviewView": "*", "ReliefStatisticsView": "*"}
ROLES = {
    INSTITUTION: {"ReliefApplicationView": "*", "ReliefApplicationApi": "*",
                  "ReliefPrepaymentView": "*", "ReliefPrepaymentApi": "*", **SHARED},
    AGENCY: {"ReliefReviewView": "*", "ReliefApplicationApi": "*",
             "ReliefPrepaymentView": ["can_list", "can_show"],
             "ReliefPrepaymentApi": ["can_get", "can_info"],
             "OrganizationView": "*", "OrganizationApi": "*", "AccountView": "*",
             **SHARED, **REVIEW},
    HEALTH_COMMISSION: {"OrganizationView": "*", "OrganizationApi": "*", "AccountView": "*",
                        "ReliefPrepaymentView": ["can_list", "can_show"],
                        "ReliefReportView": "*", "ReliefReportApi": "*", **REVIEW},
}


def _counts(where, states):
    """{state: applications} from the summary table (one row per unit, state, category)."""
    S = ReliefSummary
    return {state: int(n or 0) for state, n in db.session.execute(
        db.select(S.state, func.sum(S.n)).where(where, S.state.in_(states)).group_by(S.state))}


def todos(user):
    rows = []
    if user_has_role(user, {INSTITUTION}):
        counts = _counts(region_scope(ReliefSummary, user), ("draft", "returned"))
        rows += [(_("待提交"), counts.get("draft", 0), "ReliefApplicationView.list", "draft"),
                 (_("退回给我"), counts.get("returned", 0), "ReliefApplicationView.list",
                  "returned")]
    if user_has_role(user, {AGENCY}) and user.organization_id:
        counts = _counts(ReliefSummary.reviewer_org_id == user.organization_id,
                         ("submitted", "approved"))
        rows += [(_("待审核"), counts.get("submitted", 0), "ReliefReviewView.list", "submitted"),
                 (_("待拨款"), counts.get("approved", 0), "ReliefReviewView.list", "approved")]
    return [{"label": label, "count": count, "url": url_for(endpoint) + f"?_flt_0_state={state}"}
            for label, count, endpoint, state in rows]


def demo(orgs, users):
    load_relief(orgs, users)
    load_relief_reporting(orgs, users)


MODULE = Module(
    name="relief", label=_l("疾病应急救助"),
    menu=(
        View(ReliefApplicationView, "应急救助基金申请", _l("应急救助基金申请"), "fa-file-text-o"),
        View(ReliefReviewView, "救助申请审核", _l("救助申请审核"), "fa-check-square-o"),
        View(ReliefPrepaymentView, "预拨款管理", _l("预拨款管理"), "fa-money"),
        View(rr.ReliefEvaluationView, "我的评价", _l("评价管理"), "fa-star"),
        Link("机构互评总览", _l("机构互评总览"), "/relief/evaluations/overview", "fa-bar-chart"),
        View(rr.ReliefRecoveryView, "追缴资金登记", _l("追缴资金登记"), "fa-undo"),
        View(rr.ReliefReportView, "数据上报", _l("数据上报"), "fa-upload"),
        View(rr.ReliefReportReviewView, "上报数据浏览", _l("上报数据浏览"), "fa-sitemap"),
        View(rr.ReliefPerformanceView, "绩效填报", _l("绩效填报"), "fa-line-chart"),
        View(rr.ReliefReportTaskView, "上报任务", _l("上报任务"), "fa-tasks"),
        View(rr.ReliefStatisticsView, "救助数据统计", _l("救助数据统计"), "fa-table"),
    ),
    apis=(ReliefApplicationApi, ReliefPrepaymentApi, rr.ReliefEvaluationApi,
          rr.ReliefRecoveryApi, rr.ReliefReportTaskApi, rr.ReliefReportApi,
          rr.ReliefPerformanceApi),
    roles=ROLES,
    default_roles={"medical": [INSTITUTION], "agency": [AGENCY],
                   "health_commission": [HEALTH_COMMISSION],
                   "insurance_bureau": [HEALTH_COMMISSION], "national": [HEALTH_COMMISSION]},
    workflows=(ReliefApplicationFlow, ReliefReportFlow),
    todos=todos, demo=demo,
)
