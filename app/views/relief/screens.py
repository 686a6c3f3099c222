"""疾病应急救助 screens and REST resources (SPEC R3–R5)."""
import datetime as dt

from flask import abort, flash, g, get_template_attribute, redirect, request, url_for
from flask_appbuilder import ModelRestApi, ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.security.decorators import has_access
from markupsafe import Markup
from sqlalchemy import func, inspect

from app.errors import InvalidError
from app.extensions import db
from app.i18n import _, _l
from app.models.files import Attachment
from app.models.relief import (APPLICATION_STATE_LABELS, EDITABLE_STATES, GENDERS,
                               RELIEF_CATEGORIES, ApplicationState as S, ReliefApplication,
                               ReliefPrepayment)
from app.models.types import fen_to_yuan
from app.scope import region_scope
from app.services import files
from app.services.attachments import AttachmentError
from app.services.audit import record
from app.services.relief import commands
from app.services.relief.queries import evaluated_by, reports_using_prepayment
from app.services.relief.rules import check_application, check_prepayment, prepayment_refusal
from app.views.relief.forms import (ReliefApplicationForm, ReliefDisburseForm,
                                    ReliefPrepaymentForm, ReliefReviewForm, ReliefYearForm)
from app.views.shared.api import ExportApiMixin, ScopedApiMixin, WorkflowApiMixin
from app.views.shared.attachments import AttachmentsMixin
from app.views.shared.export import ExcelExportMixin, ExportField
from app.views.shared.filters import ColumnFilter, StateNotInFilter
from app.views.shared.formatting import localtime
from app.views.shared.forms import on_refusal, refused_page
from app.views.shared.mixins import Button, RegionScopedMixin, WorkflowActionsMixin, back_url
from app.workflows.engine import Refusal, apply
from app.workflows.relief import (ALL_SLOTS, PHOTO_SLOT, SLOTS, ReliefApplicationFlow,
                                  direct_institutions)
from app.views.shared.api_permissions import mirror

APP_LABELS = {
    "id": _l("编号"), "organization": _l("医疗机构"), "organization.name": _l("医疗机构"),
    "state": _l("申请状态"), "state_label": _l("申请状态"), "category": _l("救助类别"),
    "category_label": _l("救助类别"), "patient_name": _l("姓名"), "gender": _l("性别"),
    "gender_label": _l("性别"), "id_number": _l("身份证号"), "age": _l("年龄"),
    "household_address": _l("户籍所在地"), "nationality": _l("国籍"), "phone": _l("联系电话"),
    "relief_place": _l("救助场所"), "start_at": _l("救助开始时间"), "end_at": _l("救助结束时间"),
    "disease": _l("疾病名称"), "disease_label": _l("疾病名称"), "other_disease": _l("其他疾病"),
    "emergency_cost": _l("急救费用"), "medical_cost": _l("医疗费用"), "living_cost": _l("生活费用"),
    "requested_amount": _l("申请基金拨付金额"), "poverty": _l("贫困对象"), "low_income": _l("低保"),
    "basic_insurance_amount": _l("基本医保可支付"), "serious_illness_amount": _l("大病保险可支付"),
    "medical_assistance_amount": _l("医疗救助可支付"), "other_fund_amount": _l("其他可支付"),
    "review_opinion": _l("审核意见"), "disbursed_amount": _l("拨款金额"),
    "disbursed_on": _l("拨款日期"), "submitted_at": _l("提交时间"), "created_at": _l("创建时间"),
    "reviewer_org": _l("审核经办机构"), "reviewer_org.name": _l("审核经办机构"),
}


def _label(mapping):
    return lambda v: str(mapping.get(v, v)) if v is not None else ""


YES_NO_FMT = lambda v: "" if v is None else (_("是") if v else _("否"))  # noqa: E731

