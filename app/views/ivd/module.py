"""体外诊断试剂报量 (SPEC Q1–Q7) as a module of the portal."""
from app.demo.ivd import load_ivd
from app.i18n import _l
from app.module import Hidden, Link, Module, View
from app.views.ivd import api, fill, review, screens
from app.views.ivd.todos import todos
from app.workflows.ivd import HOSPITAL, REVIEWER, IvdAreaReportFlow, IvdHospitalReportFlow

# Screens only: each REST resource mirrors the permissions of its screens (`screens = mirror(…)`).
ROLES = {
    HOSPITAL: {"IvdFillView": "*"},
    REVIEWER: {"IvdHospitalReviewView": "*", "IvdAreaReviewView": "*",
               "报量项目审核": ["menu_access"], "报量项目管理": ["menu_access"]},
}

MODULE = Module(
    name="ivd", label=_l("体外诊断试剂报量"), category="报量项目管理",
    category_label=_l("报量项目管理"),
    menu=(
        View(screens.IvdProjectView, "报量项目配置", _l("报量项目配置"), "fa-cogs"),
        Hidden(screens.IvdCatalogView),
        View(fill.IvdFillView, "报量项目填报", _l("报量项目管理"), "fa-pencil-square-o"),
        Hidden(review.IvdHospitalReviewView),
        Hidden(review.IvdAreaReviewView),
        Link("报量项目审核", _l("报量项目审核"), "/ivd/review/areas/entry", "fa-check-square-o"),
        View(review.IvdNationalView, "全国报量数据", _l("全国报量数据"), "fa-globe"),
    ),
    apis=(api.IvdProjectApi, api.IvdCatalogItemApi, api.IvdHospitalReportApi,
          api.IvdAreaReportApi),
    roles=ROLES,
    default_roles={"medical": [HOSPITAL], "insurance_bureau": [REVIEWER]},
    workflows=(IvdHospitalReportFlow, IvdAreaReportFlow),
    job_modules=("app.services.ivd.exports",),
    todos=todos, demo=load_ivd, help="ivd/help.html",
)
