"""基本公卫's 我的待办 (SPEC P13): the reports of the level below awaiting this level and the
change requests at it (areas); the caller's own report still to report or sent back
(不通过 / 退回) and its institutions still incomplete (units). Indexed COUNTs, each linking
to the screen that acts on it."""
from flask import url_for
from sqlalchemy import func

from app.extensions import db
from app.i18n import _, _l
from app.models.phs import (PhsChangeRequest, PhsChangeRequestState, PhsInstitution,
                            PhsReport, PhsReportState)
from app.scope import region_scope
from app.services.phs import queries
from app.services.phs.rules import CITY, COUNTY, NATIONAL, PROVINCE, UNIT
from app.workflows.engine import user_has_role

S = PhsReportState
REVIEWERS = {COUNTY, CITY, PROVINCE, NATIONAL}
REPORTERS = {UNIT: (_l("待上报的机构信息"), _l("不通过的机构信息")),
             COUNTY: (_l("本级待确认并上报"), _l("本级上报被退回")),
             CITY: (_l("本级待确认并上报"), _l("本级上报被退回")),
             PROVINCE: (_l("本级待确认并上报"), _l("本级上报被退回"))}


def review_todos(user, org, round_):
    waiting = db.session.execute(db.select(func.count(PhsReport.id)).where(
        PhsReport.reviewer_org_id == org.id, PhsReport.state == S.SUBMITTED.value,
        PhsReport.task_id == round_.id)).scalar()
    changes = db.session.execute(db.select(func.count(PhsChangeRequest.id)).where(
        PhsChangeRequest.reviewer_org_id == org.id,
        PhsChangeRequest.state == PhsChangeRequestState.PENDING.value)).scalar()
    return [{"label": _("待审核的机构信息"), "count": waiting, "url": url_for("PhsReviewView.index")},
            {"label": _("待审核的申请修改"), "count": changes,
             "url": url_for("PhsChangeRequestView.list") + "?_flt_0_state=pending"}]


def own_report_todos(user, org, round_):
    """The caller's own report of the round: no row yet reads as 待上报 (the list opens it)."""
    role = next((r for r in REPORTERS if user_has_role(user, {r})), None)
    if role is None:
        return []
    found = db.session.execute(db.select(PhsReport.state, PhsReport.review_opinion).where(
        PhsReport.task_id == round_.id, PhsReport.organization_id == org.id)).first()
    state, opinion = found if found is not None else (S.DRAFT.value, None)
    to_report, sent_back = REPORTERS[role]
    if state == S.RETURNED.value and opinion:       # the reason, where the to-do is read
        sent_back = _("%(l)s（原因：%(r)s）", l=sent_back, r=opinion)
    url = url_for("PhsInstitutionView.list")
    rows = [{"label": to_report, "count": int(state == S.DRAFT.value), "url": url},
            {"label": sent_back, "count": int(state == S.RETURNED.value), "url": url}]
    if role == UNIT:
        I = PhsInstitution
        incomplete = db.session.execute(db.select(func.count(I.id)).where(
            region_scope(I, user), I.deleted.is_(False), I.is_complete.is_(False))).scalar()
        rows.append({"label": _("信息不完整的机构"), "count": incomplete,
                     "url": url + "?_flt_1_is_complete=y"})
    return rows


def todos(user):
    org = getattr(user, "organization", None)
    if org is None:
        return []
    round_ = queries.current_round()
    rows = own_report_todos(user, org, round_)
    if user_has_role(user, REVIEWERS):
        rows = review_todos(user, org, round_) + rows
    return rows
