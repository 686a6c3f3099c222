"""基本公卫 REST resources (SPEC §X, H2–H7): phs_institution, phs_report, phs_change_request.

Writes never go through FAB's schema: an institution is added, saved and removed by
services.phs.commands (the screens' rules and messages), a change request is made by
services.phs.changes, reports and requests move only through the engine. So every refusal
is the screens' own: 422 with per-field messages and nothing written, 409 when locked or
not allowed in the current state, 403 for the wrong role or organisation, 404 out of scope.

phs_institution  GET list / <pk> (labels, `missing` on show), POST (新增: what the caller's
                 level adds), PUT <pk> (保存: only the data items), DELETE <pk> (删除),
                 POST <pk>/<submit|withdraw|approve|reject> (the unit's report of the
                 current round), GET <pk>/history, POST affiliation, GET unattached, export.
phs_report       GET list / <pk>, GET mine, POST <pk>/<transition>, POST batch/<transition>,
                 GET <pk>/history, export.
phs_change_request  GET list / <pk> (before/after), POST (申请修改), POST <pk>/<forward|
                 approve|reject>, GET <pk>/history, export."""
import json

from flask import g
from flask_appbuilder import ModelRestApi
from flask_appbuilder.api import expose, protect
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name

from app.errors import InvalidError, NotFoundError
from app.extensions import db
from app.i18n import _, _l
from app.models.phs import SERVICE_ITEMS, PhsChangeRequest, PhsInstitution, PhsReport
from app.scope import scoped_get
from app.services.phs import changes as phs_changes
from app.services.phs import commands, queries, rules
from app.views.phs.forms import LABELS
from app.views.shared.api import (ExportApiMixin, ScopedApiMixin, WorkflowApiMixin,
                                  history_rows, json_body, loaded, safe)
from app.workflows.engine import apply
from app.workflows.phs import PhsChangeRequestFlow, PhsReportFlow
from app.views.shared.api_permissions import mirror

# The transitions of a unit's report that make sense addressed through its institution.
UNIT_TRANSITIONS = ("submit", "withdraw", "approve", "reject")
PHS_ROLES = (rules.NATIONAL, rules.PROVINCE, rules.CITY, rules.COUNTY, rules.UNIT)
# Columns that place a row (who fills it, where it hangs, which region): never written by a
# PUT or POST body; the superior changes by 机构隶属关系维护 or a change request.
PLACEMENT = ("superior", "superior_org_id", "organization_id", "source_org_id", "region_id",
             "tier", "province_code", "city_code", "county_code", "deleted")


def _items_of(body, ignore=()):
    """The data items of a POST / PUT body; anything else is refused by name (422), so a
    body cannot move a row or set what the services derive."""
    errors = {}
    for key, value in body.items():
        if key in ignore:
            continue
        if key in PLACEMENT:
            errors[key] = [_("不能通过此接口修改；上级机构请通过机构隶属关系维护或申请修改变更")]
        elif key not in rules.EDITABLE_FIELDS:
            errors[key] = [_("未知或只读的字段")]
        elif key == "services":
            if isinstance(value, list):
                body[key] = [v.get("code") if isinstance(v, dict) else v for v in value]
        elif isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
            errors[key] = [_("%(f)s格式无效", f=rules.item_label(key))]
    if errors:
        rules.fail(errors)
    return {k: v for k, v in body.items() if k in rules.EDITABLE_FIELDS}


def _text(value):
    return value if isinstance(value, str) else ("" if value is None else str(value))


# ---- 机构信息 -----------------------------------------------------------------------------------

def institution_labels(row, inst, names=None):
    """The row as FAB dumped it, plus what a person reads on the screens."""
    row.update(
        tier_label=str(inst.tier_label), inst_type_label=str(inst.inst_type_label),
        sponsor_label=str(inst.sponsor_label), superior_label=inst.superior_label,
        address=inst.address, complete_label=str(inst.complete_label),
        service_items=[{"code": c, "label": str(SERVICE_ITEMS.get(c, c))}
                       for c in inst.service_codes],
        organization_name=inst.organization.name if inst.organization else None)
    if "services" in row:
        row["services"] = inst.service_codes
    if names is not None and inst.tier == "unit":
        row["login_name"] = names.get(inst.organization_id)
    return row


