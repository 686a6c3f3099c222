"""Every add_view / add_api call, grouped by module (SPEC P6)."""
from app.i18n import _l


def register(appbuilder):
    from app.views.attachments import AttachmentView
    from app.views.core import (AccountView, AnnouncementView, AuditLogView, OrganizationView,
                                PasswordView, SystemParameterView)
    from app.views.core_api import MeApi, OrganizationApi, RegionApi
    from app.views.relief import (ReliefApplicationApi, ReliefApplicationView,
                                  ReliefPrepaymentApi, ReliefPrepaymentView, ReliefReviewView)

    relief, relief_label = "疾病应急救助", _l("疾病应急救助")
    appbuilder.add_view(ReliefApplicationView, "应急救助基金申请", label=_l("应急救助基金申请"),
                        icon="fa-file-text-o", category=relief, category_label=relief_label)
    appbuilder.add_view(ReliefReviewView, "救助申请审核", label=_l("救助申请审核"),
                        icon="fa-check-square-o", category=relief)
    appbuilder.add_view(ReliefPrepaymentView, "预拨款管理", label=_l("预拨款管理"),
                        icon="fa-money", category=relief)
    from app.views import relief_reporting as rr
    appbuilder.add_view(rr.ReliefEvaluationView, "我的评价", label=_l("评价管理"),
                        icon="fa-star", category=relief)
    appbuilder.add_link("机构互评总览", label=_l("机构互评总览"), href="/relief/evaluations/overview",
                        icon="fa-bar-chart", category=relief)
    appbuilder.add_view(rr.ReliefRecoveryView, "追缴资金登记", label=_l("追缴资金登记"),
                        icon="fa-undo", category=relief)
    appbuilder.add_view(rr.ReliefReportView, "数据上报", label=_l("数据上报"), icon="fa-upload",
                        category=relief)
    appbuilder.add_view(rr.ReliefReportReviewView, "上报数据浏览", label=_l("上报数据浏览"),
                        icon="fa-sitemap", category=relief)
    appbuilder.add_view(rr.ReliefPerformanceView, "绩效填报", label=_l("绩效填报"),
                        icon="fa-line-chart", category=relief)
    appbuilder.add_view(rr.ReliefReportTaskView, "上报任务", label=_l("上报任务"),
                        icon="fa-tasks", category=relief)
    appbuilder.add_view(rr.ReliefStatisticsView, "救助数据统计", label=_l("救助数据统计"),
                        icon="fa-table", category=relief)

    from app.views import ivd, ivd_api, ivd_fill, ivd_review
    quantity, quantity_label = "报量项目管理", _l("报量项目管理")
    appbuilder.add_view(ivd.IvdProjectView, "报量项目配置", label=_l("报量项目配置"),
                        icon="fa-cogs", category=quantity, category_label=quantity_label)
    appbuilder.add_view_no_menu(ivd.IvdCatalogView)
    appbuilder.add_view(ivd_fill.IvdFillView, "报量项目填报", label=_l("报量项目管理"),
                        icon="fa-pencil-square-o", category=quantity)
    appbuilder.add_view_no_menu(ivd_review.IvdHospitalReviewView)
    appbuilder.add_view_no_menu(ivd_review.IvdAreaReviewView)
    appbuilder.add_link("报量项目审核", label=_l("报量项目审核"), href="/ivd/review/areas/entry",
                        icon="fa-check-square-o", category=quantity)
    appbuilder.add_view(ivd_review.IvdNationalView, "全国报量数据", label=_l("全国报量数据"),
                        icon="fa-globe", category=quantity)

    from app.views import injury, injury_api, injury_master, injury_register, injury_review
    work_injury, work_injury_label = "工伤服务", _l("工伤服务")
    appbuilder.add_view(injury.InjuryHallView, "工伤服务大厅", label=_l("服务大厅"),
                        icon="fa-home", category=work_injury, category_label=work_injury_label)
    appbuilder.add_view(injury.InjuryDeclareView, "工伤保险业务", label=_l("工伤保险业务"),
                        icon="fa-id-card-o", category=work_injury)
    appbuilder.add_view(injury.InjuryPendingView, "我的待提交业务", label=_l("我的待提交业务"),
                        icon="fa-inbox", category=work_injury)
    appbuilder.add_view(injury_review.InjuryDeclarationView, "办理情况查询",
                        label=_l("办理情况查询"), icon="fa-search", category=work_injury)
    appbuilder.add_view(injury_review.InjuryEmployerReviewView, "单位审核", label=_l("单位审核"),
                        icon="fa-building-o", category=work_injury)
    appbuilder.add_view(injury_review.InjuryAgencyReviewView, "经办审核", label=_l("经办审核"),
                        icon="fa-check-square-o", category=work_injury)
    appbuilder.add_view(injury_master.InjuryDeterminationView, "工伤认定信息",
                        label=_l("工伤认定信息"), icon="fa-address-book-o", category=work_injury)
    appbuilder.add_view(injury_master.InjuryDeviceItemView, "辅助器具目录",
                        label=_l("辅助器具目录"), icon="fa-wheelchair", category=work_injury)
    appbuilder.add_view_no_menu(injury_register.InjuryRegisterView)

    from app.views import phs, phs_api, phs_review
    public_health, public_health_label = "基本公卫", _l("基本公卫")
    appbuilder.add_view(phs.PhsInstitutionView, "机构信息上报", label=_l("机构信息上报"),
                        icon="fa-hospital-o", category=public_health,
                        category_label=public_health_label)
    appbuilder.add_view(phs_review.PhsReviewView, "机构信息审核", label=_l("机构信息审核"),
                        icon="fa-check-square-o", category=public_health)
    appbuilder.add_view(phs_review.PhsAffiliationView, "机构隶属关系维护",
                        label=_l("机构隶属关系维护"), icon="fa-sitemap", category=public_health)
    appbuilder.add_view(phs_review.PhsChangeRequestView, "申请修改", label=_l("申请修改"),
                        icon="fa-pencil", category=public_health)
    appbuilder.add_view(phs_review.PhsProgressView, "上报进度", label=_l("上报进度"),
                        icon="fa-tasks", category=public_health)
    appbuilder.add_view(phs_review.PhsRoundView, "报送轮次", label=_l("报送轮次"),
                        icon="fa-refresh", category=public_health)

    from app.views import registry, registry_agreements, registry_api, registry_auth
    registry_cat, registry_label = "机构信息维护", _l("机构信息维护")
    appbuilder.add_view(registry_auth.RegistryAuthorizationView, "机构维护授权",
                        label=_l("机构维护授权"), icon="fa-id-card-o", category=registry_cat,
                        category_label=registry_label)
    appbuilder.add_view(registry.RegistryInstitutionView, "医疗机构信息维护",
                        label=_l("医疗机构信息维护"), icon="fa-hospital-o",
                        category=registry_cat)
    appbuilder.add_view(registry.RegistryCertChangeView, "证号变更申请",
                        label=_l("证号变更申请"), icon="fa-exchange", category=registry_cat)
    appbuilder.add_view(registry.RegistryStaffView, "医师护士信息维护",
                        label=_l("医师护士信息维护"), icon="fa-user-md", category=registry_cat)
    appbuilder.add_view(registry_agreements.RegistryAgreementView, "医疗机构定点协议管理",
                        label=_l("医疗机构定点协议管理"), icon="fa-file-text-o",
                        category=registry_cat)
    appbuilder.add_view(registry_agreements.DesignatedInstitutionView, "定点医疗机构名单",
                        label=_l("定点医疗机构名单"), icon="fa-list", category=registry_cat)
    appbuilder.add_view_no_menu(registry_auth.RegistryRegisterView)

    system, system_label = "系统管理", _l("系统管理")
    appbuilder.add_view(AccountView, "账号管理", label=_l("账号管理"), icon="fa-users",
                        category=system, category_label=system_label)
    appbuilder.add_view(OrganizationView, "医疗机构管理", label=_l("医疗机构管理"),
                        icon="fa-hospital-o", category=system)
    appbuilder.add_view(SystemParameterView, "系统参数", label=_l("系统参数"), icon="fa-cog",
                        category=system)
    appbuilder.add_view(AnnouncementView, "通知公告", label=_l("通知公告"), icon="fa-bullhorn",
                        category=system)
    appbuilder.add_view(AuditLogView, "审计日志", label=_l("审计日志"), icon="fa-history",
                        category=system)
    from app.views.jobs import ExportJobApi, ExportJobView
    appbuilder.add_view(ExportJobView, "导出列表", label=_l("导出列表"), icon="fa-download",
                        category=system)
    appbuilder.add_view_no_menu(PasswordView)
    appbuilder.add_view_no_menu(AttachmentView)

    for api in (MeApi, RegionApi, OrganizationApi, ReliefApplicationApi, ReliefPrepaymentApi,
                rr.ReliefEvaluationApi, rr.ReliefRecoveryApi, rr.ReliefReportTaskApi,
                rr.ReliefReportApi, rr.ReliefPerformanceApi, ivd_api.IvdProjectApi,
                ivd_api.IvdCatalogItemApi, ivd_api.IvdHospitalReportApi, ivd_api.IvdAreaReportApi,
                injury_api.InjuryDeterminationApi, injury_api.InjuryDeclarationApi,
                injury_api.InjuryDeviceItemApi, phs_api.PhsInstitutionApi,
                phs_api.PhsReportApi, phs_api.PhsChangeRequestApi,
                registry_api.RegistryInstitutionApi, registry_api.RegistryAuthorizationApi,
                registry_api.RegistryAgreementApi, registry_api.RegistryStaffApi, ExportJobApi):
        appbuilder.add_api(api)
