"""疾病应急救助 (SPEC R1–R10) as a module of the portal: its menu, resources, roles, to-dos."""
from app.demo.relief import load_relief, load_relief_reporting
from app.i18n import _l
from app.module import Link, Module, View
from app.views.relief import reporting as rr
from app.views.relief.screens import (ReliefApplicationApi, ReliefApplicationView,
                                      ReliefPrepaymentApi, ReliefPrepaymentView,
                                      ReliefReviewView)
from app.views.relief.todos import todos
from app.workflows.relief import (AGENCY, HEALTH_COMMISSION, INSTITUTION,
                                  ReliefApplicationFlow, ReliefReportFlow)

SHARED = {"ReliefEvaluationView": "*", "ReliefRecoveryView": "*", "ReliefReportView": "*",
          "ReliefPerformanceView": "*", "机构互评总览": ["menu_access"],
          "ReliefStatisticsView": "*"}
REVIEW = {"ReliefReportReviewView": "*", "ReliefStatisticsView": "*"}
# Screens only: each REST resource mirrors the permissions of its screens (`screens = mirror(…)`).
ROLES = {
    INSTITUTION: {"ReliefApplicationView": "*", "ReliefPrepaymentView": "*", **SHARED},
    AGENCY: {"ReliefReviewView": "*", "ReliefPrepaymentView": ["can_list", "can_show"],
             "OrganizationView": "*", "AccountView": "*",
             **SHARED, **REVIEW},
    HEALTH_COMMISSION: {"OrganizationView": "*", "AccountView": "*",
                        "ReliefPrepaymentView": ["can_list", "can_show"],
                        "ReliefReportView": "*", **REVIEW},
}


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
    todos=todos, demo=demo, help="relief/help.html",
)
