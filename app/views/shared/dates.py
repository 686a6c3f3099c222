"""Date and time inputs every form shares: a text input carrying `data-picker="date"` or
`data-picker="datetime"`, which app/static/datepicker.js turns into the portal's own Chinese
picker (年/月, 一 … 日 with Monday first, 24-hour 时:分:秒, 今天 / 清除 / 确定). The browser's
native pickers followed the browser's language and could not be shown in a screenshot, and
FAB's were date-only with English labels and erased a typed time (issue 18). What people
type is kept and read on the server (DATE_FORMATS, DATETIME_FORMATS); anything else is
refused in Chinese. `native_dates(form_class)` puts these in place of FAB's widgets."""
from flask_appbuilder.fieldwidgets import DatePickerWidget, DateTimePickerWidget
from markupsafe import Markup
from wtforms.fields import DateField, DateTimeField, DateTimeLocalField
from wtforms.fields.core import UnboundField
from wtforms.validators import StopValidation
from wtforms.widgets import html_params

from app.i18n import _l

# The first format is what the input shows; the others are accepted (typed or posted).
# People type 2026-11-01, 2026-11-01 08:00 or 2026/11/01; a date alone in a date-time field
# is that day's 00:00; the "T" forms are what the browsers' own inputs and API clients send.
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d"]
DATETIME_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                    "%Y-%m-%dT%H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", *DATE_FORMATS]


class _TypedValue:
    """A date the server could not read is refused with what it expects, in Chinese, and
    nothing else is said of the field (not 必填 for a value that was typed)."""
    default_message = None

    def __init__(self, *args, invalid_value_message=None, **kwargs):
        super().__init__(*args, invalid_value_message=invalid_value_message
                         or self.default_message, **kwargs)

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


class TypedDateField(_TypedValue, DateField):
    default_message = _l("不是有效的日期，请按 2026-11-01 的格式填写")


class TypedDateTimeField(_TypedValue, DateTimeLocalField):
    default_message = _l("不是有效的日期时间，请按 2026-11-01 08:00 的格式填写")


class DateInput:
    """A text input the picker attaches to (kind "date" or "datetime"); the value is the
    field's own text: its first format, or what was typed when the server refused it."""
    PLACEHOLDERS = {"date": _l("例如 2026-11-01"), "datetime": _l("例如 2026-11-01 08:00")}

    def __init__(self, kind="date", **attrs):
        self.kind, self.attrs = kind, attrs

    def __call__(self, field, **kwargs):
        if "class_" in kwargs:
            kwargs["class"] = kwargs.pop("class_")
        attrs = {"id": field.id, "class": "form-control", "autocomplete": "off",
                 "placeholder": str(self.PLACEHOLDERS[self.kind]), **self.attrs, **kwargs}
        params = html_params(type="text", name=field.name, value=field._value(),
                             data_picker=self.kind, **attrs)
        return Markup(f"<input {params}>")


class NativeInput:
    """`<input type=…>` with the given attributes (number, email …). A "date" or
    "datetime-local" one is the portal's picker (DateInput) instead, so the forms written
    for the browser's own pickers need no change."""
    PICKERS = {"date": "date", "datetime-local": "datetime"}

    def __new__(cls, input_type, **attrs):
        if input_type in cls.PICKERS:
            attrs.pop("step", None)            # seconds are always allowed by the picker
            return DateInput(cls.PICKERS[input_type], **attrs)
        return super().__new__(cls)

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
    modules' own) with the portal's picker and lenient parsing; idempotent."""
    for name in dir(form_class):
        unbound = getattr(form_class, name, None)
        if not isinstance(unbound, UnboundField):
            continue
        widget = unbound.kwargs.get("widget")
        if not isinstance(widget, (DateTimePickerWidget, DatePickerWidget, DateInput,
                                   type(None))):
            continue          # a form that chose another input keeps it
        if unbound.field_class in (DateField, TypedDateField):
            unbound.field_class = TypedDateField
            unbound.kwargs.update(widget=DateInput("date"), format=DATE_FORMATS)
        elif unbound.field_class in (DateTimeField, DateTimeLocalField, TypedDateTimeField):
            unbound.field_class = TypedDateTimeField
            unbound.kwargs.update(widget=DateInput("datetime"), format=DATETIME_FORMATS)
    return form_class
