"""疾病应急救助 forms: one WTForms class per form page, holding its labels, choices, input
types and the field checks that are about what was typed (required, amounts, dates, lengths).
The application and prepayment forms serve FAB's add / edit pages; the others serve the
module's own pages (审核, 拨款, 评价, 追缴, 数据上报, 年度).

The checks of an amount, a yes/no, a day or a score call the same functions of
app/services/relief/rules.py that the commands and the REST API apply to a body, so a form and
the API refuse the same input with the same words; the domain rules (states, sums, the
requested amount, who may) stay in the rules and commands and are shown beside the fields
when they refuse (app/views/shared/forms.py `refused_page`)."""
from flask_appbuilder.fieldwidgets import BS3TextAreaFieldWidget, BS3TextFieldWidget, Select2Widget
from flask_appbuilder.forms import DynamicForm
from flask_wtf.file import FileField
from wtforms import (DecimalField, Form, IntegerField, RadioField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                StopValidation)
from wtforms.widgets import CheckboxInput

from app.errors import InvalidError
from app.i18n import _l
from app.models.relief import (DISEASES, GENDERS, MONEY_FIGURES, RELIEF_CATEGORIES,
                               REPORT_FIGURES)
from app.services.relief import rules
from app.services.relief.rules import REVIEW_AMOUNTS, REVIEW_LABELS
from app.workflows.relief import PHOTO_SLOT, SLOTS
from app.views.shared.dates import (DATE_FORMATS, DATETIME_FORMATS, NativeInput, TypedDateField,
                                    TypedDateTimeField)

class MoneyField(DecimalField):
    """An amount in yuan shown with its fen (66002.50, never 66002) and checked by the
    rule of every relief amount: at most two decimals, refused rather than rounded."""

    def __init__(self, label=None, validators=(), **kwargs):
        kwargs.setdefault("widget", BS3TextFieldWidget())
        super().__init__(label, [*validators, money(label)], places=2, **kwargs)


def choices(mapping):
    return [("", "")] + [(k, v) for k, v in mapping.items()]


def _required(label):
    return DataRequired(message=_l("请填写%(f)s", f=label))


def _chosen(label):
    return DataRequired(message=_l("请选择%(f)s", f=label))


def _at_most(n):
    return Length(max=n, message=_l("最多%(n)s个字", n=n))


def day_field(label, message, **kwargs):
    """A day typed in the browser's own date input; `message` when it is not a day."""
    return TypedDateField(label, format=DATE_FORMATS, widget=NativeInput("date"),
                          invalid_value_message=message, **kwargs)


def datetime_field(label, **kwargs):
    return TypedDateTimeField(label, format=DATETIME_FORMATS,
                              widget=NativeInput("datetime-local", step="1"), **kwargs)


class Rule:
    """A field check made of a rule of app/services/relief/rules.py: `check(value)` raises
    InvalidError (or ValueError) whose message is shown beside the field."""

    def __init__(self, check):
        self.check = check

    def __call__(self, form, field):
        try:
            self.check(field.data)
        except InvalidError as exc:
            raise StopValidation(next(iter((exc.fields or {}).values()), [exc.message])[0])
        except ValueError as exc:
            raise StopValidation(str(exc))


class Ticked:
    """At least one box of a group of check boxes (no `required` on each box: the browser
    would then ask for every one of them)."""

    def __init__(self, message):
        self.message = message

    def __call__(self, form, field):
        if not field.data:
            raise StopValidation(self.message)


def money(label, required=False):
    """An amount in yuan: empty (unless required), ≥ 0, at most two decimals."""
    return Rule(lambda v: rules.money({"v": v}, "v", label, required=required))


def yes_no(label, required=False):
    return Rule(lambda v: rules.yes_no({"v": v or ""}, "v", label, required=required))


