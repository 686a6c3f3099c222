"""工伤 hospital screens (being written)."""
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access


class _Stub(BaseView):
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        return "", 404


class InjuryHallView(_Stub):
    route_base = "/injury/hall"


class InjuryDeclareView(_Stub):
    route_base = "/injury/declare"


class InjuryPendingView(_Stub):
    route_base = "/injury/pending"
