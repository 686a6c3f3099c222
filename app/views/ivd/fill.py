"""报量项目管理 for a hospital (SPEC Q3): fill the catalogue page by page with 暂存, the
提交 page, 承诺书模板, 填报数据导出 (PDF), 目录下载 (Excel) and 审核状态查看."""
import io

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import func, or_, select

from app.extensions import db
from app.i18n import _
from app.models.ivd import (IN_USE_LABELS, IvdCatalogItem, IvdHospitalReport, IvdProject,
                            IvdReportLine)
from app.services import audit, clock, files
from app.services.documents import commitment_letter_docx
from app.services.export import Column, write_xlsx
from app.services.ivd import commands, queries, rules
from app.services.pdf import write_cert_summary_pdf
from app.views.shared.attachments import OWNER_MODELS
from app.views.ivd.forms import IvdLinesForm, IvdSubmissionForm
from app.views.shared.forms import on_refusal, on_refusal_show, refused_page
from app.workflows.engine import apply
from app.workflows.ivd import IvdHospitalReportFlow

OWNER_MODELS[IvdHospitalReport.__tablename__] = IvdHospitalReport
PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CATALOG_COLUMNS = (Column("serial_no", "流水号"), Column("major", "大项"), Column("minor", "小项"),
                   Column("manufacturer", "生产企业"), Column("cert_no", "注册证号"),
                   Column("product_name", "产品名称"), Column("specification", "规格型号"))
HOSPITAL_PDF_COLUMNS = (("注册证号", 3, "left"), ("生产企业", 3, "left"), ("产品名称", 3, "left"),
                        ("流水号数", 1, "right"), ("上年度采购总数量", 1.6, "right"),
                        ("下年度采购需求量", 1.6, "right"), ("是否有在用仪器", 1.4, "center"))


def in_use_text(low, high):
    if low is None:
        return ""
    return str(IN_USE_LABELS[bool(low)]) if low == high else _("是/否")


def hospital_pdf_rows(project_id, *where):
    for cert, maker, product, _hospitals, lines, last, nxt, low, high in db.session.execute(
            queries.cert_summary(project_id, *where)):
        yield cert, maker, product, lines, int(last), int(nxt), in_use_text(low, high)


