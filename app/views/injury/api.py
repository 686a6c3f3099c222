"""工伤 REST resources (SPEC §X, W3–W8): injury_determination, injury_declaration,
injury_device_item.

Writes never go through FAB's schema: a declaration is saved by services.injury.commands.save
(the screens' own rules and messages), the master data by rules.clean_determination /
clean_device and their commands, so every refusal is a 422 with per-field messages and
nothing is written."""
from flask import g, request
from flask_appbuilder import ModelRestApi
from flask_appbuilder.api import expose, protect
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from werkzeug.exceptions import NotFound

from app.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from app.extensions import db
from app.i18n import _, _l
from app.models.injury import (DECLARATION_KINDS, DECLARATION_STATE_LABELS, INJURY_TYPES,
                               DeclarationState as S, InjuryDeclaration, InjuryDetermination,
                               InjuryDeviceItem)
from app.scope import scoped_get
from app.services import files
from app.services.injury import commands, queries, rules
from app.services.injury.rules import DETERMINATION_FIELDS, DEVICE_FIELDS
from app.views.injury.forms import DeclarationForm
from app.views.injury.screens import ApproveOverdueFirst
from app.views.shared.api import (ExportApiMixin, ScopedApiMixin, WorkflowApiMixin,
                                  json_body, safe)
from app.views.shared.filters import StateNotInFilter
from app.workflows.engine import apply, user_has_role
from app.workflows.injury import EDITABLE_STATES, HOSPITAL, KINDS, InjuryDeclarationFlow
from app.views.shared.api_permissions import mirror


# ---- 工伤认定信息 ----------------------------------------------------------------------------

DETERMINATION_LABELS = {
    "id": _l("编号"), "id_number": _l("身份证号"), "person_name": _l("姓名"),
    "employer_name": _l("用人单位"), "employer_id": _l("用人单位机构"),
    "injury_type": _l("工伤类型"), "determination_no": _l("工伤认定编号"),
    "injury_date": _l("工伤发生时间"), "region_id": _l("参保地"), "created_at": _l("导入时间"),
    "province_code": _l("省级区划"), "city_code": _l("市级区划"), "county_code": _l("县级区划")}


def determination_row(d):
    return {"id": d.id, "id_number": d.id_number, "person_name": d.person_name,
            "employer_name": d.employer_name, "employer_id": d.employer_id,
            "injury_type": d.injury_type, "injury_type_label": str(d.injury_type_label),
            "determination_no": d.determination_no, "injury_date": d.injury_date.isoformat(),
            "region_id": d.region_id, "region_name": d.region.name if d.region else None}


class InjuryDeterminationApi(ScopedApiMixin, ModelRestApi):
    """Read by the three W roles in their scope; written by agencies (and the admin)."""
    resource_name = "injury_determination"
    screens = mirror("InjuryDeterminationView",
                     post=["InjuryDeterminationView.can_import_upload"],
                     lookup=["InjuryDeclareView.can_lookup"])
    datamodel = SQLAInterface(InjuryDetermination)
    list_columns = show_columns = ["id"] + DETERMINATION_FIELDS + [
        "province_code", "city_code", "county_code", "created_at"]
    add_columns = edit_columns = DETERMINATION_FIELDS       # documents the body (/_info)
    label_columns = DETERMINATION_LABELS
    search_columns = ["id_number", "person_name", "determination_no", "employer_name",
                      "employer_id", "injury_type", "injury_date", "city_code"]
    base_order = ("id", "desc")
    base_permissions = ["can_get", "can_info", "can_post", "can_put", "can_delete", "can_lookup"]
    max_page_size = 100

    def post_headless(self):
        values = rules.clean_determination(json_body(), g.user)
        item = commands.save_determination(g.user, None, values)
        return self.response(201, id=item.id,
                             result=self.show_model_schema.dump(item, many=False))

    def put_headless(self, pk):
        item = scoped_get(InjuryDetermination, pk, g.user)
        values = rules.clean_determination(json_body(), g.user, current=item)
        item = commands.save_determination(g.user, item, values)
        return self.response(200, id=item.id,
                             result=self.show_model_schema.dump(item, many=False))

    def pre_delete(self, item):
        commands.refuse_determination_delete(item)

    @expose("/lookup", methods=["GET"])
    @protect()
    @safe
    @permission_name("lookup")
    def lookup(self):
        """W3 人员查询: ?id_number= → the person's determinations in the caller's scope."""
        number, rows = queries.find_determinations(g.user, request.args.get("id_number"))
        body = {"id_number": number, "count": len(rows),
                "result": [determination_row(d) for d in rows]}
        if not rows:
            body["message"] = _("未查询到该人员的工伤认定信息")
        return self.response(200, **body)


# ---- 申报 ------------------------------------------------------------------------------------

TYPE_FIELDS = list(dict.fromkeys(f.name for k in KINDS.values() for f in k.fields))
DECLARATION_LIST = ["id", "kind", "state", "organization_id", "determination_id", "employer_id",
                    "id_number", "person_name", "employer_name", "injury_type",
                    "determination_no", "injury_date", "submitted_at", "employer_due_at",
                    "employer_auto_approved", "employer_reviewed_at", "agency_reviewed_at",
                    "resubmitted_from_id", "created_at"]
