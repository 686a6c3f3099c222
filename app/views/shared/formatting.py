"""Template filters: times are stored in UTC and shown in Asia/Shanghai."""
import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def localtime(value):
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def login_links():
    """Every module's links under the login form (Module.login_links)."""
    from app.module import modules
    return [link for module in modules() for link in module.login_links]


def module_stylesheets():
    """A module's own styles: app/static/<module name>.css, when it has one."""
    import os
    from flask import current_app
    from app.module import modules
    return [f"{m.name}.css" for m in modules()
            if os.path.exists(os.path.join(current_app.static_folder, f"{m.name}.css"))]


def install_filters(app):
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.globals["login_links"] = login_links
    app.jinja_env.globals["module_stylesheets"] = module_stylesheets
