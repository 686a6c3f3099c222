"""What FAB's generated screens show, in Chinese and without stored values (issue 18): page
titles from the view's own title instead of "List/Show/Add/Edit <Model>"; 是/否 for a boolean;
a column with a fixed set of values (a workflow's states, a view's `search_choices`) shown and
searched by its labels; dates searched from–to; a column without a Chinese label offered
nowhere in the search. Mixed into every FAB model view through FormPageMixin."""
from flask import g, has_request_context
from flask_appbuilder.fieldwidgets import Select2Widget
from wtforms import SelectField, StringField
from wtforms.widgets import DateInput

from app.i18n import _l
from app.views.shared.filters import (ChoiceEqualFilter, ChoiceFilters, ChoiceNotEqualFilter,
                                      DateFromFilter, DateToFilter)

YES_NO = {"y": _l("是"), "n": _l("否")}

# Labels of the platform's own columns, for a view that does not name them itself.
COMMON_LABELS = {
    "id": _l("编号"), "state": _l("状态"), "state_label": _l("状态"),
    "organization": _l("机构"), "organization_id": _l("机构"),
    "province_code": _l("省"), "city_code": _l("市"), "county_code": _l("县（区）"),
    "created_at": _l("创建时间"), "updated_at": _l("更新时间"), "created_by": _l("创建人"),
    "changed_at": _l("修改时间"), "active": _l("启用"),
}


def yes_no(value):
    if value is None:
        return ""
    return YES_NO["y" if value else "n"]


def labelled(labels):
    """A formatter showing a stored value by its label (an unknown value as it is)."""
    def show(value):
        if value is None:
            return ""
        return labels.get(value, labels.get(str(value), value))
    return show


class ChineseLabelsMixin:
    search_choices = None      # {column: {stored value: label}}; `state` from the workflow

    def _labels_missing(self, column):
        label = self.label_columns.get(column)
        return label is None or str(label) == self._prettify_column(column)

    def choices(self):
        found = dict(self.search_choices or {})
        workflow = getattr(self, "workflow", None)
        if workflow is not None and workflow.state_labels and "state" not in found:
            found["state"] = workflow.state_labels
        return found

    def _init_properties(self):
        super()._init_properties()
        for column, label in COMMON_LABELS.items():
            if self._labels_missing(column):
                self.label_columns[column] = label
        self.search_columns = [c for c in self.search_columns if not self._labels_missing(c)]
        self._search_kinds = {}
        model = self.datamodel
        for column in self.search_columns:
            if column in self.choices():
                kind, filters = "choice", [ChoiceEqualFilter]
            elif model.is_boolean(column):
                kind, filters = "boolean", [ChoiceEqualFilter, ChoiceNotEqualFilter]
            elif model.is_date(column) or model.is_datetime(column):
                kind, filters = "date", [DateFromFilter, DateToFilter]
            else:
                continue
            self._search(column, kind, filters)
        if self._searches_by_organization():
            self.search_columns = self.search_columns + ["organization_id"]
            self.label_columns["organization_id"] = self.label_columns.get(
                "organization", self.label_columns["organization_id"])
            self._search("organization_id", "organization", [ChoiceEqualFilter])
            if "county_code" not in self.search_columns:
                self.search_columns = self.search_columns + ["county_code"]
                self._search("county_code", "region", [ChoiceEqualFilter])
        for column in set(self.list_columns) | set(self.show_columns or []):
            if column in self.formatters_columns:
                continue
            if column in self.choices():
                self.formatters_columns[column] = labelled(self.choices()[column])
            elif column in model.get_columns_list() and model.is_boolean(column):
                self.formatters_columns[column] = yes_no

    def _search(self, column, kind, filters):
        self._search_kinds[column] = kind
        made = ChoiceFilters(f(column, self.datamodel) for f in filters)
        self._filters._search_filters[column] = made
        self._filters._all_filters[column] = made

    def _searches_by_organization(self):
        """A list of several organisations' rows (a reviewer's, an agency's) is searched by
        organisation and by county: pickers of those whose rows the user may see."""
        model = self.datamodel.obj
        return ("organization_id" not in self.search_columns
                and hasattr(model, "organization_id") and hasattr(model, "county_code")
                and getattr(self, "search_by_organization", True))

    def _get_search_widget(self, form=None, exclude_cols=None, widgets=None):
        """A user who sees one organisation's rows only (a hospital) gets no pickers."""
        widgets = super()._get_search_widget(form=form, exclude_cols=exclude_cols,
                                             widgets=widgets)
        if _sees_one_organisation():
            pickers = {c for c, kind in getattr(self, "_search_kinds", {}).items()
                       if kind in PICKERS}
            widgets["search"].template_args["include_cols"] = [
                c for c in self.search_columns if c not in pickers]
        return widgets

    def _init_forms(self):
        extra = dict(self.search_form_extra_fields or {})
        for column, kind in getattr(self, "_search_kinds", {}).items():
            label = self.label_columns.get(column)
            if kind in PICKERS:
                extra[column] = PICKERS[kind](label, model=self.datamodel.obj,
                                              widget=Select2Widget())
                continue
            if kind == "date":
                extra[column] = StringField(label, widget=DateInput())
                continue
            labels = YES_NO if kind == "boolean" else self.choices()[column]
            extra[column] = SelectField(label, choices=[(str(v), str(t)) for v, t in
                                                        labels.items()], widget=Select2Widget())
        self.search_form_extra_fields = extra
        super()._init_forms()

    def _init_titles(self):
        if self.list_title:
            name = self.list_title
            self.show_title = self.show_title or _l("%(name)s详情", name=name)
            self.add_title = self.add_title or _l("新增%(name)s", name=name)
            self.edit_title = self.edit_title or _l("编辑%(name)s", name=name)
        super()._init_titles()


