"""工伤 REST resources (SPEC §X, W3–W8): injury_determination, injury_declaration,
injury_device_item.

Writes never go through FAB's schema: a declaration is saved by services.injury.save (the
screens' own rules and messages), the master data by the small cleaners below, so every
refusal is a 422 with per-field messages and nothing is written."""
import datetime as dt
from decimal import Decimal, InvalidOperation

from flask import g, request
from flask_appbuilder import ModelRestApi
from flask_appbuilder.api import expose, protect
from app.views.shared.api import safe
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization, Region
from app.models.injury import (DECLARATION_KINDS, DECLARATION_STATE_LABELS, INJURY_TYPES,
                               InjuryDeclaration, InjuryDetermination, InjuryDeviceItem)
from app.scope import scoped_get
from app.services import audit, files, injury, validators
from app.services.attachments import AttachmentError
from app.views.shared.api import (ExportApiMixin, ScopedApiMixin, WorkflowApiMixin,
                                  json_body)
from app.views.shared.filters import StateNotInFilter
from app.views.injury.screens import ApproveOverdueFirst
from app.workflows.engine import Refusal, apply, user_has_role
from app.workflows.injury import EDITABLE_STATES, HOSPITAL, KINDS, DeclarationFlow


def _text(errors, data, name, label, max_length, required=True):
    raw = data.get(name)
    text = "" if raw is None else str(raw).strip()
    if not text:
        if required:
            errors[name] = [_("请填写%(f)s", f=label)]
        return None
    if len(text) > max_length:
        errors[name] = [_("%(f)s不能超过%(n)s个字", f=label, n=max_length)]
        return None
    return text


def _raise_if(errors):
    if errors:
        raise Refusal(_("请检查填写的信息：%(m)s", m="；".join(
            str(m) for msgs in errors.values() for m in msgs)), status=422, fields=errors)


# ---- 工伤认定信息 ----------------------------------------------------------------------------

DETERMINATION_FIELDS = ["id_number", "person_name", "employer_name", "employer_id",
                        "injury_type", "determination_no", "injury_date", "region_id"]


def _region(data, user, errors):
    code = str(data.get("region_code") or "").strip()
    if code:
        region = db.session.execute(select(Region).where(Region.code == code)).scalar()
    else:
        try:
            region = db.session.get(Region, int(data.get("region_id")))
        except (TypeError, ValueError):
            region = None
    problem = injury.insurance_region_problem(region, user)
    if problem:
        errors["region_id"] = [problem]
        return None
    return region


def _employer(data, errors, creating):
    """An employer with an account in the portal, by id; on create, when no id is given,
    the employer organisation of exactly that name (as the Excel import links it)."""
    raw = data.get("employer_id")
    if raw in (None, ""):
        name = str(data.get("employer_name") or "").strip()
        if not creating or not name:
            return None
        return injury.employer_org(name)
    try:
        org = db.session.get(Organization, int(raw))
    except (TypeError, ValueError):
        org = None
    if org is None or org.org_type != "employer":
        errors["employer_id"] = [_("用人单位不存在或不是用人单位类型的机构")]
        return None
    return org


def clean_determination(data, user, current=None):
    """Body → column values; a PUT body carries only what changes."""
    if current is not None:
        merged = {name: getattr(current, name) for name in DETERMINATION_FIELDS}
        merged.update(data)
        data = merged
    errors, values = {}, {}
    try:
        values["id_number"] = validators.check_id_number(data.get("id_number"),
                                                         min_birth=None)
    except validators.ValidationError as exc:
        errors["id_number"] = [exc.message]
    values["person_name"] = _text(errors, data, "person_name", _("姓名"), 64)
    employer = _employer(data, errors, creating=current is None)
    values["employer_id"] = employer.id if employer is not None else None
    values["employer_name"] = _text(errors, data, "employer_name", _("用人单位"), 128,
                                    required=employer is None) or getattr(employer, "name", None)
    injury_type = str(data.get("injury_type") or "").strip()
    if injury_type not in INJURY_TYPES:
        errors["injury_type"] = [_("%(f)s取值无效，可选：%(c)s", f=_("工伤类型"),
                                   c="、".join(INJURY_TYPES))]
    values["injury_type"] = injury_type
    number = _text(errors, data, "determination_no", _("工伤认定编号"), 40)
    if number and db.session.execute(select(InjuryDetermination.id).where(
            InjuryDetermination.determination_no == number,
            InjuryDetermination.id != getattr(current, "id", -1))).first():
        errors["determination_no"] = [_("该工伤认定编号已存在")]
    values["determination_no"] = number
    raw_date = data.get("injury_date")
    try:
        values["injury_date"] = raw_date if isinstance(raw_date, dt.date) \
            else injury.parse_date(raw_date)
        if values["injury_date"] > injury.local_today():
            errors["injury_date"] = [_("工伤发生时间不能晚于今天")]
    except ValueError as exc:
        errors["injury_date"] = [f"{_('工伤发生时间')}：{exc}"]
    values["region"] = _region(data, user, errors)
    _raise_if(errors)
    return values