EXPORT_FIELDS = (
    ExportField("id", APP_LABELS["id"], "int"),
    ExportField("organization.name", APP_LABELS["organization"]),
    ExportField("state", APP_LABELS["state"], fmt=_label(APPLICATION_STATE_LABELS)),
    ExportField("category", APP_LABELS["category"], fmt=_label(RELIEF_CATEGORIES)),
    ExportField("patient_name", APP_LABELS["patient_name"]),
    ExportField("gender", APP_LABELS["gender"], fmt=_label(GENDERS)),
    ExportField("id_number", APP_LABELS["id_number"]),
    ExportField("age", APP_LABELS["age"], "int"),
    ExportField("household_address", APP_LABELS["household_address"]),
    ExportField("nationality", APP_LABELS["nationality"]),
    ExportField("phone", APP_LABELS["phone"]),
    ExportField("relief_place", APP_LABELS["relief_place"]),
    ExportField("start_at", APP_LABELS["start_at"], "datetime"),
    ExportField("end_at", APP_LABELS["end_at"], "datetime"),
    ExportField("disease", APP_LABELS["disease"]),
    ExportField("other_disease", APP_LABELS["other_disease"]),
    ExportField("emergency_cost", APP_LABELS["emergency_cost"], "money"),
    ExportField("medical_cost", APP_LABELS["medical_cost"], "money"),
    ExportField("living_cost", APP_LABELS["living_cost"], "money"),
    ExportField("requested_amount", APP_LABELS["requested_amount"], "money"),
    ExportField("poverty", APP_LABELS["poverty"], fmt=YES_NO_FMT),
    ExportField("low_income", APP_LABELS["low_income"], fmt=YES_NO_FMT),
    ExportField("basic_insurance_amount", APP_LABELS["basic_insurance_amount"], "money"),
    ExportField("serious_illness_amount", APP_LABELS["serious_illness_amount"], "money"),
    ExportField("medical_assistance_amount", APP_LABELS["medical_assistance_amount"], "money"),
    ExportField("other_fund_amount", APP_LABELS["other_fund_amount"], "money"),
    ExportField("review_opinion", APP_LABELS["review_opinion"]),
    ExportField("disbursed_amount", APP_LABELS["disbursed_amount"], "money"),
    ExportField("disbursed_on", APP_LABELS["disbursed_on"], "date"),
    ExportField("submitted_at", APP_LABELS["submitted_at"], "datetime"),
)
STANDARD_EXPORT = ("id", "organization.name", "category", "patient_name", "gender", "id_number",
                   "age", "disease", "start_at", "end_at", "medical_cost", "living_cost",
                   "requested_amount", "state", "disbursed_amount")


APPLICATION_FIELDS = [
    "category", "patient_name", "gender", "id_number", "age", "household_address",
    "nationality", "phone", "relief_place", "start_at", "end_at", "disease",
    "other_disease", "emergency_cost", "medical_cost", "living_cost", "requested_amount"]
FORM_SLOTS = (PHOTO_SLOT,) + SLOTS


def thumbnails(photos):
    """照片 in a list: its thumbnail (the platform's file link)."""
    link = get_template_attribute("portal/_files.html", "file_link")
    return Markup("").join(link(a, size=False) for a in photos or ())


class ApplicationRulesMixin:
    """The SPEC R4 field rules on every save, screen or API."""

    def pre_add(self, item):
        super().pre_add(item)
        check_application(item)

    def pre_update(self, item):
        super().pre_update(item)
        check_application(item)


class _ApplicationBase(RegionScopedMixin, AttachmentsMixin, WorkflowActionsMixin,
                       ExcelExportMixin, ModelView):
    datamodel = SQLAInterface(ReliefApplication)
    workflow = ReliefApplicationFlow
    attachment_slots = ALL_SLOTS
    editable_states = EDITABLE_STATES
    label_columns = {**APP_LABELS, "photo_files": _l("照片")}
    list_columns = ["id", "photo_files", "organization.name", "category_label", "patient_name",
                    "disease_label", "requested_amount", "state_label", "submitted_at"]
    show_fieldsets = [
        (_l("基本信息"), {"fields": ["organization", "category_label", "patient_name",
                                  "gender_label", "id_number", "age", "household_address",
                                  "nationality", "phone"]}),
        (_l("救助信息"), {"fields": ["relief_place", "start_at", "end_at", "disease",
                                  "other_disease", "emergency_cost", "medical_cost",
                                  "living_cost", "requested_amount"]}),
        (_l("审核信息"), {"fields": ["state_label", "reviewer_org", "poverty", "low_income",
                                  "basic_insurance_amount", "serious_illness_amount",
                                  "medical_assistance_amount", "other_fund_amount",
                                  "review_opinion", "disbursed_amount", "disbursed_on"]}),
    ]
    search_columns = ["patient_name", "id_number", "state", "category", "disease",
                      "submitted_at"]
    order_columns = ["id", "requested_amount", "submitted_at"]
    base_order = ("id", "desc")
    formatters_columns = {"submitted_at": localtime, "created_at": localtime,
                          "poverty": YES_NO_FMT, "low_income": YES_NO_FMT,
                          "photo_files": thumbnails}
    export_fields = EXPORT_FIELDS
    standard_export = STANDARD_EXPORT
    export_title = _l("救助申请")
    base_permissions = ["can_list", "can_show", "can_export", "can_export_standard",
                        "can_fire", "can_upload"]
    list_template = "relief/applications.html"

    def list_page(self, filters, order_column, order_direction, page, page_size):
        """The photo of each row of the page, in one query (its thumbnail in the list)."""
        count, items = super().list_page(filters, order_column, order_direction, page,
                                         page_size)
        found = files.files_of_many(items)
        for item in items:
            item.photo_files = [a for a in found.get(item.id, []) if a.slot == PHOTO_SLOT.name]
        return count, items

    def row_buttons(self, items):
        """评价 appears on disbursed applications for both sides (SPEC R7) until this side has
        evaluated; it opens the application's evaluations (both sides, 新增评价 there)."""
        rows = super().row_buttons(items)
        done = evaluated_by(g.user.organization_id,
                            [i.id for i in items if i.state == S.DISBURSED])
        back = request.full_path.rstrip("?")
        for item in items:
            if item.state == S.DISBURSED and item.id not in done:
                rows.setdefault(item.id, []).append(Button(
                    _("评价"), url_for("ReliefEvaluationView.of_application", app_pk=item.id,
                                     next=back), "info", post=False))
        return rows


