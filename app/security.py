"""Authentication and accounts (SPEC P3): captcha login, lock-out, forced password
change, JWT login guard, idle timeout, the credential stamp that ends sessions and tokens, the
login and registration rate limits. One `authenticate` serves the web and the API."""
import datetime as dt
import hashlib
import ipaddress
import logging
import math
import re
import time

from flask import (Response, current_app, flash, g, has_request_context, jsonify,
                   make_response, redirect, request, session, url_for)
from flask_appbuilder import expose
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_appbuilder.security.views import AuthDBView, ResetMyPasswordView
from flask_appbuilder.security.forms import LoginForm_db
from flask_jwt_extended import create_access_token
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash
from wtforms import StringField

from app.errors import InvalidError
from app.extensions import db, limiter
from app.views.shared.api_permissions import api_allows
from app.views.system import fab_screens
from app.i18n import _, _l
from app.models.core import User, utcnow
from app.services import captcha
from app.services.audit import record
from app.services.parameters import param

PASSWORD_CHANGE_REQUIRED = "password_change_required"
SESSION_ENDED = "session_ended"
log = logging.getLogger(__name__)


def captcha_enabled():
    return bool(current_app.config.get("CAPTCHA_ENABLED", True)) and param("captcha_enabled")


def password_problem(user, old_password, new_password, confirm=None):
    """Chinese message when the change is not allowed, else None (SPEC P3)."""
    if user.password and not check_password_hash(user.password, old_password or ""):
        return _("当前密码不正确")
    if confirm is not None and new_password != confirm:
        return _("确认密码与新密码不一致")
    if new_password == old_password:
        return _("新密码不能和当前密码相同")
    min_length, min_classes = param("password_min_length"), param("password_min_classes")
    classes = sum(bool(re.search(p, new_password or "")) for p in
                  (r"[A-Z]", r"[a-z]", r"\d", r"[^A-Za-z0-9]"))
    if len(new_password or "") < min_length or classes < min_classes:
        return _("密码至少%(n)s位，且包含大写字母、小写字母、数字、符号中的至少%(k)s种",
                 n=min_length, k=min_classes)
    return None


def _setting(name):
    """A rate limit setting in `limits` notation, e.g. "10 per minute"; empty: no limit."""
    return lambda: current_app.config.get(name) or ""


def rate_limits_exempt():
    """A TESTING app is not limited (the suite logs in hundreds of times a minute from one
    address) unless a test asks for it with RATE_LIMITS_IN_TESTS."""
    return current_app.testing and not current_app.config.get("RATE_LIMITS_IN_TESTS")


def _retry_after(limit):
    return str(max(1, int(limit.reset_at - time.time())))


def _login_page_refused(limit):
    flash(_("登录尝试过于频繁，请稍后再试"), "danger")
    resp = make_response(current_app.appbuilder.sm.auth_view.login_page(), 429)
    resp.headers["Retry-After"] = _retry_after(limit)
    return resp


def _registration_refused(limit):
    from app.views.shared.errors import error_page
    resp = make_response(error_page(429, _("注册尝试过于频繁，请稍后再试")))
    resp.headers["Retry-After"] = _retry_after(limit)
    return resp


def _api_login_refused(limit):
    resp = jsonify(message=_("登录尝试过于频繁，请稍后再试"), code="rate_limited")
    resp.status_code = 429
    resp.headers["Retry-After"] = _retry_after(limit)
    return resp


def login_client_address():
    """The address the login limit counts: the connecting peer; when the peer is one of
    RATELIMIT_TRUSTED_PROXIES (a reverse proxy), the right-most X-Forwarded-For hop that is
    not itself such a proxy (hops further left are whatever the client sent)."""
    peer = _peer_address()
    trusted = current_app.config.get("RATELIMIT_TRUSTED_PROXIES") or ()
    if trusted and _is_trusted_proxy(peer, trusted):
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",")]
        for hop in reversed([h for h in hops if h]):
            if not _is_trusted_proxy(hop, trusted):
                return hop
    return peer or "127.0.0.1"


