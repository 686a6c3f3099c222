"""基本公卫 【机构信息上报】 (SPEC H2–H4, H7): the scoped list of institutions with the
caller's own report (上报 / 确认并上报 / 撤回), the ten-item form (新增 / 填报, 保存 any
time), and the Excel route."""
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name

from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization
from app.models.phs import PhsInstitution
from app.services.parameters import param
from app.services.phs import commands, queries, rules
from app.services.phs import imports as phs_import
from app.services.phs.imports import HEADERS, SERVICE_LABELS, SPONSOR_LABELS, TYPE_LABELS
from app.views.shared.export import ExcelExportMixin, ExportField
from app.views.shared.formatting import localtime
from app.views.phs.forms import HINTS, LABELS, PhsInstitutionForm, refused, validated
from app.views.shared.forms import on_refusal
from app.views.shared.imports import ImportMixin
from app.views.shared.mixins import Button, RegionScopedMixin, back_url
from app.workflows.engine import apply
from app.workflows.phs import PhsReportFlow

# The export: the import template's headers and labels, so an exported file imports again.
def _services_label(value):
    return "、".join(SERVICE_LABELS.get(c, c) for c in (value or "").split(",") if c)


def _superior_label(org_id):
    """As the list shows it: a county, city or province by its region, a unit by name."""
    org = db.session.get(Organization, org_id) if org_id is not None else None
    if org is None:
        return ""
    return org.region.name if org.org_type == "health_commission" else org.name


EXPORT_FIELDS = (
    ExportField("name", HEADERS["name"]),
    ExportField("code", HEADERS["code"]),
    ExportField("contact", HEADERS["contact"]),
    ExportField("phone", HEADERS["phone"]),
    ExportField("township", HEADERS["township"]),
    ExportField("address_detail", HEADERS["address_detail"]),
    ExportField("inst_type", HEADERS["inst_type"], fmt=lambda v: TYPE_LABELS.get(v, v or "")),
    ExportField("sponsor", HEADERS["sponsor"], fmt=lambda v: SPONSOR_LABELS.get(v, v or "")),
    ExportField("longitude", HEADERS["longitude"], "decimal"),
    ExportField("latitude", HEADERS["latitude"], "decimal"),
    ExportField("superior_org_id", HEADERS["superior"], fmt=_superior_label),
    ExportField("services", HEADERS["services"], fmt=_services_label),
    ExportField("is_complete", "数据项完整", "bool"),
)


