"""FAB's own security screens (super-admin only: users, roles, groups, login statistics) in
Chinese like the rest of the portal: the column names FAB's catalogue leaves in English and
是/否 for 启用. Each keeps FAB's permission name, so the roles' grants stay as they are."""
from flask_appbuilder.security.views import (RoleModelView, UserDBModelView,
                                             UserGroupModelView, UserStatsChartView)

from app.i18n import _l
from app.views.shared.labels import yes_no

USER_LABELS = {
    "active": _l("启用"), "roles": _l("角色"), "groups": _l("用户组"),
    "last_login": _l("上次登录"), "login_count": _l("登录次数"),
    "fail_login_count": _l("登录失败次数"), "created_on": _l("创建时间"),
    "created_by": _l("创建人"), "changed_on": _l("修改时间"), "changed_by": _l("修改人"),
}


class PortalUserDBModelView(UserDBModelView):
    class_permission_name = "UserDBModelView"
    label_columns = {**UserDBModelView.label_columns, **USER_LABELS}
    description_columns = {
        **UserDBModelView.description_columns,
        "username": _l("登录时使用的用户名"),
        "roles": _l("用户的角色，决定其权限"),
        "groups": _l("用户所属的用户组，用户组关联一组角色"),
    }
    formatters_columns = {"active": yes_no}


class PortalRoleModelView(RoleModelView):
    class_permission_name = "RoleModelView"
    label_columns = {**RoleModelView.label_columns, "user": _l("用户"), "groups": _l("用户组")}


class PortalUserGroupModelView(UserGroupModelView):
    class_permission_name = "UserGroupModelView"
    label_columns = {"name": _l("名称"), "label": _l("标签"), "description": _l("描述"),
                     "users": _l("用户"), "roles": _l("角色")}


class PortalUserStatsChartView(UserStatsChartView):
    class_permission_name = "UserStatsChartView"
    route_base = "/userstatschartview"
    label_columns = {**UserStatsChartView.label_columns, **USER_LABELS,
                     "first_name": _l("名"), "last_name": _l("姓"), "email": _l("电子邮箱")}
    definitions = [
        {"label": _l("登录次数"), "group": "username", "series": ["login_count"]},
        {"label": _l("登录失败次数"), "group": "username", "series": ["fail_login_count"]},
    ]