DECLARATION_SHOW = DECLARATION_LIST + TYPE_FIELDS + [
    "employer_opinion", "agency_opinion", "updated_at", "province_code", "city_code",
    "county_code"]


DECLARATION_LABELS = {
    **DETERMINATION_LABELS, **{f.name: f.label for k in KINDS.values() for f in k.fields},
    "kind": _l("申报类型"), "state": _l("状态"), "organization_id": _l("医疗机构"),
    "determination_id": _l("工伤认定信息"), "opinion": _l("意见"), "reason": _l("原因"),
    "submitted_at": _l("提交时间"), "employer_due_at": _l("单位审核时限"),
    "employer_auto_approved": _l("超时自动通过"), "employer_reviewed_at": _l("单位审核时间"),
    "employer_opinion": _l("单位审核意见"), "agency_reviewed_at": _l("经办审核时间"),
    "agency_opinion": _l("经办审核意见"), "resubmitted_from_id": _l("原申报"),
    "created_at": _l("创建时间"), "updated_at": _l("修改时间")}


def _labels(row):
    for key, mapping in (("kind", DECLARATION_KINDS), ("state", DECLARATION_STATE_LABELS),
                         ("injury_type", INJURY_TYPES)):
        if key in row:
            row[f"{key}_label"] = str(mapping.get(row[key], row[key]))


