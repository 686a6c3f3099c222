"""定点协议 screens (SPEC M6): 医疗机构定点协议管理 (新增协议 with the agency chosen by region
and name, 编辑, 删除 before confirmation), the agency's 确认 / 修改, and the published
定点医疗机构名单."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.filters import FilterNotEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name

from app.i18n import _, _l
from app.models.registry import DesignatedInstitution, RegistryAgreement
from app.services.registry import commands, queries, rules
from app.views.registry import exports
from app.views.shared.attachments import AttachmentsMixin
from app.views.shared.export import ExcelExportMixin
from app.views.shared.formatting import localtime
from app.views.registry.forms import AgreementForm, check, refuse_with
from app.views.shared.mixins import Button, RegionScopedMixin, WorkflowActionsMixin
from app.workflows.registry import RegistryAgreementFlow

FIELDS = ("agreement_no", "agreement_type", "start_date", "end_date", "content")


class RegistryAgreementView(AttachmentsMixin, RegionScopedMixin, WorkflowActionsMixin,
                            ExcelExportMixin, ModelView):
    route_base = "/registry/agreements"
    datamodel = SQLAInterface(RegistryAgreement)
    workflow = RegistryAgreementFlow
    list_title = _l("医疗机构定点协议管理")
    show_title = _l("定点协议")
    list_template = "registry/agreements.html"
    label_columns = {"institution": _l("医疗机构"), "agency": _l("经办机构"),
                     "agreement_no": _l("协议编号"), "type_label": _l("协议类型"),
                     "start_date": _l("协议开始日期"), "end_date": _l("协议结束日期"),
                     "content": _l("协议内容"), "state_label": _l("状态"),
                     "confirmed_at": _l("确认时间"), "synced_at": _l("入库时间"),
                     "changed_at": _l("最后修改时间")}
    list_columns = ["institution", "agency", "agreement_no", "type_label", "start_date",
                    "end_date", "state_label", "synced_at"]
    show_columns = ["institution", "agency", "agreement_no", "type_label", "start_date",
                    "end_date", "content", "state_label", "confirmed_at", "changed_at",
                    "synced_at"]
    search_columns = ["agreement_no", "agreement_type", "state"]
    base_filters = [["state", FilterNotEqual, "deleted"]]
    base_order = ("id", "desc")
    formatters_columns = {"confirmed_at": localtime, "synced_at": localtime,
                          "changed_at": localtime}
    base_permissions = ["can_list", "can_show", "can_add_agreement", "can_edit_agreement",
                        "can_upload", "can_export", "can_export_standard"]
    export_fields, standard_export = exports.AGREEMENT_FIELDS, exports.AGREEMENT_STANDARD
    export_title = _l("定点协议")
    attachment_slots = (rules.AGREEMENT_DOC,)
    editable_states = ("pending", "confirmed")

    def may_edit(self, item):
        return item.state not in ("deleted", "withdrawn") and (
            item.agency_org_id == g.user.organization_id or rules.holds(item.institution, g.user))

    def can_upload(self, item, slot):
        return self.may_edit(item)

    @expose("/upload/<pk>/<slot>", methods=["POST"])
    @has_access
    def upload(self, pk, slot):
        """协议附件 on the agreement's page: by the institution a confirmed agreement goes
        back to 待确认 (commands.attach_agreement_file)."""
        item = self.scoped(pk)
        slot_def = next((s for s in self.attachment_slots if s.name == slot), None)
        if slot_def is None:
            abort(404)
        if not self.can_upload(item, slot_def):
            flash(_("当前状态不能上传附件"), "danger")
        else:
            row = commands.attach_agreement_file(item, slot_def, request.files.get("file"),
                                                 g.user)
            flash(_("上传成功：%(name)s", name=row.original_name) + (
                _("；协议需经办机构重新确认") if item.state == "pending"
                and item.agency_org_id != g.user.organization_id else ""), "success")
        return redirect(url_for("RegistryAgreementView.show", pk=pk))

    def row_buttons(self, items):
        buttons = super().row_buttons(items)
        for item in items:
            row = [Button(_("详情"), url_for("RegistryAgreementView.show", pk=item.id),
                          "default", post=False)]
            if self.may_edit(item):
                row.append(Button(_("修改") if item.agency_org_id == g.user.organization_id
                                  else _("编辑"),
                                  url_for("RegistryAgreementView.edit_agreement", pk=item.id),
                                  "primary", post=False))
            buttons[item.id] = row + buttons.get(item.id, [])
        return buttons

    @expose("/new", methods=["GET", "POST"])
    @has_access
    @permission_name("add_agreement")
    def add_agreement(self):
        insts = queries.held_institutions(g.user)
        if not insts:
            flash(_("机构已归档，不能新增定点协议") if queries.archived_held(g.user)
                  else _("机构信息经国家审核赋码后才能新增定点协议"), "warning")
            return redirect(url_for("RegistryAgreementView.list"))
        return self._form(None, insts)

    @expose("/change/<pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("edit_agreement")
    def edit_agreement(self, pk):
        item = self.scoped(pk)
        if not self.may_edit(item):
            flash(_("当前状态不能修改该协议"), "danger")
            return redirect(url_for("RegistryAgreementView.show", pk=item.id))
        return self._form(item, [item.institution])

    def _form(self, item, insts):
        stored = {}
        if item is not None:
            stored = {k: getattr(item, k) for k in FIELDS}
            stored.update(institution_id=str(item.institution_id),
                          agency_org_id=str(item.agency_org_id))
        # 查询 (the agency search) posts the form back as it is: nothing typed is lost and
        # nothing of it (nor the CSRF token) goes into a URL; the page is drawn again.
        posted = request.method == "POST"
        form = AgreementForm() if posted else AgreementForm(formdata=None, data=stored)
        self._fill(form, item, insts)
        if posted and request.form.get("agency_search"):
            return self._form_page(item, form)
        if posted:
            inst = next((i for i in insts if str(i.id) == str(form.institution_id.data)), None)
            refuse_with(form, lambda: self._form_page(item, form))
            values = check(form, lambda v: rules.clean_agreement(
                v, agency_required=not self._by_agency(item))[1])
            upload = request.files.get("file")
            if item is None:
                saved = commands.add_agreement(inst, g.user, values, upload)
            else:
                saved = commands.edit_agreement(item, g.user, values, upload)
            flash(_("协议已保存，状态：%(state)s", state=saved.state_label), "success")
            return redirect(url_for("RegistryAgreementView.show", pk=saved.id))
        return self._form_page(item, form)

    @staticmethod
    def _by_agency(item):
        return item is not None and item.agency_org_id == g.user.organization_id

    def _fill(self, form, item, insts):
        """The choices of this request: the institutions, the pooling areas of the chosen
        one's province and the agencies found by region and name."""
        form.institution_id.fill([(i.id, f"{i.name}（{i.national_code}）") for i in insts],
                                 prompt=False)
        inst = next((i for i in insts if str(i.id) == str(form.institution_id.data)),
                    insts[0])
        if not form.institution_id.data:
            form.institution_id.data = str(inst.id)
        form.agency_region.fill([(a.code, a.name) for a in
                                 queries.pooling_areas(inst.pooling_region.province_code)],
                                prompt=False)
        if not form.agency_region.data:
            form.agency_region.data = inst.pooling_region.code
        found = queries.agencies(form.agency_region.data, form.agency_name.data)
        chosen = form.agency_org_id.data
        if item is not None and not any(str(a.id) == str(chosen) for a in found):
            found = [item.agency] + found
        form.agency_org_id.fill([(a.id, f"{a.name}（{a.region.full_name}）") for a in found])

    def _form_page(self, item, form):
        return self.render_template(
            "registry/agreement_form.html", title=_("修改协议") if item else _("新增协议"),
            form=form, by_agency=self._by_agency(item),
            back_url=url_for("RegistryAgreementView.list"))


class DesignatedInstitutionView(RegionScopedMixin, ExcelExportMixin, ModelView):
    """定点医疗机构名单: what the scheduled job published (read-only)."""
    route_base = "/registry/designated"
    datamodel = SQLAInterface(DesignatedInstitution)
    list_title = _l("定点医疗机构名单")
    show_title = _l("定点医疗机构")
    label_columns = {"national_code": _l("国家编码"), "institution_name": _l("医疗机构名称"),
                     "agency_name": _l("经办机构"), "agreement_no": _l("协议编号"),
                     "type_label": _l("协议类型"), "start_date": _l("协议开始日期"),
                     "end_date": _l("协议结束日期"), "published_at": _l("入库时间")}
    list_columns = ["national_code", "institution_name", "agency_name", "agreement_no",
                    "type_label", "start_date", "end_date", "published_at"]
    show_columns = list_columns
    search_columns = ["national_code", "institution_name", "agreement_no"]
    base_order = ("id", "desc")
    formatters_columns = {"published_at": localtime}
    base_permissions = ["can_list", "can_show", "can_export", "can_export_standard"]
    export_fields, standard_export = exports.DESIGNATED_FIELDS, exports.DESIGNATED_STANDARD
    export_title = _l("定点医疗机构名单")
