"""工伤 declarations after submission: the hospital's 办理情况查询 (SPEC W8), the employer's
review (W6) and the agency's review (W7) — one list/show base, three scopes of rows."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access

from app.i18n import _, _l
from app.models.injury import (DECLARATION_KINDS, DECLARATION_STATE_LABELS, INJURY_TYPES,
                               DeclarationState as S, InjuryDeclaration)
from app.services import files
from app.services.injury import commands, queries
from app.views.shared.export import ExcelExportMixin, ExportField
from app.views.shared.filters import StateNotInFilter
from app.views.shared.formatting import localtime
from app.views.injury.screens import ApproveOverdueFirst
from app.views.shared.mixins import (Button, RegionScopedMixin, WorkflowActionsMixin,
                                     safe_next)
from app.workflows.injury import KINDS, STATUS_FILTERS, InjuryDeclarationFlow

LABELS = {
    "id": _l("编号"), "kind": _l("业务类型"), "kind_label": _l("业务类型"),
    "state": _l("办理状态"), "state_label": _l("办理状态"), "person_name": _l("姓名"),
    "id_number": _l("身份证号"), "determination_no": _l("工伤认定编号"),
    "injury_type": _l("工伤类型"), "injury_date": _l("工伤发生时间"),
    "employer_name": _l("用人单位"), "organization": _l("医疗机构"),
    "organization.name": _l("医疗机构"), "submitted_at": _l("提交时间"),
    "employer_opinion": _l("单位审核意见"), "agency_opinion": _l("经办审核意见"),
    "last_opinion": _l("审核意见"),
}


def _label(mapping):
    return lambda v: str(mapping.get(v, v)) if v is not None else ""


EXPORT_FIELDS = (
    ExportField("id", LABELS["id"], "int"),
    ExportField("kind", LABELS["kind"], fmt=_label(DECLARATION_KINDS)),
    ExportField("organization.name", LABELS["organization"]),
    ExportField("person_name", LABELS["person_name"]),
    ExportField("id_number", LABELS["id_number"]),
    ExportField("determination_no", LABELS["determination_no"]),
    ExportField("injury_type", LABELS["injury_type"], fmt=_label(INJURY_TYPES)),
    ExportField("injury_date", LABELS["injury_date"], "date"),
    ExportField("employer_name", LABELS["employer_name"]),
    ExportField("state", LABELS["state"], fmt=_label(DECLARATION_STATE_LABELS)),
    ExportField("submitted_at", LABELS["submitted_at"], "datetime"),
    ExportField("employer_opinion", LABELS["employer_opinion"]),
    ExportField("agency_opinion", LABELS["agency_opinion"]),
)


class SubmittedMonthFilter(BaseFilter):
    """提交年月 (?month=YYYY-MM, Asia/Shanghai months) — SPEC W8."""
    name = "submitted month"

    def apply(self, query, value):
        month = request.args.get("month", "")
        if queries.month_problem(month):        # no month or a bad one: not filtered
            return query
        start, end = queries.month_bounds(month)
        return query.filter(InjuryDeclaration.submitted_at >= start,
                            InjuryDeclaration.submitted_at < end)


class StatusFilter(BaseFilter):
    """审核状态 (?status=pending|employer_review|agency_review|approved|rejected)."""
    name = "status"

    def apply(self, query, value):
        chosen = STATUS_FILTERS.get(request.args.get("status", ""))
        return query.filter(InjuryDeclaration.state.in_(chosen[1])) if chosen else query


class HospitalFilter(BaseFilter):
    """医疗机构 (?hospital=<organisation id>) of the reviewers' lists and exports."""
    name = "hospital"

    def apply(self, query, value):
        chosen = request.args.get("hospital", "")
        return query.filter(InjuryDeclaration.organization_id == int(chosen)) \
            if chosen.isdigit() else query


