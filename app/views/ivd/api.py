"""REST of the IVD module (SPEC §X): ivd_project, ivd_catalog_item, ivd_hospital_report,
ivd_area_report; the same rules as the screens (they call the same services)."""
from flask import g, request
from flask_appbuilder.api import ModelRestApi, expose, protect
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.i18n import _
from app.models.ivd import (IvdAreaReport, IvdCatalogItem, IvdHospitalReport, IvdProject,
                            IvdReportLine)
from app.scope import scope_of, scoped_get
from app.errors import ConflictError, ForbiddenError, NotFoundError
from app.services.ivd import commands, exports, queries, rules
from app.views.ivd.forms import IvdSubmissionForm
from app.views.shared.api import (ChineseResponsesMixin, ExportApiMixin, RestWritesMixin,
                                  ScopedApiMixin, WorkflowApiMixin, safe)
from app.views.shared.mixins import AuditedCrudMixin
from app.workflows.ivd import IvdAreaReportFlow, IvdHospitalReportFlow
from app.views.shared.api_permissions import mirror

PROJECT_FIELDS = ["name", "year", "fill_start", "fill_end", "city_deadline", "province_deadline",
                  "threshold_pct"]


class IvdProjectApi(RestWritesMixin, AuditedCrudMixin, ModelRestApi):
    resource_name = "ivd_project"
    screens = mirror("IvdProjectView", get=["IvdFillView.can_projects",
                     "IvdHospitalReviewView.can_list", "IvdAreaReviewView.can_list",
                     "IvdNationalView.can_list"])
    datamodel = SQLAInterface(IvdProject)
    list_columns = show_columns = ["id"] + PROJECT_FIELDS + ["status"]
    add_columns = edit_columns = PROJECT_FIELDS
    base_permissions = ["can_get", "can_info", "can_post", "can_put"]

    def pre_add(self, item):
        rules.check_project(item)

    def post_add(self, item):
        super().post_add(item)
        commands.ensure_hospital_reports(item.id)

    def pre_update(self, item):
        rules.check_project_change(item)


class IvdCatalogItemApi(ChineseResponsesMixin, ModelRestApi):
    resource_name = "ivd_catalog_item"
    screens = mirror("IvdCatalogView", get=["IvdFillView.can_catalog",
                                                "IvdHospitalReviewView.can_show"])
    datamodel = SQLAInterface(IvdCatalogItem)
    list_columns = show_columns = ["id", "project_id", "serial_no", "major", "minor",
                                   "manufacturer", "cert_no", "product_name", "specification"]
    search_columns = ["project_id", "serial_no", "cert_no", "product_name", "major", "minor"]
    base_order = ("serial_no", "asc")
    base_permissions = ["can_get", "can_info"]


