"""Chinese error pages and JSON errors for the API; page-size arguments validated."""
from flask import current_app, g, jsonify, render_template_string, request
from flask_login import current_user

from app.i18n import _, _l

MESSAGES = {400: _l("请求参数有误"), 403: _l("没有权限访问"), 404: _l("记录不存在或不在您的管辖范围内"),
            405: _l("不支持的请求方式"), 413: _l("上传的文件过大"), 500: _l("系统内部错误")}
PAGE = """{% extends "appbuilder/base.html" %}{% block content %}
<div class="alert alert-danger"><h4>{{ code }}</h4><p>{{ message }}</p></div>{% endblock %}"""


def install_error_handlers(app):
    def handle(exc):
        code = getattr(exc, "code", 500) or 500
        message = str(MESSAGES.get(code, MESSAGES[500]))
        if code == 400 and getattr(exc, "description", None) and "CSRF" in str(exc.description):
            message = _("表单已过期或缺少安全令牌（CSRF），请刷新页面后重试")
        if request.path.startswith("/api/"):
            return jsonify(message=message), code
        if "user" not in g:   # CSRF refusals come before FAB sets g.user
            g.user = current_user._get_current_object()
        ab = current_app.appbuilder
        return render_template_string(PAGE, code=code, message=message, appbuilder=ab,
                                      base_template=ab.base_template), code

    for code in (400, 403, 404, 405, 413):
        app.register_error_handler(code, handle)

    @app.before_request
    def validate_page_size():
        for key, value in request.args.items():
            if key.startswith("psize_") or key.startswith("page_"):
                if not value.lstrip("-").isdigit():
                    return handle(_BadArg())
        return None


class _BadArg(Exception):
    code = 400
