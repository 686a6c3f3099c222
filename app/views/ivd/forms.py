"""体外诊断试剂报量 forms: the hospital's catalogue grid (暂存) and its 提交 page. A form holds
the labels, the choices and the parsing of what is typed (numbers, 是/否, lengths, the phone
format); the rules of the lines (SPEC Q3 rules 1–3) and of 提交 stay in
app/services/ivd/rules.py, which the REST API reaches the same way. The field names are the
ones the pages always posted (last_<item>, next_<item>, inuse_<item>, contact, contact_phone,
note_<line>). The page's CSRF token is checked by the application (CSRFProtect)."""
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Field, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import html_params

from app.errors import InvalidError
from app.i18n import _, _l
from app.models.ivd import IN_USE_LABELS, PROJECT_STATUS_LABELS
from app.services import validators
from app.services.ivd import rules

YES_NO = (("1", IN_USE_LABELS[True]), ("0", IN_USE_LABELS[False]))


def strip(value):
    return value.strip() if isinstance(value, str) else value


# ---- widgets --------------------------------------------------------------------------------
class TextBox:
    """A text input; its name and what was typed come first (as the pages always wrote)."""

    def __init__(self, **attrs):
        self.attrs = attrs

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("class", "form-control")
        params = html_params(**{**self.attrs, **kwargs})
        return Markup(f'<input name="{escape(field.name)}" value="{escape(field._value())}" '
                      f'{params}>')


class YesNoSelect:
    """是 / 否 with an empty first choice (not chosen yet)."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("class", "form-control")
        current = field._value()
        options = ['<option value=""></option>'] + [
            f'<option value="{value}"{" selected" if current == value else ""}>'
            f'{escape(label)}</option>' for value, label in YES_NO]
        return Markup(f'<select {html_params(name=field.name, **kwargs)}>'
                      + "".join(options) + "</select>")


# ---- fields ---------------------------------------------------------------------------------
class _ParsedField(Field):
    """A field parsed by one of the module's rules (the same parser the REST API uses); a
    refused value stays in the input as typed."""
    parse = None

    def process_formdata(self, valuelist):
        if valuelist:
            self.data = None
            self.data = type(self).parse(valuelist[0])

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.shown(self.data)


class QuantityField(_ParsedField):
    """A quantity: empty, or an integer from 0 (rules.parse_quantity)."""
    widget = TextBox(size="8")
    parse = staticmethod(rules.parse_quantity)

    @staticmethod
    def shown(value):
        return "" if value is None else str(value)


class YesNoField(_ParsedField):
    """是否有在用仪器: empty, 是 or 否 (rules.parse_in_use)."""
    widget = YesNoSelect()
    parse = staticmethod(rules.parse_in_use)

    @staticmethod
    def shown(value):
        return {True: "1", False: "0"}.get(value, "")


# ---- 暂存 of one page of the catalogue ------------------------------------------------------
class IvdLinesForm(FlaskForm):
    """One page of the grid: three fields per catalogue line. Build it with `for_items`."""

    class Meta:
        csrf = False

    catalogue = ()

    @classmethod
    def for_items(cls, items, **kwargs):
        fields = {}
        for item in items:
            fields[f"last_{item.id}"] = QuantityField(_l("上年度采购总数量"))
            fields[f"next_{item.id}"] = QuantityField(_l("下年度采购需求量"))
            fields[f"inuse_{item.id}"] = YesNoField(_l("是否有在用仪器"))
        form = type(cls.__name__, (cls,), fields)(**kwargs)
        form.catalogue = list(items)
        return form

    @classmethod
    def of_lines(cls, items, lines):
        """The grid as stored: `lines` are the report's lines by item id."""
        data = {}
        for item_id, line in lines.items():
            data.update({f"last_{item_id}": line.last_year_qty,
                         f"next_{item_id}": line.next_year_qty,
                         f"inuse_{item_id}": line.in_use})
        return cls.for_items(items, formdata=None, data=data)

    def row(self, item):
        return self[f"last_{item.id}"], self[f"next_{item.id}"], self[f"inuse_{item.id}"]

    def entries(self):
        """What save_lines takes: one dict per line of the page."""
        out = []
        for item in self.catalogue:
            last, nxt, in_use = self.row(item)
            out.append({"item_id": item.id, "last_year_qty": last.data,
                        "next_year_qty": nxt.data, "in_use": in_use.data})
        return out

    def refusal(self):
        """The input errors named by 流水号, together with rules 1 and 2 of the lines that
        parsed (as the REST API reports them): an InvalidError."""
        errors = rules.LineErrors()
        for item in self.catalogue:
            last, nxt, in_use = self.row(item)
            for field in (last, nxt):
                for message in field.errors:
                    errors.add(item.serial_no, f"{field.label.text}{message}")
            for message in in_use.errors:
                errors.add(item.serial_no, message)
            rules.line_rules(errors, item.serial_no, last.data, nxt.data, in_use.data)
        try:
            errors.raise_if_any(_("暂存"))
        except InvalidError as exc:
            return exc
        return InvalidError(_("暂存失败，请检查填写的内容"))


