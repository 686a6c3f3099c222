"""基本公卫机构信息报送 rules (SPEC H1–H4): the ten data items and what 'complete' means,
who fills which institution and when, adding institutions (a county's new unit gets an
account), 机构隶属关系维护, and the hierarchy the reports travel along."""
from sqlalchemy import func, select, true

from app.extensions import appbuilder, db
from app.i18n import _
from app.models.core import Organization, User
from app.models.phs import (DATA_ITEMS, INSTITUTION_TYPES, SERVICE_ITEMS, SPONSOR_TYPES,
                            PhsInstitution, PhsProgress, PhsReport, PhsRound)
from app.scope import is_superadmin
from app.services import accounts, audit, validators
from app.workflows.engine import Refusal

NATIONAL, PROVINCE, CITY, COUNTY, UNIT = "H 国家", "H 省级", "H 市级", "H 县级", "H 基层机构"
AREA_ROLE_OF_LEVEL = {"nation": NATIONAL, "province": PROVINCE, "city": CITY, "county": COUNTY}
OPEN_STATES = ("draft", "returned")
# Institution types a county adds as units (manual: 社区卫生服务中心、乡镇卫生院 and 县级专业技术
# 机构; an independent 社区卫生服务站 hangs under the county too).
PUBLIC_HEALTH_TYPES = ("cdc", "supervision", "disease_prevention")
EDITABLE_FIELDS = ("name", "code", "contact", "phone", "township", "address_detail",
                   "inst_type", "sponsor", "longitude", "latitude", "services")
LIMITS = {"name": 128, "code": 32, "contact": 32, "township": 64, "address_detail": 128}


def has_role(user, name):
    return any(r.name == name for r in (getattr(user, "roles", None) or []))


# ---- rounds and reports -------------------------------------------------------------------------
def current_round():
    """The newest round; the first one is opened on first use."""
    found = db.session.execute(select(PhsRound).order_by(PhsRound.id.desc()).limit(1)) \
        .scalar_one_or_none()
    if found is None:
        found = PhsRound(name="第1轮信息报送")      # stored data: the source language
        db.session.add(found)
        db.session.commit()
    return found


def report_of(org, round_=None, create=True):
    """The organisation's report in the round (a draft is made when asked for)."""
    round_ = round_ or current_round()
    found = db.session.execute(select(PhsReport).where(
        PhsReport.task_id == round_.id, PhsReport.organization_id == org.id)).scalar_one_or_none()
    if found is None and create:
        found = PhsReport(task_id=round_.id, organization_id=org.id, state="draft",
                          kind="aggregate" if org.org_type == "health_commission" else "unit")
        found.copy_scope_from(org)
        db.session.add(found)
        db.session.flush()
    return found


def area_org(level, code):
    """The health commission of a region level (县 / 市 / 省), or the national one."""
    query = select(Organization).where(Organization.active.is_(True))
    if level == "nation":
        query = query.where(Organization.org_type == "national")
    else:
        column = {"province": Organization.province_code, "city": Organization.city_code,
                  "county": Organization.county_code}[level]
        query = query.where(Organization.org_type == "health_commission",
                            Organization.level == level, column == code)
    return db.session.execute(query.order_by(Organization.id).limit(1)).scalar_one_or_none()


def superior_of(org):
    """Unit → its county (the superior its institution names); county → city → province →
    national."""
    if org.org_type == "health_commission":
        up = {"county": ("city", org.city_code), "city": ("province", org.province_code),
              "province": ("nation", None)}.get(org.level)
        return area_org(*up) if up else None
    if org.org_type == "national":
        return None
    inst = unit_institution(org)
    return inst.superior_org if inst is not None else None


def subordinates_of(org):
    """The organisations that report to `org`, in unit-code order."""
    if org.org_type == "health_commission" and org.level == "county":
        query = select(Organization).join(
            PhsInstitution, PhsInstitution.organization_id == Organization.id).where(
            PhsInstitution.tier == "unit", PhsInstitution.deleted.is_(False),
            PhsInstitution.superior_org_id == org.id)
    else:
        below = {"national": ("province", None), "province": ("city", "province_code"),
                 "city": ("county", "city_code")}
        key = "national" if org.org_type == "national" else org.level
        if org.org_type not in ("national", "health_commission") or key not in below:
            return []
        level, column = below[key]
        query = select(Organization).where(Organization.org_type == "health_commission",
                                           Organization.active.is_(True),
                                           Organization.level == level)
        if column:
            query = query.where(getattr(Organization, column) == getattr(org, column))
    return db.session.execute(query.order_by(Organization.unit_code)).scalars().all()


