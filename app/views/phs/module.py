"""基本公卫 机构信息报送 (SPEC H1–H7) as a module of the portal."""
from flask import url_for
from sqlalchemy import func

from app.extensions import db
from app.i18n import _, _l
from app.models.phs import (PhsChangeRequest, PhsChangeRequestState, PhsReport,
                            PhsReportState)
from app.module import Module, View
from app.demo.phs import load_phs
from app.services.phs import queries
from app.services.phs.rules import CITY, COUNTY, NATIONAL, PROVINCE, UNIT
from app.views.phs import api, review, screens
from app.workflows.engine import user_has_role
from app.workflows.phs import PhsChangeRequestFlow, PhsReportFlow

UNIT_GRANTS = {"PhsInstitutionView": "*", "PhsInstitutionApi": "*", "PhsReportApi": "*"}
AREA_GRANTS = {**UNIT_GRANTS, "PhsReviewView": "*", "PhsProgressView": "*",
               "PhsChangeRequestView": "*", "PhsChangeRequestApi": "*"}
ROLES = {
    NATIONAL: {**AREA_GRANTS, "PhsRoundView": "*"},
    PROVINCE: AREA_GRANTS,
    CITY: AREA_GRANTS,
    COUNTY: {**AREA_GRANTS, "PhsAffiliationView": "*"},
    UNIT: UNIT_GRANTS,
}


def todos(user):
    """Reports of the level below awaiting this level, change requests at it."""
    org = getattr(user, "organization", None)
    roles = {COUNTY, CITY, PROVINCE, NATIONAL}
    if org is None or not user_has_role(user, roles):
        return []
    waiting = db.session.execute(db.select(func.count(PhsReport.id)).where(
        PhsReport.reviewer_org_id == org.id, PhsReport.state == PhsReportState.SUBMITTED.value,
        PhsReport.task_id == queries.current_round().id)).scalar()
    changes = db.session.execute(db.select(func.count(PhsChangeRequest.id)).where(
        PhsChangeRequest.reviewer_org_id == org.id,
        PhsChangeRequest.state == PhsChangeRequestState.PENDING.value)).scalar()
    return [{"label": _("待审核的机构信息"), "count": waiting, "url": url_for("PhsReviewView.index")},
            {"label": _("待审核的申请修改"), "count": changes,
             "url": url_for("PhsChangeRequestView.list")}]


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
    todos=todos, demo=load_phs,
)
