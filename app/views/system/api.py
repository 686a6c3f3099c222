"""REST resources of the platform (SPEC §X): me/password, region, organization."""
from flask import g, request
from flask_appbuilder import ModelRestApi
from flask_appbuilder.api import BaseApi, expose
from app.views.shared.api import safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_jwt_extended import jwt_required

from app.i18n import _
from app.models.core import Organization, Region
from app.security import password_problem
from app.services import accounts
from app.views.shared.api import ScopedApiMixin


class MeApi(BaseApi):
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


class RegionApi(ModelRestApi):
    resource_name = "region"
    datamodel = SQLAInterface(Region)
    allow_browser_login = False
    list_columns = show_columns = ["id", "code", "name", "level", "parent_id", "path"]
    search_columns = ["code", "name", "level", "parent_id"]
    base_permissions = ["can_get", "can_info"]


class OrganizationApi(ScopedApiMixin, ModelRestApi):
    resource_name = "organization"
    datamodel = SQLAInterface(Organization)
    list_columns = show_columns = ["id", "name", "org_type", "level", "region_id", "unit_code",
                                   "category", "grade", "phone", "address", "uscc",
                                   "licence_no", "national_code"]
    edit_columns = ["name", "category", "grade", "phone", "address", "uscc", "licence_no"]
    search_columns = ["name", "unit_code", "org_type"]
    base_permissions = ["can_get", "can_info", "can_put"]