class _DeclarationBase(ApproveOverdueFirst, RegionScopedMixin, WorkflowActionsMixin,
                       ExcelExportMixin, ModelView):
    datamodel = SQLAInterface(InjuryDeclaration)
    workflow = InjuryDeclarationFlow
    editable_states = (S.DRAFT.value,)
    batch_transitions = ()        # 提交 / 删除 of drafts live in 我的待提交业务
    label_columns = LABELS
    list_columns = ["id", "kind_label", "person_name", "id_number", "determination_no",
                    "employer_name", "state_label", "submitted_at", "last_opinion"]
    hospital_filter = False       # the reviewers choose among the declaring hospitals
    search_columns = ["person_name", "id_number", "determination_no", "kind"]
    order_columns = ["id", "submitted_at"]
    base_order = ("submitted_at", "desc")
    formatters_columns = {"submitted_at": localtime}
    base_filters = [["state", StateNotInFilter, (S.DRAFT.value, S.DELETED.value)],
                    ["submitted_at", SubmittedMonthFilter, None],
                    ["state", StatusFilter, None],
                    ["organization_id", HospitalFilter, None]]
    export_fields = EXPORT_FIELDS
    standard_export = ("id", "kind", "organization.name", "person_name", "id_number",
                       "determination_no", "employer_name", "state", "submitted_at",
                       "employer_opinion", "agency_opinion")
    export_title = _l("工伤业务申报")
    list_template = "injury/declarations.html"
    base_permissions = ["can_list", "can_show", "can_export", "can_export_standard",
                        "can_fire", "can_review"]

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            month = request.args.get("month", "").strip()
            problem = queries.month_problem(month) if month else None
            if problem:       # the list is still shown, unfiltered, with the warning
                flash(problem, "danger")
            kwargs.update(status_filters=STATUS_FILTERS, month=month,
                          status=request.args.get("status", ""),
                          hospital=request.args.get("hospital", ""),
                          hospitals=queries.declaring_hospitals(g.user)
                          if self.hospital_filter else None)
        return super().render_template(template, **kwargs)

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self.scoped(pk)
        materials = files.files_of(item)
        missing = [s for s in KINDS[item.kind].slots if s.required and s.name not in materials]
        return self.render_template(
            "injury/show.html", title=self.show_title, item=item, kind=KINDS[item.kind],
            materials=materials, missing=missing, extras=self.show_extras(item),
            can_resubmit=self.can_resubmit(item),
            redeclared=[d for d in queries.redeclarations(item) if d.state != S.DRAFT.value
                        or d.organization_id == g.user.organization_id],
            back=safe_next() or url_for(f"{type(self).__name__}.list"))

    @expose("/review/<pk>", methods=["GET"])
    @has_access
    def review(self, pk):
        return self.show(pk)

    def can_resubmit(self, item):
        return False


class InjuryDeclarationView(_DeclarationBase):
    """办理情况查询 — the hospital's submitted declarations (SPEC W8)."""
    route_base = "/injury/declarations"
    list_title = _l("办理情况查询")
    show_title = _l("申报详情")
    base_permissions = _DeclarationBase.base_permissions + ["can_resubmit"]

    def can_resubmit(self, item):
        """未通过, the caller's own, and not re-declared yet (an open draft of it is opened)."""
        return item.state == S.REJECTED.value and \
            item.organization_id == g.user.organization_id and \
            all(d.state == S.DRAFT.value for d in queries.redeclarations(item))

    def row_buttons(self, items):
        rows = super().row_buttons(items)
        for item in items:
            if self.can_resubmit(item):
                rows.setdefault(item.id, []).append(Button(
                    _("重新申报"), url_for("InjuryDeclarationView.resubmit", pk=item.id),
                    "warning"))
        return rows

    @expose("/resubmit/<pk>", methods=["POST"])
    @has_access
    def resubmit(self, pk):
        item = self.scoped(pk)
        if item.organization_id != g.user.organization_id:
            abort(404)
        copy = commands.resubmit(g.user, item)
        flash(_("已根据原申报生成新的待提交业务，请修改后保存并提交"), "success")
        return redirect(url_for("InjuryDeclareView.edit", pk=copy.id))


class InjuryEmployerReviewView(_DeclarationBase):
    """单位审核 — declarations of the employer's workers (SPEC W6)."""
    route_base = "/injury/employer"
    list_title = _l("单位审核")
    show_title = _l("工伤业务审核")
    list_columns = ["id", "kind_label", "organization.name", "person_name", "id_number",
                    "employer_name", "state_label", "submitted_at", "last_opinion"]
    hospital_filter = True


class InjuryAgencyReviewView(_DeclarationBase):
    """经办审核 — declarations insured in the agency's region (SPEC W7)."""
    route_base = "/injury/agency"
    list_title = _l("经办审核")
    show_title = _l("工伤业务审核")
    list_columns = ["id", "kind_label", "organization.name", "person_name", "id_number",
                    "employer_name", "state_label", "submitted_at", "last_opinion"]
    hospital_filter = True

