"""医疗机构信息维护 forms (issue 16 item 5): one WTForms class per hand-written form page —
注册账号, 机构信息 (新增 / 维护), 证号变更申请, 定点协议, 医师护士信息. Each holds its fields'
labels, choices, help texts, how a posted value is read (text, flag, date) and the checks
about the input itself (required, lengths, one of the choices), with the rules' own Chinese
messages. The domain rules (check digits, duplicates, who may, date order, the region and
pooling area, password strength …) stay in app/services/registry/rules.py, which the
commands apply for the screens and the REST API alike; the REST bodies go through the same
form classes (`body_errors`).

A refused form (its own checks, or a domain error of the command) is drawn again with what
was typed and each message beside its field (`refuse_with`), status 422."""
from flask_appbuilder.forms import DynamicForm
from werkzeug.datastructures import MultiDict
from wtforms import (BooleanField, DateField, FileField, PasswordField,
                     RadioField, SelectField, StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Regexp, StopValidation

from app.errors import InvalidError
from app.i18n import _, _l
from app.models.registry import AGREEMENT_TYPES, ROLE_KINDS, STAFF_TYPES
from app.services.registry import rules
from app.views.shared.dates import DATE_FORMATS, NativeInput
from app.views.shared.forms import on_refusal, refused_page

REQUIRED = _l("必填")


def too_long(n):
    return Length(max=n, message=_l("不能超过%(n)s个字", n=n))


def required(message=REQUIRED):
    return DataRequired(message=message)


class Starred:
    """Marks a field the rules require (the star beside its label) where the check itself
    is the rules' (a conditional or domain one). The forms are drawn `novalidate`: the
    server's Chinese messages judge, not the browser's own required-field bubble."""
    field_flags = {"required": True}

    def __call__(self, form, field):
        pass


STAR = Starred()


def one_of(values, message):
    return AnyOf(list(values), message=message)


def strip(value):
    """Leading and trailing blanks are not part of a typed value."""
    return value.strip() if isinstance(value, str) else value


class Text(StringField):
    def __init__(self, label, validators=(), **kwargs):
        super().__init__(label, validators=list(validators), filters=[strip], **kwargs)


def options(pairs):
    """(value, label) pairs as WTForms' choices."""
    return [SelectChoice(str(value), label) for value, label in pairs]


class Choice(SelectField):
    """A select whose value the validators (or the rules) check, never WTForms' English
    'Not a valid choice'; `choices` may be filled per request."""
    def __init__(self, label, validators=(), choices=(), prompt=_l("请选择"), **kwargs):
        super().__init__(label, validators=list(validators), validate_choice=False,
                         choices=options([("", prompt), *choices]), **kwargs)
        self.prompt = prompt

    def fill(self, pairs, prompt=True):
        """The choices of this request: (value, label) pairs, after the prompt."""
        self.choices = options(([("", self.prompt)] if prompt else []) + list(pairs))


class Radio(RadioField):
    def __init__(self, label, validators=(), choices=(), **kwargs):
        super().__init__(label, validators=list(validators), validate_choice=False,
                         choices=options(choices), **kwargs)

    def fill(self, pairs):
        self.choices = options(pairs)


DATE_MESSAGE = _l("请填写日期（年-月-日）")


class Date(DateField):
    """The browser's own date picker (dates.NativeInput); empty or unreadable: one message."""
    widget = NativeInput("date")

    def __init__(self, label, **kwargs):
        super().__init__(label, validators=[required(DATE_MESSAGE)], format=DATE_FORMATS,
                         invalid_value_message=DATE_MESSAGE, **kwargs)

    def pre_validate(self, form):
        if self.process_errors:         # already said; not "required" a second time
            raise StopValidation()


class RegistryForm(DynamicForm):
    """What every registry form shares: the names the rules give their messages that are
    not the form's own field names (RULE_FIELDS), and the values as the commands read them."""
    RULE_FIELDS = {}

    def field_name(self, rule_name):
        return self.RULE_FIELDS.get(rule_name, rule_name)

    def values(self):
        """The posted values as the command reads them (not the CSRF token nor a file)."""
        return {name: field.data for name, field in self._fields.items()
                if name != "csrf_token" and not isinstance(field, FileField)}

    def refusal(self):
        """The form's own messages as one InvalidError (None when valid)."""
        if self.validate():
            return None
        fields = {name: [str(m) for m in messages] for name, messages in self.errors.items()
                  if name != "csrf_token"}
        message = "；".join(f"{self[name].label.text}：{'；'.join(messages)}"
                           for name, messages in fields.items()) or _("表单已过期，请刷新页面后重试")
        return InvalidError(message, fields=fields)


def refuse_with(form, page):
    """on_refusal for this request: the error's field messages (renamed from the rules'
    names to the form's) beside the fields of `form`, then `page()` drawn again."""
    show = refused_page(form, page)

    def render(error):
        if error.fields:
            renamed = {}
            for name, messages in error.fields.items():
                name = form.field_name(name)
                shown = [str(m) for m in form[name].errors] if name in form else []
                renamed.setdefault(name, []).extend(      # the form's own are there already
                    str(m) for m in (messages if isinstance(messages, (list, tuple))
                                     else [messages]) if str(m) not in shown)
            error.fields = renamed
        return show(error)
    on_refusal(render)


def check(form, rule=None):
    """Validate the form → the values the command reads. A refusal (422, the messages beside
    the fields) is raised for the handler, which draws the page registered by refuse_with;
    `rule(values)` (→ {field: message}, or raising InvalidError) adds what the rules find on
    the same input, so every message is shown at once, as the rules alone showed them."""
    refusal = form.refusal()
    if refusal is None:
        return form.values()
    if rule is not None:
        try:
            found = rule(form.values()) or {}
        except InvalidError as error:
            found = error.fields or {}
        for name, messages in found.items():
            refusal.fields.setdefault(form.field_name(name), messages
                                      if isinstance(messages, (list, tuple)) else [messages])
    raise refusal


def body_errors(form_class, body, names=None, rule=None):
    """A REST body through the same form class (no CSRF: the API authenticates by token):
    the form's messages on the fields the body names (or `names`), with what `rule(body)`
    finds (as in check) → InvalidError raised; nothing when the form accepts the body."""
    data = MultiDict({k: "1" if v is True else "" if v is False else v
                      for k, v in body.items() if v is not None})
    form = form_class(formdata=data, meta={"csrf": False})
    names = set(names if names is not None else body)
    form.validate()
    errors = {k: "；".join(str(m) for m in v) for k, v in form.errors.items() if k in names}
    if not errors:
        return
    if rule is not None:
        try:
            found = rule(body) or {}
        except InvalidError as error:
            found = {k: "；".join(map(str, v)) for k, v in (error.fields or {}).items()}
        for name, message in found.items():
            errors.setdefault(name, message)
    labels = {k: form[k].label.text for k in errors if k in form}
    rules.fail(errors, {**rules.FIELD_LABELS, **rules.AGREEMENT_LABELS, **rules.STAFF_LABELS,
                        **labels})


# ---- 注册账号 (M1) ------------------------------------------------------------------------------

class RegisterForm(RegistryForm):
    username = Text(_l("登录名"), [required(), too_long(64),
                                 Regexp(r"^\S*$", message=_l("登录名不能包含空格"))])
    name = Text(_l("姓名"), [required(), too_long(64)])
    mobile = Text(_l("手机号"), [STAR, Regexp(rules.MOBILE_RE, message=_l("请填写11位手机号"))])
    password = PasswordField(_l("密码"), [required()],
                             description=_l("至少8位，且包含大写字母、小写字母、数字、符号中的至少3种"))
    confirm = PasswordField(_l("确认密码"), [STAR])
    role_kind = Radio(_l("角色类型"), [STAR, one_of(ROLE_KINDS, _l("请选择角色类型"))],
                      choices=[(k, v) for k, v in ROLE_KINDS.items()],
                      description=_l("医疗机构请选择“医疗机构维护人员”；每个机构只能有一个审核通过的维护人员，"
                                     "医师和护士信息维护账号可以注册多个"))
    captcha = Text(_l("验证码"), [STAR], description=_l("见登录页验证码"))


# ---- 机构信息 (M2, M3) --------------------------------------------------------------------------

YES_NO = [("1", _l("是")), ("0", _l("否"))]


class InstitutionForm(RegistryForm):
    """新增机构 and 维护: the administrative region is the deepest of the three selects; a
    coded institution's certificates are not on the form (证号变更申请)."""
    RULE_FIELDS = {"pooling": "pooling_code", "region": "province"}
    CERTIFICATES = ("uscc", "no_uscc", "licence_no", "military")

    legal_name = Text(rules.FIELD_LABELS["legal_name"],
                      [required(), too_long(rules.LIMITS["legal_name"])],
                      description=_l("营业执照或法人单位资质上的名称"))
    name = Text(rules.FIELD_LABELS["name"], [required(), too_long(rules.LIMITS["name"])],
                description=_l("医疗机构执业许可证上的名称"))
    uscc = Text(rules.FIELD_LABELS["uscc"], [STAR], render_kw={"placeholder": _l("18位统一社会信用代码")})
    no_uscc = BooleanField(_l("无统一社会信用代码"),
                           description=_l("无（须上传加盖公章的PDF说明材料）"))
    licence_no = Text(rules.FIELD_LABELS["licence_no"], [STAR], description=_l("部队医疗机构可不填"))
    military = BooleanField(_l("部队医疗机构"),
                            description=_l("部队（医疗机构执业许可证登记号可不维护）"))
    province = Choice(rules.FIELD_LABELS["region"], [STAR], prompt=_l("请选择省"),
                      description=_l("按民政部行政区划选择机构实际所在地区"))
    city = Choice(_l("市"), prompt=_l("请选择市"))
    county = Choice(_l("县（区）"), prompt=_l("请选择县（区）"))
    address = Text(rules.FIELD_LABELS["address"], [required(), too_long(rules.LIMITS["address"])])
    pooling_code = Choice(rules.FIELD_LABELS["pooling"], [STAR],
                          description=_l("按机构实际的医保统筹地区、统筹级别选择，与行政区划可能不同"))
    uses_e_voucher = Radio(rules.FIELD_LABELS["uses_e_voucher"], [STAR], choices=YES_NO, default="0",
                           description=_l("机构是否支持通过医保电子凭证进行账户查询、医保业务办理、"
                                          "就诊和购药支付"))
    category = Choice(rules.FIELD_LABELS["category"],
                      [required(), one_of(rules.CATEGORIES, _l("不是可选的值"))],
                      choices=[(c, c) for c in rules.CATEGORIES])
    grade = Choice(rules.FIELD_LABELS["grade"],
                   [required(), one_of(rules.GRADES, _l("不是可选的值"))],
                   choices=[(c, c) for c in rules.GRADES])
    phone = Text(rules.FIELD_LABELS["phone"], [too_long(rules.LIMITS["phone"])],
                 render_kw={"placeholder": _l("手机号码，或带区号的固定电话")})

    def without_certificates(self):
        """A coded institution's form: the certificates are shown, not posted."""
        for name in self.CERTIFICATES:
            delattr(self, name)
        return self

    def values(self):
        values = super().values()
        values["region_code"] = values["county"] or values["city"] or values["province"]
        values["uses_e_voucher"] = values["uses_e_voucher"] == "1"
        return values

    @staticmethod
    def initial(values):
        """The stored values (rules.form_values) as the form shows them."""
        return {**values, "uses_e_voucher": "1" if values.get("uses_e_voucher") else "0"}


# ---- 证号变更申请 (M3) ----------------------------------------------------------------------------

class CertChangeForm(RegistryForm):
    RULE_FIELDS = {"uscc": "new_uscc", "licence_no": "new_licence_no"}

    new_uscc = Text(_l("新统一社会信用代码"), description=_l("不变更时留空"))
    new_licence_no = Text(_l("新医疗机构执业许可证登记号"), description=_l("不变更时留空"))
    reason = TextAreaField(_l("变更原因"), [required(_l("请填写变更原因")), too_long(500)],
                           filters=[strip], render_kw={"rows": 4})


# ---- 定点协议 (M6) ------------------------------------------------------------------------------

class AgreementForm(RegistryForm):
    """The institution and the agency are chosen from per-request lists (the view fills
    them); the agency search (region, name) posts back to the same page with GET."""
    RULE_FIELDS = {"institution": "institution_id", "agency": "agency_org_id"}

    institution_id = Choice(rules.AGREEMENT_LABELS["institution"], [STAR],
                            description=_l("选择已赋码的医疗机构"))
    agency_region = Choice(_l("经办机构所在区划"))
    agency_name = Text(_l("经办机构名称"), render_kw={"placeholder": _l("医保部门名称")})
    agency_org_id = Radio(rules.AGREEMENT_LABELS["agency"], [STAR],
                          description=_l("经办机构为与本机构签订协议的医保部门（医疗保障局或医保经办机构），"
                                         "不是医疗机构本身，按区划和名称查询"))
    agreement_no = Text(rules.AGREEMENT_LABELS["agreement_no"], [required(), too_long(64)])
    agreement_type = Choice(rules.AGREEMENT_LABELS["agreement_type"],
                            [STAR, one_of(AGREEMENT_TYPES, _l("请选择协议类型"))],
                            choices=[(k, v) for k, v in AGREEMENT_TYPES.items()])
    start_date = Date(rules.AGREEMENT_LABELS["start_date"])
    end_date = Date(rules.AGREEMENT_LABELS["end_date"])
    content = TextAreaField(rules.AGREEMENT_LABELS["content"], [too_long(4000)],
                            filters=[strip], render_kw={"rows": 4})
    file = FileField(rules.AGREEMENT_LABELS["file"],
                     description=_l("PDF或图片；已上传的附件在协议详情中查看"))

    def values(self):
        values = super().values()
        for name in ("start_date", "end_date"):      # the rules read an ISO date
            values[name] = values[name].isoformat() if values[name] else ""
        return values


# ---- 医师 / 护士 (M7) ---------------------------------------------------------------------------

class StaffForm(RegistryForm):
    name = Text(rules.STAFF_LABELS["name"], [required(), too_long(64)])
    id_number = Text(rules.STAFF_LABELS["id_number"], [required()])
    staff_type = Radio(rules.STAFF_LABELS["staff_type"],
                       [STAR, one_of(STAFF_TYPES, _l("请选择人员类型"))],
                       choices=[(k, v) for k, v in STAFF_TYPES.items()])
    cert_no = Text(rules.STAFF_LABELS["cert_no"], [required()])
