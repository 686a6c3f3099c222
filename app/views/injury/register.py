"""马上注册 (SPEC W1, seed 002 §2.1): a designated work-injury hospital opens its online
service itself — unit, USCC, region, contact, phone, login name and password — and gets a
medical-institution account with the role W 医疗机构. Public: no login."""
import re
import types

from flask import redirect, request, session, url_for
from flask_appbuilder import BaseView, expose
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from app.extensions import appbuilder, db
from app.i18n import _
from app.models.core import Organization, Region, User
from app.regions import region_children
from app.services import accounts, validators
from app.services.audit import record
from app.security import captcha_enabled, password_problem

REGISTER_ROLES = ["W 医疗机构"]
# The unit may sit in a city (or 省本级) or in a county/district (SPEC W1).
REGISTRABLE_LEVELS = ("city", "county")
FIELDS = ("name", "uscc", "province", "city", "county", "contact", "phone", "username",
          "password", "confirm", "captcha")
ERROR_ORDER = ("name", "uscc", "region", "contact", "phone", "username", "password", "confirm",
               "captcha", "form")
LIMITS = {"name": 128, "contact": 64, "username": 64}
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def region_by_code(code):
    if not code:
        return None
    return db.session.execute(db.select(Region).where(Region.code == code)).scalar()


class Registration:
    """One submitted form: every field checked, every problem kept (field → Chinese
    message); nothing is written unless there is none."""

    def __init__(self, form):
        self.data = {k: (form.get(k) or "").strip() for k in FIELDS}
        self.password, self.confirm = form.get("password") or "", form.get("confirm") or ""
        self.errors = {}
        self.region = self.existing_org = None

    def fail(self, field, message):
        self.errors.setdefault(field, message)

    def check(self):
        d = self.data
        for field, label in (("name", _("单位名称")), ("contact", _("联系人")),
                             ("username", _("登录名"))):
            if not d[field]:
                self.fail(field, _("请填写%(label)s", label=label))
            elif len(d[field]) > LIMITS[field]:
                self.fail(field, _("%(label)s不能超过%(n)s个字", label=label, n=LIMITS[field]))
        if d["username"] and re.search(r"\s", d["username"]):
            self.fail("username", _("登录名不能包含空格"))
        for field, check in (("uscc", validators.check_uscc), ("phone", validators.check_phone)):
            try:
                d[field] = check(d[field])
            except validators.ValidationError as exc:
                self.fail(field, exc.message)
        self.check_region()
        self.check_password()
        if "uscc" not in self.errors:
            self.check_uscc_free()
        if "username" not in self.errors and db.session.execute(
                db.select(User.id).where(User.username == d["username"])).first():
            self.fail("username", _("登录名“%(name)s”已被使用，请换一个", name=d["username"]))
        self.errors = {k: self.errors[k] for k in ERROR_ORDER if k in self.errors}
        return not self.errors

    def check_region(self):
        d = self.data
        region = region_by_code(d["county"] or d["city"])
        if region is None or region.level not in REGISTRABLE_LEVELS \
                or region.province_code != d["province"] \
                or (d["county"] and region.parent.code != d["city"]):
            self.fail("region", _("请选择所属区划（省、市，有县区的选择到县区）"))
            return
        self.region = region

    def check_password(self):
        # Same rule as changing one's own password; nobody has a current password here.
        nobody = types.SimpleNamespace(password=None)
        problem = password_problem(nobody, None, self.password)
        if problem:
            self.fail("password", problem)
        elif self.password != self.confirm:
            self.fail("confirm", _("两次输入的密码不一致"))

    def check_uscc_free(self):
        """A medical institution with this USCC that has an account is registered; one
        without (imported by an agency) is reused."""
        orgs = db.session.execute(
            db.select(Organization).where(Organization.org_type == "medical",
                                          func.upper(Organization.uscc) == self.data["uscc"])
            .order_by(Organization.id)).scalars().all()
        ids = [o.id for o in orgs]
        if ids and db.session.execute(
                db.select(User.id).where(User.organization_id.in_(ids))).first():
            self.fail("uscc", _("该统一社会信用代码已注册，请直接登录"))
            return
        active = [o for o in orgs if o.active]
        if orgs and not active:
            self.fail("uscc", _("该统一社会信用代码对应的医疗机构已停用，请联系所属经办机构"))
        self.existing_org = active[0] if active else None

    def save(self):
        """Organisation (new or reused) and account, audited; the caller commits."""
        d = self.data
        org = self.existing_org
        if org is None:
            org = Organization(name=d["name"], org_type="medical", level=self.region.level,
                               region=self.region, uscc=d["uscc"], phone=d["phone"],
                               unit_code=accounts.next_unit_code(self.region))
            org.copy_scope_from(self.region)
            db.session.add(org)
            db.session.flush()
        elif not org.phone:
            org.phone = d["phone"]
        mobile = d["phone"] if MOBILE_RE.match(d["phone"]) else None
        # Nobody is logged in: the account's creator is the registrant, recorded just below.
        user = accounts.create_user(None, org, d["username"], d["contact"], mobile=mobile,
                                    password=self.password, must_change=False,
                                    roles=REGISTER_ROLES)
        record(user, "register", obj=org,
               comment=_("马上注册：%(org)s（%(uscc)s），登录名 %(name)s",
                         org=org.name, uscc=d["uscc"], name=user.username))
        return org, user


class InjuryRegisterView(BaseView):
    route_base = "/injury/register"
    default_view = "register"

    @expose("/", methods=["GET", "POST"])
    def register(self):
        form = Registration(request.form)
        if request.method == "POST":
            if captcha_enabled() and not appbuilder.sm.captcha_passed(form.data["captcha"]):
                form.fail("captcha", _("验证码错误或已过期"))
            if form.check():
                try:
                    org, user = form.save()
                    db.session.commit()
                except (IntegrityError, ValueError) as exc:
                    db.session.rollback()
                    form.fail("form", str(exc) if isinstance(exc, ValueError)
                              else _("注册信息与已有数据冲突，请检查登录名后重试"))
                else:
                    session["registered"] = {"org": org.name, "unit_code": org.unit_code,
                                             "username": user.username}
                    return redirect(url_for("InjuryRegisterView.done"))
            db.session.rollback()
        return self.render_template("injury/register.html", title=_("工伤定点医疗机构注册"),
                                    form=form.data, errors=form.errors,
                                    captcha_on=captcha_enabled(), **self.region_choices(form))

    def region_choices(self, form):
        """Options of the three region selects, so that the form comes back as it was sent
        (and works without JavaScript down to the province)."""
        d = form.data
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
