"""医疗机构信息维护 screens (SPEC M3–M5, M7): the institution list and details (维护, 提交审核,
审核赋码 / 退回修改, 归档, 删除), 证号变更申请 and its review, and the staff records."""
from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.filters import FilterNotEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name

from app.i18n import _, _l
from app.models.registry import (STAFF_TYPES, RegistryCertChange, RegistryInstitution,
                                 RegistryStaff)
from app.regions import region_children
from app.scope import scoped_get
from app.services.registry import commands, queries, rules
from app.views.registry import exports
from app.views.shared.attachments import AttachmentsMixin
from app.views.shared.export import ExcelExportMixin
from app.views.shared.formatting import localtime
from app.views.registry.forms import (CertChangeForm, InstitutionForm, StaffForm, check,
                                      refuse_with)
from app.views.shared.mixins import Button, RegionScopedMixin, WorkflowActionsMixin
from app.workflows.registry import (RegistryCertChangeFlow, RegistryInstitutionFlow,
                                    RegistryStaffFlow)

LABELS = {"organization": _l("医疗机构名称"), "legal_name": _l("法人单位名称"),
          "uscc": _l("统一社会信用代码"), "licence_no": _l("医疗机构执业许可证登记号"),
          "region": _l("行政区划"), "address": _l("详细地址"), "pooling_region": _l("医保统筹区"),
          "e_voucher_label": _l("是否应用医保电子凭证"), "category": _l("医疗机构类别"),
          "grade": _l("医疗机构级别"), "phone": _l("联系电话"), "national_code": _l("国家编码"),
          "state_label": _l("状态"), "review_comment": _l("审核意见"),
          "submitted_at": _l("提交时间"), "coded_at": _l("赋码时间"),
          "maintainer_label": _l("维护人员"), "created_at": _l("创建时间")}


def region_parts(region_code):
    """Province / city / county codes of an administrative region, for the three selects."""
    region = queries.region_by_code(region_code)
    parts = {"province": None, "city": None, "county": None}
    if region is not None:
        parts["province"] = region.province_code
        parts["city"] = region.city_code if region.level in ("city", "county") else None
        parts["county"] = region.code if region.level == "county" else None
    return parts


def institution_form(stored=None, coded=False):
    """The M3 form: posted (POST) or showing `stored` (rules.form_values), its region and
    pooling choices filled for the chosen province and city."""
    if request.method == "POST":
        form = InstitutionForm()
    else:
        stored = stored or {}
        form = InstitutionForm(formdata=None, data={
            **InstitutionForm.initial(stored), **region_parts(stored.get("region_code"))})
    if coded:
        form.without_certificates()

    def rows(code):
        return [(c, n) for c, n, *_ in (region_children(code) or [])]
    province, city = form.province.data or None, form.city.data or None
    form.province.fill(rows(None))
    form.city.fill(rows(province) if province else [])
    form.county.fill(rows(city) if city else [])
    form.pooling_code.fill([(r.code, r.name) for r in queries.pooling_areas(province)]
                           if province else [])
    return form


def render_institution_form(view, title, form, submit_label, back_url, inst=None):
    """The page of institution_form(); a coded institution shows its certificates."""
    coded = inst.organization.national_code if inst is not None and inst.state == "coded" \
        else None
    certificates = []
    if coded:
        org = inst.organization
        certificates = [("uscc", rules.FIELD_LABELS["uscc"], org.uscc or _("无")),
                        ("licence_no", rules.FIELD_LABELS["licence_no"], org.licence_no or "")]
    return view.render_template(
        "registry/institution_form.html", title=title, form=form, coded=coded,
        certificates=certificates, submit_label=submit_label, back_url=back_url)