class ReliefApplicationView(ApplicationRulesMixin, _ApplicationBase):
    """应急救助基金申请 — the institution's side (SPEC R4)."""
    route_base = "/relief/applications"
    list_title = _l("应急救助基金申请")
    show_title = _l("救助申请详情")
    add_title = _l("新增申请")
    edit_title = _l("修改申请")
    add_form = edit_form = ReliefApplicationForm
    add_columns = edit_columns = APPLICATION_FIELDS + [s.name for s in FORM_SLOTS]
    label_columns = {**_ApplicationBase.label_columns, **{s.name: s.label for s in FORM_SLOTS}}
    show_template = "relief/application_show.html"
    base_filters = [["state", StateNotInFilter, (S.DELETED.value,)]]
    base_permissions = _ApplicationBase.base_permissions + ["can_add", "can_edit", "can_delete",
                                                            "can_remove_file"]

    def post_add(self, item):
        self.attach_uploads(item)
        super().post_add(item)

    def post_update(self, item):
        self.attach_uploads(item)
        super().post_update(item)

    def attach_uploads(self, item):
        """The photo and the attachments chosen on the form, saved with the application
        (audited, in its transaction); a refused file is shown beside its input."""
        for slot in FORM_SLOTS:
            upload = request.files.get(slot.name)
            if upload is None or not upload.filename:
                continue
            try:
                row = files.attach(item, slot, upload, g.user)
            except AttachmentError as exc:
                raise InvalidError(exc.message, fields={slot.name: [exc.message]})
            db.session.flush()
            record(g.user, "upload", obj=item, comment=row.original_name)

    def show_extras(self, item):
        extras = super().show_extras(item)
        removable = [s.name for s in FORM_SLOTS if self.can_upload(item, s)]
        extras["removable"] = [a for slot in extras.get("attachments", [])
                               for a in slot["files"] if a.slot in removable]
        return extras

    @expose("/remove-file/<pk>/<int:file_id>", methods=["POST"])
    @has_access
    def remove_file(self, pk, file_id):
        """A wrongly uploaded file taken away before submission (audited)."""
        item = self.scoped(pk)
        row = db.session.get(Attachment, file_id)
        slot = next((s for s in FORM_SLOTS if row is not None and s.name == row.slot), None)
        if (row is None or row.owner_type != ReliefApplication.__tablename__
                or row.owner_id != item.id or slot is None):
            abort(404)
        commands.remove_file(g.user, item, row, lambda application: self.can_upload(
            application, slot))
        flash(_("已删除附件：%(name)s", name=row.original_name), "success")
        return redirect(back_url(url_for("ReliefApplicationView.show", pk=item.id)))

    @expose("/delete/<pk>", methods=["POST"])
    @has_access
    def delete(self, pk):
        """Single delete is the `delete` transition (audited, record kept)."""
        return self.fire("delete", pk)


