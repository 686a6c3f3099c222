"""基本公卫 screens of the levels above a unit (SPEC H3, H5, H6): 机构隶属关系维护,
【机构信息审核】 (通过 / 不通过, 确认 / 退回, 确认并上报), 上报进度, 申请修改 and
申请修改审核, 报送轮次."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name
from sqlalchemy import func, select

from app.extensions import db
from app.i18n import _, _l
from app.models.phs import (OPEN_STATES, PhsChangeRequest, PhsChangeRequestState, PhsInstitution,
                            PhsRound)
from app.models.core import Region
from app.scope import region_in_scope, region_scope, scoped_get
from app.services.phs import changes as phs_changes
from app.services.phs import affiliation, commands, queries, rules
from app.views.phs.forms import (HINTS, LABELS, PhsAffiliationForm, PhsChangeRequestForm,
                                 options, refused, validated)
from app.views.shared.formatting import localtime
from app.views.shared.forms import on_refusal
from app.views.shared.labels import ChineseLabelsMixin
from app.views.shared.mixins import (AuditedCrudMixin, RegionScopedMixin, WorkflowActionsMixin,
                                    back_url)
from app.workflows.engine import apply, apply_batch
from app.workflows.phs import PhsChangeRequestFlow, PhsReportFlow


class PhsAffiliationView(BaseView):
    """机构隶属关系维护: confirm the superior of institutions that already exist (H3)."""
    route_base = "/phs/affiliation"
    default_view = "index"

    @expose("/", methods=["GET", "POST"])
    @has_access
    def index(self):
        county = g.user.organization
        if county is None or county.level != "county":
            abort(403)
        if request.method == "GET":
            return self.page(county, PhsAffiliationForm(formdata=None))
        dismiss = request.form.get("action") == "dismiss"
        form = PhsAffiliationForm(dismiss=dismiss)
        on_refusal(refused(form, lambda: self.page(county, form)))
        validated(self.choose(county, form))
        if dismiss:
            made = affiliation.dismiss_existing(g.user, form.org.data, form.reason.data)
            flash(_("已将 %(n)s 个机构标记为不参与本次报送", n=len(made)), "success")
            return redirect(url_for("PhsAffiliationView.index"))
        made = commands.attach_existing(g.user, form.org.data, form.superior.data)
        flash(_("已保存 %(n)s 个机构的上级机构", n=len(made)), "success")
        return redirect(url_for("PhsAffiliationView.index"))

    @expose("/<int:pk>/release", methods=["POST"])
    @has_access
    @permission_name("index")
    def release(self, pk):
        """解除: back to the institutions waiting for their superior (to attach it anew)."""
        row = affiliation.release(g.user, pk)
        flash(_("已解除“%(n)s”的隶属关系，可重新选择其上级机构", n=row.name), "success")
        return redirect(url_for("PhsAffiliationView.index"))

    @staticmethod
    def choose(county, form):
        """The county's institutions without a superior, and the superiors to choose."""
        form.org.choices = options((str(o.id), o.name) for o in queries.unattached_orgs(county))
        form.superior.choices = options((str(s.id), s.region.name if s.id == county.id else s.name)
                                        for s in queries.superior_choices(county))
        return form

    def page(self, county, form):
        """The institutions to tick (what was ticked and chosen stays)."""
        orgs = queries.unattached_orgs(county)
        report = queries.report_of(county, create=False)
        return self.render_template("phs/affiliation.html", title=_("机构隶属关系维护"),
                                    form=self.choose(county, form),
                                    rows=list(zip(orgs, form.org)), county=county,
                                    settled=affiliation.settled_rows(county),
                                    editable=report is None or report.state in OPEN_STATES)


