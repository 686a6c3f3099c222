"""基本公卫 机构信息报送 (SPEC H1–H7) as a module of the portal."""
from app.i18n import _l
from app.module import Module, View
from app.demo.phs import load_phs
from app.services.phs.rules import CITY, COUNTY, NATIONAL, PROVINCE, UNIT
from app.views.phs import api, review, screens
from app.views.phs.todos import todos
from app.workflows.phs import PhsChangeRequestFlow, PhsReportFlow

# Screens only: each REST resource mirrors the permissions of its screens (`screens = mirror(…)`).
UNIT_GRANTS = {"PhsInstitutionView": "*"}
AREA_GRANTS = {**UNIT_GRANTS, "PhsReviewView": "*", "PhsProgressView": "*",
               "PhsChangeRequestView": "*"}
ROLES = {
    NATIONAL: {**AREA_GRANTS, "PhsRoundView": "*"},
    PROVINCE: AREA_GRANTS,
    CITY: AREA_GRANTS,
    COUNTY: {**AREA_GRANTS, "PhsAffiliationView": "*"},
    UNIT: UNIT_GRANTS,
}


MODULE = Module(
    name="phs", label=_l("基本公卫"),
    menu=(
        View(screens.PhsInstitutionView, "机构信息上报", _l("机构信息上报"), "fa-hospital-o"),
        View(review.PhsReviewView, "机构信息审核", _l("机构信息审核"), "fa-check-square-o"),
        View(review.PhsAffiliationView, "机构隶属关系维护", _l("机构隶属关系维护"), "fa-sitemap"),
        View(review.PhsChangeRequestView, "申请修改", _l("申请修改"), "fa-pencil"),
        View(review.PhsProgressView, "上报进度", _l("上报进度"), "fa-tasks"),
        View(review.PhsRoundView, "报送轮次", _l("报送轮次"), "fa-refresh"),
    ),
    apis=(api.PhsInstitutionApi, api.PhsReportApi, api.PhsChangeRequestApi),
    roles=ROLES,
    level_roles={("health_commission", "province"): PROVINCE,
                 ("health_commission", "city"): CITY,
                 ("health_commission", "county"): COUNTY,
                 ("national", "nation"): NATIONAL},
    workflows=(PhsReportFlow, PhsChangeRequestFlow),
    todos=todos, demo=load_phs, help="phs/help.html",
    audit_actions={"change_request": _l("提交申请修改")},
)
