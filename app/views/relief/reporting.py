"""疾病应急救助 evaluation, recovery, data reporting and performance screens (SPEC R7–R11)."""
import datetime as dt

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, ModelRestApi, ModelView, expose
from flask_appbuilder.api import expose as api_expose, protect
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name
from sqlalchemy import extract, func

from app.errors import DomainError, ForbiddenError
from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization
from app.models.relief import (EVALUATION_SIDES, REPORT_FIGURES,
                               ReliefApplication, ReliefEvaluation, ReliefPerformance,
                               ReliefRecovery, ReliefReport, ReliefReportTask)
from app.scope import region_scope, scoped_get
from app.services import audit
from app.services.parameters import param
from app.services.periods import parse_period
from app.services.relief import commands, queries, rules
from app.services.relief.commands import RECOVERY_SLOT
from app.views.shared.api import (ExportApiMixin, RestWritesMixin, ScopedApiMixin,
                                  WorkflowApiMixin, safe)
from app.views.shared.attachments import AttachmentsMixin
from app.views.shared.filters import ColumnFilter, StateNotInFilter
from app.views.shared.formatting import localtime
from app.views.relief.forms import (ReliefEvaluationForm, ReliefRecoveryForm,
                                    ReliefReportForm, ReliefReportNewForm, ReliefTaskPickForm)
from app.views.shared.forms import FormPageMixin, on_refusal, refused_page
from app.views.shared.mixins import (AuditedCrudMixin, Button, RegionScopedMixin,
                                     WorkflowActionsMixin, back_url, safe_next)
from app.views.system.screens import RegionTreeMixin
from app.workflows.relief import ReliefReportFlow
from app.views.shared.api_permissions import mirror

MY_ORG = ["organization_id", ColumnFilter, lambda: g.user.organization_id]


