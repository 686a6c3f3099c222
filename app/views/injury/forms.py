"""工伤 forms of the hand-written pages: the person lookup (W3), the five declaration forms
(W4, one class per kind, made from the kind's declared fields) and 马上注册 (W1).

A form holds its fields' labels, choices, inputs and the checks about the input itself
(required, length, a real date, one of the choices), with the same Chinese messages as the
REST API gives for the same fields (services/injury/rules.py `clean_fields`). The domain
rules — dates in order, the device lines, the ID and USCC check digits, the region, the
password, what is already taken — stay in services/injury/rules.py. No check sets the
`required` attribute: the page is always sent, and the server answers in its own words,
beside the field. CSRF is checked for every POST by Flask-WTF's CSRFProtect (the templates
carry `csrf_token()`), so these forms do not check it again."""
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from wtforms import (HiddenField, PasswordField, SelectField, StringField, TextAreaField)
from wtforms.fields import DateField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import Select, html_params

from app.i18n import _, _l
from app.services.injury.rules import LIMITS, line_errors, parse_date, raise_if
from app.views.shared.dates import DATE_FORMATS, NativeInput
from app.workflows.injury import KINDS


def strip(value):
    return value.strip() if isinstance(value, str) else value


def no_spaces(value):
    return "".join(value.split()) if isinstance(value, str) else value


class Required:
    """A value must be given (`message`); unlike WTForms' InputRequired it sets no
    `required` flag, so the browser does not refuse the page in its own words first."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if not any(str(v).strip() for v in (field.raw_data or [])) and \
                field.data in (None, "", []):
            field.errors[:] = []
            raise StopValidation(str(self.message))


class MaxLength:
    """At most `n` characters, with the field's own message; the input gets maxlength."""

    def __init__(self, n, message):
        self.n, self.message = n, message
        self.field_flags = {"maxlength": n}

    def __call__(self, form, field):
        if field.data and len(str(field.data)) > self.n:
            raise ValidationError(str(self.message))


class OneOf:
    def __init__(self, values, message):
        self.values, self.message = tuple(values), message

    def __call__(self, form, field):
        if field.data and field.data not in self.values:
            raise ValidationError(str(self.message))


class DayField(DateField):
    """A day in the browser's own date input; YYYY-MM-DD or the manual's YYYYMMDD is
    accepted. A wrong one keeps what was typed and says why, after the field's label."""
    widget = NativeInput("date")

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=DATE_FORMATS, **kwargs)

    def process_formdata(self, valuelist):
        text = " ".join(valuelist or []).strip()
        self.data = None
        if text:
            try:
                self.data = parse_date(text)
            except ValueError as exc:
                raise ValueError(f"{self.label.text}：{exc}") from None


class OptionSelect(Select):
    """A select whose options start with their value (`<option value="…" data-…>`), as
    the pages and their scripts have always written them."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        extra = {**(choice.render_kw or {}), **kwargs}
        if choice.selected:
            extra["selected"] = True
        attrs = (" " + html_params(**extra)) if extra else ""
        return Markup(f'<option value="{escape(choice.value)}"{attrs}>'
                      f'{escape(choice.label or choice.value)}</option>')


def options(pairs, prompt=None):
    """[(value, label[, attributes])] → the select's choices, after an empty `prompt`."""
    head = [SelectChoice("", prompt)] if prompt is not None else []
    return head + [SelectChoice(str(p[0]), p[1], p[2] if len(p) > 2 else {}) for p in pairs]


# ---- W3 人员查询 ------------------------------------------------------------------------------


class LookupForm(FlaskForm):
    """工伤保险业务: the person's ID number (GET); its check digit is the lookup's rule."""

    class Meta:
        csrf = False

    # A number pasted with spaces (1401 0519 …) is taken without them: the input is not
    # cut at 18 characters, the spaces are dropped before the length check.
    id_number = StringField(_l("人员身份证号"), filters=[no_spaces],
                            render_kw={"maxlength": 25, "autofocus": True,
                                       "placeholder": _l("请输入18位身份证号")})
    kind = HiddenField()


# ---- W4 申报 -------------------------------------------------------------------------------


def _declared(f):
    """One WTForms field from a field declared by the kind (app/workflows/injury.py)."""
    checks = [Required(_l("请填写%(f)s", f=f.label))] if f.required else []
    if f.max_length:
        checks.append(MaxLength(f.max_length, _l("%(f)s不能超过%(n)s个字", f=f.label,
                                                  n=f.max_length)))
    if f.type == "date":
        return DayField(f.label, checks)
    if f.type == "choice":
        checks.append(OneOf(f.choices, _l("%(f)s取值无效，可选：%(c)s", f=f.label,
                                          c="、".join(f.choices))))
        return SelectField(f.label, checks, choices=options([(c, c) for c in f.choices],
                                                           _l("请选择")),
                           validate_choice=False, widget=OptionSelect())
    if f.type == "textarea":
        return TextAreaField(f.label, checks, filters=[strip], render_kw={"rows": 3})
    return StringField(f.label, checks, filters=[strip])