def unit_institution(org):
    return db.session.execute(select(PhsInstitution).where(
        PhsInstitution.tier == "unit", PhsInstitution.organization_id == org.id,
        PhsInstitution.deleted.is_(False))).scalars().first()


# ---- the ten data items -------------------------------------------------------------------------
def _text(data, name):
    value = data.get(name)
    return value.strip() if isinstance(value, str) else (None if value is None else str(value))


def clean_fields(data, partial=False):
    """The editable data items from a form or JSON body → (values, {field: [message]}).
    Empty is allowed (保存 any time); what is given must be valid. `partial` keeps only
    the keys present (a change request or a REST PUT names what it changes)."""
    values, errors = {}, {}
    present = (lambda n: n in data) if partial else (lambda n: True)
    for name, limit in LIMITS.items():
        if present(name):
            value = _text(data, name) or None
            if value and len(value) > limit:
                errors[name] = [_("%(f)s不能超过%(n)s个字", f=item_label(name), n=limit)]
            values[name] = value
    if present("name") and not values.get("name"):
        errors["name"] = [_("请填写机构名称")]
    code = values.get("code")
    if code and not (code.isascii() and code.replace("-", "").isalnum()):
        errors["code"] = [_("机构编码只能包含字母、数字和“-”")]
    if present("phone"):
        phone = _text(data, "phone")
        try:
            values["phone"] = validators.check_phone(phone) if phone else None
        except validators.ValidationError as exc:
            errors["phone"] = [exc.message]
    if present("inst_type"):
        values["inst_type"] = _text(data, "inst_type") or None
        if values["inst_type"] and values["inst_type"] not in INSTITUTION_TYPES:
            errors["inst_type"] = [_("请从列表中选择机构类型")]
    if present("sponsor"):
        values["sponsor"] = _text(data, "sponsor") or None
        if values["sponsor"] and values["sponsor"] not in SPONSOR_TYPES:
            errors["sponsor"] = [_("主办类型只能是政府办、社会办或私人办")]
    if present("longitude") or present("latitude"):
        _coordinates(data, values, errors)
    if present("services"):
        _services(data, values, errors)
    return values, errors


def item_label(name):
    extra = {"township": _("所在乡镇（街道）"), "address_detail": _("详细地址"),
             "longitude": _("经度"), "latitude": _("纬度")}
    return extra.get(name) or DATA_ITEMS.get(name, name)


def _coordinates(data, values, errors):
    lng, lat = _text(data, "longitude"), _text(data, "latitude")
    if not lng and not lat:
        values["longitude"] = values["latitude"] = None
        return
    if not lng or not lat:
        errors["coordinates"] = [_("经度和纬度需同时填写")]
        return
    try:
        values["longitude"], values["latitude"] = validators.check_coordinates(lng, lat)
    except validators.ValidationError as exc:
        errors["coordinates"] = [exc.message]


def _services(data, values, errors):
    raw = data.get("services")
    if raw is None:
        codes = []
    elif isinstance(raw, str):
        codes = [c.strip() for c in raw.replace("，", ",").split(",") if c.strip()]
    elif isinstance(raw, (list, tuple)):
        codes = [str(c).strip() for c in raw if str(c).strip()]
    else:
        errors["services"] = [_("承担项目内容格式无效")]
        return
    unknown = [c for c in codes if c not in SERVICE_ITEMS]
    if unknown:
        errors["services"] = [_("未知的服务项目：%(c)s", c="、".join(unknown))]
        return
    values["services"] = ",".join(c for c in SERVICE_ITEMS if c in codes) or None


def missing_items(inst):
    """The data items of 表2 still missing on `inst` (complete = none missing)."""
    missing = []
    for name, present in (("name", inst.name), ("code", inst.code), ("contact", inst.contact),
                          ("phone", inst.phone), ("address", inst.address_detail),
                          ("inst_type", inst.inst_type), ("sponsor", inst.sponsor),
                          ("coordinates", inst.longitude is not None
                           and inst.latitude is not None),
                          ("superior", inst.superior_org_id), ("services", inst.services)):
        if not present:
            missing.append(str(DATA_ITEMS[name]))
    return missing