class ReliefEvaluationView(RegionScopedMixin, ModelView):
    """我的评价 (edit own) and 机构互评总览 (SPEC R7)."""
    route_base = "/relief/evaluations"
    datamodel = SQLAInterface(ReliefEvaluation)
    list_title = _l("我的评价")
    show_title = _l("评价详情")
    edit_title = _l("修改评价")
    base_filters = [MY_ORG]
    base_order = ("id", "desc")
    label_columns = {"application": _l("救助申请"), "evaluated_org": _l("被评机构名称"),
                     "organization": _l("评价机构名称"), "year": _l("年度"), "score": _l("分值"),
                     "content": _l("评价内容"), "side": _l("评价方向"), "created_at": _l("评价时间")}
    list_columns = ["application", "evaluated_org", "organization", "year", "score", "content"]
    show_columns = list_columns + ["created_at"]
    edit_columns = ["score", "content"]
    edit_template = "relief/evaluation_edit.html"
    formatters_columns = {"created_at": localtime}
    base_permissions = ["can_list", "can_show", "can_edit", "can_new", "can_overview"]

    def pre_update(self, item):
        super().pre_update(item)
        rules.check_evaluation(item, g.user)

    @expose("/new/<int:app_pk>", methods=["GET", "POST"])
    @has_access
    def new(self, app_pk):
        """新增评价: the form's checks (the score is the rule's, as for the API), then the
        command; a refusal draws the page again with what was typed, 422 (or 409 / 403)."""
        app = scoped_get(ReliefApplication, app_pk, g.user)
        if request.method == "POST":
            form = ReliefEvaluationForm()
            page = lambda: self._new_page(app, form)  # noqa: E731
            if not form.validate():
                return page(), 422
            on_refusal(refused_page(form, page))
            commands.evaluate(app, g.user, form.score.data, form.content.data)
            flash(_("评价已保存"), "success")
            return redirect(back_url(url_for("ReliefEvaluationView.of_application",
                                             app_pk=app.id)))
        return self._new_page(app, ReliefEvaluationForm(formdata=None))

    @expose("/application/<int:app_pk>", methods=["GET"])
    @has_access
    @permission_name("list")
    def of_application(self, app_pk):
        """评价 of one disbursed application: both sides' evaluations, and 新增评价 while
        the caller's side has not evaluated it (the rule's refusal says why otherwise)."""
        app = scoped_get(ReliefApplication, app_pk, g.user)
        E = ReliefEvaluation
        rows = db.session.execute(db.select(E).where(E.application_id == app.id)
                                  .order_by(E.id)).scalars().all()
        try:
            rules.evaluation_side(app, g.user)
            refused = next((_("本单位已评价该申请，可在“我的评价”中修改") for e in rows
                            if e.organization_id == g.user.organization_id), None)
        except DomainError as exc:
            refused = exc.message
        mine = app.organization_id == g.user.organization_id
        return self.render_template(
            "relief/evaluations_of.html", title=_("评价"), app=app, rows=rows,
            sides=EVALUATION_SIDES, refused=refused, back=safe_next() or url_for(
                "ReliefApplicationView.list" if mine else "ReliefReviewView.list"),
            app_url=url_for("ReliefApplicationView.show" if mine else "ReliefReviewView.show",
                            pk=app.id))

    def render_template(self, template, **kwargs):
        """The edit page names the application and the rated unit."""
        if template == self.edit_template and request.view_args.get("pk"):
            kwargs["evaluation"] = self.scoped(request.view_args["pk"])
        return super().render_template(template, **kwargs)

    def _new_page(self, app, form):
        side = "institution" if app.organization_id == g.user.organization_id else "agency"
        evaluated = app.reviewer_org if side == "institution" else app.organization
        return self.render_template("relief/evaluation_new.html", title=_("新增评价"), app=app,
                                    evaluated=evaluated, year=dt.date.today().year,
                                    side=EVALUATION_SIDES[side], form=form)

    @expose("/overview", methods=["GET"])
    @has_access
    def overview(self):
        E = ReliefEvaluation
        rows = db.session.execute(
            db.select(E.evaluated_org_id, func.count(E.id), func.avg(E.score))
            .where(E.organization_id == g.user.organization_id)
            .group_by(E.evaluated_org_id)).all()
        names = dict(db.session.execute(db.select(Organization.id, Organization.name).where(
            Organization.id.in_([r[0] for r in rows]))).all()) if rows else {}
        stats = [{"name": names.get(org_id, org_id), "count": n, "avg": round(float(avg), 1)}
                 for org_id, n, avg in rows]
        return self.render_template("relief/evaluation_overview.html", title=_("机构互评总览"),
                                    stats=stats)


