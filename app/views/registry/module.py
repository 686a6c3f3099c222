"""医疗机构信息维护 (SPEC M1–M7) as a module of the portal."""
from flask import url_for
from sqlalchemy import func

from app.extensions import db
from app.i18n import _, _l
from app.models import registry as m
from app.module import Hidden, LoginLink, Module, View
from app.scope import region_scope
from app.demo.registry import load_registry
from app.services.registry import rules
from app.views.registry import agreements, api, authorization, screens
from app.views.registry.cli import registry as registry_cli
from app.workflows.engine import user_has_role
from app.workflows.registry import (RegistryAgreementFlow, RegistryAuthorizationFlow,
                                    RegistryCertChangeFlow, RegistryInstitutionFlow,
                                    RegistryStaffFlow)

APPLY = {"RegistryAuthorizationView": "*", "RegistryAuthorizationApi": "*",
         "RegistryInstitutionView": "*", "RegistryInstitutionApi": "*"}
STAFF = {"RegistryStaffView": "*", "RegistryStaffApi": "*",
         "RegistryInstitutionView": ["can_list", "can_show"],
         "RegistryInstitutionApi": ["can_get", "can_info"]}
REVIEW = {"RegistryAuthorizationView": ["can_list", "can_show", "can_fire",
                                        "can_transition_form", "approve", "reject"],
          "RegistryAuthorizationApi": "*", "RegistryInstitutionView": "*",
          "RegistryInstitutionApi": "*", "RegistryCertChangeView": "*",
          "RegistryAgreementView": ["can_list", "can_show", "can_edit_agreement",
                                    "can_upload", "can_fire", "can_transition_form",
                                    "confirm"],
          "RegistryAgreementApi": "*",
          "RegistryStaffView": ["can_list", "can_show", "can_fire",
                                "can_transition_form", "approve", "reject"],
          "RegistryStaffApi": "*", "DesignatedInstitutionView": "*"}
ROLES = {
    rules.REGISTRANT: APPLY,
    rules.MAINTAINER: {**APPLY, "RegistryCertChangeView": "*",
                       "RegistryAgreementView": "*", "RegistryAgreementApi": "*",
                       "RegistryStaffView": "*", "RegistryStaffApi": "*"},
    rules.DOCTOR_EDITOR: STAFF,
    rules.NURSE_EDITOR: STAFF,
    rules.AGENCY: REVIEW,
    rules.NATIONAL: {"RegistryInstitutionView": "*", "RegistryInstitutionApi": "*",
                     "RegistryCertChangeView": ["can_list", "can_show"],
                     "DesignatedInstitutionView": "*"},
}
AUDIT_ACTIONS = {"registry_register": "注册账号", "registry_add": "新增机构",
                 "registry_edit": "维护", "registry_authorize": "申请授权",
                 "registry_cert_change": "证号变更申请", "registry_agreement_add": "新增协议",
                 "registry_agreement_edit": "修改协议", "registry_staff_save": "保存人员信息"}


def todos(user):
    """The agency's reviews and confirmations, national coding, the maintainer's returned
    record and authorisations still to upload. One scoped COUNT each."""
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
        rows.append({"label": label, "count": n,
                     "url": url_for(endpoint) + f"?_flt_0_state={state}"})
    return rows


MODULE = Module(
    name="registry", label=_l("机构信息维护"),
    menu=(
        View(authorization.RegistryAuthorizationView, "机构维护授权", _l("机构维护授权"),
             "fa-id-card-o"),
        View(screens.RegistryInstitutionView, "医疗机构信息维护", _l("医疗机构信息维护"),
             "fa-hospital-o"),
        View(screens.RegistryCertChangeView, "证号变更申请", _l("证号变更申请"), "fa-exchange"),
        View(screens.RegistryStaffView, "医师护士信息维护", _l("医师护士信息维护"), "fa-user-md"),
        View(agreements.RegistryAgreementView, "医疗机构定点协议管理", _l("医疗机构定点协议管理"),
             "fa-file-text-o"),
        View(agreements.DesignatedInstitutionView, "定点医疗机构名单", _l("定点医疗机构名单"),
             "fa-list"),
        Hidden(authorization.RegistryRegisterView),
    ),
    apis=(api.RegistryInstitutionApi, api.RegistryAuthorizationApi, api.RegistryAgreementApi,
          api.RegistryStaffApi),
    roles=ROLES,
    default_roles={"agency": [rules.AGENCY], "national": [rules.NATIONAL]},
    workflows=(RegistryInstitutionFlow, RegistryAuthorizationFlow, RegistryCertChangeFlow,
               RegistryAgreementFlow, RegistryStaffFlow),
    todos=todos,
    job_modules=("app.services.registry.jobs",),
    schedule={"registry_sync_agreements": "5 * * * *"},
    cli=registry_cli, audit_actions=AUDIT_ACTIONS, demo=load_registry,
    login_links=(LoginLink(_l("医疗机构信息维护人员？"), _l("注册账号"),
                           "RegistryRegisterView.register"),),
)