class ReliefReviewView(_ApplicationBase):
    """救助申请审核 — the agency's side (SPEC R5, R6)."""
    route_base = "/relief/review"
    list_title = _l("救助申请审核")
    show_title = _l("救助申请详情")
    base_filters = [["reviewer_org_id", ColumnFilter, lambda: g.user.organization_id],
                    ["state", StateNotInFilter, (S.DRAFT.value, S.DELETED.value)]]
    base_permissions = _ApplicationBase.base_permissions + ["can_review", "can_disburse",
                                                            "can_dossier"]

    def row_buttons(self, items):
        """One 审核 per row opening the review page with its three outcomes (the manual's
        wording), not one button per outcome; 导出资料 on every row."""
        rows = super().row_buttons(items)
        for item in items:
            buttons, review_url = [], None
            for b in rows.get(item.id, []):
                if b.url.split("?")[0] == url_for("ReliefReviewView.review", pk=item.id):
                    if review_url is None:
                        review_url = b.url
                        buttons.append(Button(_("审核"), b.url, "primary", post=False))
                else:
                    buttons.append(b)
            buttons.append(
                Button(_("导出资料"), url_for("ReliefReviewView.dossier", pk=item.id), post=False))
            rows[item.id] = buttons
        return rows

    @expose("/review/<pk>", methods=["GET", "POST"])
    @has_access
    def review(self, pk):
        """审核: the findings and the outcome (the button pressed names the transition); a
        refusal (the form's or the transition's) shows the page again with what was typed,
        each message beside its field, 422."""
        item = self.scoped(pk)
        if request.method == "POST":
            form = ReliefReviewForm()
            name = request.form.get("transition", "")
            if self.workflow.get(name).form != "review":
                abort(404)
            return self._fire_form(item, name, form, lambda: self._review_page(item, form))
        return self._review_page(item, ReliefReviewForm.of(item))

    def _review_page(self, item, form):
        return self.render_template("relief/review.html", item=item, view=self, form=form,
                                    title=_("救助申请审核"), extras=self.show_extras(item),
                                    widgets=self._get_show_widget(item.id, item))

    @expose("/disburse/<pk>", methods=["GET", "POST"])
    @has_access
    def disburse(self, pk):
        item = self.scoped(pk)
        if request.method == "POST":
            form = ReliefDisburseForm()
            return self._fire_form(item, "disburse", form,
                                   lambda: self._disburse_page(item, form))
        return self._disburse_page(item, ReliefDisburseForm.of(item, dt.date.today()))

    def _disburse_page(self, item, form):
        return self.render_template("relief/disburse.html", item=item, view=self, form=form,
                                    title=_("拨款"))

    def _fire_form(self, item, name, form, page):
        """The form's checks, then the transition (its rules check the same body again, as
        for the API); either refusal draws `page` again."""
        if not form.validate():
            return page(), 422
        on_refusal(refused_page(form, page))
        obj = apply(self.workflow, item, name, g.user, request.form.to_dict())
        flash(_("%(action)s成功，当前状态：%(state)s", action=self.workflow.get(name).label,
                state=self.workflow.state_label(obj.state)), "success")
        return redirect(back_url(url_for("ReliefReviewView.show", pk=obj.id)))


class DirectInstitutionsFilter(BaseFilter):
    """预拨款汇总 of an agency: its direct subordinate institutions only (those it reviews);
    an institution sees its own, a health commission its region."""
    name = "direct institutions"

    def apply(self, query, value):
        org = getattr(g.user, "organization", None)
        if org is None or org.org_type != "agency":
            return query
        return query.filter(self.model.organization_id.in_(direct_institutions(org)))


class ChosenYearFilter(BaseFilter):
    """The 年度 chosen above the list filters the list as it does the total."""
    name = "chosen year"

    def apply(self, query, value):
        if not request.endpoint or not request.endpoint.endswith(".list"):
            return query
        year = ReliefYearForm.chosen(request.args, dt.date.today().year).year.data
        return query.filter(self.model.paid_on >= dt.date(year, 1, 1),
                            self.model.paid_on <= dt.date(year, 12, 31))


