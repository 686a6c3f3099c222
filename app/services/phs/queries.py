"""基本公卫 look-ups and figures (SPEC H3–H5): the round and each organisation's report in
it, the hierarchy the reports travel along (unit → county → city → province → national),
who reports to whom, what an institution still misses, the level holding a county's data,
and the 上报进度 tree. Nothing here commits, except the first round opened on first use."""
from sqlalchemy import func, select, true

from app.extensions import db
from app.i18n import _
from app.models.audit import AuditLog
from app.models.core import Organization, User
from app.models.phs import (DATA_ITEMS, OPEN_STATES, PhsInstitution, PhsProgress, PhsReport,
                            PhsReportState, PhsRound)
from app.scope import region_scope, scope_of


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
        found = PhsReport(task_id=round_.id, organization_id=org.id,
                          state=PhsReportState.DRAFT.value,
                          kind="aggregate" if org.org_type == "health_commission" else "unit")
        found.copy_scope_from(org)
        db.session.add(found)
        db.session.flush()
    return found


# ---- the hierarchy ------------------------------------------------------------------------------
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


def reports_of_orgs(task_id, orgs):
    """The reports of several organisations in a round, in one query."""
    ids = [o.id for o in orgs]
    if not ids:
        return []
    return db.session.execute(select(PhsReport).where(
        PhsReport.task_id == task_id, PhsReport.organization_id.in_(ids))).scalars().all()


# ---- accounts and 机构隶属关系维护 --------------------------------------------------------------
def login_names(org_ids):
    """{organisation id: first login name} in one query (shown in the county's list)."""
    if not org_ids:
        return {}
    rows = db.session.execute(select(User.organization_id, func.min(User.username))
                              .where(User.organization_id.in_(list(org_ids)))
                              .group_by(User.organization_id)).all()
    return dict(rows)


def initial_password_orgs(org_ids):
    """The organisations (of these) whose first account still has the initial password."""
    if not org_ids:
        return set()
    return set(db.session.execute(select(User.organization_id).where(
        User.organization_id.in_(list(org_ids)), User.active.is_(True),
        User.must_change_password.is_(True))).scalars())


def unit_accounts(org):
    """The active accounts of a unit, oldest first (the 账号通知单)."""
    return db.session.execute(select(User).where(
        User.organization_id == org.id, User.active.is_(True)).order_by(User.id)).scalars().all()


def unattached_orgs(county):
    """Institutions that already exist in the county (accounts of the old report system)
    and have no superior here yet."""
    described = select(PhsInstitution.source_org_id).where(
        PhsInstitution.source_org_id.is_not(None))
    return db.session.execute(select(Organization).where(
        Organization.county_code == county.county_code, Organization.active.is_(True),
        Organization.org_type.in_(("medical", "public_health")),
        Organization.id.not_in(described)).order_by(Organization.unit_code)).scalars().all()


def namesakes(county_code, name, code, exclude_id=None):
    """The live institutions of a county, and its organisations not yet described, named
    `name` or coded `code`: [(item, name)] for the duplicate warning of 新增 / 保存."""
    I = PhsInstitution
    same = (I.name == name) if not code else ((I.name == name) | (I.code == code))
    rows = db.session.execute(select(I).where(
        I.county_code == county_code, I.deleted.is_(False), same,
        I.id != (exclude_id or 0))).scalars().all()
    described = select(I.source_org_id).where(I.source_org_id.is_not(None))
    orgs = db.session.execute(select(Organization).where(
        Organization.county_code == county_code, Organization.active.is_(True),
        Organization.org_type.in_(("medical", "public_health")), Organization.name == name,
        Organization.id.not_in(described))).scalars().all() if name else []
    return rows + orgs


def created_by_county(org):
    """Was this unit's organisation made by a county's 新增 (not an existing one attached)?"""
    return db.session.execute(select(AuditLog.id).where(
        AuditLog.action == "create", AuditLog.object_type == Organization.__tablename__,
        AuditLog.object_id == org.id).limit(1)).first() is not None


def superior_choices(county):
    """The county itself, then its units (for a station)."""
    return [county] + [o for o in subordinates_of(county)]


# ---- completeness of a report -------------------------------------------------------------------
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


# ---- the level holding a county's data (申请修改) -----------------------------------------------
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


# ---- 上报进度 -----------------------------------------------------------------------------------
def _counts(stmt):
    """{key: (live institutions, complete ones)}, keys with no live institution left out."""
    return {k: (int(t), int(c or 0)) for k, t, c in db.session.execute(stmt) if t}


def progress_tree(user, county=None):
    """The completeness tree from the caller's level down: each node with its report state
    and complete / all institutions under it. Units are listed from the city down; above,
    counties carry their units' totals and open on their own (`county`, a county code in
    the caller's scope). One query per kind of row (areas, units, GROUP BY counts,
    reports); the tree is assembled from those."""
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