# ---- R4 申请 (FAB add / edit) ---------------------------------------------------------------
class ReliefApplicationForm(DynamicForm):
    category = SelectField(_l("救助类别"), choices=choices(RELIEF_CATEGORIES),
                           validators=[DataRequired()], widget=Select2Widget())
    patient_name = StringField(_l("姓名"), validators=[Optional(), _at_most(64)],
                               widget=BS3TextFieldWidget())
    gender = SelectField(_l("性别"), choices=choices({k: GENDERS[k] for k in ("1", "2")}),
                         validators=[Optional()], widget=Select2Widget())
    id_number = StringField(_l("身份证号"), validators=[Optional()],
                            widget=BS3TextFieldWidget(),
                            description=_l("18位，填写后自动计算年龄"))
    age = IntegerField(_l("年龄"), validators=[Optional(), NumberRange(0, 150)],
                       widget=BS3TextFieldWidget())
    household_address = StringField(_l("户籍所在地"), validators=[Optional(), _at_most(128)],
                                    widget=BS3TextFieldWidget())
    nationality = StringField(_l("国籍"), validators=[Optional(), _at_most(32)],
                              widget=BS3TextFieldWidget(), default="中国")
    phone = StringField(_l("联系电话"), validators=[Optional(), _at_most(32)],
                        widget=BS3TextFieldWidget())
    relief_place = StringField(_l("救助场所"), validators=[DataRequired(), _at_most(128)],
                               widget=BS3TextFieldWidget())
    start_at = datetime_field(_l("救助开始时间"), validators=[DataRequired()])
    end_at = datetime_field(_l("救助结束时间"), validators=[DataRequired()])
    disease = SelectField(_l("疾病名称"), choices=[("", "")] + [(d, d) for d in DISEASES],
                          validators=[DataRequired()], widget=Select2Widget())
    other_disease = StringField(_l("其他疾病"), validators=[Optional(), _at_most(128)],
                                widget=BS3TextFieldWidget())
    emergency_cost = MoneyField(_l("急救费用（元）"), validators=[InputRequired()])
    medical_cost = MoneyField(_l("医疗费用（元）"), validators=[InputRequired()])
    living_cost = MoneyField(_l("生活费用（元）"), validators=[InputRequired()])
    requested_amount = MoneyField(_l("申请基金拨付金额（元）"), validators=[InputRequired()],
                                  description=_l("必须等于医疗费用与生活费用之和"))


# 照片 and 附件信息 uploaded while filling in (SPEC R4): one file input per slot, saved with
# the application; more files and removals on its detail page until it is submitted.
for _slot in (PHOTO_SLOT,) + SLOTS:
    setattr(ReliefApplicationForm, _slot.name, FileField(
        _slot.label, render_kw={"accept": _slot.accept},
        description=_l("jpg、jpeg、png 格式的图片") if _slot is PHOTO_SLOT
        else _l("压缩格式的文件（zip、rar、7z）")))


# ---- R3 预拨款 (FAB add) ---------------------------------------------------------------------
class ReliefPrepaymentForm(DynamicForm):
    amount = MoneyField(_l("拨款金额（元）"), validators=[
        InputRequired(), NumberRange(min=0.01, message=_l("拨款金额必须大于0"))])
    paid_on = day_field(_l("拨款时间"), _l("请填写正确的拨款时间"), validators=[DataRequired()])
    remark = TextAreaField(_l("拨款备注"), validators=[Optional(), _at_most(256)],
                           widget=BS3TextAreaFieldWidget())


class ReliefYearForm(Form):
    """预拨款汇总's 年度 (a GET query): a year between 2000 and 2100, else this year."""
    year = IntegerField(_l("年度"), validators=[InputRequired(), NumberRange(2000, 2100)])

    @classmethod
    def chosen(cls, args, this_year):
        form = cls(args)
        if not form.validate():
            form = cls(data={"year": this_year})
        return form


# ---- R5 审核, R6 拨款 ------------------------------------------------------------------------
YES_NO = [("1", _l("是")), ("0", _l("否"))]


def _yes_no(value):
    return None if value is None else "1" if value else "0"


def _amount(key):
    return StringField(REVIEW_LABELS[key], description=_l("元"),
                       validators=[money(REVIEW_LABELS[key])])


