"""疾病应急救助 forms: the application and prepayment forms of FAB's add / edit pages, and the
hand-written review and disbursement pages' forms. The review and disbursement forms only
describe and draw their fields (the values typed stay in them when refused); the rules that
check them are the transitions' (app/services/relief/rules.py), the same for the API."""
from flask_appbuilder.fieldwidgets import (BS3TextAreaFieldWidget, BS3TextFieldWidget,
                                           DatePickerWidget, DateTimePickerWidget,
                                           Select2Widget)
from flask_appbuilder.forms import DynamicForm
from wtforms import (DateField, DateTimeField, DecimalField, IntegerField, RadioField,
                     SelectField, StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from app.i18n import _l
from app.models.relief import DISEASES, GENDERS, RELIEF_CATEGORIES
from app.services.relief.rules import REVIEW_AMOUNTS, REVIEW_LABELS

MONEY = dict(places=2, widget=BS3TextFieldWidget())


def choices(mapping):
    return [("", "")] + [(k, v) for k, v in mapping.items()]


class ReliefApplicationForm(DynamicForm):
    category = SelectField(_l("救助类别"), choices=choices(RELIEF_CATEGORIES),
                           validators=[DataRequired()], widget=Select2Widget())
    patient_name = StringField(_l("姓名"), validators=[Optional()], widget=BS3TextFieldWidget())
    gender = SelectField(_l("性别"), choices=choices({k: GENDERS[k] for k in ("1", "2")}),
                         validators=[Optional()], widget=Select2Widget())
    id_number = StringField(_l("身份证号"), validators=[Optional()], widget=BS3TextFieldWidget(),
                            description=_l("18位，填写后自动计算年龄"))
    age = IntegerField(_l("年龄"), validators=[Optional(), NumberRange(0, 150)],
                       widget=BS3TextFieldWidget())
    household_address = StringField(_l("户籍所在地"), validators=[Optional()],
                                    widget=BS3TextFieldWidget())
    nationality = StringField(_l("国籍"), validators=[Optional()], widget=BS3TextFieldWidget(),
                              default="中国")
    phone = StringField(_l("联系电话"), validators=[Optional()], widget=BS3TextFieldWidget())
    relief_place = StringField(_l("救助场所"), validators=[DataRequired()],
                               widget=BS3TextFieldWidget())
    start_at = DateTimeField(_l("救助开始时间"), format="%Y-%m-%d %H:%M:%S",
                             validators=[DataRequired()], widget=DateTimePickerWidget())
    end_at = DateTimeField(_l("救助结束时间"), format="%Y-%m-%d %H:%M:%S",
                           validators=[DataRequired()], widget=DateTimePickerWidget())
    disease = SelectField(_l("疾病名称"), choices=[("", "")] + [(d, d) for d in DISEASES],
                          validators=[DataRequired()], widget=Select2Widget())
    other_disease = StringField(_l("其他疾病"), validators=[Optional()],
                                widget=BS3TextFieldWidget())
    emergency_cost = DecimalField(_l("急救费用（元）"), validators=[InputRequired()], **MONEY)
    medical_cost = DecimalField(_l("医疗费用（元）"), validators=[InputRequired()], **MONEY)
    living_cost = DecimalField(_l("生活费用（元）"), validators=[InputRequired()], **MONEY)
    requested_amount = DecimalField(_l("申请基金拨付金额（元）"), validators=[InputRequired()],
                                    description=_l("必须等于医疗费用与生活费用之和"), **MONEY)


class ReliefPrepaymentForm(DynamicForm):
    amount = DecimalField(_l("拨款金额（元）"), validators=[InputRequired(),
                          NumberRange(min=0.01, message=_l("拨款金额必须大于0"))], **MONEY)
    paid_on = DateField(_l("拨款时间"), format="%Y-%m-%d", validators=[DataRequired()],
                        widget=DatePickerWidget())
    remark = TextAreaField(_l("拨款备注"), validators=[Optional()],
                           widget=BS3TextAreaFieldWidget())


YES_NO = [("1", _l("是")), ("0", _l("否"))]


def _yes_no(value):
    return None if value is None else "1" if value else "0"


class ReliefReviewForm(DynamicForm):
    """审核 (SPEC R5): the agency's findings and opinion; one button per review transition."""
    poverty = RadioField(REVIEW_LABELS["poverty"], choices=YES_NO, validate_choice=False)
    low_income = RadioField(REVIEW_LABELS["low_income"], choices=YES_NO, validate_choice=False)
    basic_insurance_amount = StringField(REVIEW_LABELS["basic_insurance_amount"],
                                         description=_l("元"))
    serious_illness_amount = StringField(REVIEW_LABELS["serious_illness_amount"],
                                         description=_l("元"))
    medical_assistance_amount = StringField(REVIEW_LABELS["medical_assistance_amount"],
                                            description=_l("元"))
    other_fund_amount = StringField(REVIEW_LABELS["other_fund_amount"], description=_l("元"))
    comment = TextAreaField(_l("审核意见"), description=_l("审核退回、审核不通过时必填"))

    REQUIRED = ("poverty",)
    AMOUNTS = REVIEW_AMOUNTS

    @classmethod
    def of(cls, item):
        """The form as first shown: what an earlier review recorded."""
        data = {"poverty": _yes_no(item.poverty), "low_income": _yes_no(item.low_income)}
        data.update({k: "" if getattr(item, k) is None else str(getattr(item, k))
                     for k in REVIEW_AMOUNTS})
        return cls(formdata=None, data=data)


class ReliefDisburseForm(DynamicForm):
    """拨款 (SPEC R6): amount (at most the requested one) and day."""
    disbursed_amount = StringField(_l("拨款金额（元）"))
    disbursed_on = StringField(_l("拨款日期"))

    @classmethod
    def of(cls, item, today):
        return cls(formdata=None, data={"disbursed_amount": str(item.requested_amount),
                                        "disbursed_on": today.isoformat()})