def refresh_complete(inst):
    inst.is_complete = not missing_items(inst)


def fail(errors):
    raise Refusal(_("请检查填写的信息：%(m)s", m="；".join(
        str(m) for msgs in errors.values() for m in msgs)), status=422, fields=errors)


# ---- who fills what, and when ---------------------------------------------------------------------
def edit_refusal(inst, user):
    """Why `user` may not change `inst` now (None when allowed)."""
    if inst.deleted:
        return Refusal(_("该机构已删除"), status=404)
    owner = inst.organization_id == user.organization_id
    county_of_unit = (inst.tier == "unit" and has_role(user, COUNTY)
                      and inst.superior_org_id == user.organization_id)
    if not (owner or county_of_unit or is_superadmin(user)):
        return Refusal(_("只能修改本机构填报的机构信息"), status=403)
    report = report_of(inst.organization, create=False)    # the report carrying it
    if report is not None and report.state not in OPEN_STATES:
        return Refusal(_("“%(name)s”的信息已上报（%(s)s），不能修改；如需修改请由县级申请修改",
                         name=inst.organization.name, s=report.state_label))
    county = inst.superior_org if inst.tier == "unit" else None
    if county is not None and county_of_unit:
        mine = report_of(county, create=False)
        if mine is not None and mine.state not in OPEN_STATES:
            return Refusal(_("本县已确认并上报，不能修改；如需修改请申请修改"))
    return None


def save(inst, data, user):
    """保存 (any time, incomplete allowed): every item checked at once; nothing is written
    when one is wrong (422 naming each)."""
    refusal = edit_refusal(inst, user)
    if refusal is not None:
        raise refusal
    values, errors = clean_fields({k: data.get(k) for k in EDITABLE_FIELDS if k in data} |
                                  ({} if "name" in data else {"name": inst.name}), partial=True)
    if errors:
        fail(errors)
    changes = apply_values(inst, values)
    audit.record(user, "update", obj=inst, comment=describe_changes(changes) or None)
    db.session.commit()
    return inst


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


def describe_changes(changes):
    return "；".join(f"{item_label(name)}：{'' if a is None else a} → {'' if b is None else b}"
                    for name, (a, b) in changes.items())


def remove(inst, user):
    """删除 a station or an own professional institution while its report is open (a unit
    leaves only by a change request: it has an account and a report). The row is kept,
    marked deleted."""
    if inst.tier == "unit":
        raise Refusal(_("基层机构不能直接删除，请由县级申请修改（删除）"))
    refusal = edit_refusal(inst, user)
    if refusal is not None:
        raise refusal
    inst.deleted = True
    audit.record(user, "delete", obj=inst, comment=inst.name)
    db.session.commit()


def add_kind(user):
    """What 新增 adds for this user: a county adds units (with accounts), a unit its
    stations, a city or province its own professional institutions."""
    if has_role(user, COUNTY) and user.organization.level == "county":
        return "unit"
    if has_role(user, UNIT):
        return "station"
    if (has_role(user, CITY) or has_role(user, PROVINCE)) and \
            user.organization.level in ("city", "province"):
        return "area"
    return None


def add_institution(user, data):
    """新增. A county's new unit needs at least name, township and (fixed) superior and gets
    its own organisation and account (login name = unit code, initial password, forced
    change); the caller shows the login name. All or nothing."""
    tier = add_kind(user)
    if tier is None:
        raise Refusal(_("您没有新增机构的权限"), status=403)
    mine = user.organization
    report = report_of(mine, create=False)
    if report is not None and report.state not in OPEN_STATES:
        raise Refusal(_("本级已上报（%(s)s），不能新增；如需新增请申请修改", s=report.state_label))
    values, errors = clean_fields({k: data.get(k) for k in EDITABLE_FIELDS})
    if tier == "unit" and not values.get("township"):
        errors.setdefault("township", []).append(_("请填写所在乡镇（街道）"))
    if errors:
        fail(errors)
    try:
        inst = build_institution(user, tier, values)
        db.session.commit()
    except (Refusal, ValueError) as exc:      # e.g. the generated login name is taken
        db.session.rollback()
        raise exc if isinstance(exc, Refusal) else Refusal(str(exc), status=422) from None
    return inst


