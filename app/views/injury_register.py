"""马上注册 (SPEC W1). (Being written; see issue 5.)"""
from flask_appbuilder import BaseView, expose


class InjuryRegisterView(BaseView):
    route_base = "/injury/register"
    default_view = "register"

    @expose("/", methods=["GET"])
    def register(self):
        return "", 404