class ReliefReviewForm(DynamicForm):
    """审核 (SPEC R5): the agency's findings and opinion; one button per review transition.
    The opinion's being required for 审核退回 / 审核不通过 is the transition's rule."""
    poverty = RadioField(REVIEW_LABELS["poverty"], choices=YES_NO, validate_choice=False,
                         validators=[yes_no(REVIEW_LABELS["poverty"], required=True)])
    low_income = RadioField(REVIEW_LABELS["low_income"], choices=YES_NO, validate_choice=False,
                            validators=[yes_no(REVIEW_LABELS["low_income"])])
    basic_insurance_amount = _amount("basic_insurance_amount")
    serious_illness_amount = _amount("serious_illness_amount")
    medical_assistance_amount = _amount("medical_assistance_amount")
    other_fund_amount = _amount("other_fund_amount")
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
    """拨款 (SPEC R6): amount (more than 0, at most the requested one: the rule's) and day."""
    disbursed_amount = StringField(_l("拨款金额（元）"),
                                   validators=[money(_l("拨款金额"), required=True)])
    disbursed_on = day_field(_l("拨款日期"), _l("请填写正确的拨款日期（YYYY-MM-DD）"))

    @classmethod
    def of(cls, item, today):
        return cls(formdata=None, data={"disbursed_amount": str(item.requested_amount),
                                        "disbursed_on": today})


# ---- R7 评价 ---------------------------------------------------------------------------------
class ReliefEvaluationForm(DynamicForm):
    """新增评价: a score 1–100 and the text; the side, organisations and year are the system's."""
    score = StringField(_l("分值"), widget=NativeInput("number", min="1", max="100"),
                        validators=[Rule(rules.score)])
    content = TextAreaField(_l("评价内容"), render_kw={"rows": 4})

    REQUIRED = ("score",)


# ---- R8 追缴 ---------------------------------------------------------------------------------
class ReliefRecoveryForm(DynamicForm):
    """添加追缴记录: the related applications (审核通过 or 已拨款, within the caller's scope:
    the view and the rule check them), amount, day, remark and the required attachment."""
    app_id = SelectMultipleField(_l("关联救助申请"), choices=[], validate_choice=False,
                                 option_widget=CheckboxInput(),
                                 validators=[Ticked(_l("请勾选关联的救助申请"))])
    amount = StringField(_l("追缴金额（元）"), validators=[money(_l("追缴金额"), required=True)])
    recovered_on = day_field(_l("追缴日期"), _l("请填写正确的追缴日期（YYYY-MM-DD）"))
    remark = StringField(_l("备注"), validators=[Optional(), _at_most(256)])
    file = FileField(_l("附件"))

    REQUIRED = ("amount", "recovered_on", "file")

    @classmethod
    def of(cls, applications, today, posted=False):
        """The form as posted (`posted`) or as first shown (today's date), its choices the
        applications it may relate."""
        form = cls() if posted else cls(formdata=None, data={"recovered_on": today})
        form.app_id.choices = [(str(a.id), str(a)) for a in applications]
        return form


# ---- R9 数据上报 -----------------------------------------------------------------------------
def _report_figure(name, label):
    if name in MONEY_FIGURES:
        return MoneyField(label, validators=[InputRequired(_l("请填写%(f)s", f=label))])
    return IntegerField(label, widget=BS3TextFieldWidget(), validators=[
        InputRequired(_l("请填写%(f)s", f=label)),
        NumberRange(min=0, message=_l("%(f)s不能小于0", f=label))])


class ReliefReportForm(DynamicForm):
    """修改上报数据: the counts as whole numbers, the amounts in yuan with their fen."""


for _name, _label in REPORT_FIGURES.items():
    setattr(ReliefReportForm, _name, _report_figure(_name, _label))


class ReliefReportNewForm(DynamicForm):
    """新增上报数据: one of the tasks the unit has not reported on yet."""
    task_id = SelectField(_l("上报任务名称"), choices=[], invalid_choice_message=_l(
        "请选择上报任务（每个任务每个单位只能上报一份）"))

    @classmethod
    def of(cls, tasks, posted=False):
        form = cls() if posted else cls(formdata=None)
        form.task_id.choices = [(str(t.id), f"{t.name} {t.period_start}~{t.period_end}")
                                for t in tasks]
        return form

    def chosen(self, tasks):
        return next((t for t in tasks if str(t.id) == self.task_id.data), None)



class ReliefTaskPickForm(Form):
    """上报数据浏览's 上报任务 (a GET query, chosen in the select): the list shows its reports."""
    task = SelectField(_l("上报任务"), coerce=int, choices=[], validate_choice=False)

    @classmethod
    def of(cls, tasks, chosen):
        form = cls(data={"task": chosen})
        form.task.choices = [(t.id, f"{t.name} {t.period_start}~{t.period_end}") for t in tasks]
        return form
