"""Hand-written forms where FAB's generated ones cannot carry the manuals' fields."""
from flask_appbuilder.fieldwidgets import (BS3TextAreaFieldWidget, BS3TextFieldWidget,
                                           DatePickerWidget, DateTimePickerWidget,
                                           Select2Widget)
from flask_appbuilder.forms import DynamicForm
from wtforms import (DateField, DateTimeField, DecimalField, IntegerField, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, NumberRange, Optional

from app.i18n import _l
from app.models.relief import DISEASES, GENDERS, RELIEF_CATEGORIES

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