class ReliefRecoveryView(RegionScopedMixin, AttachmentsMixin, ModelView):
    """追缴资金登记 with statistics (SPEC R8)."""
    route_base = "/relief/recoveries"
    datamodel = SQLAInterface(ReliefRecovery)
    list_title = _l("追缴资金登记")
    show_title = _l("追缴记录详情")
    list_template = "relief/recoveries.html"
    show_template = "relief/recovery_show.html"
    attachment_slots = (RECOVERY_SLOT,)
    base_order = ("recovered_on", "desc")
    label_columns = {"organization": _l("登记单位"), "amount": _l("追缴金额"),
                     "recovered_on": _l("追缴日期"), "remark": _l("备注"),
                     "applications": _l("关联救助申请"), "created_at": _l("登记时间")}
    list_columns = ["organization", "amount", "recovered_on", "applications", "remark"]
    show_columns = ["organization", "amount", "recovered_on", "remark", "created_at"]
    formatters_columns = {"created_at": localtime,
                          "applications": lambda apps: "、".join(str(a) for a in apps or ())}
    base_permissions = ["can_list", "can_show", "can_new", "can_upload"]

    def can_upload(self, item, slot):
        return item.organization_id == g.user.organization_id

    def show_extras(self, item):
        """The linked applications as links to their pages, and 办理记录."""
        extras = super().show_extras(item)
        org_id = g.user.organization_id
        extras["linked"] = [(a, url_for("ReliefApplicationView.show" if a.organization_id == org_id
                                        else "ReliefReviewView.show", pk=a.id))
                            for a in item.applications]
        extras.update(history=audit.history("relief_recovery", item.id),
                      state_label=lambda s: s, transition_label=lambda s: s)
        return extras

    def statistics(self):
        R = ReliefRecovery
        scope = region_scope(R, g.user)
        count, total = db.session.execute(db.select(func.count(R.id), func.sum(R.amount))
                                          .where(scope)).one()
        year = extract("year", R.recovered_on)
        by_year = db.session.execute(db.select(year, func.count(R.id), func.sum(R.amount))
                                     .where(scope).group_by(year).order_by(year)).all()
        return {"count": count, "total": total or 0,
                "by_year": [(int(y), n, t) for y, n, t in by_year]}

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs["stats"] = self.statistics()
        return super().render_template(template, **kwargs)

    def candidates(self):
        A = ReliefApplication
        return db.session.execute(db.select(A).where(
            region_scope(A, g.user), A.state.in_(rules.RECOVERABLE_STATES))
            .order_by(A.id.desc()).limit(500)).scalars().all()

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new(self):
        """添加追缴记录: the form's checks, the chosen applications through the scope (404
        outside it), then the command with its rules (states, amount > 0, the attachment)."""
        apps = self.candidates()
        form = ReliefRecoveryForm.of(apps, dt.date.today(), posted=request.method == "POST")
        page = lambda: self._new_page(apps, form)  # noqa: E731
        if request.method == "POST":
            if not form.validate():
                return page(), 422
            chosen = [scoped_get(ReliefApplication, pk, g.user) for pk in form.app_id.data]
            on_refusal(refused_page(form, page))
            row = commands.register_recovery(g.user, chosen, form.amount.data,
                                             form.recovered_on.data.isoformat(), form.remark.data,
                                             form.file.data)
            flash(_("追缴记录已保存"), "success")
            return redirect(back_url(url_for("ReliefRecoveryView.show", pk=row.id)))
        return page()

    def _new_page(self, apps, form):
        return self.render_template("relief/recovery_new.html", title=_("添加追缴记录"),
                                    apps=apps, form=form, slot=RECOVERY_SLOT)


class ReliefReportTaskView(FormPageMixin, AuditedCrudMixin, ModelView):
    """上报任务 (super-admin): name and period (SPEC R9)."""
    route_base = "/relief/report-tasks"
    datamodel = SQLAInterface(ReliefReportTask)
    list_title = _l("上报任务")
    show_title = _l("上报任务详情")
    add_title = _l("新增上报任务")
    edit_title = _l("修改上报任务")
    label_columns = {"name": _l("任务名称"), "period_start": _l("开始日期"),
                     "period_end": _l("结束日期"), "deadline": _l("上报截止日期")}
    list_columns = add_columns = edit_columns = ["name", "period_start", "period_end", "deadline"]
    base_order = ("period_start", "desc")

    def pre_add(self, item):
        super().pre_add(item)
        rules.check_report_task(item)

    def pre_update(self, item):
        super().pre_update(item)
        rules.check_report_task(item)