class PhsReviewView(BaseView):
    """机构信息审核: the reports of the level below, each with its state; checkboxes with
    通过 / 不通过 (county) or 确认 / 退回 (city, province, national); the caller's own
    确认并上报; pending change requests of this level."""
    route_base = "/phs/review"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        org = g.user.organization or abort(403)
        round_ = queries.current_round()
        subs = queries.subordinates_of(org)
        reports = {r.organization_id: r for r in queries.reports_of_orgs(round_.id, subs)}
        rows = []
        for sub in subs:
            report = reports.get(sub.id)
            # only what may be done now: no box on a row a batch would refuse
            actions = [t for t in PhsReportFlow.available(report, g.user, guards=False)
                       if t.refusal(report, g.user, PhsReportFlow) is None] if report else []
            rows.append((sub, report, actions))
        own = commands.open_report(org) if org.org_type == "health_commission" else None
        own_actions = [t for t in PhsReportFlow.available(own, g.user, guards=False)
                       if t.name in ("confirm", "withdraw")] if own else []
        batch = [t for t in PhsReportFlow.transitions.values()
                 if t.batch and any(t in actions for _s, _r, actions in rows)]
        pending = db.session.execute(select(func.count(PhsChangeRequest.id)).where(
            PhsChangeRequest.reviewer_org_id == org.id,
            PhsChangeRequest.state == PhsChangeRequestState.PENDING.value)).scalar()
        return self.render_template("phs/review.html", title=_("机构信息审核"), rows=rows,
                                    own=own, own_actions=own_actions, batch=batch,
                                    round=round_, pending=pending, org=org,
                                    reject=PhsReportFlow.transitions.get(
                                        "reject" if org.level == "county" else "send_back"))

    @expose("/batch/<string:name>", methods=["POST"])
    @has_access
    def batch(self, name):
        if name not in PhsReportFlow.transitions or name in ("submit", "confirm", "withdraw"):
            abort(404)
        ids = ([request.form["only"]] if request.form.get("only")   # a row's own button
               else request.form.getlist("rowid"))
        done = apply_batch(PhsReportFlow, ids, name, g.user,
                           {"comment": request.form.get("comment", "")})
        flash(_("已%(a)s %(n)s 个", a=PhsReportFlow.get(name).label, n=len(done)), "success")
        return redirect(url_for("PhsReviewView.index"))

    @expose("/unit/<int:org_id>")
    @has_access
    def unit(self, org_id):
        """A unit's report as the county sees it: every institution with its ten items."""
        org = g.user.organization or abort(403)
        sub = next((o for o in queries.subordinates_of(org) if o.id == org_id), None)
        if sub is None or org.level != "county":
            abort(404)
        items = queries.institutions_of(sub)
        report = queries.report_of(sub, create=False)
        return self.render_template("phs/unit.html", title=sub.name, unit=sub, items=items,
                                    report=report, missing={i.id: queries.missing_items(i)
                                                            for i in items})


class PhsProgressView(BaseView):
    """上报进度: every subordinate's status, from the caller's level down (H5)."""
    route_base = "/phs/progress"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        """?county=<code>: one county down to its units (from a province or national tree)."""
        county = request.args.get("county") or None
        if county is not None:
            region = db.session.execute(select(Region).where(
                Region.code == county, Region.level == "county")).scalar_one_or_none()
            if region is None or not region_in_scope(region, g.user):
                abort(404)
        return self.render_template("phs/progress.html", title=_("上报进度"),
                                    roots=queries.progress_tree(g.user, county),
                                    round=queries.current_round(), drill=county is None)


shown = rules.value_text       # a data item's value on a screen (labels, not codes)


