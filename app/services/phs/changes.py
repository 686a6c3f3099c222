"""申请修改 (SPEC H6): a county's request to add, change or delete an institution after it
has reported. Checked when made (the kind must fit the content), routed to the county's
superior, merged into the reported data when the level holding it approves."""
import json

from sqlalchemy import select

from app.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from app.extensions import db
from app.i18n import _
from app.models.phs import (CHANGE_KINDS, OPEN_STATES, PhsChangeRequest, PhsChangeRequestState,
                            PhsInstitution)
from app.scope import scoped_get
from app.services import audit
from app.services.phs.commands import apply_values, build_institution, describe_changes
from app.services.phs.queries import (missing_items, report_of, superior_choices,
                                      superior_of)
from app.services.phs.rules import (COUNTY, EDITABLE_FIELDS, clean_fields, fail, has_role,
                                    item_label)

PENDING = PhsChangeRequestState.PENDING.value
SNAPSHOT_FIELDS = EDITABLE_FIELDS + ("superior_org_id", "deleted")


def _content_keys(data):
    content = data.get("content")
    if content is None:
        content = {k: data[k] for k in EDITABLE_FIELDS if k in data}
    if isinstance(content, str):
        try:
            content = json.loads(content) if content.strip() else {}
        except ValueError:
            raise InvalidError(_("申请内容格式无效")) from None
    if not isinstance(content, dict):
        raise InvalidError(_("申请内容格式无效"))
    # A form sends every field; blank ones are not part of the requested change.
    return {k: v for k, v in content.items()
            if k in EDITABLE_FIELDS + ("superior",) and v not in (None, "", [])}


def create(user, data):
    """A county's 申请修改: all checks first, nothing saved on any error."""
    county = user.organization
    if not has_role(user, COUNTY) or county is None or county.level != "county":
        raise ForbiddenError(_("申请修改的主体为县级用户"))
    report = report_of(county, create=False)
    if report is None or report.state in OPEN_STATES:
        raise ConflictError(_("本县尚未确认并上报，请直接在机构信息上报中新增、填报或删除机构"))
    kind = (data.get("kind") or "").strip()
    if kind not in CHANGE_KINDS:
        raise InvalidError(_("请选择申请类型（新增、修改或删除）"),
                           fields={"kind": [_("必选")]})
    reason = (data.get("reason") or "").strip()
    content = _content_keys(data)
    target = None
    if data.get("institution") not in (None, ""):
        target = scoped_get(PhsInstitution, data.get("institution"), user)
        if target.deleted or target.county_code != county.county_code:
            raise NotFoundError(_("未找到该机构"))
    values = CHECKS[kind](county, target, content)
    if not reason:
        raise InvalidError(_("请填写申请说明"), fields={"reason": [_("必填")]})
    if target is not None and db.session.execute(select(PhsChangeRequest.id).where(
            PhsChangeRequest.institution_id == target.id,
            PhsChangeRequest.state == PENDING)).first():
        raise ConflictError(_("该机构已有待审核的申请修改"))
    change = PhsChangeRequest(kind=kind, institution_id=target.id if target else None,
                              content=json.dumps(values, ensure_ascii=False) if values else None,
                              reason=reason, state=PENDING,
                              organization_id=county.id,
                              reviewer_org_id=superior_of(county).id)
    change.copy_scope_from(county)
    db.session.add(change)
    db.session.flush()
    audit.record(user, "change_request", obj=change, comment=_(
        "%(k)s%(n)s：%(r)s", k=change.kind_label, n=f"“{change.target_name}”" if
        change.target_name else "", r=reason))
    db.session.commit()
    return change


def _check_add(county, target, content):
    if target is not None:
        raise InvalidError(_("新增类申请不能选择已有机构；修改或删除已有机构请选择对应类型"),
                           fields={"institution": [_("新增时不选")]})
    superior = _superior(county, content.pop("superior", None))
    values, errors = clean_fields({k: content.get(k) for k in EDITABLE_FIELDS})
    if errors:
        fail(errors)
    probe = PhsInstitution(superior_org_id=superior.id, **values)
    missing = missing_items(probe)
    if missing:
        raise InvalidError(_("新增的机构信息不完整：缺%(m)s", m="、".join(missing)))
    values["superior"] = superior.id
    return values