# ---- the 提交 page ------------------------------------------------------------------------
def phone_format(form, field):
    """联系方式: a mobile number or a landline with its area code (validators.check_phone)."""
    if field.data:
        try:
            field.data = validators.check_phone(field.data)
        except validators.ValidationError as exc:
            raise ValidationError(exc.message) from exc


class IvdSubmissionForm(FlaskForm):
    """联系人, 联系方式 and the 增降幅说明 of the lines beyond the threshold (note_<line id>).
    The screen and PUT /api/v1/ivd_hospital_report/<id>/details validate with it."""

    class Meta:
        csrf = False

    contact = StringField(_l("联系人"), filters=[strip], widget=TextBox(maxlength="32"),
                          validators=[Optional(), Length(max=32, message=_l("联系人不能超过32个字"))])
    contact_phone = StringField(_l("联系方式"), filters=[strip], widget=TextBox(),
                                validators=[Optional(), phone_format])
    line_ids = ()

    @classmethod
    def for_lines(cls, line_ids, **kwargs):
        """The form with one 增降幅说明 per line id."""
        fields = {f"note_{line_id}": StringField(
            _l("增降幅说明"), filters=[strip], widget=TextBox(maxlength="1000"),
            validators=[Optional(), Length(max=1000, message=_l("增降幅说明不能超过1000个字"))])
            for line_id in line_ids}
        form = type(cls.__name__, (cls,), fields)(**kwargs)
        form.line_ids = list(line_ids)
        return form

    def note(self, line_id):
        return self[f"note_{line_id}"]

    def details(self):
        """What save_submission_details takes; a note not posted is left as it is."""
        return {"contact": self.contact.data or None,
                "contact_phone": self.contact_phone.data or None,
                "notes": {line_id: self.note(line_id).data or None for line_id in self.line_ids
                          if self.note(line_id).raw_data}}

    def refusal(self):
        fields = {name: [str(m) for m in messages] for name, messages in self.errors.items()}
        first = next(iter(fields.values()))[0] if fields else _("请检查填写的内容")
        return InvalidError(first, fields=fields)


# ---- 报量项目配置's 查询 -----------------------------------------------------------------------
def year_text(form, field):
    """年度 in 查询: empty, or a year from 2000 to 2100 (else a message beside the field)."""
    if field.data and not (field.data.isdigit() and 2000 <= int(field.data) <= 2100):
        raise ValidationError(_("年度须为2000至2100之间的整数"))


class IvdProjectQueryForm(FlaskForm):
    """查询 above 报量项目配置 (GET): 项目名称 (contains), 年度 and the derived 状态; a year
    that is not one is named beside the field and not applied."""

    class Meta:
        csrf = False

    name = StringField(_l("项目名称"), filters=[strip], widget=TextBox())
    year = StringField(_l("年度"), filters=[strip], validators=[Optional(), year_text],
                       widget=TextBox(size="6"))
    status = SelectField(_l("状态"), validate_choice=False, choices=[SelectChoice("", "")] + [
        SelectChoice(code, label) for code, label in PROJECT_STATUS_LABELS.items()])

    @classmethod
    def from_args(cls, args):
        form = cls(formdata=args)
        form.validate()
        return form

    @property
    def year_value(self):
        """The 年度 to filter by, or None (empty or refused)."""
        return int(self.year.data) if self.year.data and not self.year.errors else None