class _ReportBase(RegionScopedMixin, WorkflowActionsMixin, ModelView):
    datamodel = SQLAInterface(ReliefReport)
    workflow = ReliefReportFlow
    editable_states = ("draft", "returned")
    show_template = "relief/report_show.html"
    show_title = _l("上报数据详情")
    label_columns = {"task": _l("上报任务"), "organization": _l("上报单位"), "kind_label": _l("类型"),
                     "state_label": _l("状态"), "submitted_at": _l("提交时间"),
                     "reviewer_org": _l("审核单位"), "review_opinion": _l("审核意见"),
                     "aggregated_at": _l("汇总时间"), **REPORT_FIGURES}
    list_columns = ["task", "organization", "kind_label", "state_label", "apps_total",
                    "amount_requested", "amount_disbursed", "submitted_at"]
    show_columns = ["task", "organization", "kind_label", "state_label", "reviewer_org",
                    "review_opinion", "submitted_at", "aggregated_at"] + list(REPORT_FIGURES)
    formatters_columns = {"submitted_at": localtime, "aggregated_at": localtime}
    search_columns = ["task", "state"]
    base_order = ("id", "desc")

    def show_extras(self, item):
        extras = super().show_extras(item)
        extras["children"] = ReliefReportFlow.children(item) if item.kind == "aggregate" else []
        return extras


class ReliefReportView(_ReportBase):
    """数据上报: the unit's own report per task (SPEC R9)."""
    route_base = "/relief/reports"
    list_title = _l("数据上报")
    edit_title = _l("修改上报数据")
    list_template = "relief/reports.html"
    base_filters = [MY_ORG, ["state", StateNotInFilter, ("deleted",)]]
    edit_columns = list(REPORT_FIGURES)
    edit_form = ReliefReportForm
    base_permissions = ["can_list", "can_show", "can_edit", "can_new", "can_extract"]

    def pre_update(self, item):
        super().pre_update(item)
        rules.check_report_figures(item)

    def row_buttons(self, items):
        """提交 of a report whose period has not ended is drawn disabled with why; a
        province agency may also report to national directly."""
        rows = super().row_buttons(items)
        org = g.user.organization
        submit = self.workflow.get("submit")
        for item in items:
            refusal = submit.refusal(item, g.user, self.workflow, guards=False)
            reason = refusal.message if refusal is not None and refusal.status != 403 else None
            if item.state in submit.source and reason is not None:
                rows.setdefault(item.id, []).insert(0, Button(
                    submit.label, "", submit.style, reason=reason))
            if (item.state in self.editable_states and org is not None
                    and org.org_type == "agency" and org.level == "province"):
                rows.setdefault(item.id, []).append(Button(
                    _("直接上报国家"), url_for("ReliefReportView.fire", name="submit", pk=item.id,
                                             to_national=1), "primary", reason=reason))
        return rows

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new(self):
        mine = db.select(ReliefReport.task_id).where(
            ReliefReport.organization_id == g.user.organization_id,
            ReliefReport.state != "deleted")
        tasks = db.session.execute(db.select(ReliefReportTask).where(
            ReliefReportTask.id.not_in(mine)).order_by(ReliefReportTask.period_start.desc())
        ).scalars().all()
        form = ReliefReportNewForm.of(tasks, posted=request.method == "POST")
        page = lambda: self.render_template(  # noqa: E731
            "relief/report_new.html", title=_("新增上报数据"), tasks=tasks, form=form)
        if request.method == "POST":
            if not form.validate():
                return page(), 422
            on_refusal(refused_page(form, page))
            report = commands.create_report(g.user, form.chosen(tasks))
            flash(_("已完成数据提取，可修改后保存并提交"), "success")
            return redirect(url_for("ReliefReportView.show", pk=report.id))
        return page()

    @expose("/extract/<pk>", methods=["POST"])
    @has_access
    def extract(self, pk):
        report = commands.extract_again(self.scoped(pk), g.user, self.editable_states)
        flash(_("已重新提取数据"), "success")
        return redirect(url_for("ReliefReportView.show", pk=report.id))


def chosen_task_id():
    """The task picked on 上报数据浏览; by default the newest one whose period has ended
    (reports can only be submitted after the period, see reporting.period_ended)."""
    picked = ReliefTaskPickForm(request.args).task.data
    if picked:
        return picked
    T = ReliefReportTask
    return db.session.execute(db.select(T.id).where(T.period_end < dt.date.today())
                              .order_by(T.period_end.desc(), T.id.desc()).limit(1)).scalar()