def login_account_key():
    """The login name the attempt was for (the form's or the JSON's `username`), hashed: a
    bounded key, and a password typed into the name field is not stored."""
    data = request.get_json(silent=True) if request.is_json else request.form
    name = data.get("username") if isinstance(data, dict) else ""   # form: a MultiDict
    return "account-" + _digest(str(name or "").strip())


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def login_limit(on_breach):
    """Two counters for both logins (the page's POST and the JWT login share them, so
    alternating does not double either), in the limiter's storage (RATELIMIT_STORAGE_URI):
    per login name (LOGIN_RATE_LIMIT_ACCOUNT, a brake on guessing one account's password
    from many addresses) and per client address (LOGIN_RATE_LIMIT_ADDRESS, a ceiling high
    enough for a hospital or bureau behind one NAT address, a brake on spraying many names)."""
    per_account = limiter.shared_limit(
        _setting("LOGIN_RATE_LIMIT_ACCOUNT"), scope="login-account", methods=["POST"],
        key_func=login_account_key, exempt_when=rate_limits_exempt, on_breach=on_breach)
    per_address = limiter.shared_limit(
        _setting("LOGIN_RATE_LIMIT_ADDRESS"), scope="login", methods=["POST"],
        key_func=login_client_address, exempt_when=rate_limits_exempt, on_breach=on_breach)
    return lambda view: per_address(per_account(view))


def registration_limit(view):
    """A public registration page's POST: REGISTER_RATE_LIMIT per client address, one
    counter for every module's registration page; past it a Chinese 429 page."""
    return limiter.shared_limit(
        _setting("REGISTER_RATE_LIMIT"), scope="register", methods=["POST"],
        key_func=login_client_address, exempt_when=rate_limits_exempt,
        on_breach=_registration_refused)(view)


def require_captcha(answer, input_errors=None):
    """A public form (registration) checks its captcha first, as the login does, before any
    rule looks up login names or institutions: a wrong answer is a 422 on the captcha field
    (with the form's own input problems, `input_errors`) and tells nothing about which names
    exist."""
    if captcha_enabled() and not current_app.appbuilder.sm.captcha_passed(answer):
        message = _("验证码错误或已过期")
        raise InvalidError(message, fields={**(input_errors or {}), "captcha": message})


def start_session(user):
    """A signed-in web session carrying the account's credential stamp."""
    login_user(user, remember=False)
    session["last_seen"] = time.time()
    session["auth_version"] = user.auth_version


def issue_token(user):
    """A JWT for the API carrying the account's credential stamp (checked in load_user_jwt)."""
    return create_access_token(identity=str(user.id), fresh=True,
                               additional_claims={"auth_version": user.auth_version})


def _token_refused(_jwt_header, _jwt_data):
    return jsonify(message=_("登录已失效（密码已修改、重置或账号已停用），请重新登录"),
                   code=SESSION_ENDED), 401


class CaptchaLoginForm(LoginForm_db):
    captcha = StringField(_l("验证码"))


class PortalAuthDBView(AuthDBView):
    login_template = "security/login.html"

    @expose("/login/", methods=["GET", "POST"])
    @login_limit(_login_page_refused)
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_index)
        form = self.login_form()
        if form.validate_on_submit():
            sm = self.appbuilder.sm
            if captcha_enabled() and not sm.captcha_passed(form.captcha.data):
                flash(_("验证码错误或已过期"), "warning")
                return redirect(self.appbuilder.get_url_for_login)
            user, error = sm.authenticate(form.username.data, form.password.data)
            if user is None:
                flash(error, "warning")
                return redirect(self.appbuilder.get_url_for_login)
            start_session(user)
            if user.must_change_password:
                return redirect(url_for("PasswordView.change"))
            return redirect(self.appbuilder.get_url_for_index)
        return self.login_page(form)

    @staticmethod
    def login_form():
        form = CaptchaLoginForm()
        form.username.label.text = _("登录名")
        form.password.label.text = _("密码")
        return form

    def login_page(self, form=None):
        return self.render_template(self.login_template, title=_("用户登录"),
                                    form=form if form is not None else self.login_form(),
                                    appbuilder=self.appbuilder,
                                    captcha_on=captcha_enabled())

    @expose("/captcha.png")
    def captcha_image(self):
        code = captcha.generate_code()
        session["captcha"] = {"h": captcha.hash_answer(code, current_app.secret_key),
                              "exp": time.time() + 300}
        resp = Response(captcha.render_png(code), mimetype="image/png")
        resp.headers["Cache-Control"] = "no-store"
        return resp


