"""报量项目审核 (SPEC Q4 city, Q5 province) and 全国报量数据 (Q6). Nothing is listed
until a project is chosen and 查询 pressed (the manual says so)."""
from urllib.parse import parse_qs, urlsplit

from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app.extensions import db
from app.i18n import _, _l
from app.models.ivd import IvdAreaReport, IvdHospitalReport, IvdProject, IvdReportLine
from app.scope import scope_of
from app.services import files
from app.services.ivd import commands, exports, queries, rules
from app.views.ivd.screens import ChosenProjectFilter
from app.views.shared.attachments import AttachmentsMixin
from app.views.shared.filters import ColumnFilter
from app.views.shared.formatting import localtime
from app.views.shared.forms import on_refusal_show
from app.views.shared.mixins import Button, RegionScopedMixin, WorkflowActionsMixin, back_url
from app.workflows.engine import apply
from app.workflows.ivd import OPEN, IvdAreaReportFlow, IvdHospitalReportFlow

SUM_LABELS = {"hospital_count": _l("医疗机构数量"), "last_year_sum": _l("历史采购量"),
              "next_year_sum": _l("采购需求量")}


def chosen_project():
    return db.session.get(IvdProject, request.args.get("project", 0, type=int))


def running_project(projects):
    """What the user most likely wants: the latest project under way (else the latest)."""
    return next((p for p in projects if p.status == "running"), projects[0] if projects else None)


def same_site_path(target):
    """`target` when it is a path of this site (as safe_next checks a posted `next`)."""
    parts = urlsplit(target or "")
    if not target or not target.startswith("/") or target.startswith("//") \
            or "\\" in target or parts.scheme or parts.netloc:
        return None
    return target


class _ReviewScreen:
    """The project select (the running project preselected) and 查询 above the list;
    pressing 查询 makes sure every hospital and area of the caller's region has its report
    row. Row buttons a guard refuses now are drawn disabled with the reason; a review done
    on a detail page goes back to the list the detail was opened from."""
    list_template = "ivd/review_list.html"

    @expose("/list/")
    @has_access
    def list(self):
        project = chosen_project()
        if project is not None:
            commands.ensure_reports_of(project.id, g.user)
        return super().list()

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            project = chosen_project()
            kind, code = scope_of(g.user)
            projects = db.session.execute(select(IvdProject).order_by(
                IvdProject.year.desc(), IvdProject.id.desc())).scalars().all()
            kwargs.update(projects=projects, project=project,
                          selected=project or running_project(projects),
                          own=queries.area_report(project.id, code)
                          if project is not None and kind in ("city", "province") else None,
                          scope_kind=kind, drill=self.drill_area(project))
        return super().render_template(template, **kwargs)

    drill_view = None       # the view one level up, whose 详情 opens this list (?region=)

    def drill_area(self, project):
        """The area report of the region chosen by 详情 one level up (?region=) with its
        review buttons (审核通过 / 审核不通过 / 审核撤回 …) on that view, as the manual's
        审核页面 has them; None on the caller's own list."""
        code = request.args.get("region")
        if project is None or not code or self.drill_view is None:
            return None
        area = queries.area_report(project.id, code)
        if area is None or scope_of(g.user) == (area.level, area.region.code):
            return None
        self.attach_sums([area])
        view = next(v for v in self.appbuilder.baseviews if type(v).__name__ == self.drill_view)
        return {"area": area, "buttons": self.transition_buttons(area, view.workflow, view)}

    @staticmethod
    def attach_sums(items):
        """医疗机构数量 / 历史采购量 / 采购需求量 of the areas shown (a list page, a detail,
        a 提交 page, a drilled list), each by its own level, from the same query as the
        lists."""
        sums = queries.report_sums(items)
        for item in items:
            item.sums = sums[item.id]

    # ---- buttons and the way back -------------------------------------------------------
    def transition_buttons(self, item, flow=None, view=None):
        """The transitions of the caller's role from the row's state: offered, or drawn
        disabled with the reason a guard gives now (role refusals stay hidden)."""
        flow, view = flow or self.workflow, view or self
        buttons = []
        for t in flow.available(item, g.user, guards=False):
            refusal = t.refusal(item, g.user, flow)
            if refusal is not None and refusal.status == 403:
                continue
            buttons.append(Button(t.label, view.transition_url(t, item.id), t.style,
                                  not (t.form or t.comment_required),
                                  reason=refusal.message if refusal else None))
        return buttons

    def row_buttons(self, items):
        return {i.id: self.transition_buttons(i) for i in items}

    def show_url(self, pk):
        """A detail page opened with `next`: the list it is opened from."""
        return url_for(f"{type(self).__name__}.show", pk=pk, next=request.full_path.rstrip("?"))

    def _list_url(self):
        return url_for(f"{type(self).__name__}.list",
                       project=request.values.get("project", type=int))

    @expose("/transition/<string:name>/<pk>", methods=["POST"])
    @has_access
    def fire(self, name, pk):
        """As every portal button; when it was used on a detail page opened from a list,
        back to that list (the row moved on: the reviewer goes on with the next one)."""
        response = super().fire(name, pk)
        target = urlsplit(response.location or "")
        if target.path == url_for(f"{type(self).__name__}.show", pk=pk):
            origin = same_site_path(parse_qs(target.query).get("next", [""])[0])
            item = self.scoped(pk)
            return redirect(origin or url_for(f"{type(self).__name__}.list",
                                              project=item.project_id))
        return response