def _sees_one_organisation():
    from app.scope import scope_of
    return has_request_context() and scope_of(getattr(g, "user", None))[0] in ("org", "none")


class _ScopedPicker(SelectField):
    """The values of `model`'s column that the signed-in user's rows hold, by name: read when
    the search form is drawn (per request), through the same scope as the list."""

    def __init__(self, label=None, model=None, **kwargs):
        super().__init__(label, choices=[], **kwargs)
        if model is not None and has_request_context() and getattr(g, "user", None) \
                and not _sees_one_organisation():
            from app.extensions import db
            from app.scope import region_scope
            self.choices = [(str(key), name) for key, name in db.session.execute(
                self.named(db.select(getattr(model, self.column)).where(
                    region_scope(model, g.user)).scalar_subquery()))]


class OrganizationPicker(_ScopedPicker):
    column = "organization_id"

    @staticmethod
    def named(seen):
        from app.extensions import db
        from app.models.core import Organization
        return (db.select(Organization.id, Organization.name)
                .where(Organization.id.in_(seen)).order_by(Organization.name))


class CountyPicker(_ScopedPicker):
    column = "county_code"

    @staticmethod
    def named(seen):
        from app.extensions import db
        from app.models.core import Region
        return db.select(Region.code, Region.name).where(Region.code.in_(seen)).order_by(
            Region.code)


PICKERS = {"organization": OrganizationPicker, "region": CountyPicker}


def empty_for_none(value):
    return "" if value is None else value


def object_type_label(object_type):
    """A record kind (its table's name, as the audit trail stores it) by the title of the
    screen that lists it."""
    from flask import current_app
    if object_type is None:
        return ""
    for view in current_app.appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        table = getattr(getattr(datamodel, "obj", None), "__tablename__", None)
        if table == object_type and getattr(view, "list_title", None):
            return view.list_title
    return object_type


def state_label(state):
    """A stored state by its label in the workflows that use it (the first one that does)."""
    from app.module import modules
    if state is None:
        return ""
    for module in modules():
        for flow in module.workflows:
            if state in flow.state_labels:
                return flow.state_labels[state]
    return state