class PortalSecurityApi(SecurityApi):
    """JWT login through the same `authenticate` (captcha is for people, not clients)."""

    @expose("/login", methods=["POST"])
    @login_limit(_api_login_refused)
    def login(self):
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or not payload.get("username"):
            return self.response_400(message=_("请提供登录名和密码"))
        user, error = self.appbuilder.sm.authenticate(
            str(payload.get("username")), str(payload.get("password") or ""))
        if user is None:
            return self.response(401, message=error)
        if user.must_change_password:
            return jsonify(message=_("首次登录或密码已重置，请先修改密码"),
                           code=PASSWORD_CHANGE_REQUIRED, access_token=issue_token(user)), 403
        return self.response(200, access_token=issue_token(user))


class ChangeOwnPasswordView(ResetMyPasswordView):
    """FAB's "reset my password" never asks for the current password; send everyone to
    the change form that does (DESIGN.md §4)."""

    @expose("/form", methods=["GET", "POST"])
    def this_form_get(self):
        return redirect(url_for("PasswordView.change"))


class PortalSecurityManager(SecurityManager):
    user_model = User
    authdbview = PortalAuthDBView
    security_api = PortalSecurityApi
    userdbmodelview = fab_screens.PortalUserDBModelView
    rolemodelview = fab_screens.PortalRoleModelView
    groupmodelview = fab_screens.PortalUserGroupModelView
    userstatschartview = fab_screens.PortalUserStatsChartView
    resetmypasswordview = ChangeOwnPasswordView

    def create_limiter(self, app):
        """The one limiter of app.extensions (FAB would make its own)."""
        limiter.init_app(app)
        return limiter

    def captcha_passed(self, answer):
        stored = session.pop("captcha", None)
        if not stored or stored.get("exp", 0) < time.time():
            return False
        return captcha.check_answer(answer or "", stored.get("h", ""), current_app.secret_key)

    def authenticate(self, username, password):
        """(user, None) on success, else (None, Chinese reason). Every attempt is audited."""
        username = (username or "").strip()
        user = db.session.execute(
            db.select(User).where(User.username == username)).scalar_one_or_none()
        if user is None:
            check_password_hash(current_app.config["AUTH_DB_FAKE_PASSWORD_HASH_CHECK"], "x")
            record(None, "login_failed", username=username, comment=_("账号不存在"))
            db.session.commit()
            return None, unknown_login_answer(username)
        if user.is_locked:
            record(user, "login_failed", obj=user, comment=_("账号已锁定"))
            db.session.commit()
            return None, locked_message((user.locked_until - utcnow()).total_seconds())
        if not password or not user.password or not check_password_hash(user.password, password):
            user.fail_login_count = (user.fail_login_count or 0) + 1
            message = _("登录名或密码错误")
            if user.fail_login_count >= param("lockout_threshold"):
                user.locked_until = utcnow() + dt.timedelta(minutes=param("lockout_minutes"))
                user.fail_login_count = 0
                record(user, "login_locked", obj=user)
                message = locked_message(param("lockout_minutes") * 60)
            record(user, "login_failed", obj=user, comment=_("密码错误"))
            db.session.commit()
            return None, message
        # Only who knows the password learns that the account is disabled.
        if not user.active:
            record(user, "login_failed", obj=user, comment=_("账号已停用"))
            db.session.commit()
            return None, _("账号已停用，请联系管理员")
        user.fail_login_count = 0
        user.locked_until = None
        user.login_count = (user.login_count or 0) + 1
        user.last_login = utcnow()
        record(user, "login", obj=user)
        db.session.commit()
        return user, None

    def auth_user_db(self, username, password):
        return self.authenticate(username, password)[0]

    def create_jwt_manager(self, app):
        manager = super().create_jwt_manager(app)
        manager.user_lookup_error_loader(_token_refused)
        return manager

    def load_user_jwt(self, _jwt_header, jwt_data):
        """The token's account, when still active and the token carries its current
        credential stamp; else None (401 登录已失效)."""
        user = super().load_user_jwt(_jwt_header, jwt_data)
        if user is None or not user.is_active \
                or jwt_data.get("auth_version") != user.auth_version:
            g.pop("user", None)
            return None
        return user

    def exist_permission_on_roles(self, view_name, permission_name, role_ids):
        """FAB asks once per menu entry and button (~26 queries a page); load the roles'
        permissions once per request instead and answer from that set."""
        if not has_request_context():
            return super().exist_permission_on_roles(view_name, permission_name, role_ids)
        key = tuple(sorted(role_ids))
        cache = g.setdefault("_role_permissions", {})
        if key not in cache:
            from flask_appbuilder.security.sqla.models import (Permission, PermissionView,
                                                               ViewMenu,
                                                               assoc_permissionview_role as link)
            rows = db.session.execute(
                db.select(ViewMenu.name, Permission.name)
                .join(PermissionView, PermissionView.view_menu_id == ViewMenu.id)
                .join(Permission, Permission.id == PermissionView.permission_id)
                .join(link, link.c.permission_view_id == PermissionView.id)
                .where(link.c.role_id.in_(key))).all()
            cache[key] = set(rows)
        mirrored = api_allows(view_name, permission_name, cache[key])
        return (view_name, permission_name) in cache[key] if mirrored is None else mirrored

    def reset_to_initial(self, user, actor):
        """Reset → initial password and forced change (SPEC P3); the account's sessions
        and tokens end."""
        user.password = self._hash(param("initial_password"))
        user.must_change_password = True
        user.fail_login_count = 0
        user.locked_until = None
        self.end_sessions(user)
        record(actor, "password_reset", obj=user, comment=user.username)

    def set_password(self, user, new_password):
        """A new password; every session and token issued before it ends (also the one of
        the forced change that asked for it)."""
        user.password = self._hash(new_password)
        user.must_change_password = False
        user.password_changed_at = utcnow()
        self.end_sessions(user)

    @staticmethod
    def end_sessions(user):
        """Every web session and JWT issued to `user` so far stops working (they carry the
        credential stamp they were issued under): password changed or reset, account
        disabled. The caller commits."""
        user.auth_version = (user.auth_version or 0) + 1

    @staticmethod
    def _hash(password):
        from werkzeug.security import generate_password_hash
        return generate_password_hash(password)


