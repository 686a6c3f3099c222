"""基本公卫 forms: the institution form (新增 / 填报), the change request (申请修改) and
机构隶属关系维护. Each form holds its fields' labels, help texts, choices and what is checked
on the input itself; the data items are checked by the rules' own check of each item
(services/phs/rules.clean_fields, which the REST bodies and the commands run too), so a
screen and the API say the same. What depends on who asks and on the reports (who may add
what, which superior, the kind of a change request) stays in the services."""
from flask import flash
from flask_appbuilder.forms import DynamicForm
from wtforms import HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.i18n import _l
from app.models.phs import (CHANGE_KINDS, DATA_ITEMS, INSTITUTION_TYPES, SERVICE_ITEMS,
                            SPONSOR_TYPES)
from app.services.phs import rules

LABELS = {**DATA_ITEMS, "inst_type_label": _l("机构类型"), "sponsor_label": _l("主办类型"),
          "services_label": _l("承担项目内容"), "superior_label": _l("上级机构"),
          "tier_label": _l("机构层级"), "complete_label": _l("数据项"),
          "township": _l("所在乡镇（街道）"), "address_detail": _l("详细地址"),
          "organization": _l("填报单位"), "updated_at": _l("最后修改时间")}
# 表2 填写说明, shown beside each item (the manual: 鼠标悬停在各数据项后侧小图标上显示).
HINTS = {
    "name": _l("填写《医疗机构执业许可证》的“机构名称”（有多个名称时填第一名称）；非医疗服务的卫生机构"
               "（如疾控中心）填写《卫生机构（组织）分类代码证》的“机构名称”"),
    "code": _l("填写《医疗机构执业许可证》的“登记号”；非医疗服务的卫生机构填写《卫生机构（组织）分类代码证》"
               "的“代码”"),
    "phone": _l("手机号码11位；固定电话要有区号，如 0351-1234567"),
    "address": _l("精确到门牌号。省市县由系统自动生成，用户添加详细地址"),
    "inst_type": _l("包括乡镇卫生院、社区卫生服务中心等，从下拉框选择"),
    "sponsor": _l("包括政府办、社会办、私人办"),
    "coordinates": _l("机构所在地址的经度和纬度，点击地图位置自动获取，或直接填写"),
    "superior": _l("社区卫生服务中心、乡镇卫生院的上级机构为县级，社区卫生服务站或村卫生室的上级机构为"
                   "社区卫生服务中心或乡镇卫生院"),
    "services": _l("支持多选"),
}
BLANK = _l("请选择")


def options(pairs, blank=None):
    """[(value, label)] → the choices of a select (a first empty one when `blank`)."""
    return [SelectChoice(value, label) for value, label in
            ([("", blank)] if blank is not None else []) + list(pairs)]


def choices(mapping, blank=BLANK):
    return options(mapping.items(), blank)


class ItemRule:
    """A field validator running the rules' check of these data items (the same messages as
    a REST body gets). On a form whose `blank_items` is true an empty item is not checked
    (a change request names only what it changes)."""

    def __init__(self, *names):
        self.names = names

    def __call__(self, form, field):
        data = {name: form[name].data for name in self.names}
        if form.blank_items and all(v in (None, "", []) for v in data.values()):
            raise StopValidation()
        _values, errors = rules.clean_fields(data, partial=True)
        for messages in errors.values():
            raise ValidationError(str(messages[0]))


def text_item(name, **render_kw):
    return StringField(LABELS[name], description=HINTS.get(name), validators=[ItemRule(name)],
                       render_kw=render_kw or None)


