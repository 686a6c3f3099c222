"""Date and time inputs every form shares: the browser's own pickers (`<input type="date">`,
`<input type="datetime-local">`), which speak the user's language, keep a typed value and
need no script. FAB's generated pickers were date-only with English labels and erased a
typed time (issue 18); `native_dates(form_class)` puts these in their place."""
from flask_appbuilder.fieldwidgets import DatePickerWidget, DateTimePickerWidget
from markupsafe import Markup
from wtforms.fields import DateField, DateTimeField
from wtforms.fields.core import UnboundField
from wtforms.widgets import html_params

# The first format is what the input shows; the others are accepted (typed or posted).
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
                    "%Y-%m-%d %H:%M"]
DATE_FORMATS = ["%Y-%m-%d"]


class NativeInput:
    def __init__(self, input_type, **attrs):
        self.input_type, self.attrs = input_type, attrs

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("class", "form-control")
        params = html_params(type=self.input_type, name=field.name, value=field._value(),
                             **self.attrs, **kwargs)
        return Markup(f"<input {params}>")


def native_dates(form_class):
    """Every date / date-time field of a WTForms form class (FAB's generated forms and the
    modules' own) with a native input and lenient parsing; idempotent."""
    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        if not isinstance(unbound, UnboundField):
            continue
        widget = unbound.kwargs.get("widget")
        if not isinstance(widget, (DateTimePickerWidget, DatePickerWidget, NativeInput,
                                   type(None))):
            continue          # a form that chose another input keeps it
        if unbound.field_class is DateField:
            unbound.kwargs.update(widget=NativeInput("date"), format=DATE_FORMATS)
        elif unbound.field_class is DateTimeField:
            unbound.kwargs.update(widget=NativeInput("datetime-local", step="1"),
                                  format=DATETIME_FORMATS)
    return form_class