def locked_message(seconds_left):
    minutes = max(1, math.ceil(seconds_left / 60))
    return _("连续登录失败次数过多，账号已锁定，请%(m)s分钟后再试", m=minutes)


# An unknown name's failures are forgotten after a day (an account's are kept until a login
# succeeds); the counters are bounded by the login rate limits.
UNKNOWN_FAILURES_KEPT = 24 * 3600


def unknown_login_answer(username):
    """What a failed login for an unknown name answers: exactly what an existing account
    answers to a wrong password, including the lock-out after 登录失败锁定次数 attempts for
    锁定时长 minutes, so that the answers do not tell which login names exist. The counts are
    kept in the rate limiter's storage under the hashed name; should it be unreachable the
    answer is the plain wrong-password one."""
    prefix = f"{current_app.config.get('RATELIMIT_KEY_PREFIX') or ''}/unknown-login/"
    storage, name = limiter.storage, prefix + _digest(username)
    failures, locked = name + "/failures", name + "/locked"
    try:
        if storage.get(locked):
            return locked_message(storage.get_expiry(locked) - time.time())
        if storage.incr(failures, UNKNOWN_FAILURES_KEPT) < param("lockout_threshold"):
            return _("登录名或密码错误")
        storage.clear(failures)
        storage.incr(locked, param("lockout_minutes") * 60)
        return locked_message(param("lockout_minutes") * 60)
    except Exception:     # noqa: BLE001  (Redis or the database unreachable: logins go on)
        log.exception("unknown login counter unavailable")
        return _("登录名或密码错误")


