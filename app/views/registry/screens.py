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
from app.views.shared.attachments import AttachmentsMixin
from app.views.shared.formatting import localtime
from app.views.shared.forms import on_refusal_show
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


def form_fields(values, coded=False):
    """The M3 form as field specs, split around the region selects."""
    yes_no = [("1", _("是")), ("0", _("否"))]
    head = [
        {"name": "legal_name", "label": rules.FIELD_LABELS["legal_name"], "required": True,
         "help": _("营业执照或法人单位资质上的名称")},
        {"name": "name", "label": rules.FIELD_LABELS["name"], "required": True,
         "help": _("医疗机构执业许可证上的名称")},
        {"name": "uscc", "label": rules.FIELD_LABELS["uscc"], "required": True,
         "type": "static" if coded else "text", "placeholder": _("18位统一社会信用代码")},
        {"name": "licence_no", "label": rules.FIELD_LABELS["licence_no"], "required": True,
         "type": "static" if coded else "text", "help": _("部队医疗机构可不填")}]
    if not coded:
        head[3:3] = [{"name": "no_uscc", "label": _("无统一社会信用代码"), "type": "checkbox",
                      "text": _("无（须上传加盖公章的PDF说明材料）")}]
        head.append({"name": "military", "label": _("部队医疗机构"), "type": "checkbox",
                     "text": _("部队（医疗机构执业许可证登记号可不维护）")})
    province = values.get("province")
    areas = queries.pooling_areas(province) if province else []
    tail = [
        {"name": "address", "label": rules.FIELD_LABELS["address"], "required": True},
        {"name": "pooling_code", "label": rules.FIELD_LABELS["pooling"], "required": True,
         "type": "select", "choices": [(r.code, r.name) for r in areas],
         "help": _("按机构实际的医保统筹地区、统筹级别选择，与行政区划可能不同")},
        {"name": "uses_e_voucher", "label": rules.FIELD_LABELS["uses_e_voucher"],
         "type": "radio", "choices": yes_no, "required": True,
         "help": _("机构是否支持通过医保电子凭证进行账户查询、医保业务办理、就诊和购药支付")},
        {"name": "category", "label": rules.FIELD_LABELS["category"], "required": True,
         "type": "select", "choices": [(c, c) for c in rules.CATEGORIES]},
        {"name": "grade", "label": rules.FIELD_LABELS["grade"], "required": True,
         "type": "select", "choices": [(c, c) for c in rules.GRADES]},
        {"name": "phone", "label": rules.FIELD_LABELS["phone"],
         "placeholder": _("手机号码，或带区号的固定电话")}]
    return head, tail


def posted_institution():
    """The form as the rules read it: the deepest chosen region is the administrative one."""
    form = request.form
    data = {k: form.get(k, "") for k in ("legal_name", "name", "uscc", "licence_no", "address",
                                          "pooling_code", "category", "grade", "phone",
                                          "province", "city", "county")}
    data["region_code"] = data["county"] or data["city"] or data["province"]
    data["no_uscc"] = bool(form.get("no_uscc"))
    data["military"] = bool(form.get("military"))
    data["uses_e_voucher"] = form.get("uses_e_voucher") == "1"
    return data


def region_parts(values):
    """Province / city / county codes of values["region_code"], for the three selects."""
    region = queries.region_by_code(values.get("region_code"))
    parts = {"province": None, "city": None, "county": None}
    if region is not None:
        parts["province"] = region.province_code
        parts["city"] = region.city_code if region.level in ("city", "county") else None
        parts["county"] = region.code if region.level == "county" else None
    return parts


def render_institution_form(view, title, values, errors, submit_label, back_url, coded=None):
    values = {**values, **{k: v for k, v in region_parts(values).items()
                           if not values.get(k)}}
    values["uses_e_voucher"] = "1" if values.get("uses_e_voucher") in (True, "1") else "0"
    head, tail = form_fields(values, coded=bool(coded))

    def rows(code):
        return [{"code": c, "name": n} for c, n, *_ in (region_children(code) or [])]
    return view.render_template(
        "registry/institution_form.html", title=title, values=values, errors=errors,
        head_fields=head, tail_fields=tail, labels=rules.FIELD_LABELS,
        provinces=rows(None), cities=rows(values["province"]) if values.get("province") else [],
        counties=rows(values["city"]) if values.get("city") else [],
        submit_label=submit_label, back_url=back_url, coded=coded)


class RegistryInstitutionView(AttachmentsMixin, RegionScopedMixin, WorkflowActionsMixin,
                              ModelView):
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
    base_permissions = ["can_list", "can_show", "can_maintain", "can_upload", "can_pooling"]
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
        extras["registry"] = {
            "inst": item,
            "can_maintain": rules.edit_refusal(item, g.user) is None,
            "can_change_cert": item.state == "coded" and rules.holds(item, g.user),
            **queries.institution_details(item)}
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
        if request.method == "POST":
            values = posted_institution()
            if item.state == "coded":      # the certificates are not on the form any more
                for name in ("uscc", "licence_no", "no_uscc", "military"):
                    values.pop(name)
            on_refusal_show(lambda fields: self._maintain_form(
                item, {**rules.form_values(item), **values}, fields))
            changed, reset = commands.update_institution(item, g.user, values)
            flash(_("已保存") + (_("；%(n)s条人员信息重置为待提交", n=reset) if reset else ""),
                  "success")
            return redirect(url_for("RegistryInstitutionView.show", pk=item.id))
        return self._maintain_form(item, rules.form_values(item), {})

    def _maintain_form(self, item, values, errors):
        return render_institution_form(
            self, _("机构信息维护 — %(name)s", name=item.name), values, errors, _("保存"),
            url_for("RegistryInstitutionView.show", pk=item.id),
            coded=item.organization.national_code if item.state == "coded" else None)

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


