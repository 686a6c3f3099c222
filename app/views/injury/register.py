"""马上注册 (SPEC W1, seed 002 §2.1): a designated work-injury hospital opens its online
service itself — unit, USCC, region, contact, phone, login name and password — and gets a
medical-institution account with the role W 医疗机构. Public: no login. The form is
`forms.RegistrationForm` (the input), the rules and the writing are
`services.injury.rules.Registration` and `commands.register`."""
from flask import redirect, request, session, url_for
from flask_appbuilder import BaseView, expose

from app.i18n import _
from app.regions import region_children
from app.security import captcha_enabled, registration_limit, require_captcha
from app.services.injury import commands
from app.views.injury.forms import RegistrationForm
from app.views.shared.forms import on_refusal_show


class InjuryRegisterView(BaseView):
    route_base = "/injury/register"
    default_view = "register"

    @expose("/", methods=["GET", "POST"])
    @registration_limit
    def register(self):
        form = RegistrationForm()
        if request.method == "POST":
            on_refusal_show(lambda fields: self.page(form, fields))
            form.validate()          # its problems are shown with the rules' ones, at once
            values = form.values()
            require_captcha(values["captcha"], form.input_errors())
            org, user = commands.register(values, input_errors=form.input_errors())
            session["registered"] = {"org": org.name, "unit_code": org.unit_code,
                                     "username": user.username}
            return redirect(url_for("InjuryRegisterView.done"))
        return self.page(form, {})

    def page(self, form, errors):
        """The form as it was sent (no passwords), each message beside its field; the
        region's and the whole form's messages under the region selects and the form."""
        for name, message in errors.items():
            if name in form:
                form[name].errors = [str(message)]
        return self.render_template("injury/register.html", title=_("工伤定点医疗机构注册"),
                                    form=form.with_regions(region_children),
                                    errors=errors, captcha_on=captcha_enabled())

    @expose("/done")
    def done(self):
        info = session.pop("registered", None)
        if not info:
            return redirect(url_for("InjuryRegisterView.register"))
        return self.render_template("injury/register_done.html", title=_("注册成功"), info=info)
