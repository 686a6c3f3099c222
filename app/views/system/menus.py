"""The menu: every module's entries under its category (in module order), then 系统管理."""
from app.i18n import _l
from app.module import Hidden, Link, View, modules


def register_module(appbuilder, module):
    category, first = module.menu_category, True
    for entry in module.menu:
        if isinstance(entry, Hidden):
            appbuilder.add_view_no_menu(entry.view)
            continue
        extra = {"category_label": module.category_label or module.label} if first else {}
        if isinstance(entry, View):
            appbuilder.add_view(entry.view, entry.name, label=entry.label, icon=entry.icon,
                                category=category, **extra)
        elif isinstance(entry, Link):
            appbuilder.add_link(entry.name, label=entry.label, href=entry.href, icon=entry.icon,
                                category=category, **extra)
        first = False
    for api in module.apis:
        appbuilder.add_api(api)


def register_system(appbuilder):
    from app.views.shared.attachments import AttachmentView
    from app.views.system.api import (AnnouncementApi, AuditLogApi, MeApi, OrganizationApi,
                                      RegionApi, SystemParameterApi)
    from app.views.system.help import HelpView
    from app.views.system.jobs import ExportJobApi, ExportJobView
    from app.views.system.regions import RegionChoiceView
    from app.views.system.screens import (AccountView, AnnouncementView, AuditLogView,
                                          OrganizationView, PasswordView, SystemParameterView)
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
    appbuilder.add_view(ExportJobView, "导出列表", label=_l("导出列表"), icon="fa-download",
                        category=system)
    appbuilder.add_view_no_menu(PasswordView)
    appbuilder.add_view_no_menu(AttachmentView)
    appbuilder.add_view_no_menu(RegionChoiceView)
    appbuilder.add_view_no_menu(HelpView)
    for api in (MeApi, RegionApi, OrganizationApi, ExportJobApi, AuditLogApi, SystemParameterApi,
                AnnouncementApi):
        appbuilder.add_api(api)


def register(appbuilder):
    for module in modules():
        register_module(appbuilder, module)
    register_system(appbuilder)