class PhsInstitutionView(ImportMixin, RegionScopedMixin, ExcelExportMixin, ModelView):
    route_base = "/phs/institutions"
    datamodel = SQLAInterface(PhsInstitution)
    list_title = _l("机构信息上报")
    show_title = _l("机构信息")
    list_template = "phs/institutions.html"
    label_columns = {**LABELS, "is_complete": _l("数据项完整")}
    list_columns = ["name", "code", "inst_type_label", "superior_label", "contact", "phone",
                    "complete_label"]
    show_columns = ["name", "code", "contact", "phone", "address", "inst_type_label",
                    "sponsor_label", "coordinates", "superior_label", "services_label",
                    "tier_label", "complete_label", "organization", "updated_at"]
    search_columns = ["name", "code", "contact", "is_complete"]
    order_columns = ["name", "code"]
    base_order = ("id", "asc")
    base_filters = [["deleted", FilterEqual, False]]
    formatters_columns = {"updated_at": localtime}
    base_permissions = ["can_list", "can_show", "can_fill", "can_report", "can_import_template",
                        "can_import_upload", "can_export", "can_export_standard"]
    import_columns = phs_import.COLUMNS
    import_title = _l("机构信息导入")
    export_fields = EXPORT_FIELDS
    standard_export = tuple(f.key for f in EXPORT_FIELDS)
    export_title = _l("医疗卫生机构信息")

    def import_check(self, rows):
        return phs_import.check(rows, g.user)

    def import_create(self, row):
        phs_import.create(row, g.user)

    def row_buttons(self, items):
        buttons = {}
        for item in items:
            if rules.edit_refusal(item, g.user) is not None:
                buttons[item.id] = []
                continue
            buttons[item.id] = [Button(_("填报"), url_for("PhsInstitutionView.fill", pk=item.id),
                                       "primary", post=False)]
            if item.tier != "unit" or rules.add_kind(g.user) == "unit":
                buttons[item.id].append(Button(_("删除"), url_for(
                    "PhsInstitutionView.remove", pk=item.id), "danger", confirm=_(
                        "删除“%(n)s”将一并删除其填报的卫生室（服务站）并停用县级为其创建的账号，"
                        "确定要删除吗？", n=item.name) if item.tier == "unit" else True))
        return buttons

    @expose("/<pk>/remove", methods=["POST"])
    @has_access
    @permission_name("fill")
    def remove(self, pk):
        item = self.scoped(pk)
        commands.remove(item, g.user)
        flash(_("已删除“%(n)s”", n=item.name) + (_("，其账号已停用") if item.tier == "unit"
                                                  and not item.organization.active else ""),
              "success")
        return redirect(back_url(url_for("PhsInstitutionView.list")))

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs.update(self.report_panel())
        return super().render_template(template, **kwargs)

    def report_panel(self):
        """The caller's own report and, for a county, its units with their login names."""
        user, org = g.user, g.user.organization
        if org is None or (rules.add_kind(user) is None and not rules.has_role(user, rules.COUNTY)):
            return {"own": None}
        report = commands.open_report(org)        # a first visit opens the round's report
        actions = PhsReportFlow.available(report, user, guards=False)
        blocked = None
        for t in actions:
            refusal = t.refusal(report, user, PhsReportFlow)
            if refusal is not None:
                blocked = refusal.message
        units = []
        if rules.add_kind(user) == "unit":
            subs = queries.subordinates_of(org)
            names = queries.login_names([o.id for o in subs])
            reports = {r.organization_id: r for r in queries.reports_of_orgs(report.task_id, subs)}
            fresh = queries.initial_password_orgs([o.id for o in subs])
            units = [(o, names.get(o.id), reports.get(o.id), o.id in fresh) for o in subs]
        return {"own": report, "own_actions": actions, "blocked": blocked,
                "initial_password": param("initial_password"),
                "add_kind": rules.add_kind(user), "units": units,
                "unattached": (len(queries.unattached_orgs(org))
                               if rules.add_kind(user) == "unit" else 0)}

    @expose("/report/<string:name>", methods=["POST"])
    @has_access
    def report(self, name):
        """上报 / 确认并上报 / 撤回 on the caller's own report."""
        if name not in ("submit", "confirm", "withdraw"):
            abort(404)
        org = g.user.organization or abort(404)
        report = commands.open_report(org)     # kept when the transition is refused
        done = apply(PhsReportFlow, report, name, g.user, request.form.to_dict())
        flash(_("%(a)s成功，当前状态：%(s)s", a=PhsReportFlow.get(name).label,
                s=done.state_label), "success")
        return redirect(back_url(url_for("PhsInstitutionView.list")))

    @expose("/new", methods=["GET", "POST"])
    @has_access
    @permission_name("fill")
    def fill_new(self):
        kind = rules.add_kind(g.user) or abort(403)
        if request.method == "GET":
            return self.render_form(None, PhsInstitutionForm.of(None), kind)
        form = PhsInstitutionForm()
        on_refusal(refused(form, lambda: self.render_form(None, form, kind)))
        refusal = rules.add_refusal(g.user)
        if refusal is not None:             # refused before the items are read
            raise refusal
        inst = commands.add_institution(g.user, validated(form).items())
        if inst.tier == "unit":
            flash(_("已新增“%(n)s”并创建账号，登录名：%(u)s，初始密码：%(p)s，首次登录须修改。"
                    "请打印账号通知单告知该机构登录系统填报。", n=inst.name,
                    u=queries.login_names([inst.organization_id]).get(inst.organization_id),
                    p=param("initial_password")), "success")
            return redirect(url_for("PhsInstitutionView.slip", org_id=inst.organization_id))
        else:
            flash(_("已新增“%(n)s”", n=inst.name), "success")
        return redirect(url_for("PhsInstitutionView.list"))

    @expose("/slip/<int:org_id>")
    @has_access
    @permission_name("fill")
    def slip(self, org_id):
        """账号通知单 of a unit the county added: unit, login name, initial password (while
        the account has not changed it), where to log in, the forced change."""
        county = g.user.organization
        if rules.add_kind(g.user) != "unit":
            abort(404)
        unit = next((o for o in queries.subordinates_of(county) if o.id == org_id), None)
        if unit is None:
            abort(404)
        accounts = queries.unit_accounts(unit)
        return self.render_template("phs/slip.html", title=_("账号通知单"), unit=unit,
                                    county=county, accounts=accounts,
                                    password=param("initial_password"),
                                    login_url=request.host_url.rstrip("/") + self.appbuilder.get_url_for_login)

    @expose("/<pk>/fill", methods=["GET", "POST"])
    @has_access
    def fill(self, pk):
        inst = self.scoped(pk)
        if inst.deleted:
            abort(404)
        refusal = rules.edit_refusal(inst, g.user)
        if request.method == "GET":
            if refusal is not None:
                flash(refusal.message, "warning")
                return redirect(url_for("PhsInstitutionView.show", pk=inst.id))
            return self.render_form(inst, PhsInstitutionForm.of(inst), inst.tier)
        form = PhsInstitutionForm()
        on_refusal(refused(form, lambda: self.render_form(inst, form, inst.tier)))
        if refusal is not None:             # locked: refused before the items are read
            raise refusal
        commands.save(inst, validated(form).items(), g.user)
        missing = queries.missing_items(inst)
        flash(_("保存成功") + ("" if not missing else
                              _("；尚缺%(m)s，补全后方可上报", m="、".join(missing))),
              "success" if not missing else "warning")
        return redirect(url_for("PhsInstitutionView.list"))

    def render_form(self, inst, form, tier):
        org = g.user.organization
        region = inst.region if inst is not None else (org.region if org else None)
        superior = inst.superior_label if inst is not None else (
            org.region.name if tier == "unit" else org.name if org else "")
        return self.render_template(
            "phs/form.html", title=inst.name if inst else _("新增机构"), inst=inst, tier=tier,
            form=form, region=region, superior=superior, labels=LABELS, hints=HINTS,
            tile_url=current_app.config.get("PHS_MAP_TILE_URL"),
            missing=queries.missing_items(inst) if inst is not None else [])