class InjuryDeclarationApi(ApproveOverdueFirst, ScopedApiMixin, WorkflowApiMixin, ExportApiMixin,
                           ModelRestApi):
    """The five declarations (W4–W8). Body of POST/PUT: {"kind", "determination": <id>,
    <the kind's fields>, "lines": [{"item", "quantity", "price", "configured_on",
    "usage_years"}]}; transitions, batch, history and export come from the mixins."""
    resource_name = "injury_declaration"
    screens = mirror("InjuryDeclarationView", "InjuryEmployerReviewView",
                     "InjuryAgencyReviewView", post=["InjuryDeclareView.can_new"],
                     put=["InjuryDeclareView.can_edit", "InjuryDeclareView.can_upload"],
                     delete=["InjuryDeclarationView.delete"])
    datamodel = SQLAInterface(InjuryDeclaration)
    workflow = InjuryDeclarationFlow
    editable_states = EDITABLE_STATES
    base_filters = [["state", StateNotInFilter, (S.DELETED.value,)]]
    list_columns = DECLARATION_LIST
    show_columns = DECLARATION_SHOW
    add_columns = edit_columns = ["kind", "determination_id"] + TYPE_FIELDS   # /_info only
    label_columns = DECLARATION_LABELS
    search_columns = ["kind", "state", "id_number", "person_name", "determination_no",
                      "organization_id", "employer_id", "submitted_at", "resubmitted_from_id"]
    base_order = ("id", "desc")
    base_permissions = ["can_get", "can_info", "can_post", "can_put", "can_delete"]
    max_page_size = 100

    # -- reading

    def pre_get_list(self, data):
        for row in data.get("result", []):
            _labels(row)

    def pre_get(self, data):
        item = db.session.get(InjuryDeclaration, int(data["id"]))
        result = data["result"]
        _labels(result)
        stored = files.files_of(item)
        result["lines"] = queries.lines_as_rows(item)
        result["attachments"] = [{"id": a.id, "slot": a.slot, "name": a.original_name}
                                 for rows in stored.values() for a in rows]
        result["slots"] = [{"name": s.name, "label": str(s.label), "required": s.required,
                            "present": s.name in stored} for s in KINDS[item.kind].slots]
        result["actions"] = [t.name for t in InjuryDeclarationFlow.available(item, g.user,
                                                                       guards=False)]

    @expose("/<int:pk>/lines", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def lines(self, pk):
        item = scoped_get(InjuryDeclaration, pk, g.user)
        return self.response(200, result=queries.lines_as_rows(item))

    # -- writing (the owning hospital, drafts only)

    @staticmethod
    def _is_hospital(user):
        org = getattr(user, "organization", None)
        return org is not None and org.org_type == "medical" and user_has_role(user, {HOSPITAL})

    def _own(self, pk):
        item = scoped_get(InjuryDeclaration, pk, g.user)
        if item.state == S.DELETED.value:
            raise NotFound()
        if not self._is_hospital(g.user) or item.organization_id != g.user.organization_id:
            raise ForbiddenError(_("只有申报的医疗机构可以修改该申报"))
        return item

    def _own_draft(self, pk):
        item = self._own(pk)
        if item.state not in EDITABLE_STATES:
            raise ConflictError(_("当前状态为“%(s)s”，不能修改", s=item.state_label))
        return item

    @staticmethod
    def _lines_of(body):
        if "lines" not in body or body["lines"] is None:
            return None
        lines = body["lines"]
        if isinstance(lines, list) and not all(isinstance(r, dict) for r in lines):
            message = _("辅助器具明细格式错误")
        else:
            message = rules.lines_shape_problem(lines)
        if message:
            raise InvalidError(message, fields={"lines": [message]})
        return lines

    @staticmethod
    def _declarationjson_body():
        body = json_body()
        if "determination" not in body and "determination_id" in body:   # the shown name
            body["determination"] = body["determination_id"]
        return body

    def _saved(self, status, item):
        return self.response(status, id=item.id, state=item.state,
                             result=self.show_model_schema.dump(item, many=False))

    def post_headless(self):
        if not self._is_hospital(g.user):
            raise ForbiddenError(_("只有医疗机构可以申报"))
        body = self._declarationjson_body()
        kind = str(body.get("kind") or "")
        if kind not in KINDS:
            raise InvalidError(_("未知的申报类型"),
                               fields={"kind": [_("可选：%(c)s", c="、".join(KINDS))]})
        lines = self._lines_of(body)
        if body.get("determination"):
            queries.determination_for(g.user, body["determination"])  # 404 outside scope
        DeclarationForm.of_body(kind, body).refuse_if_invalid(lines)
        item = commands.save(g.user, kind, body, lines)
        return self._saved(201, item)

    def put_headless(self, pk):
        item = self._own_draft(pk)
        body = self._declarationjson_body()
        if body.get("kind") not in (None, "", item.kind):
            raise InvalidError(_("不能修改申报类型"),
                               fields={"kind": [_("不能修改申报类型")]})
        data = {f.name: getattr(item, f.name) for f in KINDS[item.kind].fields}
        data.update(body)
        lines = self._lines_of(body)
        if body.get("determination"):
            queries.determination_for(g.user, body["determination"])      # 404 outside scope
        DeclarationForm.of_body(item.kind, {**data, "determination": data.get(
            "determination") or item.determination_id}).refuse_if_invalid(lines)
        item = commands.save(g.user, item.kind, data, lines, item)
        return self._saved(200, item)

    def delete_headless(self, pk):
        """DELETE is the `delete` transition: the record is kept, in state deleted."""
        item = apply(InjuryDeclarationFlow, pk, "delete", g.user)
        return self.response(200, id=item.id, state=item.state)

    @expose("/<int:pk>/attachments/<string:slot>", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def upload(self, pk, slot):
        """采集电子材料: multipart `file`, an image, into one of the kind's slots."""
        item = self._own_draft(pk)
        slot_def = next((s for s in KINDS[item.kind].slots if s.name == slot), None)
        if slot_def is None:
            raise NotFoundError(_("该申报类型没有此材料：%(s)s", s=slot))
        row = commands.attach_material(g.user, item, slot_def, request.files.get("file"))
        return self.response(201, id=row.id, slot=row.slot, name=row.original_name)

    @expose("/<int:pk>/resubmit", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def resubmit(self, pk):
        """重新申报 (W8): a new draft pre-filled from a rejected declaration, linked to it
        (the open one is returned when it exists). Materials are uploaded again."""
        copy = commands.resubmit(g.user, self._own(pk))
        return self.response(201, id=copy.id, state=copy.state,
                             resubmitted_from_id=copy.resubmitted_from_id)


# ---- 辅助器具目录 ------------------------------------------------------------------------------

def device_row(item):
    return {"id": item.id, "code": item.code, "name": item.name, "category": item.category,
            "specification": item.specification, "price": str(item.price),
            "usage_years": item.usage_years}


class InjuryDeviceItemApi(ScopedApiMixin, ModelRestApi):
    """The assistive-device catalogue: read by the W roles, maintained by the admin."""
    resource_name = "injury_device_item"
    screens = mirror("InjuryDeviceItemView", get=["InjuryDeclareView.can_devices"],
                     post=["InjuryDeviceItemView.can_import_upload"],
                     put=["InjuryDeviceItemView.can_import_upload"])
    datamodel = SQLAInterface(InjuryDeviceItem)
    list_columns = show_columns = ["id"] + DEVICE_FIELDS
    add_columns = edit_columns = DEVICE_FIELDS
    label_columns = {"id": _l("编号"), "code": _l("产品编码"), "name": _l("产品名称"),
                     "category": _l("类别"), "specification": _l("规格型号"),
                     "price": _l("单价（元）"), "usage_years": _l("使用年限"), "active": _l("在用")}
    search_columns = ["code", "name", "category", "specification", "active"]
    base_order = ("code", "asc")
    base_permissions = ["can_get", "can_info", "can_post", "can_put"]
    max_page_size = 100

    def post_headless(self):
        item = commands.save_device(g.user, None, rules.clean_device(json_body()))
        return self.response(201, id=item.id,
                             result=self.show_model_schema.dump(item, many=False))

    def put_headless(self, pk):
        item = scoped_get(InjuryDeviceItem, pk, g.user)
        item = commands.save_device(g.user, item, rules.clean_device(json_body(), current=item))
        return self.response(200, id=item.id,
                             result=self.show_model_schema.dump(item, many=False))

    @expose("/search", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def search(self):
        """Fuzzy search on any part of the code, name, specification or category (≤20
        rows; `more` when more match)."""
        rows, more = queries.device_search(request.args.get("q", ""))
        return self.response(200, count=len(rows), more=more,
                             result=[device_row(r) for r in rows])