class ChosenTaskFilter(ColumnFilter):
    name = "chosen task"

    def apply(self, query, value):
        return query.filter(self.model.task_id == chosen_task_id())


class ReliefReportReviewView(RegionTreeMixin, _ReportBase):
    """上报数据浏览: subordinates' reports, review, 数据汇总, drill-down (SPEC R10)."""
    route_base = "/relief/report-review"
    list_title = _l("上报数据浏览")
    list_template = "relief/report_review.html"
    base_filters = [["reviewer_org_id", ColumnFilter, lambda: g.user.organization_id],
                    ["state", StateNotInFilter, ("draft", "deleted")],
                    ["task_id", ChosenTaskFilter, None]]
    base_permissions = ["can_list", "can_show", "can_aggregate", "can_detail"]

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            tasks = db.session.execute(db.select(ReliefReportTask).order_by(
                ReliefReportTask.period_start.desc())).scalars().all()
            chosen = chosen_task_id()
            kwargs.update(tasks=tasks, chosen=chosen,
                          task_form=ReliefTaskPickForm.of(tasks, chosen),
                          mine=ReliefReportFlow.own_report(chosen, g.user.organization_id)
                          if chosen else None)
        return super().render_template(template, **kwargs)

    @expose("/aggregate/<int:task_id>", methods=["POST"])
    @has_access
    def aggregate(self, task_id):
        task = db.session.get(ReliefReportTask, task_id) or abort(404)
        org = g.user.organization
        missing = ReliefReportFlow.missing_subordinates(task.id, org)
        if missing and request.values.get("confirm") != "1":
            return self.render_template("relief/aggregate_confirm.html", title=_("数据汇总"),
                                        task=task, missing=missing)
        mine = ReliefReportFlow.aggregate(task, g.user)
        flash(_("汇总完成，可在“数据上报”中提交汇总数据"), "success")
        return redirect(url_for("ReliefReportView.show", pk=mine.id))

    @expose("/detail/<pk>", methods=["GET"])
    @has_access
    def detail(self, pk):
        """Drill down from any aggregate to the reports it was built from (scope-checked)."""
        item = self.scoped_any(pk)
        widgets = self._get_show_widget(pk, item)
        return self.render_template(self.show_template, pk=item.id, title=self.show_title,
                                    widgets=widgets, related_views=[],
                                    extras=self.show_extras(item))

    def scoped_any(self, pk):
        return scoped_get(ReliefReport, pk, g.user)


class ReliefPerformanceView(RegionScopedMixin, ModelView):
    """绩效填报 (SPEC R11)."""
    route_base = "/relief/performance"
    datamodel = SQLAInterface(ReliefPerformance)
    list_title = _l("绩效填报")
    show_title = _l("绩效详情")
    list_template = "relief/performance.html"
    edit_title = _l("填写定性指标")
    base_filters = [MY_ORG]
    base_order = ("period_start", "desc")
    label_columns = {
        "organization": _l("单位"), "period_start": _l("统计开始"), "period_end": _l("统计结束"),
        "apps_received": _l("受理申请数"), "apps_approved": _l("审核通过数"),
        "apps_returned": _l("退回数"), "apps_rejected": _l("审核不通过数"),
        "approval_rate_text": _l("审核通过率"), "avg_review_days_text": _l("平均审核天数"),
        "amount_approved": _l("审核通过金额"), "amount_disbursed": _l("拨款金额"),
        "amount_recovered": _l("追缴金额"), "reports_on_time": _l("按时上报次数"),
        "reports_total": _l("上报次数"), "work_summary": _l("工作开展情况"),
        "problems": _l("存在问题"), "improvements": _l("改进措施"), "generated_at": _l("生成时间")}
    list_columns = ["period_start", "period_end", "apps_received", "apps_approved",
                    "approval_rate_text", "avg_review_days_text", "amount_approved",
                    "amount_disbursed", "generated_at"]
    show_columns = ["organization", "period_start", "period_end", "apps_received",
                    "apps_approved", "apps_returned", "apps_rejected", "approval_rate_text",
                    "avg_review_days_text", "amount_approved", "amount_disbursed",
                    "amount_recovered", "reports_on_time", "reports_total", "work_summary",
                    "problems", "improvements", "generated_at"]
    edit_columns = ["work_summary", "problems", "improvements"]
    formatters_columns = {"generated_at": localtime}
    base_permissions = ["can_list", "can_show", "can_edit", "can_generate"]

    @expose("/generate", methods=["POST"])
    @has_access
    def generate(self):
        start, end = parse_period(param("performance_period"))
        row = commands.generate_performance(g.user, start, end)
        flash(_("已生成 %(s)s~%(e)s 的绩效数据", s=start, e=end), "success")
        return redirect(url_for("ReliefPerformanceView.show", pk=row.id))

    def render_template(self, template, **kwargs):
        kwargs.setdefault("period", param("performance_period"))
        return super().render_template(template, **kwargs)


