"""FAB's generated add and edit pages under the error contract (app/errors.py): a domain
error raised by a rule (pre_add / pre_update) or a failed WTForms validation shows the same
form again, with what was typed and each message beside its field, status 422 (or the
error's own 4xx); FAB's own `_add`/`_edit` flash the message and redirect, losing the input.
Dates and times use the browser's own inputs (dates.py). Creating or editing a record and
its audit row are one transaction (AuditedInterface)."""
import contextlib

from flask import abort, flash, g, request
from flask_appbuilder import expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import (get_filter_args, get_order_args, get_page_args,
                                       get_page_size_args)

from app.errors import DomainError, InvalidError
from app.views.shared.dates import native_dates
from app.views.shared.labels import ChineseLabelsMixin


class AuditedInterface(SQLAInterface):
    """FAB's data interface without its own commits: the row is flushed (it gets its id) and
    the view's post_add / post_update / post_delete commits it together with its audit row."""

    def add(self, item, commit=True):
        super().add(item, commit=False)
        self.session.flush()

    def edit(self, item, commit=True):
        super().edit(item, commit=False)
        self.session.flush()

    def delete(self, item, commit=True):
        super().delete(item, commit=False)
        self.session.flush()


def audited(datamodel):
    return AuditedInterface(datamodel.obj, datamodel._session)


def on_refusal(render):
    """Say how this request's page is shown again if a domain error refuses what was posted:
    render(error) → the page. The error handler (errors.py) calls it with the error's status."""
    g.refused_form = render


def on_refusal_show(render):
    """For a hand-written form page: `render(fields)` draws it again with what was typed and
    the error's field messages; the error's message is flashed above it."""
    def page(error):
        flash(error.message, "danger")
        return render(error.fields or {})
    on_refusal(page)


def show_field_errors(form, error):
    """Each of the error's field messages beside its field; the rest as one flash."""
    unplaced = []
    for name, messages in (error.fields or {}).items():
        messages = [str(m) for m in (messages if isinstance(messages, (list, tuple))
                                     else [messages])]
        if name in form:
            form[name].errors = list(form[name].errors or []) + messages
        else:
            unplaced += messages
    if not error.fields or unplaced:
        flash(error.message if not unplaced else "；".join(unplaced), "danger")


def refused_page(form, page):
    """page() drawn again after the error's messages are put beside the form's fields."""
    def render(error):
        show_field_errors(form, error)
        return page()
    return render


@contextlib.contextmanager
def rule_errors():
    """Older rules raise ValueError with a Chinese message (validators, check_project …):
    on a form they are invalid input like any InvalidError."""
    try:
        yield
    except DomainError:
        raise
    except ValueError as exc:
        raise InvalidError(str(exc)) from exc


class FormPageMixin(ChineseLabelsMixin):
    """add / edit of a ModelView under the error contract (and, through ChineseLabelsMixin,
    titles, 是/否, labels and the search in Chinese)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for form_class in (self.add_form, self.edit_form):
            if form_class is not None:
                native_dates(form_class)

    def _edit_widgets(self, item, form, exclude_cols):
        return self._get_related_views_widgets(
            item, filters={}, orders=get_order_args(), pages=get_page_args(),
            page_sizes=get_page_size_args(),
            widgets=self._get_edit_widget(form=form, exclude_cols=exclude_cols))

    def _form_page(self, template, title, form, widgets):
        kwargs = {"related_views": self._related_views} if template == self.edit_template else {}
        return self.render_template(template, title=title, widgets=widgets, **kwargs)

    @expose("/add", methods=["GET", "POST"])
    @has_access
    def add(self):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        form = self.add_form.refresh()
        if request.method == "POST":
            self._fill_form_exclude_cols(exclude_cols, form)
            page = lambda: self._form_page(self.add_template, self.add_title, form,  # noqa: E731
                                           self._get_add_widget(form=form,
                                                                exclude_cols=exclude_cols))
            if not form.validate():
                return page(), 422
            on_refusal(refused_page(form, page))
            self.process_form(form, True)
            item = self.datamodel.obj()
            form.populate_obj(item)
            with rule_errors():
                self.pre_add(item)
            self.datamodel.add(item)
            self.post_add(item)
            flash(self.add_row_message, "success")
            return self.post_add_redirect()
        self.update_redirect()
        return self._form_page(self.add_template, self.add_title, form,
                               self._get_add_widget(form=form, exclude_cols=exclude_cols))

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        get_filter_args(self._filters, disallow_if_not_in_search=False)
        exclude_cols = self._filters.get_relation_cols()
        item = self.datamodel.get(pk, self._base_filters) or abort(404)
        pk = self.datamodel.get_pk_value(item)
        if request.method == "POST":
            form = self.edit_form.refresh(request.form)
            self._fill_form_exclude_cols(exclude_cols, form)
            form._id = pk
            page = lambda: self._form_page(  # noqa: E731
                self.edit_template, self.edit_title, form,
                self._edit_widgets(item, form, exclude_cols))
            if not form.validate():
                return page(), 422
            on_refusal(refused_page(form, page))
            self.process_form(form, False)
            form.populate_obj(item)
            with rule_errors():
                self.pre_update(item)
            self.datamodel.edit(item)
            self.post_update(item)
            flash(self.edit_row_message, "success")
            return self.post_edit_redirect()
        form = self.edit_form.refresh(obj=item)
        self.prefill_form(form, pk)
        self.update_redirect()
        return self._form_page(self.edit_template, self.edit_title, form,
                               self._edit_widgets(item, form, exclude_cols))
