"""Chinese error pages and JSON errors for the API, the one handler of domain errors;
page-size arguments and ids validated, request size and JSON nesting limited (limits.py)."""
from flask import current_app, flash, g, jsonify, redirect, render_template_string, request
from flask_login import current_user

from app.errors import DomainError
from app.extensions import db
from app.i18n import _, _l
from app.views.shared.limits import install_limits, too_large_message

MESSAGES = {400: _l("请求参数有误"), 403: _l("没有权限访问"), 404: _l("记录不存在或不在您的管辖范围内"),
            405: _l("不支持的请求方式"), 500: _l("系统内部错误")}   # 413: limits.too_large_message
PAGE = """{% extends "appbuilder/base.html" %}{% block content %}
<div class="alert alert-danger"><h4>{{ code }}</h4><p>{{ message }}</p></div>{% endblock %}"""


def handle_domain_error(error):
    """The one mapping of a domain error (app/errors.py) to HTTP: nothing it touched is
    kept; the API answers JSON; a form page registered with `forms.on_refusal` is shown
    again with its status; a button's POST goes back where it came from with the message."""
    db.session.rollback()
    if request.path.startswith("/api/"):
        return jsonify(error.body()), error.status
    render = g.pop("refused_form", None)
    if render is not None and error.status != 404:
        return render(error), error.status
    if error.status == 404 or request.method == "GET":
        return error_page(error.status, error.message)
    flash(error.message, "danger")
    return redirect(back_url())


def back_url():
    """Where the user came from, when it is this site; else the home page."""
    ref = request.referrer or ""
    if ref.startswith(request.host_url):
        return ref
    return current_app.appbuilder.get_url_for_index


def error_page(code, message):
    if "user" not in g:   # CSRF refusals come before FAB sets g.user
        g.user = current_user._get_current_object()
    ab = current_app.appbuilder
    return render_template_string(PAGE, code=code, message=message, appbuilder=ab,
                                  base_template=ab.base_template), code


def install_error_handlers(app):
    app.register_error_handler(DomainError, handle_domain_error)
    install_limits(app)

    @app.before_request
    def forget_refused_form():
        # a form page registered by an earlier request of the same app context (tests run
        # requests inside one) is never drawn for this one
        g.pop("refused_form", None)

    def handle(exc):
        code = getattr(exc, "code", 500) or 500
        if code >= 500:
            db.session.rollback()     # the page below must not meet a broken transaction
        message = str(getattr(exc, "user_message", None) or MESSAGES.get(code, MESSAGES[500]))
        if code == 413:
            message = too_large_message()
        if code == 400 and getattr(exc, "description", None) and "CSRF" in str(exc.description):
            message = _("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试")
        if request.path.startswith("/api/"):
            return jsonify(message=message), code
        return error_page(code, message)

    for code in (400, 403, 404, 405, 413, 500):
        app.register_error_handler(code, handle)

    @app.before_request
    def ids_in_range():
        """Every record id is a 32-bit integer: a larger one in the path is a record that
        does not exist (404), not a database overflow (PostgreSQL answered 500)."""
        for value in (request.view_args or {}).values():
            text = str(value)
            if text.lstrip("-").isdigit() and not -MAX_ID <= int(text) <= MAX_ID:
                return handle(_Missing())
        return None

    @app.before_request
    def validate_page_size():
        """Screens' page numbers are whole numbers from 0 and page sizes whole numbers (-1,
        FAB's "all", is capped later); the API's rison `q` parses and pages from 0 to 2^31;
        anything else is a 400. (A `q` not in parentheses is some endpoint's own text search.)"""
        for key, value in request.args.items():
            if key.startswith("page_") and not value.isdigit():
                return handle(_BadArg())
            if key.startswith("psize_") and not value.lstrip("-").isdigit():
                return handle(_BadArg())
        q = request.args.get("q", "")
        if request.path.startswith("/api/") and q.startswith("(") and not _paging_ok(q):
            return handle(_BadArg())
        return None


MAX_ID = 2 ** 31 - 1


def _paging_ok(q):
    import prison
    try:
        args = prison.loads(q)
    except Exception:          # prison raises plain exceptions of several kinds
        return False
    if not isinstance(args, dict):
        return True            # FAB answers other shapes itself
    return all(isinstance(args.get(k, 0), int) and not isinstance(args.get(k, 0), bool)
               and 0 <= args.get(k, 0) <= MAX_ID for k in ("page", "page_size"))


class _BadArg(Exception):
    code = 400


class _Missing(Exception):
    code = 404
