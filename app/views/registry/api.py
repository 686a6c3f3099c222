"""医疗机构信息维护 REST resources (SPEC §X, M1–M7): registry_institution,
registry_authorization, registry_agreement, registry_staff.

Writes never go through FAB's schema: a body is checked by the screens' own form class
(app/views/registry/forms.py: required, lengths, choices, dates), then the commands of
services.registry (which commit their own transaction) add and maintain an institution, ask for an authorisation, save
agreements and staff; services.registry.authorization recognises the stamped scan; every
state change goes through the engine. So every refusal is the screens' own: 422 with
per-field messages and nothing written, 409 when not allowed in the current state, 403 for
the wrong role or person, 404 out of scope (and for deleted rows).

registry_institution  GET list / <pk> (labels; `actions`, `editable` on show),
                 GET search?q= (授权: institutions nobody maintains yet, by name / USCC /
                 licence number), POST (新增), PUT <pk> (维护: only the form's fields),
                 DELETE <pk> (删除, before coding), POST <pk>/<submit|send_back|approve|
                 archive>, POST batch/approve, POST <pk>/cert_change (证号变更申请),
                 POST <pk>/attachments/<no_uscc_explanation|licence_scan> (multipart `file`),
                 GET <pk>/history, export.
registry_authorization  GET list / <pk>, POST (申请授权: institution_id, or organization_id
                 of an institution found by search; role_kind), GET <pk>/document (授权文件,
                 the same PDF on every call), POST <pk>/upload (multipart `file`: the
                 stamped scan, recognised by its QR code), POST <pk>/<approve|reject>,
                 GET <pk>/history, export.
registry_agreement  GET list / <pk>, GET agencies?region=&name=, POST (新增协议),
                 PUT <pk> (the institution's edit → 待确认; the agency's keeps the state),
                 DELETE <pk> (before confirmation), POST <pk>/confirm, POST batch/confirm,
                 GET <pk>/history, export.
registry_staff   GET list / <pk>, POST, PUT <pk>, DELETE <pk>, POST <pk>/<submit|approve|
                 reject>, POST batch/<submit|approve>, GET <pk>/history, export."""
import io

from flask import g, request, send_file
from flask_appbuilder import ModelRestApi
from flask_appbuilder.api import expose, protect
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from app.errors import ForbiddenError, InvalidError
from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization, User
from app.models.registry import (RegistryAgreement, RegistryAuthorization,
                                 RegistryInstitution, RegistryStaff)
from app.scope import is_superadmin, scoped_get
from app.services import files
from app.services.registry import authorization as registry_auth
from app.services.registry import commands, queries, rules
from app.views.registry.forms import (AgreementForm, CertChangeForm, InstitutionForm,
                                      StaffForm, body_errors)
from app.views.shared.api import (ExportApiMixin, ScopedApiMixin, WorkflowApiMixin,
                                  json_body, loaded, safe)
from app.views.shared.filters import StateNotInFilter
from app.workflows.engine import apply, user_has_role
from app.workflows.registry import (RegistryAgreementFlow, RegistryAuthorizationFlow,
                                    RegistryInstitutionFlow, RegistryStaffFlow)
from app.views.shared.api_permissions import mirror

REGISTRY_ROLES = {rules.MAINTAINER, rules.DOCTOR_EDITOR, rules.NURSE_EDITOR, rules.REGISTRANT,
                  rules.AGENCY, rules.INSURER, rules.NATIONAL}
INSTITUTION_FIELDS = ("legal_name", "name", "uscc", "no_uscc", "licence_no", "military",
                      "region_code", "address", "pooling_code", "uses_e_voucher", "category",
                      "grade", "phone")
AGREEMENT_FIELDS = ("institution_id", "agency_org_id", "agreement_no", "agreement_type",
                    "start_date", "end_date", "content")