class DeclarationForm(FlaskForm):
    """The fields every declaration has: the chosen determination (among the person's);
    `for_kind` adds the kind's own fields."""

    class Meta:
        csrf = False

    determination = SelectField(_l("工伤认定信息"), [Required(_l("请选择工伤认定信息"))],
                                validate_choice=False, widget=OptionSelect())
    kind = None

    def choose_among(self, determinations):
        """The person's determinations as options; each carries what the page shows of it."""
        self.determination.choices = options(
            (d.id, f"{d.determination_no} · {d.injury_date} · {d.employer_name}",
             {"data-type": str(d.injury_type_label), "data-no": d.determination_no,
              "data-date": str(d.injury_date), "data-employer": d.employer_name})
            for d in determinations)
        return self

    def kind_fields(self):
        return [self[f.name] for f in self.kind.fields]

    def refuse_if_invalid(self, lines=None):
        """Every problem of the input at once (with the device lines' ones), one 422."""
        if not self.validate():
            raise_if({**{k: v for k, v in self.errors.items() if k},
                      **line_errors(self.kind, lines)})

    def values(self):
        """The kind's fields as typed values (what services.injury.commands.save takes)."""
        return {"determination": self.determination.data,
                **{f.name: self[f.name].data for f in self.kind.fields}}

    @classmethod
    def of_body(cls, kind_code, body):
        """The kind's form over a REST body (JSON): the API checks its fields the same way
        as the page does, with the same messages."""
        data = MultiDict()
        for key, value in body.items():
            if value is not None and not isinstance(value, (list, dict)):
                data.add(key, value.isoformat() if hasattr(value, "isoformat") else str(value))
        return DECLARATION_FORMS[kind_code](formdata=data)


DECLARATION_FORMS = {
    code: type(f"{code.title()}DeclarationForm", (DeclarationForm,),
               {"kind": kind, **{f.name: _declared(f) for f in kind.fields}})
    for code, kind in KINDS.items()}

LINE_COLUMNS = ("item", "quantity", "price", "configured_on", "usage_years")


def posted_lines(formdata):
    """The device table's columns come as parallel lists (line_item, line_quantity …);
    blank rows are skipped. Each row is checked by rules.clean_lines (第N行 …)."""
    values = {c: formdata.getlist(f"line_{c}") for c in LINE_COLUMNS}
    count = max((len(v) for v in values.values()), default=0)
    rows = []
    for n in range(count):
        row = {c: (values[c][n] if n < len(values[c]) else "") for c in LINE_COLUMNS}
        if any(str(v).strip() for v in row.values()):
            rows.append(row)
    return rows


# ---- W1 马上注册 ----------------------------------------------------------------------------


def _no_spaces(form, field):
    if field.data and any(ch.isspace() for ch in field.data):
        raise ValidationError(_("登录名不能包含空格"))


def _text(label, limit=None, extra=(), **kwargs):
    checks = [Required(_l("请填写%(label)s", label=label))]
    if limit:
        checks.append(MaxLength(limit, _l("%(label)s不能超过%(n)s个字", label=label, n=limit)))
    return StringField(label, checks + list(extra), filters=[strip], **kwargs)


def region_options(rows, prompt):
    """region_children rows → options; a region with children says so (data-leaf=0)."""
    return options([(code, name, {"data-leaf": "0" if children else "1"})
                    for code, name, _level, children in rows or []], prompt)


class RegistrationForm(FlaskForm):
    """马上注册 (SPEC W1). The USCC and phone formats, the region, the password rule and what
    is already registered are rules.Registration's; all problems come back at once."""

    class Meta:
        csrf = False

    name = _text(_l("单位名称"), LIMITS["name"],
                 render_kw={"placeholder": _l("请输入医疗机构全称")})
    uscc = StringField(_l("统一社会信用代码"), filters=[strip],
                       render_kw={"placeholder": _l("18位，如 12140100MB1234567X")})
    province = SelectField(_l("所属区划"), validate_choice=False, filters=[strip],
                           widget=OptionSelect())
    city = SelectField(_l("市"), validate_choice=False, filters=[strip],
                       widget=OptionSelect())
    county = SelectField(_l("县（区）"), validate_choice=False, filters=[strip],
                         widget=OptionSelect())
    contact = _text(_l("联系人"), LIMITS["contact"])
    phone = StringField(_l("联系电话"), filters=[strip], render_kw={
        "placeholder": _l("手机号码，或带区号的固定电话，如 0351-1234567")})
    username = _text(_l("登录名"), LIMITS["username"], extra=[_no_spaces],
                     render_kw={"placeholder": _l("可使用中文，如：太原市第一人民医院")})
    password = PasswordField(_l("密码"), description=_l(
        "至少8位，且包含大写字母、小写字母、数字、符号中的至少3种"),
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(_l("确认密码"), render_kw={"autocomplete": "new-password"})
    captcha = StringField(_l("验证码"), filters=[strip], render_kw={"autocomplete": "off"})

    def with_regions(self, region_children):
        """Options of the three region selects, so that the form comes back as it was
        sent (and works without JavaScript down to the province)."""
        province, city = self.province.data or "", self.city.data or ""
        cities = region_children(province) if province else []
        counties = region_children(city) if city and cities else []
        self.province.choices = region_options(region_children(None), _("请选择省"))
        self.city.choices = region_options(cities, _("请选择市"))
        self.county.choices = region_options(counties, _("请选择县（区）"))
        self.county.hidden = not counties
        return self

    def values(self):
        """What rules.Registration reads: the texts trimmed, the passwords as typed."""
        return {name: (self[name].data or "") for name in
                ("name", "uscc", "province", "city", "county", "contact", "phone",
                 "username", "password", "confirm", "captcha")}

    def input_errors(self):
        """field → its first message (the page shows one per field)."""
        return {name: str(messages[0]) for name, messages in self.errors.items() if messages}
