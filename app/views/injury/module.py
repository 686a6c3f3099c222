"""工伤定点医疗机构服务 (SPEC W1–W8) as a module of the portal."""
from flask import url_for
from sqlalchemy import func

from app.demo.injury import load_injury
from app.extensions import db
from app.i18n import _, _l
from app.models.injury import (DECLARATION_KINDS, HospitalState, InjuryDeclaration,
                               InjuryHospital)
from app.module import Hidden, LoginLink, Module, View
from app.scope import region_scope
from app.services.injury.commands import approve_overdue
from app.services.injury.queries import hall_summary
from app.views.injury import api, hospitals, master, register, review, screens
from app.views.injury.cli import injury as injury_cli
from app.workflows.engine import user_has_role
from app.workflows.injury import (AGENCY, EMPLOYER, HOSPITAL, InjuryDeclarationFlow,
                                  InjuryHospitalFlow)

# Screens only: each REST resource mirrors the permissions of its screens (`screens = mirror(…)`).
READ = {"InjuryDeviceItemView": ["can_list", "can_show"]}
ROLES = {
    HOSPITAL: {"InjuryHallView": "*", "InjuryDeclareView": "*", "InjuryPendingView": "*",
               "InjuryDeclarationView": "*", **READ},
    EMPLOYER: {"InjuryEmployerReviewView": "*", **READ},
    AGENCY: {**READ, "InjuryAgencyReviewView": "*", "InjuryDeterminationView": "*",
             "InjuryHospitalView": "*"},
}


def todos(user):
    """The hospital's drafts and rejections, the employer's and the agency's queue."""
    wanted = []
    if user_has_role(user, {HOSPITAL}):
        wanted += [(_("待提交业务"), "draft", "InjuryPendingView.index", ""),
                   (_("未通过"), "rejected", "InjuryDeclarationView.list", "?status=rejected")]
    if user_has_role(user, {EMPLOYER}):
        wanted.append((_("待单位审核"), "employer_review", "InjuryEmployerReviewView.list",
                       "?status=employer_review"))
    if user_has_role(user, {AGENCY}):
        wanted.append((_("待经办审核"), "agency_review", "InjuryAgencyReviewView.list",
                       "?status=agency_review"))
    if not wanted:
        return []
    approve_overdue()      # lazily, when read (SPEC W6)
    D = InjuryDeclaration
    counts = dict(db.session.execute(
        db.select(D.state, func.count()).where(region_scope(D, user),
                                               D.state.in_([w[1] for w in wanted]))
        .group_by(D.state)).all())
    found = [{"label": label, "count": counts.get(state, 0), "url": url_for(endpoint) + query}
             for label, state, endpoint, query in wanted]
    if user_has_role(user, {AGENCY}):
        found.append({"label": _("待审核定点医疗机构"), "url": url_for(
            "InjuryHospitalView.list") + "?_flt_0_state=pending", "count": db.session.execute(
            db.select(func.count()).select_from(InjuryHospital).where(
                region_scope(InjuryHospital, user),
                InjuryHospital.state == HospitalState.PENDING.value)).scalar()})
    return found


def hall(user):
    """A designated hospital's home page is its service hall (SPEC W2)."""
    if not user_has_role(user, {HOSPITAL}) or not user.organization_id:
        return None
    return {"template": "injury/_home_panel.html", "summary": hall_summary(user),
            "kinds": DECLARATION_KINDS}


MODULE = Module(
    name="injury", label=_l("工伤服务"),
    menu=(
        View(screens.InjuryHallView, "工伤服务大厅", _l("服务大厅"), "fa-home"),
        View(screens.InjuryDeclareView, "工伤保险业务", _l("工伤保险业务"), "fa-id-card-o"),
        View(screens.InjuryPendingView, "我的待提交业务", _l("我的待提交业务"), "fa-inbox"),
        View(review.InjuryDeclarationView, "办理情况查询", _l("办理情况查询"), "fa-search"),
        View(review.InjuryEmployerReviewView, "单位审核", _l("单位审核"), "fa-building-o"),
        View(review.InjuryAgencyReviewView, "经办审核", _l("经办审核"), "fa-check-square-o"),
        View(hospitals.InjuryHospitalView, "定点医疗机构审核", _l("定点医疗机构审核"),
             "fa-hospital-o"),
        View(master.InjuryDeterminationView, "工伤认定信息", _l("工伤认定信息"),
             "fa-address-book-o"),
        View(master.InjuryDeviceItemView, "辅助器具目录", _l("辅助器具目录"), "fa-wheelchair"),
        Hidden(register.InjuryRegisterView),
    ),
    apis=(api.InjuryDeterminationApi, api.InjuryDeclarationApi, api.InjuryDeviceItemApi),
    roles=ROLES,
    default_roles={"medical": [HOSPITAL], "agency": [AGENCY], "employer": [EMPLOYER]},
    workflows=(InjuryDeclarationFlow, InjuryHospitalFlow),
    todos=todos, home_panels=(hall,), help="injury/help.html",
    job_modules=("app.services.injury.jobs",),
    schedule={"injury_approve_overdue": "*/10 * * * *"},
    cli=injury_cli, audit_actions={"register": "马上注册"}, demo=load_injury,
    login_links=(LoginLink(_l("工伤定点医疗机构尚未开通网上服务？"), _l("马上注册"),
                           "InjuryRegisterView.register"),),
)