STAFF_FIELDS = ("institution_id", "name", "id_number", "staff_type", "cert_no")
# what the agreement form checks in a body (the institution and the agency: the command)
AGREEMENT_CHECKED = ("agreement_no", "agreement_type", "start_date", "end_date", "content")
COMMON_LABELS = {"id": _l("编号"), "state": _l("状态"), "organization_id": _l("医疗机构"),
                 "institution_id": _l("医疗机构"), "review_comment": _l("审核意见"),
                 "created_at": _l("创建时间"), "province_code": _l("省级区划"),
                 "city_code": _l("市级区划"), "county_code": _l("县级区划")}


def _fields_of(body, allowed, ignore=("id",)):
    """The known fields of a POST / PUT body as the services read them (text, or a flag);
    anything else is refused by name (422), so a body cannot set a state, a code, a
    maintainer or an organisation."""
    errors = {}
    for key, value in body.items():
        if key in ignore:
            continue
        if key not in allowed:
            errors[key] = _("未知或只读的字段，不能通过此接口修改")
        elif isinstance(value, (list, dict)):
            errors[key] = _("格式无效")
    if errors:
        rules.fail(errors)
    return {k: v if isinstance(v, (bool, str)) else "" if v is None else str(v)
            for k, v in body.items() if k in allowed}



def by_agency(agreement):
    """The agreement's agency edits it (its choice of agency is not asked again)."""
    return g.user.organization_id == agreement.agency_org_id


def _int(value):
    """A body's id as a number; anything else matches no row."""
    return int(value) if str(value).strip().isdigit() else 0


def _logins(ids):
    return dict(db.session.execute(select(User.id, User.username).where(
        User.id.in_({i for i in ids if i is not None}))).all())


def _live(model, pk):
    """A row in the caller's scope that is not deleted (deleted rows are kept, unseen)."""
    obj = scoped_get(model, pk, g.user)
    if obj.state == "deleted":
        raise NotFound()
    return obj


def _institution_of(body):
    if body.get("institution_id") in (None, ""):
        raise InvalidError(_("请选择医疗机构"), fields={"institution_id": [_("请选择医疗机构")]})
    return _live(RegistryInstitution, body["institution_id"])


class _RegistryApi(ScopedApiMixin, WorkflowApiMixin, ExportApiMixin, ModelRestApi):
    base_filters = [["state", StateNotInFilter, ("deleted",)]]
    base_order = ("id", "desc")
    base_permissions = ["can_get", "can_info", "can_post", "can_put", "can_delete"]
    max_page_size = 100
    shown_flow = None           # the flow whose actions a show lists (default: workflow)

    def labels(self, row, obj, names):
        return row

    def names_for(self, objs):
        return {}

    def pre_get_list(self, data):
        items = loaded(self.datamodel.obj, data.get("ids", []))
        names = self.names_for(items.values())
        for pk, row in zip(data.get("ids", []), data.get("result", [])):
            self.labels(row, items[pk], names)

    def pre_get(self, data):
        obj = db.session.get(self.datamodel.obj, int(data["id"]))
        self.labels(data["result"], obj, self.names_for([obj]))
        data["result"]["actions"] = [t.name for t in (self.shown_flow or self.workflow)
                                     .available(obj, g.user, guards=False)]
        self.details(data["result"], obj)

    def details(self, result, obj):
        pass

    def _shown(self, status, obj, **extra):
        result = self.labels(self.show_model_schema.dump(obj, many=False), obj,
                             self.names_for([obj]))
        return self.response(status, id=obj.id, state=obj.state,
                             state_label=str(obj.state_label), result=result, **extra)

    def _write(self, status, work):
        """Run a command (it commits), answer the row; a refusal reaches the handler, which
        rolls everything back."""
        obj, extra = work()
        return self._shown(status, obj, **extra)

    def delete_headless(self, pk):
        """DELETE is the `delete` transition: the row is kept, in state deleted."""
        obj = apply(self.workflow, pk, "delete", g.user)
        return self.response(200, id=obj.id, state=obj.state,
                             message=_("已删除“%(n)s”", n=str(obj)))


# ---- 机构信息 -----------------------------------------------------------------------------------