class PhsInstitutionApi(ScopedApiMixin, ExportApiMixin, ModelRestApi):
    """POST / PUT body: the data items {"name", "code", "contact", "phone", "township",
    "address_detail", "inst_type", "sponsor", "longitude", "latitude", "services": [codes]};
    a PUT names only what it changes."""
    resource_name = "phs_institution"
    screens = mirror("PhsInstitutionView", post=["PhsInstitutionView.can_fill"],
                     put=["PhsInstitutionView.can_fill"], delete=["PhsInstitutionView.can_fill"],
                     transition=["PhsInstitutionView.can_report", "PhsReviewView.can_unit"],
                     affiliation=["PhsAffiliationView.can_index"])
    datamodel = SQLAInterface(PhsInstitution)
    base_filters = [["deleted", FilterEqual, False]]
    list_columns = ["id", "tier", "name", "code", "contact", "phone", "township",
                    "address_detail", "inst_type", "sponsor", "longitude", "latitude",
                    "services", "superior_org_id", "organization_id", "is_complete"]
    show_columns = list_columns + ["updated_at"]
    add_columns = edit_columns = list(rules.EDITABLE_FIELDS)      # documents the body (/_info)
    list_title = _l("机构信息")
    show_title = _l("机构信息")
    label_columns = {**LABELS, "id": _l("编号"), "longitude": _l("经度"), "latitude": _l("纬度"),
                     "tier": _l("机构层级"), "is_complete": _l("数据项完整"),
                     "superior_org_id": _l("上级机构"), "organization_id": _l("填报单位")}
    search_columns = ["name", "code", "contact", "tier", "inst_type", "sponsor", "is_complete",
                      "organization_id", "superior_org_id", "county_code"]
    base_order = ("id", "asc")
    base_permissions = ["can_get", "can_info", "can_post", "can_put", "can_delete",
                        "can_transition", "can_affiliation"]
    max_page_size = 100

    # -- reading

    @staticmethod
    def _names_for_caller(insts):
        """The county sees its units' login names (as on its list screen)."""
        if rules.add_kind(g.user) != "unit":
            return None
        return queries.login_names({i.organization_id for i in insts if i.tier == "unit"})

    def pre_get_list(self, data):
        items = loaded(PhsInstitution, data.get("ids", []))
        names = self._names_for_caller(items.values())
        for pk, row in zip(data.get("ids", []), data.get("result", [])):
            institution_labels(row, items[pk], names)

    def pre_get(self, data):
        inst = db.session.get(PhsInstitution, int(data["id"]))
        result = institution_labels(data["result"], inst, self._names_for_caller([inst]))
        result["missing"] = queries.missing_items(inst)
        refusal = rules.edit_refusal(inst, g.user)
        result["editable"] = refusal is None
        result["locked_reason"] = refusal.message if refusal is not None else None
        report = queries.report_of(inst.organization, create=False)
        result["report"] = None if report is None else {
            "id": report.id, "state": report.state, "state_label": str(report.state_label)}
        result["actions"] = [t.name for t in PhsReportFlow.available(report, g.user, guards=False)
                             if t.name in UNIT_TRANSITIONS] \
            if report is not None and inst.tier == "unit" else []

    def _live(self, pk):
        inst = scoped_get(PhsInstitution, pk, g.user)
        if inst.deleted:
            raise NotFoundError(_("记录不存在或不在您的管辖范围内"))
        return inst

    def _shown(self, status, inst, **extra):
        result = institution_labels(self.show_model_schema.dump(inst, many=False), inst)
        result["missing"] = queries.missing_items(inst)
        return self.response(status, id=inst.id, result=result, **extra)

    # -- writing (services.phs.commands decides who, when and what)

    def post_headless(self):
        inst = commands.add_institution(g.user, _items_of(json_body()))
        extra = {}
        if inst.tier == "unit":
            extra["login_name"] = queries.login_names([inst.organization_id]).get(
                inst.organization_id)
            extra["message"] = _("已新增“%(n)s”并创建账号，登录名：%(u)s，"
                                 "密码为系统初始密码，首次登录须修改",
                                 n=inst.name, u=extra["login_name"])
        return self._shown(201, inst, **extra)

    def put_headless(self, pk):
        inst = self._live(pk)
        commands.save(inst, _items_of(json_body(), ignore=("id",)), g.user)
        return self._shown(200, inst)

    def delete_headless(self, pk):
        inst = self._live(pk)
        commands.remove(inst, g.user)
        return self.response(200, id=inst.id, message=_("已删除“%(n)s”", n=inst.name))

    # -- the unit's report, addressed through its institution

    @expose("/<int:pk>/<string:name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def transition(self, pk, name):
        """上报 / 撤回 by the unit, 通过 / 不通过 by its county: the unit's report of the
        current round, as the screens fire them."""
        if name not in UNIT_TRANSITIONS:
            raise NotFoundError(_("未知的操作"))
        inst = self._live(pk)
        if inst.tier != "unit":
            raise NotFoundError(
                _("只有基层机构有自己的上报，村卫生室/社区卫生服务站随所属机构上报"))
        report = queries.report_of(inst.organization)
        report = apply(PhsReportFlow, report.id, name, g.user,
                       WorkflowApiMixin._payload())
        return self.response(200, id=report.id, state=report.state,
                             state_label=str(report.state_label), institution=inst.id)

    @expose("/<int:pk>/history", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def history(self, pk):
        inst = self._live(pk)
        return self.response(200, result=history_rows("phs_institution", inst.id))

    # -- 机构隶属关系维护 (county)

    @staticmethod
    def _org_row(org, names=None):
        return {"id": org.id, "name": org.name, "unit_code": org.unit_code,
                "org_type": org.org_type, "level": org.level,
                **({"login_name": names.get(org.id)} if names is not None else {})}

    @expose("/unattached", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def unattached(self):
        """Institutions of the county without a superior yet, and the superiors to choose."""
        county = g.user.organization
        if not rules.has_role(g.user, rules.COUNTY) or county is None or county.level != "county":
            return self.response(403, message=_("只有县级用户可以维护机构隶属关系"))
        orgs = queries.unattached_orgs(county)
        names = queries.login_names([o.id for o in orgs])
        return self.response(200, count=len(orgs),
                             result=[self._org_row(o, names) for o in orgs],
                             superiors=[self._org_row(o) for o in queries.superior_choices(county)])

    @expose("/affiliation", methods=["POST"])
    @protect()
    @safe
    @permission_name("affiliation")
    def affiliation(self):
        """{"org_ids": [...], "superior": <county or one of its units>}: all or nothing."""
        body = json_body()
        ids = body.get("org_ids")
        if not isinstance(ids, list) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise InvalidError(_("org_ids 必须是机构编号列表"),
                               fields={"org_ids": [_("必须是机构编号列表")]})
        made = commands.attach_existing(g.user, ids, body.get("superior"))
        return self.response(201, ids=[i.id for i in made], count=len(made),
                             result=[institution_labels(self.show_model_schema.dump(i), i)
                                     for i in made])


# ---- 上报 ----------------------------------------------------------------------------------------

def report_labels(row, report):
    row.update(state_label=str(report.state_label), kind_label=str(report.kind_label),
               organization_name=report.organization.name if report.organization else None,
               reviewer_name=getattr(report.reviewer_org, "name", None),
               round_name=report.task.name if report.task else None)
    return row


class PhsReportApi(ScopedApiMixin, WorkflowApiMixin, ExportApiMixin, ModelRestApi):
    """A unit's (kind unit) or a level's (kind aggregate) report per round; it changes only
    by its transitions (上报, 撤回, 通过, 不通过, 确认并上报, 确认, 退回)."""
    resource_name = "phs_report"
    screens = mirror("PhsInstitutionView", get=["PhsInstitutionView.can_report",
                     "PhsReviewView.can_index"],
                     transition=["PhsInstitutionView.can_report", "PhsReviewView.can_unit",
                                 "PhsReviewView.can_batch"])
    datamodel = SQLAInterface(PhsReport)
    workflow = PhsReportFlow
    list_columns = ["id", "task_id", "kind", "state", "organization_id", "reviewer_org_id",
                    "aggregate_id", "submitted_at", "reviewed_at", "review_opinion"]
    show_columns = list_columns + ["aggregated_at"]
    list_title = show_title = _l("机构信息上报")
    label_columns = {"id": _l("编号"), "task_id": _l("报送轮次"), "kind": _l("类型"),
                     "state": _l("状态"),
                     "organization_id": _l("上报单位"), "reviewer_org_id": _l("审核单位"),
                     "aggregate_id": _l("所属上级上报"), "submitted_at": _l("上报时间"),
                     "reviewed_at": _l("审核时间"), "review_opinion": _l("审核意见"),
                     "aggregated_at": _l("确认时间")}
    search_columns = ["task_id", "kind", "state", "organization_id", "reviewer_org_id",
                      "aggregate_id", "county_code", "city_code"]
    base_order = ("id", "asc")
    base_permissions = ["can_get", "can_info"]
    exclude_route_methods = {"post", "put", "delete"}
    max_page_size = 100

    def pre_get_list(self, data):
        items = loaded(PhsReport, data.get("ids", []))
        for pk, row in zip(data.get("ids", []), data.get("result", [])):
            report_labels(row, items[pk])

    def pre_get(self, data):
        report = db.session.get(PhsReport, int(data["id"]))
        self._details(report_labels(data["result"], report), report)

    @staticmethod
    def _details(result, report):
        result["actions"] = [t.name for t in PhsReportFlow.available(report, g.user,
                                                                     guards=False)]
        result["problems"] = [str(p) for p in queries.report_problems(report.organization)]
        return result

    @expose("/mine", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def mine(self):
        """The caller's own report of the current round (a draft is opened on first use)."""
        org = g.user.organization
        if org is None or not any(rules.has_role(g.user, r) for r in PHS_ROLES):
            return self.response(403, message=_("本单位不参与基本公卫机构信息报送"))
        report = commands.open_report(org)
        result = report_labels(self.show_model_schema.dump(report, many=False), report)
        return self.response(200, id=report.id, result=self._details(result, report))


# ---- 申请修改 ------------------------------------------------------------------------------------

def change_labels(row, change):
    values = phs_changes.values_of(change)
    row.update(
        kind_label=str(change.kind_label), state_label=str(change.state_label),
        institution_name=change.institution.name if change.institution else None,
        organization_name=change.organization.name if change.organization else None,
        reviewer_name=getattr(change.reviewer_org, "name", None),
        comparison=[{"field": f, "label": str(label), "before": before, "after": after,
                     "before_label": rules.value_text(f, before),
                     "after_label": rules.value_text(f, after)}
                    for f, label, before, after in phs_changes.comparison(change)])
    if "content" in row:
        row["content"] = values
    # what the institution was when the request was approved (a deletion's only record)
    row["before"] = json.loads(change.before) if change.before else None
    return row


class PhsChangeRequestApi(ScopedApiMixin, WorkflowApiMixin, ExportApiMixin, ModelRestApi):
    """POST body: {"kind": "add"|"modify"|"delete", "institution": <id> (modify, delete),
    "content": {the data items changed; "superior" for add}, "reason"}. A request is never
    edited or deleted; it moves by 逐级上报 / 审核通过 / 审核不通过."""
    resource_name = "phs_change_request"
    screens = mirror("PhsChangeRequestView", post=["PhsChangeRequestView.can_new"])
    datamodel = SQLAInterface(PhsChangeRequest)
    workflow = PhsChangeRequestFlow
    list_columns = ["id", "kind", "institution_id", "content", "reason", "state",
                    "organization_id", "reviewer_org_id", "review_opinion", "submitted_at",
                    "reviewed_at"]
    show_columns = list_columns
    add_columns = ["kind", "institution_id", "content", "reason"]     # /_info only
    list_title = _l("申请修改")
    show_title = _l("申请修改详情")
    label_columns = {"id": _l("编号"), "kind": _l("申请类型"), "institution_id": _l("机构"),
                     "content": _l("申请内容"), "reason": _l("申请说明"), "state": _l("状态"),
                     "organization_id": _l("申请单位"),
                     "reviewer_org_id": _l("当前审核单位"), "review_opinion": _l("审核意见"),
                     "submitted_at": _l("申请时间"), "reviewed_at": _l("审核时间")}
    search_columns = ["kind", "state", "institution_id", "organization_id", "reviewer_org_id"]
    base_order = ("id", "desc")
    base_permissions = ["can_get", "can_info", "can_post"]
    exclude_route_methods = {"put", "delete"}
    max_page_size = 100

    def pre_get_list(self, data):
        items = loaded(PhsChangeRequest, data.get("ids", []))
        for pk, row in zip(data.get("ids", []), data.get("result", [])):
            change_labels(row, items[pk])

    def pre_get(self, data):
        change = db.session.get(PhsChangeRequest, int(data["id"]))
        result = change_labels(data["result"], change)
        result["actions"] = [t.name for t in PhsChangeRequestFlow.available(
            change, g.user, guards=False)]

    def post_headless(self):
        body = json_body()
        data = {"kind": _text(body.get("kind")), "reason": _text(body.get("reason")),
                "institution": body.get("institution", body.get("institution_id")),
                "content": body.get("content")}
        if data["content"] is None:
            data["content"] = {}
        change = phs_changes.create(g.user, data)
        result = change_labels(self.show_model_schema.dump(change, many=False), change)
        return self.response(201, id=change.id, state=change.state, result=result,
                             message=_("申请修改已提交至%(n)s", n=change.reviewer_org.name))
