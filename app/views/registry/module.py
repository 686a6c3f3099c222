"""医疗机构信息维护 (SPEC M1–M7) as a module of the portal."""
from app.i18n import _l
from app.module import Hidden, LoginLink, Module, View
from app.demo.registry import load_registry
from app.services.registry import rules
from app.views.registry import agreements, api, authorization, screens
from app.views.registry.cli import registry as registry_cli
from app.views.registry.todos import todos
from app.workflows.registry import (RegistryAgreementFlow, RegistryAuthorizationFlow,
                                    RegistryCertChangeFlow, RegistryInstitutionFlow,
                                    RegistryStaffFlow)

# Screens only: each REST resource mirrors the permissions of its screens (`screens = mirror(…)`).
EXPORT = ["can_export", "can_export_standard"]     # 导出查询数据 of a list one may read
APPLY = {"RegistryAuthorizationView": "*", "RegistryInstitutionView": "*"}
STAFF = {"RegistryStaffView": "*", "RegistryInstitutionView": ["can_list", "can_show", *EXPORT]}
REVIEW = {"RegistryAuthorizationView": ["can_list", "can_show", "can_fire",
                                        "can_transition_form", "approve", "reject", *EXPORT],
          "RegistryInstitutionView": "*", "RegistryCertChangeView": "*",
          "RegistryStaffView": ["can_list", "can_show", "can_fire",
                                "can_transition_form", "approve", "reject", *EXPORT],
          "DesignatedInstitutionView": "*"}
# The 医保部门 that signs designated-service agreements (seed 004 第九步): confirms and
# modifies the agreements made with it; the relief agency has no part in them.
INSURE = {"RegistryAgreementView": ["can_list", "can_show", "can_edit_agreement", "can_upload",
                                    "can_fire", "can_transition_form", "confirm", *EXPORT],
          "DesignatedInstitutionView": "*"}
ROLES = {
    rules.REGISTRANT: APPLY,
    rules.MAINTAINER: {**APPLY, "RegistryCertChangeView": "*",
                       "RegistryAgreementView": "*", "RegistryStaffView": "*"},
    rules.DOCTOR_EDITOR: STAFF,
    rules.NURSE_EDITOR: STAFF,
    rules.AGENCY: REVIEW,
    rules.INSURER: INSURE,
    rules.NATIONAL: {"RegistryInstitutionView": "*",
                     "RegistryCertChangeView": ["can_list", "can_show", *EXPORT],
                     "DesignatedInstitutionView": "*"},
}
AUDIT_ACTIONS = {"registry_register": "注册账号", "registry_add": "新增机构",
                 "registry_edit": "维护", "registry_authorize": "申请授权",
                 "registry_cert_change": "证号变更申请", "registry_agreement_add": "新增协议",
                 "registry_agreement_edit": "修改协议", "registry_staff_save": "保存人员信息"}


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
    default_roles={"agency": [rules.AGENCY], "insurance_bureau": [rules.INSURER],
                   "national": [rules.NATIONAL]},
    workflows=(RegistryInstitutionFlow, RegistryAuthorizationFlow, RegistryCertChangeFlow,
               RegistryAgreementFlow, RegistryStaffFlow),
    todos=todos, help="registry/guide.html",
    job_modules=("app.services.registry.jobs",),
    schedule={"registry_sync_agreements": "5 * * * *"},
    cli=registry_cli, audit_actions=AUDIT_ACTIONS, demo=load_registry,
    login_links=(LoginLink(_l("医疗机构信息维护人员？"), _l("注册账号"),
                           "RegistryRegisterView.register"),),
)