# ---- REST (SPEC §X): relief_evaluation, relief_recovery, relief_report_task, relief_report,
# relief_performance ---------------------------------------------------------------------------

def _json():
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


class ReliefEvaluationApi(ScopedApiMixin, ModelRestApi):
    resource_name = "relief_evaluation"
    screens = mirror("ReliefEvaluationView", post=["ReliefEvaluationView.can_new"])
    datamodel = SQLAInterface(ReliefEvaluation)
    list_columns = show_columns = ["id", "application_id", "side", "organization_id",
                                   "evaluated_org_id", "year", "score", "content"]
    edit_columns = ["score", "content"]
    base_permissions = ["can_get", "can_info", "can_put", "can_post"]

    def pre_update(self, item):
        rules.check_evaluation(item, g.user)

    @api_expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def post(self):
        body = _json()
        app = scoped_get(ReliefApplication, body.get("application_id"), g.user)
        row = commands.evaluate(app, g.user, body.get("score"), body.get("content"))
        return self.response(201, id=row.id, side=row.side, score=row.score)


class ReliefRecoveryApi(ScopedApiMixin, ExportApiMixin, ModelRestApi):
    resource_name = "relief_recovery"
    screens = mirror("ReliefRecoveryView", post=["ReliefRecoveryView.can_new"])
    datamodel = SQLAInterface(ReliefRecovery)
    list_columns = show_columns = ["id", "organization_id", "amount", "recovered_on", "remark"]
    base_permissions = ["can_get", "can_info", "can_post"]

    @api_expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def post(self):
        """multipart/form-data: application_ids (repeated), amount, recovered_on, remark, file."""
        f = request.form
        apps = [scoped_get(ReliefApplication, pk, g.user) for pk in f.getlist("application_ids")]
        row = commands.register_recovery(g.user, apps, f.get("amount"), f.get("recovered_on"),
                                         f.get("remark"), request.files.get("file"))
        return self.response(201, id=row.id, amount=str(row.amount))


class ReliefReportTaskApi(RestWritesMixin, ModelRestApi):
    resource_name = "relief_report_task"
    screens = mirror("ReliefReportTaskView", get=["ReliefReportView.can_new"])
    datamodel = SQLAInterface(ReliefReportTask)
    allow_browser_login = False
    list_columns = show_columns = add_columns = edit_columns = [
        "name", "period_start", "period_end", "deadline"]

    def pre_add(self, item):
        rules.check_report_task(item)

    def pre_update(self, item):
        rules.check_report_task(item)