class PhsChangeRequestView(RegionScopedMixin, WorkflowActionsMixin, ModelView):
    """申请修改 (county) and 申请修改审核 (the level holding the county's data)."""
    route_base = "/phs/changes"
    datamodel = SQLAInterface(PhsChangeRequest)
    workflow = PhsChangeRequestFlow
    list_title = _l("申请修改")
    show_title = _l("申请修改详情")
    show_template = "phs/change_show.html"
    list_template = "phs/changes.html"
    label_columns = {"kind_label": _l("申请类型"), "institution": _l("机构"),
                     "target_name": _l("机构"),
                     "reason": _l("申请说明"), "organization": _l("申请单位"),
                     "reviewer_org": _l("当前审核单位"), "state_label": _l("状态"),
                     "submitted_at": _l("申请时间"), "reviewed_at": _l("审核时间"),
                     "review_opinion": _l("审核意见"), "state": _l("状态"), "kind": _l("申请类型")}
    list_columns = ["kind_label", "target_name", "reason", "organization", "reviewer_org",
                    "state_label", "submitted_at"]
    formatters_columns = {"submitted_at": localtime, "reviewed_at": localtime}
    show_columns = ["kind_label", "target_name", "reason", "organization", "reviewer_org",
                    "state_label", "submitted_at", "reviewed_at", "review_opinion"]
    search_columns = ["kind", "state"]
    base_order = ("id", "desc")
    base_permissions = ["can_list", "can_show", "can_new"]

    def row_buttons(self, items):
        """Only what the caller may do now (审核通过 not where the data is held above)."""
        buttons = super().row_buttons(items)
        for item in items:
            offered = self.workflow.available(item, g.user, guards=False)
            buttons[item.id] = [b for t, b in zip(offered, buttons[item.id])
                                if t.refusal(item, g.user, self.workflow) is None]
        return buttons

    @expose("/review/<pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("show")       # who may open it; the transition checks role and state
    def review(self, pk):
        """申请修改审核: the comparison and an opinion (optional for 审核通过, required for
        审核不通过); back to the list it was opened from."""
        item = self.scoped(pk)
        if request.method == "POST":
            name = request.form.get("transition", "")
            if self.workflow.get(name).form != "review":
                abort(404)
            done = apply(self.workflow, item, name, g.user,
                         {"comment": request.form.get("comment", "")})
            flash(_("%(action)s成功，当前状态：%(state)s", action=self.workflow.get(name).label,
                    state=done.state_label), "success")
            return redirect(back_url(url_for("PhsChangeRequestView.list")))
        return self.render_template(self.show_template, pk=item.id, item=item, review=True,
                                    title=_("申请修改审核"), view=self,
                                    widgets=self._get_show_widget(item.id, item),
                                    related_views=self._related_views,
                                    extras=self.show_extras(item))

    def show_extras(self, item):
        """修改前 / 修改后 as a person reads them (labels, not the stored codes)."""
        rows = [(name, label, shown(name, before), shown(name, after))
                for name, label, before, after in phs_changes.comparison(item)]
        return {**super().show_extras(item), "comparison": rows}

    @expose("/new", methods=["GET", "POST"])
    @has_access
    def new(self):
        """?kind=modify&institution=<id> opens a 修改 with the institution's current values."""
        county = g.user.organization
        if county is None or county.level != "county" or not rules.has_role(g.user, rules.COUNTY):
            abort(403)
        if request.method == "GET":
            return self.form_page(county, self.first_form(county))
        form = PhsChangeRequestForm()
        on_refusal(refused(form, lambda: self.form_page(county, form)))
        if form.kind.data == "modify" and form.institution.data \
                and form.loaded.data != form.institution.data:
            # the items typed were not the institution's: a 修改 amends, it never replaces
            target = self.county_institution(county, form.institution.data)
            flash(_("已载入“%(n)s”的现有信息，请在此基础上修改后再提交", n=target.name), "warning")
            return self.form_page(county, PhsChangeRequestForm.amending(target, "modify")), 422
        change = phs_changes.create(g.user, validated(self.choose(county, form)).request_data())
        flash(_("申请修改已提交至%(n)s", n=change.reviewer_org.name), "success")
        return redirect(back_url(url_for("PhsChangeRequestView.list")))

    @staticmethod
    def county_institution(county, pk):
        target = scoped_get(PhsInstitution, pk, g.user)
        if target.deleted or target.county_code != county.county_code:
            abort(404)
        return target

    def first_form(self, county):
        kind, pk = request.args.get("kind") or "", request.args.get("institution") or ""
        if kind == "modify" and pk:
            return PhsChangeRequestForm.amending(self.county_institution(county, pk), kind)
        form = PhsChangeRequestForm(formdata=None)
        form.kind.data, form.institution.data = kind, pk
        return form

    @staticmethod
    def choose(county, form):
        """The institutions of the county (修改 / 删除) and the superiors of a new one."""
        institutions = db.session.execute(select(PhsInstitution).where(
            PhsInstitution.deleted.is_(False), region_scope(PhsInstitution, g.user))
            .order_by(PhsInstitution.tier != "unit", PhsInstitution.name)).scalars().all()
        form.institution.choices = options(
            ((str(i.id), f"{i.name}（{i.tier_label}）") for i in institutions),
            blank=_("（新增时不选）"))
        form.superior.choices = options(
            ((str(s.id), s.region.name if s.id == county.id else s.name)
             for s in queries.superior_choices(county)), blank=_("请选择"))
        return form

    def form_page(self, county, form):
        return self.render_template(
            "phs/change_form.html", title=_("申请修改"), form=self.choose(county, form),
            labels=LABELS, hints=HINTS, county=county, region=county.region)


class PhsRoundView(ChineseLabelsMixin, AuditedCrudMixin, ModelView):
    """报送轮次: national opens a new round; reports start again from 填报中."""
    route_base = "/phs/rounds"
    datamodel = SQLAInterface(PhsRound)
    list_title = _l("报送轮次")
    label_columns = {"name": _l("轮次名称"), "created_at": _l("开启时间")}
    list_columns = ["name", "created_at"]
    add_columns = ["name"]
    base_order = ("id", "desc")
    base_permissions = ["can_list", "can_add"]