def build_institution(actor, tier, values, superior=None):
    """Create the row (and, for a unit, its organisation and account); no commit."""
    mine = actor.organization
    if tier == "station":
        owner = superior or mine
        inst = PhsInstitution(tier="station", organization_id=owner.id, superior_org_id=owner.id,
                              region_id=owner.region_id)
        inst.copy_scope_from(owner)
        values["inst_type"] = values.get("inst_type") or "village_clinic"
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
        raise Refusal(_("您没有为该机构创建账号的权限"), status=403)
    accounts.create_user(actor, org, org.unit_code, org.name, roles=[UNIT])
    audit.record(actor, "create", obj=org, comment=org.name)
    return org


def login_names(org_ids):
    """{organisation id: first login name} in one query (shown in the county's list)."""
    if not org_ids:
        return {}
    rows = db.session.execute(select(User.organization_id, func.min(User.username))
                              .where(User.organization_id.in_(list(org_ids)))
                              .group_by(User.organization_id)).all()
    return dict(rows)


# ---- 机构隶属关系维护 -------------------------------------------------------------------------------
def unattached_orgs(county):
    """Institutions that already exist in the county (accounts of the old report system)
    and have no superior here yet."""
    described = select(PhsInstitution.source_org_id).where(
        PhsInstitution.source_org_id.is_not(None))
    return db.session.execute(select(Organization).where(
        Organization.county_code == county.county_code, Organization.active.is_(True),
        Organization.org_type.in_(("medical", "public_health")),
        Organization.id.not_in(described)).order_by(Organization.unit_code)).scalars().all()


def superior_choices(county):
    """The county itself, then its units (for a station)."""
    return [county] + [o for o in subordinates_of(county)]