class RegistryInstitutionView(AttachmentsMixin, RegionScopedMixin, WorkflowActionsMixin,
                              ExcelExportMixin, ModelView):
    route_base = "/registry/institutions"
    datamodel = SQLAInterface(RegistryInstitution)
    workflow = RegistryInstitutionFlow
    list_title = _l("医疗机构信息维护")
    show_title = _l("医疗机构详情")
    label_columns = LABELS
    list_columns = ["organization", "uscc", "licence_no", "pooling_region", "national_code",
                    "state_label", "submitted_at"]
    show_columns = ["organization", "legal_name", "uscc", "licence_no", "region", "address",
                    "pooling_region", "e_voucher_label", "category", "grade", "phone",
                    "national_code", "state_label", "maintainer_label", "review_comment",
                    "submitted_at", "coded_at"]
    search_columns = ["legal_name", "state"]
    base_filters = [["state", FilterNotEqual, "deleted"]]
    base_order = ("id", "desc")
    formatters_columns = {"submitted_at": localtime, "coded_at": localtime}
    base_permissions = ["can_list", "can_show", "can_maintain", "can_upload", "can_pooling",
                        "can_export", "can_export_standard"]
    export_fields, standard_export = exports.INSTITUTION_FIELDS, exports.INSTITUTION_STANDARD
    export_title = _l("医疗机构信息")
    attachment_slots = rules.INSTITUTION_SLOTS
    editable_states = rules.MAINTAINED_STATES
    show_template = "registry/institution_show.html"

    def can_upload(self, item, slot):
        return rules.edit_refusal(item, g.user) is None and item.state in rules.EDITABLE_STATES

    def row_buttons(self, items):
        buttons = super().row_buttons(items)
        for item in items:
            row = [Button(_("详情"), url_for("RegistryInstitutionView.show", pk=item.id),
                          "default", post=False)]
            if rules.edit_refusal(item, g.user) is None:
                row.append(Button(_("维护"), url_for("RegistryInstitutionView.maintain",
                                                   pk=item.id), "primary", post=False))
            buttons[item.id] = row + buttons.get(item.id, [])
        return buttons

    def show_extras(self, item):
        extras = super().show_extras(item)
        details = queries.institution_details(item)
        extras["registry"] = {
            "inst": item,
            "can_maintain": rules.edit_refusal(item, g.user) is None,
            "can_change_cert": item.state == "coded" and rules.holds(item, g.user),
            "changes": details["changes"],
            "authorization_rows": [
                (a.auth_no, f"{a.user.first_name}（{a.user.username}）", a.role_label,
                 a.state_label) for a in details["authorizations"]],
            "staff_rows": [(s.name, s.type_label, s.cert_no, s.state_label)
                           for s in details["staff"]],
            "agreement_rows": [(a.agreement_no, a.agency.name,
                                f"{a.start_date} ~ {a.end_date}", a.state_label)
                               for a in details["agreements"]],
            "change_rows": [
                (f"{c.old_uscc or _('无')} / {c.old_licence_no or '-'} → "
                 f"{c.new_uscc or _('无')} / {c.new_licence_no or '-'}", c.reason,
                 c.state_label) for c in details["changes"]]}
        return extras

    @expose("/maintain/<pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("maintain")
    def maintain(self, pk):
        item = self.scoped(pk)
        refusal = rules.edit_refusal(item, g.user)
        if refusal is not None:
            flash(refusal.message, "danger")
            return redirect(url_for("RegistryInstitutionView.show", pk=item.id))
        form = institution_form(rules.form_values(item), coded=item.state == "coded")
        if request.method == "POST":
            refuse_with(form, lambda: self._maintain_page(item, form))
            # a coded institution's certificates are not on the form: they stay as stored
            changed, reset = commands.update_institution(
                item, g.user, check(form, lambda v: rules.clean_institution(
                    {**rules.form_values(item), **v})[1]))
            flash(_("已保存") + (_("；%(n)s条人员信息重置为待提交", n=reset) if reset else ""),
                  "success")
            return redirect(url_for("RegistryInstitutionView.show", pk=item.id))
        return self._maintain_page(item, form)

    def _maintain_page(self, item, form):
        return render_institution_form(
            self, _("机构信息维护 — %(name)s", name=item.name), form, _("保存"),
            url_for("RegistryInstitutionView.show", pk=item.id), inst=item)

    @expose("/pooling")
    @has_access
    @permission_name("pooling")
    def pooling(self):
        """Pooling areas of ?province=<code> for the form's select."""
        region = queries.province(request.args.get("province", ""))
        if region is None:
            abort(404)
        return jsonify(areas=[{"code": r.code, "name": r.name}
                              for r in queries.pooling_areas(region.code)])


class RegistryCertChangeView(RegionScopedMixin, WorkflowActionsMixin, ExcelExportMixin,
                             ModelView):
    route_base = "/registry/cert-changes"
    datamodel = SQLAInterface(RegistryCertChange)
    workflow = RegistryCertChangeFlow
    list_title = _l("证号变更申请")
    show_title = _l("证号变更申请")
    label_columns = {"institution": _l("医疗机构"), "old_uscc": _l("原统一社会信用代码"),
                     "old_licence_no": _l("原许可证登记号"), "new_uscc": _l("新统一社会信用代码"),
                     "new_licence_no": _l("新许可证登记号"), "reason": _l("变更原因"),
                     "state_label": _l("状态"), "review_comment": _l("审核意见"),
                     "created_at": _l("申请时间")}
    list_columns = ["institution", "old_uscc", "new_uscc", "old_licence_no", "new_licence_no",
                    "state_label", "created_at"]
    show_columns = list_columns[:-2] + ["reason", "state_label", "review_comment",
                                        "created_at"]
    search_columns = ["state"]
    base_order = ("id", "desc")
    formatters_columns = {"created_at": localtime}
    base_permissions = ["can_list", "can_show", "can_new", "can_export", "can_export_standard"]
    export_fields, standard_export = exports.CERT_CHANGE_FIELDS, exports.CERT_CHANGE_STANDARD
    export_title = _l("证号变更申请")

    @expose("/new/<inst_pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("new")
    def new(self, inst_pk):
        inst = scoped_get(RegistryInstitution, inst_pk, g.user)
        if request.method == "POST":
            # Not allowed now (403 / 409): back to the institution, the form would not help.
            refusal = rules.cert_change_refusal(inst, g.user, queries.pending_cert_change(inst))
            if refusal is not None:
                flash(refusal.message, "danger")
                return redirect(url_for("RegistryInstitutionView.show", pk=inst.id))
            form = CertChangeForm()
            refuse_with(form, lambda: self._cert_change_page(inst, form))
            change = commands.request_cert_change(
                inst, g.user, check(form, lambda v: rules.clean_cert_change(inst, v) and {}))
            flash(_("证号变更申请已提交，等待医保经办机构审核"), "success")
            return redirect(url_for("RegistryCertChangeView.show", pk=change.id))
        refusal = rules.cert_change_refusal(inst, g.user, queries.pending_cert_change(inst))
        if refusal is not None:     # said at once, before anything is typed
            flash(refusal.message, "warning")
            return redirect(url_for("RegistryInstitutionView.show", pk=inst.id))
        return self._cert_change_page(inst, CertChangeForm(formdata=None))

    def _cert_change_page(self, inst, form):
        org = inst.organization
        return self.render_template(
            "registry/form.html", title=_("证号变更申请 — %(name)s", name=inst.name),
            form=form, statics=[("current", _("现统一社会信用代码 / 许可证登记号"),
                                 f"{org.uscc or _('无')} / {org.licence_no or '-'}")],
            submit_label=_("提交申请"),
            back_url=url_for("RegistryInstitutionView.show", pk=inst.id))


class RegistryStaffView(RegionScopedMixin, WorkflowActionsMixin, ExcelExportMixin, ModelView):
    route_base = "/registry/staff"
    datamodel = SQLAInterface(RegistryStaff)
    workflow = RegistryStaffFlow
    list_title = _l("医师护士信息维护")
    show_title = _l("人员信息")
    label_columns = {"institution": _l("医疗机构"), "name": _l("姓名"),
                     "id_number": _l("身份证号"), "masked_id_number": _l("身份证号"),
                     "shown_id_number": _l("身份证号"), "type_label": _l("人员类型"),
                     "cert_no": _l("执业证书编号"), "state_label": _l("审核状态"),
                     "review_comment": _l("审核意见"), "created_at": _l("创建时间")}
    list_columns = ["institution", "name", "masked_id_number", "type_label", "cert_no",
                    "state_label"]
    show_columns = ["institution", "name", "shown_id_number", "type_label", "cert_no",
                    "state_label", "review_comment", "created_at"]
    search_columns = ["name", "id_number", "staff_type", "state"]
    base_filters = [["state", FilterNotEqual, "deleted"]]
    base_order = ("id", "desc")
    formatters_columns = {"created_at": localtime}
    base_permissions = ["can_list", "can_show", "can_edit_staff", "can_export",
                        "can_export_standard"]
    export_fields, standard_export = exports.STAFF_FIELDS, exports.STAFF_STANDARD
    export_title = _l("医师护士信息")
    editable_states = rules.EDITABLE_STAFF
    list_template = "registry/staff_list.html"

    def scoped(self, pk):
        """The full ID number only to those who may edit the record (staff_editor)."""
        item = super().scoped(pk)
        item.shown_id_number = (item.id_number if rules.staff_editor(item, g.user) is None
                                else item.masked_id_number)
        return item

    def row_buttons(self, items):
        buttons = super().row_buttons(items)
        for item in items:
            if item.state in rules.EDITABLE_STAFF and rules.staff_editor(item, g.user) is None:
                buttons[item.id] = [Button(_("修改"), url_for("RegistryStaffView.edit_staff",
                                                            pk=item.id), "primary",
                                           post=False)] + buttons.get(item.id, [])
        return buttons

    @expose("/new", methods=["GET", "POST"])
    @has_access
    @permission_name("edit_staff")
    def add_staff(self):
        inst = queries.institution_of_organization(g.user.organization_id)
        if inst is None:
            flash(_("机构维护授权审核通过后才能维护人员信息"), "warning")
            return redirect(url_for("RegistryStaffView.list"))
        return self._staff_form(inst, None)

    @expose("/change/<pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("edit_staff")
    def edit_staff(self, pk):
        staff = self.scoped(pk)
        return self._staff_form(staff.institution, staff)

    def _staff_form(self, inst, staff):
        if staff is not None:
            refusal = rules.staff_editor(staff, g.user)
            if refusal is not None:
                flash(refusal.message, "danger")
                return redirect(url_for("RegistryStaffView.list"))
        if request.method == "POST":
            form = self._kinds(StaffForm())
            refuse_with(form, lambda: self._staff_page(inst, form))
            staff = commands.save_staff(
                inst, g.user, check(form, lambda v: rules.clean_staff(v)[1]), staff)
            flash(_("已保存“%(name)s”，状态：%(state)s", name=staff.name,
                    state=staff.state_label), "success")
            return redirect(url_for("RegistryStaffView.list"))
        return self._staff_page(inst, self._kinds(StaffForm(formdata=None, obj=staff)))

    @staticmethod
    def _kinds(form):
        """Only the kinds of staff this account maintains (医师 / 护士信息维护)."""
        kinds = rules.staff_kinds(g.user)
        form.staff_type.fill([(k, v) for k, v in STAFF_TYPES.items() if k in kinds])
        if len(kinds) == 1 and not form.staff_type.data:
            form.staff_type.data = next(iter(kinds))
        return form

    def _staff_page(self, inst, form):
        return self.render_template(
            "registry/form.html", title=_("人员信息 — %(name)s", name=inst.name), form=form,
            back_url=url_for("RegistryStaffView.list"))