class RegistryCertChangeView(RegionScopedMixin, WorkflowActionsMixin, ModelView):
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
    base_permissions = ["can_list", "can_show", "can_new"]

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
            values = request.form.to_dict()
            on_refusal_show(lambda fields: self._cert_change_form(inst, values, fields))
            change = commands.request_cert_change(inst, g.user, values)
            flash(_("证号变更申请已提交，等待医保经办机构审核"), "success")
            return redirect(url_for("RegistryCertChangeView.show", pk=change.id))
        return self._cert_change_form(inst, {}, {})

    def _cert_change_form(self, inst, values, errors):
        values = dict(values)
        org = inst.organization
        values.setdefault("current", f"{org.uscc or _('无')} / {org.licence_no or '-'}")
        fields = [
            {"name": "current", "label": _("现统一社会信用代码 / 许可证登记号"), "type": "static"},
            {"name": "new_uscc", "label": _("新统一社会信用代码"),
             "help": _("不变更时留空")},
            {"name": "new_licence_no", "label": _("新医疗机构执业许可证登记号"),
             "help": _("不变更时留空")},
            {"name": "reason", "label": _("变更原因"), "type": "textarea", "required": True}]
        labels = {"uscc": _("新统一社会信用代码"), "licence_no": _("新许可证登记号"),
                  "reason": _("变更原因")}
        errors = {{"uscc": "new_uscc", "licence_no": "new_licence_no"}.get(k, k): v
                  for k, v in errors.items()}
        return self.render_template(
            "registry/form.html", title=_("证号变更申请 — %(name)s", name=inst.name),
            form_fields=fields, values=values, errors=errors, labels=labels,
            submit_label=_("提交申请"),
            back_url=url_for("RegistryInstitutionView.show", pk=inst.id))


STAFF_FIELDS = ("name", "id_number", "staff_type", "cert_no")


class RegistryStaffView(RegionScopedMixin, WorkflowActionsMixin, ModelView):
    route_base = "/registry/staff"
    datamodel = SQLAInterface(RegistryStaff)
    workflow = RegistryStaffFlow
    list_title = _l("医师护士信息维护")
    show_title = _l("人员信息")
    label_columns = {"institution": _l("医疗机构"), "name": _l("姓名"),
                     "id_number": _l("身份证号"), "type_label": _l("人员类型"),
                     "cert_no": _l("执业证书编号"), "state_label": _l("审核状态"),
                     "review_comment": _l("审核意见"), "created_at": _l("创建时间")}
    list_columns = ["institution", "name", "id_number", "type_label", "cert_no", "state_label"]
    show_columns = list_columns + ["review_comment", "created_at"]
    search_columns = ["name", "id_number", "staff_type", "state"]
    base_filters = [["state", FilterNotEqual, "deleted"]]
    base_order = ("id", "desc")
    formatters_columns = {"created_at": localtime}
    base_permissions = ["can_list", "can_show", "can_edit_staff"]
    editable_states = rules.EDITABLE_STAFF
    list_template = "registry/staff_list.html"

    def row_buttons(self, items):
        buttons = super().row_buttons(items)
        for item in items:
            if item.state in rules.EDITABLE_STAFF and item.organization_id == \
                    g.user.organization_id:
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
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in STAFF_FIELDS}
            on_refusal_show(lambda fields: self._staff_page(inst, values, fields))
            staff = commands.save_staff(inst, g.user, values, staff)
            flash(_("已保存“%(name)s”，状态：%(state)s", name=staff.name,
                    state=staff.state_label), "success")
            return redirect(url_for("RegistryStaffView.list"))
        return self._staff_page(inst, {k: getattr(staff, k) for k in STAFF_FIELDS}
                                if staff else {}, {})

    def _staff_page(self, inst, values, errors):
        fields = [{"name": "name", "label": _("姓名"), "required": True},
                  {"name": "id_number", "label": _("身份证号"), "required": True},
                  {"name": "staff_type", "label": _("人员类型"), "type": "radio",
                   "required": True, "choices": [(k, str(v)) for k, v in STAFF_TYPES.items()]},
                  {"name": "cert_no", "label": _("执业证书编号"), "required": True}]
        return self.render_template(
            "registry/form.html", title=_("人员信息 — %(name)s", name=inst.name),
            form_fields=fields, values=values, errors=errors, labels=rules.STAFF_LABELS,
            back_url=url_for("RegistryStaffView.list"))
