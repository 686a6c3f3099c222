"""基本公卫 commands (SPEC H2–H4): 保存, 删除, 新增 (a county's new unit with its account),
机构隶属关系维护, opening the caller's report. Each command checks with the rules, writes,
audits and commits at its end (all or nothing); the helpers without a commit say so."""
from sqlalchemy import select

from app.errors import ConflictError, DomainError, ForbiddenError, InvalidError, NotFoundError
from app.extensions import appbuilder, db
from app.i18n import _
from app.models.core import Organization, User
from app.models.phs import OPEN_STATES, PhsInstitution
from app.scope import is_superadmin
from app.services import accounts, audit, validators
from app.services.phs.queries import (created_by_county, missing_items, report_of,
                                      superior_choices, unattached_orgs)
from app.workflows.engine import lock
from app.services.phs.rules import (COUNTY, EDITABLE_FIELDS, PUBLIC_HEALTH_TYPES, UNIT, add_kind,
                                    add_refusal, clean_fields, duplicate_errors, edit_refusal,
                                    fail, has_role, item_label, value_text)


def open_report(org):
    """The organisation's report of the current round, opened (and committed) on a first
    visit: the list screen, the review screen and GET mine show it with its buttons."""
    report = report_of(org)
    db.session.commit()
    return report


def save(inst, data, user):
    """保存 (any time, incomplete allowed): every item checked at once; nothing is written
    when one is wrong (422 naming each)."""
    _lock_reports(inst)
    refusal = edit_refusal(inst, user)
    if refusal is not None:
        raise refusal
    values, errors = clean_fields({k: data.get(k) for k in EDITABLE_FIELDS if k in data} |
                                  ({} if "name" in data else {"name": inst.name}), partial=True)
    if errors:
        fail(errors)
    errors = duplicate_errors(inst.county_code, {k: v for k, v in values.items()
                                                 if k in ("name", "code") and v != getattr(inst, k)},
                              exclude_id=inst.id)
    if errors:
        fail(errors)
    changes = apply_values(inst, values)
    audit.record(user, "update", obj=inst, comment=describe_changes(changes) or None)
    db.session.commit()
    return inst


def remove(inst, user):
    """删除 a station or an own professional institution while its report is open; a unit
    only by its county, while the county has not reported (a unit added by mistake): its
    stations go with it and the accounts the county's 新增 made are disabled. Rows are kept,
    marked deleted; an existing institution attached here returns to 机构隶属关系维护."""
    if inst.tier == "unit" and not (has_role(user, COUNTY)
                                    and inst.superior_org_id == user.organization_id):
        raise ConflictError(_("基层机构只能由县级在确认并上报前删除；县级已上报的，请由县级申请修改（删除）"))
    _lock_reports(inst)
    refusal = edit_refusal(inst, user)
    if refusal is not None:
        raise refusal
    rows = [inst] + (unit_stations(inst) if inst.tier == "unit" else [])
    for row in rows:
        row.deleted = True
        audit.record(user, "delete", obj=row, comment=row.name)
    if inst.tier == "unit":
        _withdraw_unit(inst, user)
    db.session.commit()


def _withdraw_unit(inst, user):
    """A deleted unit: the accounts its county's 新增 made are disabled (and their sessions
    ended); an existing organisation attached by 机构隶属关系维护 is released to it again."""
    org = inst.organization
    if not created_by_county(org):
        inst.source_org_id = None
        return
    org.active = False
    for account in db.session.execute(select(User).where(
            User.organization_id == org.id, User.active.is_(True))).scalars():
        account.active = False
        appbuilder.sm.end_sessions(account)
        audit.record(user, "user_disable", obj=account,
                     comment=_("%(u)s（机构“%(n)s”已删除）", u=account.username, n=inst.name))


def unit_stations(inst):
    """The live stations a unit fills."""
    return db.session.execute(select(PhsInstitution).where(
        PhsInstitution.tier == "station", PhsInstitution.organization_id == inst.organization_id,
        PhsInstitution.deleted.is_(False))).scalars().all()


def add_institution(user, data):
    """新增. A county's new unit needs at least name, township and (fixed) superior and gets
    its own organisation and account (login name = unit code, initial password, forced
    change); the caller shows the login name. All or nothing."""
    refusal = add_refusal(user)
    if refusal is not None:
        raise refusal
    tier = add_kind(user)
    values, errors = clean_fields({k: data.get(k) for k in EDITABLE_FIELDS})
    if tier == "unit" and not values.get("township"):
        errors.setdefault("township", []).append(_("请填写所在乡镇（街道）"))
    if tier == "station" and not values.get("inst_type"):
        errors.setdefault("inst_type", []).append(_("请选择机构类型（村卫生室或社区卫生服务站）"))
    if not errors:
        errors = duplicate_errors(user.organization.county_code, values)
    if errors:
        fail(errors)
    try:
        inst = build_institution(user, tier, values)
    except DomainError:
        db.session.rollback()       # the unit's organisation was flushed: not kept
        raise
    except ValueError as exc:       # accounts: e.g. the generated login name is taken
        db.session.rollback()
        raise InvalidError(str(exc)) from None
    db.session.commit()
    return inst