def _superior(county, value):
    choices = {str(o.id): o for o in superior_choices(county)}
    found = choices.get(str(value or ""))
    if found is None:
        raise InvalidError(_("请选择上级机构（本县或本县的基层机构）"),
                           fields={"superior": [_("必选")]})
    return found


def _check_modify(county, target, content):
    if target is None:
        raise InvalidError(_("修改类申请需选择要修改的机构"),
                           fields={"institution": [_("必选")]})
    if "superior" in content:
        raise InvalidError(_("修改类申请不能变更上级机构；如需调整隶属关系，请申请删除后再申请新增"),
                           fields={"superior": [_("修改时不选")]})
    if not content:
        raise InvalidError(_("修改类申请需填写要修改的内容"))
    values, errors = clean_fields(content, partial=True)
    if errors:
        fail(errors)
    changed = {k: v for k, v in values.items() if getattr(target, k) != v}
    if not changed:
        raise InvalidError(_("所填内容与现有机构信息相同，没有需要修改的内容"))
    return changed


def _check_delete(county, target, content):
    if target is None:
        raise InvalidError(_("删除类申请需选择要删除的机构"),
                           fields={"institution": [_("必选")]})
    if content:
        raise InvalidError(_("删除类申请不需填写机构信息，请在申请说明中写明删除原因"))
    return {}


CHECKS = {"add": _check_add, "modify": _check_modify, "delete": _check_delete}


def snapshot(inst):
    return {k: getattr(inst, k) for k in SNAPSHOT_FIELDS}


def values_of(change):
    return json.loads(change.content) if change.content else {}


def merge(change, user):
    """审核通过: the change becomes part of the reported data; the institution's audit
    record and the request both keep before and after. No commit (the engine commits)."""
    values = values_of(change)
    county = change.organization
    if change.kind == "add":
        superior = _superior(county, values.pop("superior", None))
        tier = "unit" if superior.id == county.id else "station"
        values, errors = clean_fields(values)
        if errors:
            fail(errors)
        inst = build_institution(user, tier, values, superior=superior)
        change.institution_id = inst.id
        change.before = None
        after = snapshot(inst)
    else:
        inst = change.institution
        if inst is None or inst.deleted:
            raise ConflictError(_("该机构已删除，无法%(k)s", k=change.kind_label))
        change.before = json.dumps(snapshot(inst), ensure_ascii=False, default=str)
        if change.kind == "modify":
            values, errors = clean_fields(values, partial=True)
            if errors:
                fail(errors)
            changes = apply_values(inst, values)
        else:
            changes = {"deleted": (False, True)}
            for row in [inst] + _stations_of(inst):
                row.deleted = True
        after = snapshot(inst)
        audit.record(user, "delete" if change.kind == "delete" else "update", obj=inst,
                     comment=_("申请修改#%(id)s 审核通过：%(c)s", id=change.id,
                               c=describe_changes(changes)))
    db.session.flush()
    return after


def _stations_of(inst):
    if inst.tier != "unit":
        return []
    return db.session.execute(select(PhsInstitution).where(
        PhsInstitution.tier == "station", PhsInstitution.organization_id == inst.organization_id,
        PhsInstitution.deleted.is_(False))).scalars().all()


def comparison(change):
    """[(field, label, before, after)] for the detail page and the API."""
    values = values_of(change)
    before = json.loads(change.before) if change.before else (
        snapshot(change.institution) if change.institution is not None and
        change.state == PhsChangeRequestState.PENDING else {})
    rows = []
    for name in EDITABLE_FIELDS:
        if name in values:
            rows.append((name, item_label(name), before.get(name), values[name]))
    return rows
