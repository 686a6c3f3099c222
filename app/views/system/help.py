"""帮助 (issue 18 item 12): each module's help page — the manual's steps in short and its
常见问题 — from the template its declaration names (`Module.help`), drawn inside the layout
at /help/<module>. The navbar's 帮助 leads to the help of the module whose screen is open,
or lists every module's help elsewhere. Public, like the registry's 附件无法识别时 page:
the manuals are no secret and a user who cannot sign in needs them most."""
from flask import abort, request
from flask_appbuilder import BaseView, expose

from app.i18n import _
from app.module import Hidden, View, modules


def help_modules():
    return [m for m in modules() if m.help]


def module_of_endpoint(endpoint):
    """The module whose screen serves `endpoint` ("ViewClass.method"), or None."""
    view_name = (endpoint or "").split(".", 1)[0]
    for module in modules():
        for entry in module.menu:
            if isinstance(entry, (View, Hidden)) and entry.view.__name__ == view_name:
                return module
    return None


def navbar_help():
    """{"current": module or None, "all": [modules with help]} for the navbar's 帮助."""
    found = help_modules()
    if request.endpoint == "HelpView.page":
        current = next((m for m in found if m.name == (request.view_args or {}).get("name")),
                       None)
    else:
        current = module_of_endpoint(request.endpoint)
    return {"current": current if current in found else None, "all": found}


class HelpView(BaseView):
    route_base = "/help"
    default_view = "page"

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)
        blueprint.app_context_processor(lambda: {"navbar_help": navbar_help})
        return blueprint

    @expose("/<name>")
    def page(self, name):
        module = next((m for m in help_modules() if m.name == name), None)
        if module is None:
            abort(404)
        return self.render_template("portal/help.html", module=module, content=module.help,
                                    title=_("%(module)s 帮助", module=module.label),
                                    others=[m for m in help_modules() if m is not module])