# Endpoints reachable while a password change is pending.
CHANGE_ALLOWED = {"PasswordView.change", "PortalAuthDBView.logout", "PortalAuthDBView.login",
                  "PortalAuthDBView.captcha_image", "static", "appbuilder.static",
                  "MeApi.change_password", "PortalSecurityApi.login", "LocaleView.index"}


def _peer_address():
    """The address that connected to us; ProxyFix (if installed) keeps it in the environ
    after replacing remote_addr with the forwarded client address."""
    original = request.environ.get("werkzeug.proxy_fix.orig") or {}
    return original.get("REMOTE_ADDR") or request.remote_addr


def _is_trusted_proxy(address, trusted):
    try:
        peer = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if peer.version == 6 and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    for entry in (trusted,) if isinstance(trusted, str) else (trusted or ()):
        try:
            if peer in ipaddress.ip_network(str(entry).strip(), strict=False):
                return True
        except ValueError:
            continue
    return False


def client_certificate_login():
    """SPEC W1 (optional, off by default): a trusted reverse proxy that verified a client
    certificate passes its subject in CLIENT_CERT_HEADER; the active account whose
    cert_subject is exactly that subject is logged in. The header is ignored when the
    setting is off or the request does not come from CLIENT_CERT_TRUSTED_PROXIES, because
    anyone can send it; an unknown subject falls through to the normal login page."""
    header = current_app.config.get("CLIENT_CERT_HEADER")
    if not header or request.endpoint in ("static", "appbuilder.static") \
            or request.path.startswith("/api/") or current_user.is_authenticated:
        return None
    subject = (request.headers.get(header) or "").strip()
    if not subject or not _is_trusted_proxy(
            _peer_address(), current_app.config.get("CLIENT_CERT_TRUSTED_PROXIES")):
        return None
    user = db.session.execute(
        db.select(User).where(User.cert_subject == subject)).scalar_one_or_none()
    if user is None or not user.is_active:
        return None
    user.fail_login_count = 0
    user.login_count = (user.login_count or 0) + 1
    user.last_login = utcnow()
    record(user, "login", obj=user, comment=_("证书登录"))
    db.session.commit()
    start_session(user)
    return None


def install_request_guards(app):
    # First, so that the guards below see a certificate login (forced password change).
    app.before_request(client_certificate_login)

    @app.before_request
    def idle_timeout_and_forced_change():
        if request.endpoint in ("static", "appbuilder.static"):
            return None
        ended = _session_ended()
        if ended is not None:
            return ended
        if request.path.startswith("/api/"):
            return _api_guard()
        if not current_user.is_authenticated:
            return None
        now = time.time()
        if now - session.get("last_seen", now) > param("session_timeout_minutes") * 60:
            logout_user()
            session.clear()
            flash(_("长时间未操作，已自动退出，请重新登录"), "warning")
            return redirect(url_for("PortalAuthDBView.login"))
        session["last_seen"] = now
        if current_user.must_change_password and request.endpoint not in CHANGE_ALLOWED:
            flash(_("首次登录或密码已重置，请先修改密码"), "warning")
            return redirect(url_for("PasswordView.change"))
        return None


def _session_ended():
    """A web session issued under another credential stamp (the password was changed or
    reset, the account disabled since) is logged out: the pages go to the login page with the
    reason, the API (a browser session calling it) answers 401."""
    if not current_user.is_authenticated \
            or session.get("auth_version") == current_user.auth_version:
        return None
    logout_user()
    session.clear()
    if request.path.startswith("/api/"):
        return _token_refused(None, None)
    flash(_("登录已失效（密码已修改、重置或账号已停用），请重新登录"), "warning")
    return redirect(url_for("PortalAuthDBView.login"))


def _api_guard():
    """A JWT of an account that must change its password opens only /me/password."""
    if request.endpoint in CHANGE_ALLOWED:
        return None
    from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
    try:
        verify_jwt_in_request(optional=True)
        identity = get_jwt_identity()
    except Exception:
        return None  # the endpoint's own protection answers 401
    if identity is None:
        return None
    user = db.session.get(User, int(identity))
    if user is not None and user.must_change_password:
        return jsonify(message=_("首次登录或密码已重置，请先修改密码"),
                       code=PASSWORD_CHANGE_REQUIRED), 403
    return None
