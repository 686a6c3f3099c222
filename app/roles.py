"""Roles as data (SPEC P6): role → the views (FAB view-menu names) it may use, with "*"
for every permission of that view. Created idempotently at start-up and by `flask
portal sync-roles`; super-admins grant and revoke them in FAB's role screens."""
RELIEF_SHARED = {"ReliefEvaluationView": "*", "ReliefEvaluationApi": "*",
                 "ReliefRecoveryView": "*", "ReliefRecoveryApi": "*", "ReliefReportView": "*",
                 "ReliefReportApi": "*", "ReliefPerformanceView": "*", "ReliefPerformanceApi": "*",
                 "ReliefReportTaskApi": ["can_get", "can_info"], "机构互评总览": ["menu_access"],
                 "ReliefStatisticsView": "*"}
RELIEF_REVIEW = {"ReliefReportReviewView": "*", "ReliefStatisticsView": "*"}
IVD_READ = {"IvdProjectApi": ["can_get", "can_info"], "IvdCatalogItemApi": "*"}
INJURY_READ = {"InjuryDeterminationApi": ["can_get", "can_info"],
               "InjuryDeviceItemApi": ["can_get", "can_info"],
               "InjuryDeviceItemView": ["can_list", "can_show"]}
INJURY_REVIEW_API = {"InjuryDeclarationApi": ["can_get", "can_info", "can_put"]}
PHS_UNIT = {"PhsInstitutionView": "*", "PhsInstitutionApi": "*", "PhsReportApi": "*"}
PHS_AREA = {**PHS_UNIT, "PhsReviewView": "*", "PhsProgressView": "*",
            "PhsChangeRequestView": "*", "PhsChangeRequestApi": "*"}
REGISTRY_APPLY = {"RegistryAuthorizationView": "*", "RegistryAuthorizationApi": "*",
                  "RegistryInstitutionView": "*", "RegistryInstitutionApi": "*"}
REGISTRY_STAFF = {"RegistryStaffView": "*", "RegistryStaffApi": "*",
                  "RegistryInstitutionView": ["can_list", "can_show"],
                  "RegistryInstitutionApi": ["can_get", "can_info"]}
REGISTRY_REVIEW = {"RegistryAuthorizationView": ["can_list", "can_show", "can_fire",
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
ROLE_TABLE = {
    "P 基础": {"PasswordView": "*", "AttachmentView": "*", "MeApi": "*", "ExportJobView": "*",
               "ExportJobApi": "*", "RegionApi": ["can_get", "can_info"]},
    "R 医疗机构": {"ReliefApplicationView": "*", "ReliefApplicationApi": "*",
                  "ReliefPrepaymentView": "*", "ReliefPrepaymentApi": "*", **RELIEF_SHARED},
    "R 经办机构": {"ReliefReviewView": "*", "ReliefApplicationApi": "*",
                  "ReliefPrepaymentView": ["can_list", "can_show"],
                  "ReliefPrepaymentApi": ["can_get", "can_info"],
                  "OrganizationView": "*", "OrganizationApi": "*", "AccountView": "*",
                  **RELIEF_SHARED, **RELIEF_REVIEW},
    "R 卫健委": {"OrganizationView": "*", "OrganizationApi": "*", "AccountView": "*",
                "ReliefPrepaymentView": ["can_list", "can_show"],
                "ReliefReportView": "*", "ReliefReportApi": "*", **RELIEF_REVIEW},
    "Q 医疗机构": {"IvdFillView": "*", "IvdHospitalReportApi": "*", **IVD_READ},
    "Q 医保局": {"IvdHospitalReviewView": "*", "IvdAreaReviewView": "*",
                "IvdHospitalReportApi": ["can_get", "can_info", "can_put"],
                "IvdAreaReportApi": "*", "报量项目审核": ["menu_access"],
                "报量项目管理": ["menu_access"], **IVD_READ},
    "W 医疗机构": {"InjuryHallView": "*", "InjuryDeclareView": "*", "InjuryPendingView": "*",
                  "InjuryDeclarationView": "*", "InjuryDeclarationApi": "*", **INJURY_READ},
    "W 用人单位": {"InjuryEmployerReviewView": "*", **INJURY_REVIEW_API, **INJURY_READ},
    "W 经办机构": {**INJURY_READ, **INJURY_REVIEW_API, "InjuryAgencyReviewView": "*",
                  "InjuryDeterminationView": "*", "InjuryDeterminationApi": "*"},
    "H 国家": {**PHS_AREA, "PhsRoundView": "*"},
    "H 省级": PHS_AREA,
    "H 市级": PHS_AREA,
    "H 县级": {**PHS_AREA, "PhsAffiliationView": "*"},
    "H 基层机构": PHS_UNIT,
    "M 注册用户": REGISTRY_APPLY,
    "M 机构维护人员": {**REGISTRY_APPLY, "RegistryCertChangeView": "*",
                   "RegistryAgreementView": "*", "RegistryAgreementApi": "*",
                   "RegistryStaffView": "*", "RegistryStaffApi": "*"},
    "M 医师信息维护": REGISTRY_STAFF,
    "M 护士信息维护": REGISTRY_STAFF,
    "M 经办机构": REGISTRY_REVIEW,
    "M 国家审核": {"RegistryInstitutionView": "*", "RegistryInstitutionApi": "*",
                 "RegistryCertChangeView": ["can_list", "can_show"],
                 "DesignatedInstitutionView": "*"},
}
BASE_ROLE = "P 基础"


def sync_roles(appbuilder):
    """Create every declared role and grant what the table says (plus the menu entries of
    those views). Idempotent and add-only: extra grants a super-admin makes in the role
    screens survive; a declared permission revoked there comes back at the next sync,
    so a lasting revocation belongs in ROLE_TABLE (or in a separate role)."""
    sm = appbuilder.sm
    menu_of = {}
    for view in appbuilder.baseviews:
        name = view.class_permission_name
        for item in appbuilder.menu.get_list():
            for child in item.childs or []:
                if getattr(child, "baseview", None) is view:
                    menu_of.setdefault(name, set()).update({child.name, item.name})
    for role_name, grants in ROLE_TABLE.items():
        role = sm.find_role(role_name) or sm.add_role(role_name)
        wanted = []
        for view_name, perms in grants.items():
            view_menu = sm.find_view_menu(view_name)
            if view_menu is None:
                continue
            for pv in sm.find_permissions_view_menu(view_menu):
                if perms == "*" or pv.permission.name in perms:
                    wanted.append(pv)
            for menu_name in menu_of.get(view_name, ()):
                wanted.append(sm.add_permission_view_menu("menu_access", menu_name))
        for pv in wanted:
            if pv is not None and pv not in role.permissions:
                role.permissions.append(pv)
    sm.session.commit()