class ServicesField(SelectMultipleField):
    """承担项目内容: one checkbox per service item (their order is the manual's)."""
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ItemsForm(DynamicForm):
    """The editable data items of 表2 (field names = rules.EDITABLE_FIELDS)."""
    blank_items = False
    name = text_item("name")
    code = text_item("code")
    contact = text_item("contact")
    phone = text_item("phone", placeholder="0351-1234567 / 13912345678")
    township = text_item("township", placeholder=_l("所在乡镇（街道）"))
    address_detail = text_item("address_detail", placeholder=_l("详细地址，精确到门牌号"))
    inst_type = SelectField(LABELS["inst_type"], description=HINTS["inst_type"],
                            choices=choices(INSTITUTION_TYPES), validate_choice=False,
                            validators=[ItemRule("inst_type")])
    sponsor = SelectField(LABELS["sponsor"], description=HINTS["sponsor"],
                          choices=choices(SPONSOR_TYPES), validate_choice=False,
                          validators=[ItemRule("sponsor")])
    # one message for the pair, beside 经度 (the rules call it "coordinates")
    longitude = StringField(_l("经度"), description=HINTS["coordinates"],
                            validators=[ItemRule("longitude", "latitude")],
                            render_kw={"placeholder": _l("经度，如 112.560000")})
    latitude = StringField(_l("纬度"), render_kw={"placeholder": _l("纬度，如 37.730000")})
    services = ServicesField(LABELS["services"], description=HINTS["services"],
                             choices=options(SERVICE_ITEMS.items()), validate_choice=False,
                             validators=[ItemRule("services")])

    @classmethod
    def of(cls, inst):
        """The form as first shown: the institution's items, or empty for 新增."""
        if inst is None:
            return cls(formdata=None)
        data = {k: getattr(inst, k) for k in rules.EDITABLE_FIELDS}
        data["services"] = inst.service_codes
        for key in ("longitude", "latitude"):
            data[key] = "" if data[key] is None else f"{data[key]:.6f}"
        return cls(formdata=None, data=data)

    def items(self):
        """The data items as the services read them (services: the ticked codes)."""
        return {name: self[name].data for name in rules.EDITABLE_FIELDS}


class PhsInstitutionForm(ItemsForm):
    """新增 / 填报: every item may stay empty (保存 any time) but 机构名称."""


class PhsChangeRequestForm(ItemsForm):
    """申请修改: the kind, the institution (修改 / 删除) or the superior (新增), the items
    changed and the reason. Which of them a kind needs is the service's rule."""
    blank_items = True
    kind = SelectField(_l("申请类型"), choices=choices(CHANGE_KINDS), validate_choice=False)
    institution = SelectField(_l("机构"), validate_choice=False)
    superior = SelectField(_l("上级机构（新增时）"), validate_choice=False)
    reason = TextAreaField(_l("申请说明"), render_kw={"rows": 3})
    # the institution whose current values the items were loaded from (a 修改 amends them)
    loaded = HiddenField()

    @classmethod
    def amending(cls, inst, kind):
        """The form of a 修改 with the institution's current values filled in."""
        form = cls.of(inst)
        form.kind.data, form.institution.data, form.loaded.data = kind, str(inst.id), str(inst.id)
        return form

    def request_data(self):
        return {"kind": self.kind.data, "reason": self.reason.data,
                "institution": self.institution.data,
                "content": {**self.items(), "superior": self.superior.data}}


class Chosen:
    """Something must be chosen: InputRequired without the HTML `required` attribute (a
    required checkbox would have to be ticked each), the message the service gives."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if not any(v not in (None, "") for v in (field.raw_data or [])):
            raise StopValidation(str(self.message))


class PhsAffiliationForm(DynamicForm):
    """机构隶属关系维护: the institutions ticked and their superior."""
    org = SelectMultipleField(_l("机构"), validate_choice=False, option_widget=CheckboxInput(),
                              validators=[Chosen(_l("请至少选择一个机构"))])
    superior = SelectField(_l("上级机构"), validate_choice=False)
    reason = StringField(_l("不参与原因"), render_kw={
        "placeholder": _l("如：医院不承担基本公共卫生服务项目任务")})

    def __init__(self, *args, dismiss=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.dismiss = dismiss      # 不参与本次报送: a reason (the service's), no superior

    def validate_superior(self, field):
        if not self.dismiss:
            Chosen(_l("请选择上级机构"))(self, field)


def validated(form):
    """form.validate(); a failure is refused as the rules refuse (rules.fail: one flash
    naming each message, 422), the messages going back beside their fields."""
    if not form.validate():
        errors = {name: [str(m) for m in field.errors]
                  for name, field in form._fields.items() if field.errors}
        for field in form:
            field.errors = []
        rules.fail(errors)
    return form


def refused(form, page):
    """How a refused form page is drawn again (on_refusal): the error's message as a flash
    (as on_refusal_show does) and each field message beside its field; the rules'
    "coordinates" is the 经纬度 pair, shown beside 经度."""
    def render(error):
        flash(error.message, "danger")
        for name, messages in (error.fields or {}).items():
            name = "longitude" if name == "coordinates" else name
            if name in form:
                form[name].errors = list(form[name].errors or []) + [
                    str(m) for m in (messages if isinstance(messages, (list, tuple))
                                     else [messages])]
        return page()
    return render
