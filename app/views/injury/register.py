"""马上注册 (SPEC W1, seed 002 §2.1): a designated work-injury hospital opens its online
service itself — unit, USCC, region, contact, phone, login name and password — and gets a
medical-institution account with the role W 医疗机构. Public: no login. The rules and the
writing are `services.injury.rules.Registration` and `commands.register`."""
from flask import redirect, request, session, url_for
from flask_appbuilder import BaseView, expose

from app.extensions import appbuilder
from app.i18n import _
from app.regions import region_children
from app.security import captcha_enabled
from app.services.injury import commands
from app.services.injury.rules import registration_values
from app.views.shared.forms import on_refusal_show


class InjuryRegisterView(BaseView):
    route_base = "/injury/register"
    default_view = "register"

    @expose("/", methods=["GET", "POST"])
    def register(self):
        values = registration_values(request.form)
        if request.method == "POST":
            on_refusal_show(lambda fields: self.page(values, fields))
            captcha_failed = captcha_enabled() and \
                not appbuilder.sm.captcha_passed(values["captcha"])
            org, user = commands.register(request.form, captcha_failed)
            session["registered"] = {"org": org.name, "unit_code": org.unit_code,
                                     "username": user.username}
            return redirect(url_for("InjuryRegisterView.done"))
        return self.page(values, {})

    def page(self, values, errors):
        """The form as it was sent (no passwords), each message beside its field."""
        shown = {k: v for k, v in values.items() if k not in ("password", "confirm")}
        return self.render_template("injury/register.html", title=_("工伤定点医疗机构注册"),
                                    form=shown, errors=errors, captcha_on=captcha_enabled(),
                                    **self.region_choices(values))

    @staticmethod
    def region_choices(d):
        """Options of the three region selects, so that the form comes back as it was sent
        (and works without JavaScript down to the province)."""
        cities = region_children(d["province"]) if d["province"] else []
        counties = region_children(d["city"]) if d["city"] and cities else []
        return {"provinces": region_children(None) or [], "cities": cities or [],
                "counties": counties or []}

    @expose("/done")
    def done(self):
        info = session.pop("registered", None)
        if not info:
            return redirect(url_for("InjuryRegisterView.register"))
        return self.render_template("injury/register_done.html", title=_("注册成功"), info=info)