def _fill_determination(item, values):
    region = values.pop("region")
    for name, value in values.items():
        setattr(item, name, value)
    item.region_id, item.region = region.id, region
    item.copy_scope_from(region)


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
    datamodel = SQLAInterface(InjuryDetermination)
    list_columns = show_columns = ["id"] + DETERMINATION_FIELDS + [
        "province_code", "city_code", "county_code", "created_at"]
    add_columns = edit_columns = DETERMINATION_FIELDS       # documents the body (/_info)
    label_columns = DETERMINATION_LABELS
    search_columns = ["id_number", "person_name", "determination_no", "employer_name",
                      "employer_id", "injury_type", "injury_date", "city_code"]
    base_order = ("id", "desc")
    base_permissions = ["can_get", "can_info", "can_post", "can_put", "can_delete"]
    max_page_size = 100

    def _save(self, item, values, action):
        _fill_determination(item, values)
        db.session.add(item)
        try:
            db.session.flush()
        except IntegrityError:      # the same number saved a moment ago by someone else
            raise Refusal(_("该工伤认定编号已存在"), status=422,
                          fields={"determination_no": [_("该工伤认定编号已存在")]}) from None
        audit.record(g.user, action, obj=item)
        db.session.commit()
        return self.show_model_schema.dump(item, many=False)

    def post_headless(self):
        values = clean_determination(json_body(), g.user)
        item = InjuryDetermination()
        result = self._save(item, values, "create")
        return self.response(201, id=item.id, result=result)

    def put_headless(self, pk):
        item = scoped_get(InjuryDetermination, pk, g.user)
        values = clean_determination(json_body(), g.user, current=item)
        result = self._save(item, values, "update")
        return self.response(200, id=item.id, result=result)

    def pre_delete(self, item):
        if db.session.execute(select(InjuryDeclaration.id).where(
                InjuryDeclaration.determination_id == item.id).limit(1)).first():
            raise Refusal(_("该工伤认定信息已有申报业务，不能删除"))

    @expose("/lookup", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def lookup(self):
        """W3 人员查询: ?id_number= → the person's determinations in the caller's scope."""
        number, rows = injury.find_determinations(g.user, request.args.get("id_number"))
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
    datamodel = SQLAInterface(InjuryDeclaration)
    workflow = DeclarationFlow
    editable_states = EDITABLE_STATES
    base_filters = [["state", StateNotInFilter, ("deleted",)]]
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
        result["lines"] = injury.lines_as_rows(item)
        result["attachments"] = [{"id": a.id, "slot": a.slot, "name": a.original_name}
                                 for rows in stored.values() for a in rows]
        result["slots"] = [{"name": s.name, "label": str(s.label), "required": s.required,
                            "present": s.name in stored} for s in KINDS[item.kind].slots]
        result["actions"] = [t.name for t in DeclarationFlow.available(item, g.user,
                                                                       guards=False)]

    @expose("/<int:pk>/lines", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def lines(self, pk):
        item = scoped_get(InjuryDeclaration, pk, g.user)
        return self.response(200, result=injury.lines_as_rows(item))

    # -- writing (the owning hospital, drafts only)

    @staticmethod
    def _is_hospital(user):
        org = getattr(user, "organization", None)
        return org is not None and org.org_type == "medical" and user_has_role(user, {HOSPITAL})

    def _own(self, pk):
        item = scoped_get(InjuryDeclaration, pk, g.user)
        if item.state == "deleted":
            raise NotFound()
        if not self._is_hospital(g.user) or item.organization_id != g.user.organization_id:
            raise Refusal(_("只有申报的医疗机构可以修改该申报"), status=403)
        return item

    def _own_draft(self, pk):
        item = self._own(pk)
        if item.state not in EDITABLE_STATES:
            raise Refusal(_("当前状态为“%(s)s”，不能修改", s=item.state_label))
        return item

    @staticmethod
    def _lines_of(body):
        if "lines" not in body or body["lines"] is None:
            return None
        lines = body["lines"]
        if not isinstance(lines, list) or not all(isinstance(r, dict) for r in lines):
            message = _("辅助器具明细格式错误")
        elif len(lines) > injury.MAX_LINES:
            message = _("辅助器具明细最多%(n)s行", n=injury.MAX_LINES)
        else:
            return lines
        raise Refusal(message, status=422, fields={"lines": [message]})

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
            raise Refusal(_("只有医疗机构可以申报"), status=403)
        body = self._declarationjson_body()
        kind = str(body.get("kind") or "")
        if kind not in KINDS:
            raise Refusal(_("未知的申报类型"), status=422,
                          fields={"kind": [_("可选：%(c)s", c="、".join(KINDS))]})
        item = injury.save(g.user, kind, body, self._lines_of(body))
        return self._saved(201, item)

    def put_headless(self, pk):
        item = self._own_draft(pk)
        body = self._declarationjson_body()
        if body.get("kind") not in (None, "", item.kind):
            raise Refusal(_("不能修改申报类型"), status=422,
                          fields={"kind": [_("不能修改申报类型")]})
        data = {f.name: getattr(item, f.name) for f in KINDS[item.kind].fields}
        data.update(body)
        item = injury.save(g.user, item.kind, data, self._lines_of(body), item)
        return self._saved(200, item)

    def delete_headless(self, pk):
        """DELETE is the `delete` transition: the record is kept, in state deleted."""
        item = apply(DeclarationFlow, pk, "delete", g.user)
        return self.response(200, id=item.id, state=item.state)

    @expose("/<int:pk>/attachments/<string:slot>", methods=["POST"])
    @protect()
    @safe
    @permission_name("put")
    def upload(self, pk, slot):
        """采集电子材料: multipart `file`, an image, into one of the kind's slots."""
        try:
            item = self._own_draft(pk)
            slot_def = next((s for s in KINDS[item.kind].slots if s.name == slot), None)
            if slot_def is None:
                raise Refusal(_("该申报类型没有此材料：%(s)s", s=slot), status=404)
            row = files.attach_and_record(item, slot_def, request.files.get("file"), g.user)
        except AttachmentError as exc:
            db.session.rollback()
            return self.response(422, message=str(exc), fields={"file": [str(exc)]})
        return self.response(201, id=row.id, slot=row.slot, name=row.original_name)

    @expose("/<int:pk>/resubmit", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def resubmit(self, pk):
        """重新申报 (W8): a new draft pre-filled from a rejected declaration, linked to it
        (the open one is returned when it exists). Materials are uploaded again."""
        copy = injury.resubmit(g.user, self._own(pk))
        return self.response(201, id=copy.id, state=copy.state,
                             resubmitted_from_id=copy.resubmitted_from_id)


# ---- 辅助器具目录 ------------------------------------------------------------------------------

DEVICE_FIELDS = ["code", "name", "category", "specification", "price", "usage_years",
                 "active"]


def device_row(item):
    return {"id": item.id, "code": item.code, "name": item.name, "category": item.category,
            "specification": item.specification, "price": str(item.price),
            "usage_years": item.usage_years}


def clean_device(data, current=None):
    if current is not None:
        merged = {name: getattr(current, name) for name in DEVICE_FIELDS}
        merged.update(data)
        data = merged
    errors, values = {}, {}
    values["code"] = _text(errors, data, "code", _("产品编码"), 20)
    if values["code"] and db.session.execute(select(InjuryDeviceItem.id).where(
            InjuryDeviceItem.code == values["code"],
            InjuryDeviceItem.id != getattr(current, "id", -1))).first():
        errors["code"] = [_("该产品编码已存在")]
    values["name"] = _text(errors, data, "name", _("产品名称"), 128)
    values["category"] = _text(errors, data, "category", _("类别"), 32)
    values["specification"] = _text(errors, data, "specification", _("规格型号"), 128,
                                    required=False)
    try:
        price = Decimal(str(data.get("price")).strip())
        if not price.is_finite() or price < 0 or price != price.quantize(Decimal("0.01")):
            raise InvalidOperation
        values["price"] = price
    except (InvalidOperation, ValueError):
        errors["price"] = [_("单价必须是不小于0且最多两位小数的金额")]
    try:
        values["usage_years"] = int(str(data.get("usage_years")).strip())
        if not 1 <= values["usage_years"] <= 50:
            raise ValueError
    except ValueError:
        errors["usage_years"] = [_("使用年限必须是1到50之间的整数")]
    active = data.get("active", True)
    if not isinstance(active, bool):
        errors["active"] = [_("在用必须是 true 或 false")]
    values["active"] = active
    _raise_if(errors)
    return values


class InjuryDeviceItemApi(ScopedApiMixin, ModelRestApi):
    """The assistive-device catalogue: read by the W roles, maintained by the admin."""
    resource_name = "injury_device_item"
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

    def _save(self, item, values, action):
        for name, value in values.items():
            setattr(item, name, value)
        db.session.add(item)
        try:
            db.session.flush()
        except IntegrityError:
            raise Refusal(_("该产品编码已存在"), status=422,
                          fields={"code": [_("该产品编码已存在")]}) from None
        audit.record(g.user, action, obj=item)
        db.session.commit()
        return self.show_model_schema.dump(item, many=False)

    def post_headless(self):
        item = InjuryDeviceItem()
        result = self._save(item, clean_device(json_body()), "create")
        return self.response(201, id=item.id, result=result)

    def put_headless(self, pk):
        item = scoped_get(InjuryDeviceItem, pk, g.user)
        result = self._save(item, clean_device(json_body(), current=item), "update")
        return self.response(200, id=item.id, result=result)

    @expose("/search", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def search(self):
        """Fuzzy search on any part of the code, name or specification (≤20 rows)."""
        rows = injury.device_search(request.args.get("q", ""))
        return self.response(200, count=len(rows), result=[device_row(r) for r in rows])