def build_institution(actor, tier, values, superior=None):
    """Create the row (and, for a unit, its organisation and account); no commit."""
    mine = actor.organization
    if tier == "station":
        owner = superior or mine
        inst = PhsInstitution(tier="station", organization_id=owner.id, superior_org_id=owner.id,
                              region_id=owner.region_id)
        inst.copy_scope_from(owner)
    elif tier == "unit":
        county = superior or mine
        org = _unit_org(actor, county, values)
        inst = PhsInstitution(tier="unit", organization_id=org.id, source_org_id=org.id,
                              superior_org_id=county.id, region_id=county.region_id)
        inst.copy_scope_from(county)
    else:
        inst = PhsInstitution(tier="area", organization_id=mine.id, superior_org_id=mine.id,
                              region_id=mine.region_id)
        inst.copy_scope_from(mine)
    db.session.add(inst)
    apply_values(inst, values)
    db.session.flush()
    audit.record(actor, "create", obj=inst, comment=inst.name)
    return inst


def _unit_org(actor, county, values):
    region = county.region
    org_type = "public_health" if values.get("inst_type") in PUBLIC_HEALTH_TYPES else "medical"
    org = Organization(name=values["name"], org_type=org_type,
                       level="township" if values.get("township") else "county",
                       region=region, unit_code=accounts.next_unit_code(region),
                       phone=values.get("phone"))
    org.copy_scope_from(region)
    db.session.add(org)
    db.session.flush()
    if not is_superadmin(actor) and not accounts.may_create_account(actor, org):
        raise ForbiddenError(_("您没有为该机构创建账号的权限"))
    accounts.create_user(actor, org, org.unit_code, org.name, roles=[UNIT])
    audit.record(actor, "create", obj=org, comment=org.name)
    return org


def attach_existing(user, org_ids, superior_id):
    """Confirm the superior of several existing institutions at once; all or nothing. Under
    the county an institution becomes a unit (its accounts get the unit role); under a
    unit, one of its stations."""
    county = user.organization
    if not has_role(user, COUNTY) or county.level != "county":
        raise ForbiddenError(_("只有县级用户可以维护机构隶属关系"))
    choices = {str(o.id): o for o in superior_choices(county)}
    superior = choices.get(str(superior_id or ""))
    if superior is None:
        raise InvalidError(_("请选择上级机构"), fields={"superior": [_("必选")]})
    candidates = {str(o.id): o for o in unattached_orgs(county)}
    ids = [str(i) for i in dict.fromkeys(org_ids or [])]
    if not ids:
        raise InvalidError(_("请至少选择一个机构"), fields={"org": [_("必选")]})
    unknown = [i for i in ids if i not in candidates]
    if unknown:
        raise NotFoundError(_("所选机构不在本县待维护的机构中，未做任何修改"))
    tier = "unit" if superior.id == county.id else "station"
    holder = superior if tier == "station" else county
    report = report_of(holder, create=False)
    if report is not None and report.state not in OPEN_STATES:
        raise ConflictError(_("“%(n)s”已上报（%(s)s），不能再挂靠机构", n=holder.name,
                              s=report.state_label))
    unit_role = appbuilder.sm.find_role(UNIT)
    made = []
    for key in ids:
        org = candidates[key]
        values = {"name": org.name, "phone": _valid_phone(org.phone),
                  "address_detail": org.address}
        if tier == "unit":
            inst = PhsInstitution(tier="unit", organization_id=org.id,
                                  superior_org_id=county.id, region_id=county.region_id)
            inst.copy_scope_from(county)
            for account in db.session.execute(select(User).where(
                    User.organization_id == org.id)).scalars():
                if unit_role is not None and unit_role not in account.roles:
                    account.roles.append(unit_role)
        else:
            inst = PhsInstitution(tier="station", organization_id=superior.id,
                                  superior_org_id=superior.id, region_id=superior.region_id)
            inst.copy_scope_from(superior)
        inst.source_org_id = org.id
        db.session.add(inst)
        apply_values(inst, values)
        db.session.flush()
        audit.record(user, "create", obj=inst,
                     comment=_("机构隶属关系维护：上级机构 %(s)s", s=superior.name))
        made.append(inst)
    db.session.commit()
    return made


def _valid_phone(phone):
    try:
        return validators.check_phone(phone) if phone else None
    except validators.ValidationError:
        return None


# ---- helpers of the commands (no commit) --------------------------------------------------------
def _lock_reports(inst):
    """The reports edit_refusal reads, county first, as 上报 and 确认并上报 lock them (their
    guards read the institutions): an edit and a submission run one after the other."""
    county = inst.superior_org if inst.tier == "unit" else None
    lock([report_of(county, create=False)] if county is not None else [])
    lock([report_of(inst.organization, create=False)])


def apply_values(inst, values):
    """Set the values; returns {field: (before, after)} of what changed."""
    changes = {}
    for name, value in values.items():
        before = getattr(inst, name)
        if before != value:
            changes[name] = (before, value)
            setattr(inst, name, value)
    if "name" in changes and inst.tier == "unit" and inst.organization is not None:
        inst.organization.name = inst.name    # the unit's account organisation is the unit
    refresh_complete(inst)
    return changes


def refresh_complete(inst):
    inst.is_complete = not missing_items(inst)


def describe_changes(changes):
    """'机构类型：村卫生室 → 社区卫生服务站；…' (labels, never the stored codes)."""
    def text(name, value):
        shown = value_text(name, value)
        return "" if shown is None else shown
    return "；".join(f"{item_label(name)}：{text(name, a)} → {text(name, b)}"
                    for name, (a, b) in changes.items())
