"""我的待办 (SPEC P13): counts of what awaits the user in every module, plus announcements."""
from flask import g, redirect, url_for
from flask_appbuilder import IndexView, expose
from sqlalchemy import func

from app.extensions import db
from app.i18n import _
from app.models.core import Announcement
from app.models.jobs import ExportJob
from app.services import files
from app.models.relief import ReliefSummary
from app.scope import region_scope
from app.workflows.engine import user_has_role
from app.workflows.relief import AGENCY, INSTITUTION


def _relief_counts(where, states):
    """{state: applications} from the summary table (one row per unit, state, category)."""
    S = ReliefSummary
    return {state: int(n or 0) for state, n in db.session.execute(
        db.select(S.state, func.sum(S.n)).where(where, S.state.in_(states)).group_by(S.state))}


def relief_todos(user):
    rows = []
    if user_has_role(user, {INSTITUTION}):
        counts = _relief_counts(region_scope(ReliefSummary, user), ("draft", "returned"))
        rows += [(_("待提交"), counts.get("draft", 0), "ReliefApplicationView.list", "draft"),
                 (_("退回给我"), counts.get("returned", 0), "ReliefApplicationView.list",
                  "returned")]
    if user_has_role(user, {AGENCY}) and user.organization_id:
        counts = _relief_counts(ReliefSummary.reviewer_org_id == user.organization_id,
                                ("submitted", "approved"))
        rows += [(_("待审核"), counts.get("submitted", 0), "ReliefReviewView.list", "submitted"),
                 (_("待拨款"), counts.get("approved", 0), "ReliefReviewView.list", "approved")]
    return [{"module": _("疾病应急救助"), "label": label, "count": count,
             "url": url_for(endpoint) + f"?_flt_0_state={state}"}
            for label, count, endpoint, state in rows]


def injury_todos(user):
    """工伤: the hospital's drafts and rejections, the employer's and the agency's queue."""
    from app.models.injury import InjuryDeclaration as D
    from app.workflows import injury as flow
    wanted = []
    if user_has_role(user, {flow.HOSPITAL}):
        wanted += [(_("待提交业务"), "draft", "InjuryPendingView.index", ""),
                   (_("未通过"), "rejected", "InjuryDeclarationView.list", "?status=rejected")]
    if user_has_role(user, {flow.EMPLOYER}):
        wanted.append((_("待单位审核"), "employer_review", "InjuryEmployerReviewView.list",
                       "?status=employer_review"))
    if user_has_role(user, {flow.AGENCY}):
        wanted.append((_("待经办审核"), "agency_review", "InjuryAgencyReviewView.list",
                       "?status=agency_review"))
    if not wanted:
        return []
    from app.services.injury import approve_overdue
    approve_overdue()      # lazily, when read (SPEC W6)
    counts = dict(db.session.execute(
        db.select(D.state, func.count()).where(region_scope(D, user),
                                               D.state.in_([w[1] for w in wanted]))
        .group_by(D.state)).all())
    return [{"module": _("工伤服务"), "label": label, "count": counts.get(state, 0),
             "url": url_for(endpoint) + query} for label, state, endpoint, query in wanted]


def injury_hall(user):
    """A designated hospital's home page is its service hall (SPEC W2)."""
    from app.models.injury import DECLARATION_KINDS
    from app.services.injury import hall_summary
    from app.workflows.injury import HOSPITAL
    if not user_has_role(user, {HOSPITAL}) or not user.organization_id:
        return None
    return {"summary": hall_summary(user), "kinds": DECLARATION_KINDS}


def phs_todos(user):
    """基本公卫: reports of the level below awaiting this level, change requests at it."""
    from app.models.phs import PhsChangeRequest, PhsReport
    from app.services import phs
    org = getattr(user, "organization", None)
    roles = {phs.COUNTY, phs.CITY, phs.PROVINCE, phs.NATIONAL}
    if org is None or not user_has_role(user, roles):
        return []
    waiting = db.session.execute(db.select(func.count(PhsReport.id)).where(
        PhsReport.reviewer_org_id == org.id, PhsReport.state == "submitted",
        PhsReport.task_id == phs.current_round().id)).scalar()
    changes = db.session.execute(db.select(func.count(PhsChangeRequest.id)).where(
        PhsChangeRequest.reviewer_org_id == org.id,
        PhsChangeRequest.state == "pending")).scalar()
    return [{"module": _("基本公卫"), "label": _("待审核的机构信息"), "count": waiting,
             "url": url_for("PhsReviewView.index")},
            {"module": _("基本公卫"), "label": _("待审核的申请修改"), "count": changes,
             "url": url_for("PhsChangeRequestView.list")}]


def registry_todos(user):
    """机构信息维护: the agency's reviews and confirmations, national coding, the
    maintainer's returned record and authorisations still to upload. One scoped COUNT each."""
    from app.models import registry as m
    from app.services import registry as rules
    wanted = []
    if user_has_role(user, {rules.AGENCY}):
        wanted += [(_("待审核的机构维护授权"), m.RegistryAuthorization, "uploaded",
                    "RegistryAuthorizationView.list"),
                   (_("待审核的人员信息"), m.RegistryStaff, "submitted", "RegistryStaffView.list"),
                   (_("待确认的定点协议"), m.RegistryAgreement, "pending",
                    "RegistryAgreementView.list"),
                   (_("待审核的证号变更申请"), m.RegistryCertChange, "pending",
                    "RegistryCertChangeView.list")]
    if user_has_role(user, {rules.NATIONAL}):
        wanted.append((_("待审核赋码的机构"), m.RegistryInstitution, "submitted",
                       "RegistryInstitutionView.list"))
    if user_has_role(user, {rules.MAINTAINER}):
        wanted.append((_("退回修改的机构信息"), m.RegistryInstitution, "returned",
                       "RegistryInstitutionView.list"))
    if user_has_role(user, {rules.REGISTRANT}):
        wanted.append((_("待上传的授权文书"), m.RegistryAuthorization, "draft",
                       "RegistryAuthorizationView.list"))
    rows = []
    for label, model, state, endpoint in wanted:
        n = db.session.execute(db.select(func.count(model.id)).where(
            region_scope(model, user), model.state == state)).scalar()
        rows.append({"module": _("机构信息维护"), "label": label, "count": n,
                     "url": url_for(endpoint) + f"?_flt_0_state={state}"})
    return rows


def export_todos(user):
    ready = db.session.execute(db.select(func.count()).select_from(ExportJob).where(
        ExportJob.user_id == user.id, ExportJob.state == "done",
        ExportJob.file_name.is_not(None))).scalar()
    if not ready:
        return []
    return [{"module": _("系统"), "label": _("导出已完成"), "count": ready,
             "url": url_for("ExportJobView.list")}]


def latest_announcements(limit):
    """通知公告 with their downloads, newest first (home page and the 工伤 hall)."""
    return db.session.execute(
        db.select(Announcement).where(Announcement.active.is_(True))
        .order_by(Announcement.published_on.desc(), Announcement.id.desc()).limit(limit)
    ).scalars().all()


class HomeView(IndexView):
    index_template = "home/index.html"

    @expose("/")
    def index(self):
        if g.user is None or not g.user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        announcements = latest_announcements(10)
        attachments = files.files_of_many(announcements)
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    hall=injury_hall(g.user),
                                    todos=(relief_todos(g.user) + injury_todos(g.user)
                                           + phs_todos(g.user) + registry_todos(g.user)
                                           + export_todos(g.user)),
                                    announcements=announcements, attachments=attachments)
