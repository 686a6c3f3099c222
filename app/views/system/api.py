"""REST resources of the platform (SPEC §X): me/password, region, organization, and the
super-admin's audit_log (read only), system_parameter and announcement (read by all)."""
from flask import g, request
from flask_appbuilder import ModelRestApi
from flask_appbuilder.api import BaseApi, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_jwt_extended import jwt_required

from app.errors import InvalidError
from app.i18n import _
from app.models.audit import AuditLog
from app.models.core import Announcement, Organization, Region, SystemParameter
from app.security import password_problem
from app.services import accounts, audit
from app.services.parameters import validate as validate_parameter
from app.views.shared.api import ChineseResponsesMixin, RestWritesMixin, ScopedApiMixin, safe
from app.views.shared.api_permissions import mirror


class MeApi(ChineseResponsesMixin, BaseApi):
    resource_name = "me"
    allow_browser_login = False

    @expose("/password", methods=["POST"])
    @jwt_required()
    @safe
    def change_password(self):
        body = request.get_json(silent=True) or {}
        user = g.user
        problem = password_problem(user, str(body.get("old_password") or ""),
                                   str(body.get("new_password") or ""))
        if problem:
            return self.response(422, message=problem)
        accounts.change_password(user, body["new_password"])
        return self.response(200, message=_("密码修改成功，请重新登录"))


class RegionApi(ChineseResponsesMixin, ModelRestApi):
    resource_name = "region"
    datamodel = SQLAInterface(Region)
    allow_browser_login = False
    list_columns = show_columns = ["id", "code", "name", "level", "parent_id", "path"]
    search_columns = ["code", "name", "level", "parent_id"]
    base_permissions = ["can_get", "can_info"]


class OrganizationApi(ScopedApiMixin, ModelRestApi):
    resource_name = "organization"
    screens = mirror("OrganizationView")
    datamodel = SQLAInterface(Organization)
    list_columns = show_columns = ["id", "name", "org_type", "level", "region_id", "unit_code",
                                   "category", "grade", "phone", "address", "uscc",
                                   "licence_no", "national_code"]
    edit_columns = ["name", "category", "grade", "phone", "address", "uscc", "licence_no"]
    search_columns = ["name", "unit_code", "org_type"]
    base_permissions = ["can_get", "can_info", "can_put"]


class AuditLogApi(ChineseResponsesMixin, ModelRestApi):
    """审计日志, read only (the table is append-only); the super-admin's."""
    resource_name = "audit_log"
    screens = mirror("AuditLogView")
    datamodel = SQLAInterface(AuditLog)
    allow_browser_login = False
    list_columns = show_columns = ["id", "created_at", "username", "organization_name", "action",
                                   "object_type", "object_id", "transition", "from_state",
                                   "to_state", "comment", "ip"]
    search_columns = ["username", "action", "object_type", "object_id", "created_at"]
    base_order = ("id", "desc")
    base_permissions = ["can_get", "can_info"]


class SystemParameterApi(RestWritesMixin, ModelRestApi):
    """系统参数: read and change a value, checked as on the screen; the super-admin's."""
    resource_name = "system_parameter"
    screens = mirror("SystemParameterView")
    datamodel = SQLAInterface(SystemParameter)
    allow_browser_login = False
    list_columns = show_columns = ["id", "key", "label", "value", "value_type", "description",
                                   "updated_at"]
    edit_columns = ["value"]
    base_permissions = ["can_get", "can_info", "can_put"]

    def pre_update(self, item):
        problem = validate_parameter(item.key, item.value or "")
        if problem:
            raise InvalidError(problem, fields={"value": [problem]})
        item.value = item.value.strip()

    def post_update(self, item):
        audit.log(g.user, "parameter_change", obj=item, comment=f"{item.key}={item.value}")
        g.pop("_parameters", None)


class AnnouncementApi(ScopedApiMixin, ModelRestApi):
    """通知公告: every signed-in user reads; the super-admin writes."""
    resource_name = "announcement"
    datamodel = SQLAInterface(Announcement)
    list_columns = show_columns = ["id", "title", "content", "published_on", "active"]
    add_columns = edit_columns = ["title", "content", "published_on", "active"]
    base_order = ("published_on", "desc")