class ReliefReportApi(ScopedApiMixin, WorkflowApiMixin, ExportApiMixin, ModelRestApi):
    resource_name = "relief_report"
    screens = mirror("ReliefReportView", "ReliefReportReviewView",
                     post=["ReliefReportView.can_new"])
    datamodel = SQLAInterface(ReliefReport)
    workflow = ReliefReportFlow
    editable_states = ("draft", "returned")
    list_columns = show_columns = ["id", "task_id", "organization_id", "reviewer_org_id",
                                   "aggregate_id", "kind", "state", "submitted_at",
                                   "review_opinion"] + list(REPORT_FIGURES)
    edit_columns = list(REPORT_FIGURES)
    base_permissions = ["can_get", "can_info", "can_put", "can_post"]

    def pre_update(self, item):
        super().pre_update(item)
        if item.kind != "unit" or item.organization_id != g.user.organization_id:
            raise ForbiddenError(_("只能修改本单位未汇总的数据"))

    @api_expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def post(self):
        """{"task_id"} → the unit's report with 数据提取 figures (one per unit per task)."""
        task = db.session.get(ReliefReportTask, _json().get("task_id") or 0)
        report = commands.create_report(g.user, task)
        return self.response(201, id=report.id, state=report.state)

    @api_expose("/aggregate", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def aggregate(self):
        """{"task_id", "confirm": true}: without confirm, unsubmitted subordinates → 409 listing them."""
        body = _json()
        task = db.session.get(ReliefReportTask, body.get("task_id") or 0)
        if task is None:
            return self.response(422, message=_("请选择上报任务"))
        missing = ReliefReportFlow.missing_subordinates(task.id, g.user.organization)
        if missing and not body.get("confirm"):
            return self.response(409, message=_("有下级单位尚未上报"),
                                 missing=[{"id": o.id, "name": o.name} for o in missing])
        mine = ReliefReportFlow.aggregate(task, g.user)
        return self.response(200, id=mine.id, state=mine.state,
                             figures={k: str(getattr(mine, k)) for k in REPORT_FIGURES})

    @api_expose("/<int:pk>/children", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def children(self, pk):
        report = scoped_get(ReliefReport, pk, g.user)
        return self.response(200, result=[{"id": c.id, "organization_id": c.organization_id,
                                           "kind": c.kind, "state": c.state}
                                          for c in ReliefReportFlow.children(report)])


class ReliefPerformanceApi(ScopedApiMixin, ModelRestApi):
    resource_name = "relief_performance"
    screens = mirror("ReliefPerformanceView",
                     generate=["ReliefPerformanceView.can_generate"])
    datamodel = SQLAInterface(ReliefPerformance)
    list_columns = show_columns = ["id", "organization_id", "period_start", "period_end",
                                   "apps_received", "apps_approved", "apps_returned",
                                   "apps_rejected", "approval_rate", "avg_review_days",
                                   "amount_approved", "amount_disbursed", "amount_recovered",
                                   "reports_on_time", "reports_total", "work_summary",
                                   "problems", "improvements"]
    edit_columns = ["work_summary", "problems", "improvements"]
    # No POST: the figures are computed (POST /generate, as the screen's 生成), never typed.
    base_permissions = ["can_get", "can_info", "can_put", "can_generate"]

    @api_expose("/generate", methods=["POST"])
    @protect()
    @safe
    @permission_name("generate")
    def generate(self):
        start, end = parse_period(param("performance_period"))
        row = commands.generate_performance(g.user, start, end)
        return self.response(200, id=row.id, apps_received=row.apps_received)


class ReliefStatisticsView(BaseView):
    """救助数据统计: applications and amounts per area of the caller's scope, from the summary
    table (one row per institution, state and category); drill down one level at a time."""
    route_base = "/relief/statistics"
    default_view = "index"
    base_permissions = ["can_index"]

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        code = request.args.get("area")
        area = queries.area_of(g.user, code)
        if code and area is None:
            abort(404)
        rows, totals = queries.figures(g.user, area)
        parent = area.parent if area is not None else None
        up = parent.code if parent is not None and queries.area_of(g.user, parent.code) else None
        return self.render_template("relief/statistics.html", title=_("救助数据统计"),
                                    area=area, up=up, rows=rows, totals=totals,
                                    states=queries.state_labels())