class IvdFillView(BaseView):
    route_base = "/ivd/fill"
    default_view = "projects"

    # ---- the caller's report ----------------------------------------------------------------
    def my_report(self, project_id):
        """The hospital's own report for the project (created on first visit); 404 for
        anyone who is not a medical institution."""
        return commands.own_report(project_id, g.user.organization) or abort(404)

    def back(self, report, endpoint="fill", **args):
        return redirect(url_for(f"IvdFillView.{endpoint}", project_id=report.project_id, **args))

    # ---- pages ---------------------------------------------------------------------------
    @expose("/")
    @has_access
    def projects(self):
        P = IvdProject
        stmt = select(P).order_by(P.year.desc(), P.id.desc())
        if request.args.get("name", "").strip():
            stmt = stmt.where(P.name.contains(request.args["name"].strip()))
        projects = db.session.execute(stmt.limit(100)).scalars().all()
        projects.sort(key=lambda p: p.status != "running")   # the running project first
        org_id = getattr(g.user, "organization_id", None)
        mine = {r.project_id: r for r in db.session.execute(select(IvdHospitalReport).where(
            IvdHospitalReport.organization_id == org_id)).scalars()}
        return self.render_template("ivd/fill_projects.html", title=_("报量项目管理"),
                                    projects=projects, mine=mine)

    @expose("/<int:project_id>", methods=["GET"])
    @has_access
    def fill(self, project_id):
        return self._grid(self.my_report(project_id))

    def _grid(self, report, posted=False, errors=None):
        """The grid of the page asked for (?q=, ?page=); after a refused 暂存 (`posted`) with
        what was typed and the messages by 流水号 (`errors`)."""
        I, L = IvdCatalogItem, IvdReportLine
        q = request.values.get("q", "").strip()
        page = max(request.values.get("page", 0, type=int), 0)
        stmt = select(I).where(I.project_id == report.project_id)
        if q:
            stmt = stmt.where(or_(I.serial_no.contains(q), I.cert_no.contains(q),
                                  I.product_name.contains(q), I.manufacturer.contains(q),
                                  I.major.contains(q), I.minor.contains(q)))
        count = db.session.execute(stmt.with_only_columns(func.count(I.id))).scalar()
        items = db.session.execute(stmt.order_by(I.serial_no).limit(PAGE_SIZE)
                                   .offset(page * PAGE_SIZE)).scalars().all()
        lines = {line.item_id: line for line in db.session.execute(select(L).where(
            L.report_id == report.id, L.item_id.in_([i.id for i in items]))).scalars()}
        form = (IvdLinesForm.for_items(items, formdata=request.form) if posted
                else IvdLinesForm.of_lines(items, lines))
        return self.render_template(
            "ivd/fill.html", title=_("报量项目填报"), report=report, project=report.project,
            items=items, form=form, q=q, page=page, pages=max((count - 1) // PAGE_SIZE + 1, 1),
            count=count, posted=posted, errors=errors or {},
            editable=rules.filling_refusal(report) is None,
            closed_reason=rules.filling_refusal(report))

    @expose("/<int:project_id>/stash", methods=["POST"])
    @has_access
    def stash(self, project_id):
        report = self.my_report(project_id)
        on_refusal_show(lambda fields: self._grid(report, posted=True, errors=fields))
        form = IvdLinesForm.for_items(rules.catalogue_items(report, request.form.getlist("item")))
        if not form.validate():
            raise form.refusal()
        entries = form.entries()
        commands.save_lines(report, entries, g.user)
        flash(_("暂存成功，已保存本页 %(n)s 行", n=len(entries)), "success")
        target = request.form.get("goto", type=int)
        args = {"q": request.form.get("q", "")}
        args["page"] = target if target is not None else request.form.get("page", 0, type=int)
        return self.back(report, **args)

    @expose("/<int:project_id>/commitment-template")
    @has_access
    def commitment_template(self, project_id):
        report = self.my_report(project_id)
        data = commitment_letter_docx(report.project.name, report.project.year,
                                      report.organization.name)
        return send_file(io.BytesIO(data), as_attachment=True, download_name="承诺书模板.docx",
                         mimetype="application/vnd.openxmlformats-officedocument."
                                  "wordprocessingml.document")

    @expose("/<int:project_id>/export")
    @has_access
    def export_pdf(self, project_id):
        """填报数据导出: the hospital's figures by 注册证, to be signed and stamped."""
        report = self.my_report(project_id)
        buf = io.BytesIO()
        write_cert_summary_pdf(
            buf, _("%(p)s 填报数据（按注册证汇总）", p=report.project.name),
            [(_("医疗机构"), report.organization.name), (_("状态"), report.state_label),
             (_("数据校验码"), queries.lines_digest(report.id)), (_("导出时间"), clock.now())],
            HOSPITAL_PDF_COLUMNS,
            hospital_pdf_rows(report.project_id, IvdHospitalReport.id == report.id),
            footer_lines=[_("院长签字：__________    单位盖章：__________    日期：____年__月__日")])
        buf.seek(0)
        return send_file(buf, as_attachment=True, mimetype="application/pdf",
                         download_name=f"{report.organization.name}-填报数据.pdf")

    @expose("/<int:project_id>/catalog")
    @has_access
    def catalog(self, project_id):
        """目录下载: the project's catalogue by 流水号 (Excel)."""
        report = self.my_report(project_id)
        rows = db.session.execute(select(IvdCatalogItem).where(
            IvdCatalogItem.project_id == report.project_id)
            .order_by(IvdCatalogItem.serial_no).execution_options(yield_per=1000)).scalars()
        buf = io.BytesIO()
        write_xlsx(buf, CATALOG_COLUMNS, ({c.key: getattr(i, c.key) for c in CATALOG_COLUMNS}
                                          for i in rows), sheet_name="报量目录")
        buf.seek(0)
        return send_file(buf, as_attachment=True, mimetype=XLSX,
                         download_name=f"{report.project.name}-目录.xlsx")

    @expose("/<int:project_id>/status")
    @has_access
    def status(self, project_id):
        report = self.my_report(project_id)
        return self.render_template(
            "ivd/fill_status.html", title=_("审核状态查看"), report=report,
            history=audit.history(IvdHospitalReportFlow.object_type, report.id),
            state_label=IvdHospitalReportFlow.state_label,
            extras={"transition_label": lambda n: IvdHospitalReportFlow.transitions[n].label
                    if n in IvdHospitalReportFlow.transitions else n})

    # ---- 提交 ------------------------------------------------------------------------------
    @expose("/<int:project_id>/submit", methods=["GET", "POST"])
    @has_access
    def submit_form(self, project_id):
        report = self.my_report(project_id)
        beyond = self._beyond(report)
        if request.method == "GET":
            form = IvdSubmissionForm.for_lines([line.id for line in beyond], data={
                "contact": report.contact, "contact_phone": report.contact_phone,
                **{f"note_{line.id}": line.change_note for line in beyond}})
            return self._submit_page(report, form)
        form = IvdSubmissionForm.for_lines([line.id for line in beyond])
        page = lambda: self._submit_page(report, form)  # noqa: E731
        if not form.validate():
            return page(), 422
        on_refusal(refused_page(form, page))
        commands.save_submission_details(report, form.details(), g.user)
        if request.form.get("confirm") == "1":
            apply(IvdHospitalReportFlow, report, "submit", g.user, {})
            flash(_("提交成功，当前状态：%(s)s", s=report.state_label), "success")
            return self.back(report, "status")
        flash(_("暂存成功"), "success")
        return self.back(report, "submit_form")

    @staticmethod
    def _beyond(report):
        """The lines whose demand changed beyond the threshold (they need 增降幅说明)."""
        return db.session.execute(queries.beyond_threshold(report)
                                  .order_by(IvdReportLine.id)).scalars().all()

    def _submit_page(self, report, form):
        """The 提交 page; after a refusal with what was typed and the messages beside their
        fields (on the form)."""
        present = files.files_of(report)
        certs = [{"cert": c, "files": present.get(rules.CERT_SLOT_PREFIX + c, [])}
                 for c in queries.certs_not_in_use(report.id)]
        beyond = self._beyond(report)
        slots = [{"slot": s, "files": present.get(s.name, [])} for s in rules.HOSPITAL_SLOTS]
        return self.render_template(
            "ivd/fill_submit.html", title=_("提交"), report=report, project=report.project,
            certs=certs, beyond=beyond, slots=slots, problems=rules.submission_problems(report),
            editable=rules.filling_refusal(report) is None, form=form)

    @expose("/<int:project_id>/upload/<path:slot>", methods=["POST"])
    @has_access
    def upload(self, project_id, slot):
        report = self.my_report(project_id)
        slot_def = rules.hospital_slot(report, slot) or abort(404)
        row = commands.attach_hospital_file(report, slot_def, request.files.get("file"), g.user)
        flash(_("上传成功：%(name)s", name=row.original_name), "success")
        return self.back(report, "submit_form")
