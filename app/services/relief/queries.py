"""疾病应急救助 figures by area (救助数据统计): read from the summary table, one row per
institution × state × category (app/summaries.py), never from the applications — a
national figure adds up a few thousand rows whatever the number of applications."""
from sqlalchemy import func, select

from app.extensions import db
from app.models.core import Organization, Region
from app.models.relief import APPLICATION_STATE_LABELS, ReliefSummary
from app.models.types import fen_to_yuan
from app.scope import region_in_scope, region_scope, scope_of

STATES = ("draft", "submitted", "returned", "approved", "rejected", "disbursed")
CHILD_COLUMN = {"all": "province_code", "nation": "province_code", "province": "city_code",
                "city": "county_code", "county": "organization_id", "org": "organization_id"}
AREA_COLUMN = {"province": "province_code", "city": "city_code", "county": "county_code"}


def area_of(user, code):
    """The region a drill-down asks for, if it is inside the caller's scope (else None)."""
    if not code:
        return None
    region = db.session.execute(select(Region).where(Region.code == code)).scalar_one_or_none()
    if region is None or region.level not in AREA_COLUMN or not region_in_scope(region, user):
        return None
    return region


def figures(user, area=None):
    """[{key, name, drill, counts: {state: n}, total, requested, disbursed}] for the children
    of `area` (a Region in scope) or of the caller's own level, plus the totals row."""
    S = ReliefSummary
    level = area.level if area is not None else scope_of(user)[0]
    column = getattr(S, CHILD_COLUMN.get(level, "organization_id"))
    stmt = (select(column, S.state, func.sum(S.n), func.sum(S.requested_fen),
                   func.sum(S.disbursed_fen))
            .where(region_scope(S, user), S.state.in_(STATES)).group_by(column, S.state))
    if area is not None:
        stmt = stmt.where(getattr(S, AREA_COLUMN[area.level]) == area.code)
    rows = {}
    for key, state, n, requested, disbursed in db.session.execute(stmt):
        row = rows.setdefault(key, {"key": key, "counts": dict.fromkeys(STATES, 0),
                                    "requested": 0, "disbursed": 0})
        row["counts"][state] = int(n or 0)
        row["requested"] += int(requested or 0)
        row["disbursed"] += int(disbursed or 0)
    _name(rows, column.key)
    result = sorted(rows.values(), key=lambda r: (r["sort"], str(r["key"])))
    totals = {"name": None, "counts": {s: sum(r["counts"][s] for r in result) for s in STATES},
              "requested": sum(r["requested"] for r in result),
              "disbursed": sum(r["disbursed"] for r in result)}
    for row in result + [totals]:
        row["total"] = sum(row["counts"].values())
        row["requested"] = fen_to_yuan(row["requested"])
        row["disbursed"] = fen_to_yuan(row["disbursed"])
    return result, totals


def _name(rows, column):
    if not rows:
        return
    if column == "organization_id":
        names = dict(db.session.execute(select(Organization.id, Organization.name).where(
            Organization.id.in_(list(rows)))).all())
        for key, row in rows.items():
            row.update(name=names.get(key, key), drill=None, sort=row["key"])
        return
    names = dict(db.session.execute(select(Region.code, Region.name).where(
        Region.code.in_(list(rows)))).all())
    for key, row in rows.items():
        row.update(name=names.get(key, key), drill=key, sort=key)


def state_labels():
    return [(s, APPLICATION_STATE_LABELS[s]) for s in STATES]