class _UploadMixin:
    """POST /<pk>/attachments/<slot> (multipart `file`), with the screens' rules."""

    def upload_slot(self, item, slot):
        raise NotImplementedError

    @expose("/<int:pk>/attachments/<path:slot>", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def upload(self, pk, slot):
        item = scoped_get(self.datamodel.obj, pk, g.user)
        slot_def = self.upload_slot(item, slot)
        row = commands.attach_file(item, slot_def, request.files.get("file"), g.user)
        return self.response(201, id=row.id, slot=row.slot, name=row.original_name)


class IvdHospitalReportApi(_UploadMixin, ScopedApiMixin, WorkflowApiMixin, ExportApiMixin,
                           ModelRestApi):
    resource_name = "ivd_hospital_report"
    screens = mirror("IvdHospitalReviewView", get=["IvdFillView.can_fill"],
                     put=["IvdFillView.can_fill"], transition=["IvdFillView.can_submit_form"])
    datamodel = SQLAInterface(IvdHospitalReport)
    workflow = IvdHospitalReportFlow
    list_columns = show_columns = ["id", "project_id", "organization_id", "state", "contact",
                                   "contact_phone", "filled_lines", "last_year_total",
                                   "next_year_total", "submitted_at", "reviewed_at",
                                   "review_opinion", "province_code", "city_code"]
    search_columns = ["project_id", "state", "organization_id", "city_code"]
    base_permissions = ["can_get", "can_info", "can_put"]
    max_page_size = 100

    def upload_slot(self, report, slot):
        flow = IvdHospitalReportFlow
        if flow.transitions["submit"].refusal(report, g.user, flow, guards=False) is not None:
            raise ConflictError(_("当前状态不能上传附件"))
        slot_def = rules.hospital_slot(report, slot)
        if slot_def is None:
            raise NotFoundError(_("未知的附件类型"))
        return slot_def

    def _own(self, pk):
        report = scoped_get(IvdHospitalReport, pk, g.user)
        if report.organization_id != g.user.organization_id:
            raise ForbiddenError(_("只能操作本机构的报量数据"))
        return report

    @expose("/mine/<int:project_id>", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def mine(self, project_id):
        """The caller's (a hospital's) report for a project, created if missing."""
        report = commands.own_report(project_id, g.user.organization)
        if report is None:
            return self.response_404()
        return self.response(200, id=report.id, state=report.state)

    @expose("/<int:pk>/lines", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def lines(self, pk):
        report = scoped_get(IvdHospitalReport, pk, g.user)
        rows = db.session.execute(select(IvdReportLine).where(
            IvdReportLine.report_id == report.id).order_by(IvdReportLine.id)).scalars()
        return self.response(200, result=[{
            "id": line.id, "item_id": line.item_id, "serial_no": line.item.serial_no,
            "cert_no": line.item.cert_no, "last_year_qty": line.last_year_qty,
            "next_year_qty": line.next_year_qty, "in_use": line.in_use,
            "change_note": line.change_note} for line in rows])

    @expose("/<int:pk>/lines", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def stash(self, pk):
        """暂存: {"lines": [{"item_id", "last_year_qty", "next_year_qty", "in_use"}]}"""
        body = request.get_json(silent=True)
        entries = body.get("lines") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            return self.response(422, message=_("lines 必须是目录行列表"))
        report = self._own(pk)
        commands.save_lines(report, entries, g.user)
        return self.response(200, id=report.id, filled_lines=report.filled_lines,
                             last_year_total=report.last_year_total,
                             next_year_total=report.next_year_total)

    @expose("/<int:pk>/details", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def details(self, pk):
        """提交 page data: {"contact", "contact_phone", "notes": {"<line id>": "说明"}}"""
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("notes", {}), dict):
            return self.response(422, message=_("请求格式错误"))
        report = self._own(pk)
        notes = {k: v for k, v in body.get("notes", {}).items() if str(k).isdigit()}
        fields = {"contact": body.get("contact"), "contact_phone": body.get("contact_phone"),
                  **{f"note_{k}": v for k, v in notes.items()}}
        form = IvdSubmissionForm.for_lines([int(k) for k in notes], formdata=MultiDict(
            {name: str(value) for name, value in fields.items() if value is not None}))
        if not form.validate():
            raise form.refusal()
        commands.save_submission_details(report, form.details(), g.user)
        return self.response(200, id=report.id, problems=[
            str(p) for p in rules.submission_problems(report)])


class IvdAreaReportApi(_UploadMixin, ScopedApiMixin, WorkflowApiMixin, ExportApiMixin,
                       ModelRestApi):
    resource_name = "ivd_area_report"
    screens = mirror("IvdAreaReviewView", "IvdNationalView",
                     put=["IvdAreaReviewView.can_submit_form", "IvdAreaReviewView.can_upload"])
    datamodel = SQLAInterface(IvdAreaReport)
    workflow = IvdAreaReportFlow
    list_columns = show_columns = ["id", "project_id", "region_id", "level", "state",
                                   "submitted_at", "reviewed_at", "review_opinion",
                                   "province_code", "city_code"]
    search_columns = ["project_id", "level", "state", "province_code", "city_code"]
    base_permissions = ["can_get", "can_info", "can_put"]

    def upload_slot(self, item, slot):
        if slot != rules.STAMPED_SUMMARY.name or item.level != "province" \
                or scope_of(g.user) != ("province", item.region.code) \
                or item.state not in ("draft", "rejected"):
            raise ConflictError(_("当前状态不能上传附件"))
        return rules.STAMPED_SUMMARY

    @expose("/summary/<int:project_id>", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def summary(self, project_id):
        """Per-area figures of the caller's region: cities for a province, provinces for
        the nation (?level=city|province), after making sure every row exists."""
        if db.session.get(IvdProject, project_id) is None:
            return self.response_404()
        kind = scope_of(g.user)[0]
        level = request.args.get("level") or ("province" if kind == "all" else "city")
        if level not in ("city", "province"):
            return self.response(422, message=_("level 只能是 city 或 province"))
        commands.ensure_reports_of(project_id, g.user)
        A = IvdAreaReport
        stmt = (select(A).where(A.project_id == project_id, A.level == level)
                .where(self._base_filters.apply_all(select(A)).whereclause).order_by(A.id))
        areas = db.session.execute(stmt).scalars().all()
        sums = queries.area_sums(project_id, f"{level}_code")
        return self.response(200, result=[{
            "id": a.id, "region_code": a.region.code, "region_name": a.region.name,
            "state": a.state, "hospital_count": sums.get(a.region.code, (0, 0, 0))[0],
            "last_year_total": sums.get(a.region.code, (0, 0, 0))[1],
            "next_year_total": sums.get(a.region.code, (0, 0, 0))[2]} for a in areas])

    @expose("/export_summary/<int:project_id>", methods=["POST"])
    @protect()
    @safe
    @permission_name("get")
    def export_summary(self, project_id):
        """汇总数据导出 as a job: the province's PDF, or the national CSV → {"job_id"}."""
        project = db.session.get(IvdProject, project_id)
        if project is None:
            return self.response_404()
        job = exports.start_summary_export(project, g.user)
        if job is None:
            return self.response(403, message=_("只有省级和全国可以导出汇总数据"))
        return self.response(202, job_id=job.id)
