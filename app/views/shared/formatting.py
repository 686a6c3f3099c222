"""Template filters and the screens' time formatters: times are stored in UTC and shown in
Asia/Shanghai to the second, through app.services.clock (the one conversion)."""
from sqlalchemy import DateTime

from app.services.clock import is_wall_clock, local_text, wall_clock_text

localtime = local_text   # the jinja filter and the views' explicit formatters_columns


def mapped_column(model, key):
    """The table column behind `key` ("submitted_at", "institution.organization.name") of a
    model, following relations; None for a property, a relation or an unknown name."""
    prop = None
    for part in key.split("."):
        if prop is not None:
            if not hasattr(prop, "mapper"):
                return None
            model = prop.mapper.class_
        prop = getattr(getattr(model, part, None), "property", None)
        if prop is None:
            return None
    columns = getattr(prop, "columns", None)
    return columns[0] if columns else None


def time_formatter(model, key):
    """How a screen shows `key` of `model` when it is a date-time column, else None."""
    column = mapped_column(model, key)
    if column is None or not isinstance(column.type, DateTime):
        return None
    return wall_clock_text if is_wall_clock(column) else localtime


def install_time_formatters(views):
    """Every date-time column a FAB list or show page prints (FAB prints str(): UTC with
    microseconds) gets the local-time formatter; a view's own formatter is kept."""
    from flask_appbuilder.baseviews import BaseCRUDView
    for view in views:
        if not isinstance(view, BaseCRUDView):
            continue
        model = view.datamodel.obj
        shown = list(view.list_columns or []) + list(view.show_columns or [])
        auto = {key: fmt for key in shown if (fmt := time_formatter(model, key))}
        if auto:
            view.formatters_columns = {**auto, **(view.formatters_columns or {})}
        _no_utc_search_defaults(view.search_form)


def _no_utc_search_defaults(form_class):
    """FAB fills a date-time filter's input with the column's default (utcnow(): UTC with
    microseconds); the filter starts empty instead."""
    from wtforms.fields import DateTimeField
    from wtforms.fields.core import UnboundField
    for name in dir(form_class or object):
        unbound = getattr(form_class, name, None)
        if isinstance(unbound, UnboundField) and issubclass(unbound.field_class, DateTimeField):
            unbound.kwargs["default"] = None


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
    """Called by the factory once every view is registered."""
    from app.extensions import appbuilder
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["wall_clock"] = wall_clock_text
    app.jinja_env.globals["login_links"] = login_links
    app.jinja_env.globals["module_stylesheets"] = module_stylesheets
    install_time_formatters(appbuilder.baseviews)