def attach_existing(user, org_ids, superior_id):
    """Confirm the superior of several existing institutions at once; all or nothing. Under
    the county an institution becomes a unit (its accounts get the unit role); under a
    unit, one of its stations."""
    county = user.organization
    if not has_role(user, COUNTY) or county.level != "county":
        raise Refusal(_("只有县级用户可以维护机构隶属关系"), status=403)
    choices = {str(o.id): o for o in superior_choices(county)}
    superior = choices.get(str(superior_id or ""))
    if superior is None:
        raise Refusal(_("请选择上级机构"), status=422, fields={"superior": [_("必选")]})
    candidates = {str(o.id): o for o in unattached_orgs(county)}
    ids = [str(i) for i in dict.fromkeys(org_ids or [])]
    if not ids:
        raise Refusal(_("请至少选择一个机构"), status=422)
    unknown = [i for i in ids if i not in candidates]
    if unknown:
        raise Refusal(_("所选机构不在本县待维护的机构中，未做任何修改"), status=404)
    tier = "unit" if superior.id == county.id else "station"
    holder = superior if tier == "station" else county
    report = report_of(holder, create=False)
    if report is not None and report.state not in OPEN_STATES:
        raise Refusal(_("“%(n)s”已上报（%(s)s），不能再挂靠机构", n=holder.name,
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


# ---- completeness of a unit's report ---------------------------------------------------------------
def institutions_of(org):
    """The rows an organisation's report carries (its own institution first)."""
    return db.session.execute(select(PhsInstitution).where(
        PhsInstitution.organization_id == org.id, PhsInstitution.deleted.is_(False))
        .order_by(PhsInstitution.tier != "unit", PhsInstitution.id)).scalars().all()


def report_problems(org):
    """'机构名：缺 a、b' for each incomplete institution the report carries."""
    missing = ((inst, missing_items(inst)) for inst in institutions_of(org))
    return [_("%(name)s：缺%(items)s", name=inst.name, items="、".join(items))
            for inst, items in missing if items]


def levels_above(county):
    """The county's city, province and national organisations, nearest first."""
    chain, org = [], superior_of(county)
    while org is not None:
        chain.append(org)
        org = superior_of(org)
    return chain


def data_holder(county, round_=None):
    """The level holding a reported county's data: the first level above it whose own
    report has not gone further up (national in the end)."""
    chain = levels_above(county)
    for org in chain:
        if org.org_type == "national":
            return org
        report = report_of(org, round_, create=False)
        if report is None or report.state in OPEN_STATES:
            return org
    return chain[-1] if chain else None


def data_is_above(change):
    """The holder of the requesting county's data, when it is above the level the request
    waits at (the request has to travel on); None when the data is here or below (a 退回
    brought it back down), where this level decides."""
    chain = levels_above(change.organization)
    holder = data_holder(change.organization)
    ids = [o.id for o in chain]
    if holder is None or change.reviewer_org_id not in ids:
        return None
    return holder if ids.index(holder.id) > ids.index(change.reviewer_org_id) else None


def reports_of_orgs(task_id, orgs):
    """The reports of several organisations in a round, in one query."""
    ids = [o.id for o in orgs]
    if not ids:
        return []
    return db.session.execute(select(PhsReport).where(
        PhsReport.task_id == task_id, PhsReport.organization_id.in_(ids))).scalars().all()


# ---- 上报进度 ------------------------------------------------------------------------------------
def _counts(stmt):
    """{key: (live institutions, complete ones)}, keys with no live institution left out."""
    return {k: (int(t), int(c or 0)) for k, t, c in db.session.execute(stmt) if t}


def progress_tree(user, county=None):
    """The completeness tree from the caller's level down: each node with its report state
    and complete / all institutions under it. Units are listed from the city down; above,
    counties carry their units' totals and open on their own (`county`, a county code in
    the caller's scope). One query per kind of row (areas, units, GROUP BY counts,
    reports); the tree is assembled from those."""
    from app.scope import region_scope, scope_of
    round_ = current_round()
    with_units = county is not None or scope_of(user)[0] in ("city", "county", "org")
    narrow = (lambda model: model.county_code == county) if county else (lambda model: true())
    areas = db.session.execute(select(Organization).where(
        Organization.org_type.in_(("health_commission", "national")),
        Organization.level.in_(("nation", "province", "city", "county")),
        Organization.active.is_(True), region_scope(Organization, user), narrow(Organization))
        .order_by(Organization.unit_code)).scalars().all()
    live = (PhsInstitution.deleted.is_(False), region_scope(PhsInstitution, user),
            narrow(PhsInstitution))
    # Counts from the summary table (live / complete institutions per unit and tier).
    P = PhsProgress
    counted = (region_scope(P, user), narrow(P))
    sums = (func.sum(P.total), func.sum(P.complete))
    if with_units:
        units = db.session.execute(select(
            PhsInstitution.organization_id, PhsInstitution.superior_org_id, PhsInstitution.name)
            .where(PhsInstitution.tier == "unit", *live).order_by(PhsInstitution.id)).all()
        counts = _counts(select(P.organization_id, *sums).where(*counted)
                         .group_by(P.organization_id))
        county_counts = {}
    else:
        units = []
        counts = _counts(select(P.organization_id, *sums).where(P.tier == "area", *counted)
                         .group_by(P.organization_id))
        county_counts = _counts(select(P.county_code, *sums).where(P.tier != "area", *counted)
                                .group_by(P.county_code))
    reports = {r.organization_id: r for r in db.session.execute(select(PhsReport).where(
        PhsReport.task_id == round_.id, region_scope(PhsReport, user),
        narrow(PhsReport))).scalars()}

    def node(org_id, name, level, counted):
        total, done = counted
        return {"org_id": org_id, "name": name, "level": level, "report": reports.get(org_id),
                "code": None,
                "total": total, "complete": int(done), "children": []}

    nodes, roots, by_code = {}, [], {}
    for org in areas:
        own = counts.get(org.id, (0, 0))
        if org.level == "county" and not with_units:
            extra = county_counts.get(org.county_code, (0, 0))
            own = (own[0] + extra[0], own[1] + extra[1])
        nodes[org.id] = node(org.id, org.name, org.level, own)
        nodes[org.id]["code"] = org.county_code
        by_code[(org.level, _code_of(org))] = nodes[org.id]
    for org_id, superior_id, name in units:
        child = nodes.setdefault(org_id, node(org_id, name, "unit", counts.get(org_id, (0, 0))))
        parent = nodes.get(superior_id)
        (parent["children"] if parent else roots).append(child)
    parent_level = {"province": "nation", "city": "province", "county": "city"}
    for org in areas:
        n = nodes[org.id]
        parent = (by_code.get((parent_level[org.level], _code_of(org, parent_level[org.level])))
                  if org.level in parent_level else None)
        (parent["children"] if parent else roots).append(n)
    for root in roots:
        _roll_up(root)
    return roots


def _code_of(org, level=None):
    level = level or org.level
    return None if level == "nation" else getattr(org, f"{level}_code")


def _roll_up(n):
    for child in n["children"]:
        _roll_up(child)
        n["total"] += child["total"]
        n["complete"] += child["complete"]