class ReliefPrepaymentView(RegionScopedMixin, ModelView):
    """预拨款登记 / 预拨款汇总 (SPEC R3): the institution registers, corrects or withdraws
    (until a submitted report has carried it up); the agency sees its direct institutions."""
    route_base = "/relief/prepayments"
    datamodel = SQLAInterface(ReliefPrepayment)
    list_title = _l("预拨款汇总")
    show_title = _l("预拨款详情")
    add_title = _l("新增拨付记录")
    edit_title = _l("修改拨付记录")
    list_template = "relief/prepayments.html"
    show_template = "relief/prepayment_show.html"
    add_form = edit_form = ReliefPrepaymentForm
    add_columns = edit_columns = ["amount", "paid_on", "remark"]
    base_filters = [["organization_id", DirectInstitutionsFilter, None],
                    ["paid_on", ChosenYearFilter, None]]
    label_columns = {"organization": _l("医疗机构"), "organization.name": _l("医疗机构"),
                     "amount": _l("拨款金额"), "paid_on": _l("拨款时间"),
                     "remark": _l("拨款备注"), "created_at": _l("登记时间")}
    list_columns = ["organization.name", "amount", "paid_on", "remark"]
    show_columns = ["organization", "amount", "paid_on", "remark", "created_at"]
    search_columns = ["paid_on", "amount"]
    base_order = ("paid_on", "desc")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_delete"]

    def refusal(self, item):
        days = {item.paid_on, *inspect(item).attrs.paid_on.history.deleted}
        return prepayment_refusal(item, g.user, reports_using_prepayment(item, days))

    def row_editable(self, item):
        return self.refusal(item) is None

    def pre_update(self, item):
        super().pre_update(item)
        check_prepayment(item)
        refused = self.refusal(item)
        if refused is not None:
            raise refused

    def pre_delete(self, item):
        refused = self.refusal(item)
        if refused is not None:
            raise refused
        super().pre_delete(item)

    def show_extras(self, item):
        refused = self.refusal(item)
        return {**super().show_extras(item), "refused": refused.message if refused is not None
                and refused.status != 403 else None}

    def year_total(self, year):
        org = getattr(g.user, "organization", None)
        P = ReliefPrepayment
        query = db.select(func.sum(P.amount)).where(
            region_scope(P, g.user), P.paid_on >= dt.date(year, 1, 1),
            P.paid_on <= dt.date(year, 12, 31))
        if org is not None and org.org_type == "agency":
            query = query.where(P.organization_id.in_(direct_institutions(org)))
        total = db.session.execute(query).scalar()
        return total if total is not None else fen_to_yuan(0)

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            form = ReliefYearForm.chosen(request.args, dt.date.today().year)
            kwargs.update(year_form=form, year=form.year.data,
                          year_total=self.year_total(form.year.data))
        return super().render_template(template, **kwargs)


class ReliefApplicationApi(ApplicationRulesMixin, ScopedApiMixin, WorkflowApiMixin,
                           ExportApiMixin, ModelRestApi):
    resource_name = "relief_application"
    screens = mirror("ReliefApplicationView", "ReliefReviewView")
    datamodel = SQLAInterface(ReliefApplication)
    workflow = ReliefApplicationFlow
    editable_states = EDITABLE_STATES
    base_filters = [["state", StateNotInFilter, (S.DELETED.value,)]]
    list_columns = ["id", "organization_id", "state", "category", "patient_name",
                    "id_number", "disease", "requested_amount", "submitted_at"]
    show_columns = ["id", "organization_id", "reviewer_org_id", "state", "category",
                    "patient_name", "gender", "id_number", "age", "household_address",
                    "nationality", "phone", "relief_place", "start_at", "end_at", "disease",
                    "other_disease", "emergency_cost", "medical_cost", "living_cost",
                    "requested_amount", "poverty", "low_income", "review_opinion",
                    "disbursed_amount", "disbursed_on", "submitted_at"]
    add_columns = edit_columns = APPLICATION_FIELDS
    max_page_size = 100

    def pre_delete(self, item):
        raise Refusal(_("请使用删除操作（POST /<id>/delete）"), status=405)


class ReliefPrepaymentApi(ScopedApiMixin, ExportApiMixin, ModelRestApi):
    resource_name = "relief_prepayment"
    screens = mirror("ReliefPrepaymentView")
    datamodel = SQLAInterface(ReliefPrepayment)
    list_columns = show_columns = ["id", "organization_id", "amount", "paid_on", "remark"]
    add_columns = ["amount", "paid_on", "remark"]
    edit_columns = ["amount", "paid_on", "remark"]
    # Corrected or withdrawn as on the screen: by its institution, until reported.
    base_permissions = ["can_get", "can_info", "can_post", "can_put", "can_delete"]

    def pre_delete(self, item):
        refused = prepayment_refusal(item, g.user, reports_using_prepayment(item, [item.paid_on]))
        if refused is not None:
            raise refused
        super().pre_delete(item)

    def pre_add(self, item):
        super().pre_add(item)
        check_prepayment(item)

    def pre_update(self, item):
        super().pre_update(item)
        check_prepayment(item)
        days = {item.paid_on, *inspect(item).attrs.paid_on.history.deleted}
        refused = prepayment_refusal(item, g.user, reports_using_prepayment(item, days))
        if refused is not None:
            raise refused