class RegistryInstitutionApi(_RegistryApi):
    """POST / PUT body: {"legal_name", "name", "uscc" ("无" or "no_uscc": true when there is
    none), "licence_no", "military", "region_code", "address", "pooling_code",
    "uses_e_voucher", "category", "grade", "phone"}; a PUT names only what it changes."""
    resource_name = "registry_institution"
    screens = mirror("RegistryInstitutionView",
                     post=["RegistryInstitutionView.can_maintain"],
                     put=["RegistryInstitutionView.can_maintain",
                          "RegistryInstitutionView.can_upload"],
                     delete=["RegistryInstitutionView.delete"],
                     cert_change=["RegistryCertChangeView.can_new"])
    base_permissions = _RegistryApi.base_permissions + ["can_cert_change"]
    datamodel = SQLAInterface(RegistryInstitution)
    workflow = RegistryInstitutionFlow
    editable_states = rules.MAINTAINED_STATES
    list_columns = ["id", "organization_id", "legal_name", "pooling_region_id",
                    "uses_e_voucher", "no_uscc", "military", "state", "maintainer_id",
                    "created_by_id", "submitted_at", "coded_at", "review_comment",
                    "created_at", "province_code", "city_code", "county_code"]
    show_columns = list_columns
    list_title = show_title = _l("医疗机构信息维护")
    label_columns = {**COMMON_LABELS, **rules.FIELD_LABELS, "pooling_region_id": _l("医保统筹区"),
                     "no_uscc": _l("无统一社会信用代码"), "military": _l("部队医疗机构"),
                     "maintainer_id": _l("维护人员"), "created_by_id": _l("新增人"),
                     "submitted_at": _l("提交时间"), "coded_at": _l("赋码时间")}
    search_columns = ["state", "organization_id", "pooling_region_id", "maintainer_id",
                      "no_uscc", "military", "uses_e_voucher", "city_code", "county_code"]

    def names_for(self, insts):
        return _logins([i.maintainer_id for i in insts] + [i.created_by_id for i in insts])

    def labels(self, row, inst, names):
        org, pooling = inst.organization, inst.pooling_region
        row.update(state_label=str(inst.state_label), name=org.name, uscc=org.uscc,
                   licence_no=org.licence_no, national_code=org.national_code,
                   region_code=org.region.code, region_name=org.region.full_name,
                   address=org.address, pooling_code=pooling.code,
                   pooling_name=pooling.full_name, category=org.category, grade=org.grade,
                   phone=org.phone, maintainer=names.get(inst.maintainer_id),
                   created_by=names.get(inst.created_by_id))
        return row

    def details(self, result, inst):
        refusal = rules.edit_refusal(inst, g.user)
        result["editable"] = refusal is None
        result["locked_reason"] = refusal.message if refusal is not None else None
        result["attachments"] = [{"id": a.id, "slot": a.slot, "name": a.original_name}
                                 for rows in files.files_of(inst).values() for a in rows]

    def post_headless(self):
        def work():
            if not (user_has_role(g.user, {rules.REGISTRANT, rules.MAINTAINER})
                    or is_superadmin(g.user)):
                raise ForbiddenError(_("只有注册用户或机构维护人员可以新增机构"))
            body = _fields_of(json_body(), INSTITUTION_FIELDS)
            body_errors(InstitutionForm, body, rule=lambda b: rules.clean_institution(b)[1])
            inst = commands.add_institution(g.user, body)
            return inst, {"message": _("已新增“%(n)s”，请申请授权", n=inst.name)}
        return self._write(201, work)

    def put_headless(self, pk):
        def work():
            inst = _live(RegistryInstitution, pk)
            body = _fields_of(json_body(), INSTITUTION_FIELDS)
            if body.get("uscc", "无") != "无":      # a real USCC given: no longer 无
                body.setdefault("no_uscc", False)
            body_errors(InstitutionForm, body, rule=lambda b: rules.clean_institution(
                {**rules.form_values(inst), **b})[1])
            changed, reset = commands.update_institution(inst, g.user, body)
            return inst, {"changed": sorted(changed), "staff_reset": reset}
        return self._write(200, work)

    @expose("/search", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def search(self):
        """授权 search (M2): ?q= name (part of it), USCC or licence number; for a maintainer
        only the institutions nobody maintains yet (≤20)."""
        if not (user_has_role(g.user, REGISTRY_ROLES) or is_superadmin(g.user)):
            return self.response(403, message=_("您没有医疗机构信息维护的角色"))
        orgs = queries.search_for(g.user, request.args.get("q", ""))
        rows = queries.registry_rows_of(orgs)
        result = [{"organization_id": o.id, "name": o.name, "uscc": o.uscc,
                   "licence_no": o.licence_no, "region_code": o.region.code,
                   "region_name": o.region.full_name, "national_code": o.national_code,
                   "institution_id": getattr(rows.get(o.id), "id", None),
                   "state": getattr(rows.get(o.id), "state", None)} for o in orgs]
        body = {"count": len(result), "result": result}
        if not result:
            body["message"] = _("未查询到可授权维护的机构；可点击“新增”添加机构。机构信息已存在但查询不到时，"
                                "该机构已被其他维护用户授权维护")
        return self.response(200, **body)

    @expose("/<int:pk>/cert_change", methods=["POST"])
    @protect()
    @safe
    @permission_name("cert_change")
    def cert_change(self, pk):
        """证号变更申请 (M3): {"new_uscc", "new_licence_no", "reason"} for a coded
        institution; the pooling area's agency reviews it."""
        inst = _live(RegistryInstitution, pk)
        body = _fields_of(json_body(), ("new_uscc", "new_licence_no", "reason"))
        body_errors(CertChangeForm, body, names=("new_uscc", "new_licence_no", "reason"),
                    rule=lambda b: rules.clean_cert_change(inst, b) and {})
        change = commands.request_cert_change(inst, g.user, body)
        return self.response(201, id=change.id, state=change.state,
                             state_label=str(change.state_label), institution=inst.id,
                             message=_("证号变更申请已提交，等待经办机构审核"))

    @expose("/<int:pk>/attachments/<string:slot>", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def attach(self, pk, slot):
        """说明材料 (USCC 无, PDF) or 资质材料: multipart `file`, while the record is
        maintained by the caller."""
        inst = _live(RegistryInstitution, pk)
        row = commands.attach_institution_file(inst, slot, request.files.get("file"), g.user)
        return self.response(201, id=row.id, slot=row.slot, name=row.original_name)


# ---- 授权 ---------------------------------------------------------------------------------------

class _ApiAuthorizationFlow(RegistryAuthorizationFlow):
    """授权文书上传 only with the recognised scan (POST <pk>/upload), never bare."""
    upload = None


class RegistryAuthorizationApi(_RegistryApi):
    """POST body: {"institution_id"} (an institution the caller added) or
    {"organization_id"} (one found by search), and "role_kind" (maintainer / doctor /
    nurse; by default the one chosen at registration)."""
    resource_name = "registry_authorization"
    screens = mirror("RegistryAuthorizationView",
                     post=["RegistryAuthorizationView.can_apply"],
                     put=["RegistryAuthorizationView.can_upload"])
    datamodel = SQLAInterface(RegistryAuthorization)
    workflow, shown_flow = _ApiAuthorizationFlow, RegistryAuthorizationFlow
    base_filters = []
    base_permissions = ["can_get", "can_info", "can_post", "can_put"]
    exclude_route_methods = {"put", "delete"}
    list_columns = ["id", "auth_no", "user_id", "institution_id", "organization_id",
                    "role_kind", "state", "uploaded_at", "reviewed_at", "review_comment",
                    "created_at", "province_code", "city_code", "county_code"]
    show_columns = list_columns
    add_columns = ["institution_id", "organization_id", "role_kind"]      # /_info only
    list_title = show_title = _l("机构维护授权")
    label_columns = {**COMMON_LABELS, "auth_no": _l("授权文件编号"), "user_id": _l("申请人"),
                     "role_kind": _l("角色类型"), "uploaded_at": _l("上传时间"),
                     "reviewed_at": _l("审核时间")}
    search_columns = ["auth_no", "state", "role_kind", "user_id", "institution_id",
                      "organization_id", "city_code", "county_code"]

    def labels(self, row, auth, names):
        row.update(state_label=str(auth.state_label), role_label=str(auth.role_label),
                   institution_name=auth.institution.name, user_login=auth.user.username,
                   user_name=auth.user.first_name,
                   pooling_name=auth.institution.pooling_region.full_name)
        return row

    def post_headless(self):
        if not user_has_role(g.user, {rules.REGISTRANT}):
            raise ForbiddenError(_("只有注册用户可以申请机构维护授权"))
        body = _fields_of(json_body(), ("institution_id", "organization_id", "role_kind"))
        role_kind = body.get("role_kind") or g.user.registry_role or ""
        if body.get("institution_id") or not body.get("organization_id"):
            inst = _institution_of(body)
            auth, created = commands.apply_for_authorization(g.user, inst.organization,
                                                             role_kind, inst=inst)
        else:
            org = db.session.get(Organization, _int(body["organization_id"]))
            if org is None or org.org_type != "medical" or not org.active:
                raise InvalidError(_("请选择要授权维护的医疗机构"),
                                   fields={"organization_id": [_("不是可授权维护的医疗机构")]})
            auth, created = commands.apply_for_authorization(g.user, org, role_kind)
        # the open request asked for again answers 200, as it was
        return self._shown(201 if created else 200, auth, auth_no=auth.auth_no,
                           institution=auth.institution_id)

    @expose("/<int:pk>/document", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def document(self, pk):
        """生成授权文件并下载: the same bytes on every call for the same record."""
        auth = scoped_get(RegistryAuthorization, pk, g.user)
        return send_file(io.BytesIO(registry_auth.document_pdf(auth)),
                         mimetype="application/pdf", as_attachment=True,
                         download_name=registry_auth.document_name(auth))

    @expose("/<int:pk>/upload", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def upload(self, pk):
        """授权文书上传: multipart `file`, the stamped scan (PDF or image); recognised by its
        QR code, stored, and the request goes to the agency — or 422 and nothing kept."""
        auth = scoped_get(RegistryAuthorization, pk, g.user)
        auth = registry_auth.upload_stamped(auth, g.user, request.files.get("file"))
        return self.response(200, id=auth.id, state=auth.state,
                             state_label=str(auth.state_label), auth_no=auth.auth_no)


# ---- 定点协议 -----------------------------------------------------------------------------------

class RegistryAgreementApi(_RegistryApi):
    """POST / PUT body: {"institution_id" (POST only), "agency_org_id", "agreement_no",
    "agreement_type" (service / supplement / other), "start_date", "end_date" (YYYY-MM-DD),
    "content"}; a PUT names only what it changes."""
    resource_name = "registry_agreement"
    screens = mirror("RegistryAgreementView",
                     post=["RegistryAgreementView.can_add_agreement"],
                     put=["RegistryAgreementView.can_edit_agreement"],
                     delete=["RegistryAgreementView.delete"])
    datamodel = SQLAInterface(RegistryAgreement)
    workflow = RegistryAgreementFlow
    list_columns = ["id", "institution_id", "organization_id", "agency_org_id",
                    "agreement_no", "agreement_type", "start_date", "end_date", "content",
                    "state", "confirmed_at", "changed_at", "synced_at", "created_at"]
    show_columns = list_columns
    add_columns = edit_columns = list(AGREEMENT_FIELDS)        # /_info only
    list_title = show_title = _l("定点协议")
    label_columns = {**COMMON_LABELS, **rules.AGREEMENT_LABELS,
                     "agency_org_id": _l("经办机构"), "confirmed_at": _l("确认时间"),
                     "changed_at": _l("修改时间"), "synced_at": _l("入库时间")}
    search_columns = ["agreement_no", "agreement_type", "state", "institution_id",
                      "organization_id", "agency_org_id", "start_date", "end_date"]

    def labels(self, row, agreement, names):
        org = agreement.institution.organization
        row.update(state_label=str(agreement.state_label), type_label=str(agreement.type_label),
                   institution_name=org.name, national_code=org.national_code,
                   agency_name=agreement.agency.name)
        return row

    def post_headless(self):
        def work():
            body = _fields_of(json_body(), AGREEMENT_FIELDS)
            body_errors(AgreementForm, body, names=AGREEMENT_CHECKED,
                        rule=lambda b: rules.clean_agreement(b)[1])
            return commands.add_agreement(_institution_of(body), g.user, body), {}
        return self._write(201, work)

    def put_headless(self, pk):
        def work():
            agreement = _live(RegistryAgreement, pk)
            body = _fields_of(json_body(), AGREEMENT_FIELDS)
            if body.pop("institution_id", str(agreement.institution_id)) \
                    != str(agreement.institution_id):
                rules.fail({"institution_id": _("不能更换协议的医疗机构，请删除后重新新增")},
                           rules.AGREEMENT_LABELS)
            data = {"agency_org_id": agreement.agency_org_id,
                    "agreement_no": agreement.agreement_no,
                    "agreement_type": agreement.agreement_type,
                    "start_date": agreement.start_date.isoformat(),
                    "end_date": agreement.end_date.isoformat(),
                    "content": agreement.content or "", **body}
            body_errors(AgreementForm, data, names=AGREEMENT_CHECKED,
                        rule=lambda b: rules.clean_agreement(b, agency_required=not by_agency(
                            agreement))[1])
            return commands.edit_agreement(agreement, g.user, data), {}
        return self._write(200, work)

    @expose("/agencies", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def agencies(self):
        """经办机构 to choose (M6): ?region=<code> (its subtree) &name=<part of the name>."""
        rows = queries.agencies(request.args.get("region") or None,
                                request.args.get("name") or None)
        return self.response(200, count=len(rows), result=[
            {"id": o.id, "name": o.name, "region": o.region.code,
             "region_name": o.region.full_name} for o in rows])


# ---- 医师 / 护士 --------------------------------------------------------------------------------

class RegistryStaffApi(_RegistryApi):
    """POST / PUT body: {"institution_id" (POST only), "name", "id_number",
    "staff_type" (doctor / nurse), "cert_no"}; a PUT names only what it changes."""
    resource_name = "registry_staff"
    screens = mirror("RegistryStaffView", post=["RegistryStaffView.can_edit_staff"],
                     put=["RegistryStaffView.can_edit_staff"],
                     delete=["RegistryStaffView.delete"])
    datamodel = SQLAInterface(RegistryStaff)
    workflow = RegistryStaffFlow
    list_columns = ["id", "institution_id", "organization_id", "name", "id_number",
                    "staff_type", "cert_no", "state", "review_comment", "created_at"]
    show_columns = list_columns
    add_columns = edit_columns = list(STAFF_FIELDS)            # /_info only
    list_title = show_title = _l("医师/护士信息")
    label_columns = {**COMMON_LABELS, **rules.STAFF_LABELS}
    search_columns = ["name", "id_number", "staff_type", "cert_no", "state", "institution_id",
                      "organization_id"]

    def labels(self, row, staff, names):
        row.update(state_label=str(staff.state_label), type_label=str(staff.type_label),
                   institution_name=staff.institution.name)
        return row

    def post_headless(self):
        def work():
            body = _fields_of(json_body(), STAFF_FIELDS)
            body_errors(StaffForm, body, names=STAFF_FIELDS,
                        rule=lambda b: rules.clean_staff(b)[1])
            return commands.save_staff(_institution_of(body), g.user, body), {}
        return self._write(201, work)

    def put_headless(self, pk):
        def work():
            staff = _live(RegistryStaff, pk)
            body = _fields_of(json_body(), STAFF_FIELDS)
            if body.pop("institution_id", str(staff.institution_id)) != str(staff.institution_id):
                rules.fail({"institution_id": _("不能更换人员所属的医疗机构")}, rules.STAFF_LABELS)
            data = {"name": staff.name, "id_number": staff.id_number,
                    "staff_type": staff.staff_type, "cert_no": staff.cert_no, **body}
            body_errors(StaffForm, data, names=STAFF_FIELDS,
                        rule=lambda b: rules.clean_staff(b)[1])
            return commands.save_staff(staff.institution, g.user, data, staff), {}
        return self._write(200, work)