class IvdHospitalReviewView(_ReviewScreen, RegionScopedMixin, WorkflowActionsMixin,
                            AttachmentsMixin, ModelView):
    """市级报量项目审核: the city's hospitals; 审核, 审核撤回, 取消上报 / 上报 (SPEC Q4)."""
    route_base = "/ivd/review/hospitals"
    datamodel = SQLAInterface(IvdHospitalReport)
    workflow = IvdHospitalReportFlow
    editable_states = ()
    attachment_slots = rules.HOSPITAL_SLOTS
    list_title = _l("报量项目审核")
    show_title = _l("医疗机构报量详情")
    drill_view = "IvdAreaReviewView"
    show_template = "ivd/hospital_show.html"
    label_columns = {"organization": _l("医疗机构"), "state_label": _l("状态"),
                     "filled_lines": _l("已填报行数"), "last_year_total": _l("上年度采购总数量"),
                     "next_year_total": _l("下年度采购需求量"), "submitted_at": _l("提交时间"),
                     "reviewed_at": _l("审核时间"), "review_opinion": _l("审核意见"),
                     "contact": _l("联系人"), "contact_phone": _l("联系方式"),
                     "project": _l("报量项目"), "state": _l("状态")}
    list_columns = ["organization", "state_label", "filled_lines", "last_year_total",
                    "next_year_total", "submitted_at", "reviewed_at"]
    show_columns = ["project", "organization", "state_label", "contact", "contact_phone",
                    "filled_lines", "last_year_total", "next_year_total", "submitted_at",
                    "reviewed_at", "review_opinion"]
    formatters_columns = {"submitted_at": localtime, "reviewed_at": localtime}
    search_columns = ["state"]
    base_filters = [["project_id", ChosenProjectFilter, None]]
    base_order = ("id", "asc")
    base_permissions = ["can_list", "can_show"]

    def can_upload(self, item, slot):
        return False      # the hospital uploads on its own 提交 page

    def show_extras(self, item):
        extras = super().show_extras(item)
        extras["lines"] = db.session.execute(select(IvdReportLine).where(
            IvdReportLine.report_id == item.id).order_by(IvdReportLine.id)).scalars().all()
        by_slot = files.files_of(item)
        extras["cert_notes"] = [(c, by_slot.get(rules.CERT_SLOT_PREFIX + c, []))
                                for c in queries.certs_not_in_use(item.id)]
        extras["digest"] = queries.lines_digest(item.id)
        extras["stale"] = rules.stale_slots(item)
        return extras

    def row_buttons(self, items):
        rows = super().row_buttons(items)
        return {i.id: [Button(_("详情"), self.show_url(i.id), post=False)] + rows.get(i.id, [])
                for i in items}


