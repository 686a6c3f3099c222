"""疾病应急救助 figures and look-ups; they read, never write.

救助数据统计 reads the summary table, one row per institution × state × category
(app/summaries.py), never the applications — a national figure adds up a few thousand rows
whatever the number of applications. 数据提取 (R9) and 绩效 (R11) are SQL aggregates over one
unit's applications in a period."""
import datetime as dt

from sqlalchemy import BigInteger, case, func, or_, select, type_coerce

from app.extensions import db
from app.models.core import Organization, Region
from app.models.relief import (APPLICATION_STATE_LABELS, REPORT_FIGURES, ReliefApplication,
                               ReliefEvaluation, ReliefPrepayment, ReliefRecovery, ReliefReport,
                               ReliefReportTask, ReliefSummary)
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


# ---- R9 数据提取, R11 绩效 -----------------------------------------------------------------
def _fen(col):
    return type_coerce(col, BigInteger)


def _count_if(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _sum_if(cond, col):
    return func.coalesce(func.sum(case((cond, _fen(col)), else_=0)), 0)


def _total(col):
    return func.coalesce(func.sum(_fen(col)), 0)


def extract_figures(org, task):
    """数据提取: the unit's own figures in the task's period, each one SQL aggregate
    (applications counted by submission date; drafts never submitted are not reported)."""
    start = dt.datetime.combine(task.period_start, dt.time.min)
    end = dt.datetime.combine(task.period_end + dt.timedelta(days=1), dt.time.min)
    A = ReliefApplication
    ok = A.state.in_(("approved", "disbursed"))
    row = db.session.execute(select(
        func.count(A.id), _count_if(A.category == "unidentified"),
        _count_if(A.category == "unable_to_pay"), _count_if(A.state == "submitted"),
        _count_if(ok), _count_if(A.state == "returned"), _count_if(A.state == "rejected"),
        _count_if(A.state == "disbursed"), _total(A.requested_amount),
        _sum_if(ok, A.requested_amount), _total(A.disbursed_amount))
        .where(A.organization_id == org.id, A.submitted_at >= start, A.submitted_at < end,
               A.state != "deleted")).one()
    prepaid = db.session.execute(select(_total(ReliefPrepayment.amount))
                                 .where(ReliefPrepayment.organization_id == org.id,
                                        ReliefPrepayment.paid_on >= task.period_start,
                                        ReliefPrepayment.paid_on <= task.period_end)).scalar()
    recovered = recovered_fen(org, task.period_start, task.period_end)
    counts = [int(v) for v in row[:8]]
    amounts = [fen_to_yuan(v) for v in row[8:]] + [fen_to_yuan(prepaid), fen_to_yuan(recovered)]
    return dict(zip(REPORT_FIGURES, counts + amounts))


def recovered_fen(org, start, end):
    """追缴 registered by `org` between two days, in fen."""
    R = ReliefRecovery
    return db.session.execute(select(_total(R.amount)).where(
        R.organization_id == org.id, R.recovered_on >= start, R.recovered_on <= end)).scalar()


def days_between(start, end):
    """end − start in days as an SQL expression, on either database."""
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start) / 86400.0
    return func.julianday(end) - func.julianday(start)


def performance_figures(org, start, end):
    """绩效 figures of the caller's unit (SPEC R11): agencies are measured on what they
    reviewed, institutions on what they submitted. Column → value of ReliefPerformance."""
    A = ReliefApplication
    unit = A.reviewer_org_id if org.org_type == "agency" else A.organization_id
    lo = dt.datetime.combine(start, dt.time.min)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min)
    ok = A.state.in_(("approved", "disbursed"))
    received, approved, returned, rejected, amount_ok, amount_paid = db.session.execute(
        select(func.count(A.id), _count_if(ok), _count_if(A.state == "returned"),
               _count_if(A.state == "rejected"), _sum_if(ok, A.requested_amount),
               _total(A.disbursed_amount))
        .where(unit == org.id, A.submitted_at >= lo, A.submitted_at < hi,
               A.state != "deleted")).one()
    avg_days = db.session.execute(select(func.avg(days_between(A.submitted_at, A.reviewed_at)))
                                  .where(unit == org.id, A.submitted_at >= lo, A.submitted_at < hi,
                                         A.reviewed_at.is_not(None))).scalar()
    T, R = ReliefReportTask, ReliefReport
    deadline = func.coalesce(T.deadline, T.period_end)
    on_time, total_reports = db.session.execute(
        select(_count_if(func.date(R.submitted_at) <= deadline), func.count(R.id))
        .join(T, T.id == R.task_id)
        .where(R.organization_id == org.id, R.submitted_at.is_not(None),
               T.period_end >= start, T.period_end <= end)).one()
    return {"apps_received": int(received), "apps_approved": int(approved),
            "apps_returned": int(returned), "apps_rejected": int(rejected),
            "approval_rate": round(1000 * int(approved) / int(received)) if received else None,
            "avg_review_days": round(100 * float(avg_days)) if avg_days is not None else None,
            "amount_approved": fen_to_yuan(amount_ok), "amount_disbursed": fen_to_yuan(amount_paid),
            "amount_recovered": fen_to_yuan(recovered_fen(org, start, end)),
            "reports_on_time": int(on_time), "reports_total": int(total_reports)}


def evaluated_by(org_id, app_ids):
    """The ids among `app_ids` that `org_id` has already evaluated (SPEC R7)."""
    if not app_ids or org_id is None:
        return set()
    E = ReliefEvaluation
    return set(db.session.execute(select(E.application_id).where(
        E.organization_id == org_id, E.application_id.in_(app_ids))).scalars())


def reports_using_prepayment(prepayment, days):
    """The institution's reports, submitted or aggregated, whose period holds one of `days`
    (a prepayment's day before and after an edit): its 预拨款金额 has gone up in them."""
    R, T = ReliefReport, ReliefReportTask
    covered = [(T.period_start <= day) & (T.period_end >= day) for day in days if day]
    if not covered:
        return []
    return db.session.execute(select(R).join(T, T.id == R.task_id).where(
        R.organization_id == prepayment.organization_id,
        R.state.in_(("submitted", "approved")) | R.aggregate_id.is_not(None),
        R.state != "deleted", or_(*covered)).order_by(R.id)).scalars().all()