class _AreaBase(_ReviewScreen, RegionScopedMixin, WorkflowActionsMixin, AttachmentsMixin,
                ModelView):
    datamodel = SQLAInterface(IvdAreaReport)
    workflow = IvdAreaReportFlow
    editable_states = ()
    attachment_slots = (rules.STAMPED_SUMMARY,)
    show_template = "ivd/area_show.html"
    label_columns = {"region": _l("区域"), "state_label": _l("状态"), "submitted_at": _l("提交时间"),
                     "reviewed_at": _l("审核时间"), "review_opinion": _l("审核意见"),
                     "project": _l("报量项目"), "state": _l("状态"), **SUM_LABELS}
    list_columns = ["region", "state_label", "hospital_count", "last_year_sum", "next_year_sum",
                    "submitted_at", "reviewed_at", "review_opinion"]
    show_columns = ["project", "region", "state_label", "hospital_count", "last_year_sum",
                    "next_year_sum", "submitted_at", "reviewed_at", "review_opinion"]
    formatters_columns = {"submitted_at": localtime, "reviewed_at": localtime}
    search_columns = ["state"]
    base_order = ("id", "asc")
    level = None

    def can_upload(self, item, slot):
        return (item.level == "province" and item.state in OPEN
                and scope_of(g.user) == ("province", item.region.code))

    def list_page(self, filters, order_column, order_direction, page, page_size):
        count, items = super().list_page(filters, order_column, order_direction, page,
                                         page_size)
        self.attach_sums(items)
        return count, items


    def _get_show_widget(self, pk, item, **kwargs):
        self.attach_sums([item])      # the widget reads the figures when it is built
        return super()._get_show_widget(pk, item, **kwargs)

    def show_extras(self, item):
        self.attach_sums([item])
        return super().show_extras(item)

    @expose("/submit/<pk>", methods=["GET", "POST"])
    @has_access
    def submit_form(self, pk):
        """提交 upward: a confirmation (the province also uploads the stamped summary)."""
        item = self.scoped(pk)
        if request.method == "POST":
            on_refusal_show(lambda fields: self._submit_page(item))
            apply(IvdAreaReportFlow, item, "submit", g.user, {})
            flash(_("提交成功，当前状态：%(s)s", s=item.state_label), "success")
            return redirect(back_url(url_for(f"{type(self).__name__}.list",
                                             project=item.project_id)))
        return self._submit_page(item)

    def _submit_page(self, item):
        refusal = IvdAreaReportFlow.get("submit").refusal(item, g.user, IvdAreaReportFlow)
        digest = queries.province_digest(item.project_id, item.region.code) \
            if item.level == "province" else None
        return self.render_template("ivd/area_submit.html", title=_("提交"), item=item,
                                    digest=digest,
                                    refusal=refusal, extras=self.show_extras(item))

    @expose("/export/<int:project_id>", methods=["POST"])
    @has_access
    def export_summary(self, project_id):
        """汇总数据导出: a background job; the file is downloaded from 导出列表."""
        project = db.session.get(IvdProject, project_id) or abort(404)
        kind = scope_of(g.user)[0]
        if {"province": "province", "national": "all"}.get(self.level) != kind \
                or exports.export_summary(project, g.user) is None:
            abort(403)
        flash(_("已提交导出，请在“导出列表”中下载"), "info")
        return redirect(url_for("ExportJobView.list"))


class IvdAreaReviewView(_AreaBase):
    """省级报量项目审核: per-city summary, drill-down, 审核, 审核撤回, 汇总数据导出, 提交
    (SPEC Q5); the same list of a province's cities is the national 详情."""
    route_base = "/ivd/review/areas"
    list_title = _l("报量项目审核（各市汇总）")
    show_title = _l("市级报量详情")
    level = "province"
    drill_view = "IvdNationalView"
    base_filters = [["project_id", ChosenProjectFilter, None], ["level", ColumnFilter, "city"]]
    base_permissions = ["can_list", "can_show", "can_submit_form", "can_export_summary",
                        "can_entry", "can_upload"]

    def row_buttons(self, items):
        rows = super().row_buttons(items)
        return {i.id: [Button(_("详情"), url_for("IvdHospitalReviewView.list",
                                               project=i.project_id, region=i.region.code),
                              post=False)] + rows.get(i.id, []) for i in items}

    @expose("/entry")
    @has_access
    def entry(self):
        """报量项目审核 opens the screen of the caller's level."""
        kind = scope_of(g.user)[0]
        target = {"city": "IvdHospitalReviewView.list", "province": "IvdAreaReviewView.list",
                  "all": "IvdNationalView.list"}.get(kind) or abort(404)
        return redirect(url_for(target, **request.args))


class IvdNationalView(_AreaBase):
    """全国报量数据 (super-admin): per-province summary, 详情, 撤回, CSV export (SPEC Q6)."""
    route_base = "/ivd/national"
    list_title = _l("全国报量数据")
    show_title = _l("省级报量详情")
    level = "national"
    base_filters = [["project_id", ChosenProjectFilter, None],
                    ["level", ColumnFilter, "province"]]
    base_permissions = ["can_list", "can_show", "can_export_summary"]

    def row_buttons(self, items):
        rows = super().row_buttons(items)
        return {i.id: [Button(_("详情"), url_for("IvdAreaReviewView.list", project=i.project_id,
                                               region=i.region.code), post=False)]
                + rows.get(i.id, []) for i in items}
