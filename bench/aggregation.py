"""Aggregation benchmark (数据提取 / 数据汇总) on one province: BENCH_AGG_ROWS relief
applications inside 山西省 (140000), spread over all its counties, in a dataset of its
own (SQLite `bench/out/bench-agg-sqlite.db`, PostgreSQL database `bench_agg`).

Build (cached, see `bench_meta`): schema + regions + demo as `flask portal setup`, one
city agency per Shanxi city that lacks one, two synthetic hospitals per Shanxi county
(ty_hosp1 takes ten shares of the rows: the big hospital), one prepayment per hospital
and a recovery for every tenth, N applications via bench.build.load_applications (plus
N/50 deleted), a report task 2025-01-01~2025-12-31, every hospital's unit report
(extract_figures, approved, reviewer = its city agency) and every city agency's
aggregate (approved, reviewer = the province agency) — except 太原's, left `returned`
so that ReliefReportFlow.aggregate can run for it. 省本级 institutions (city code …9900, which
report to the province agency directly) get no unit report: the province figures are those of
the city aggregates.

Timed (median of `repeat` runs after 3 warm-ups; app and raw alternate; each app run
in a fresh app context / session, objects it needs loaded outside the timer):
  1. 数据提取   extract_figures(org, task) vs the same three SELECTs in text()
  2. 数据汇总 city      ReliefReportFlow.sums(task, reviewer) vs raw SUM over relief_report
  3. 数据汇总 province  the same over the city aggregates
  plus, for context only: raw GROUP BY over relief_application for the city / province,
  and the complete ReliefReportFlow.aggregate(task, ty_agency) with the session's
  commit replaced by flush and the transaction rolled back afterwards.
The first run checks the app's figures equal the raw ones (exit 1 otherwise).

    python -m bench.aggregation --db sqlite|postgresql [--rows N] [--repeat 20] [--rebuild]
prints progress and a final `BENCH_AGG {...}` JSON line for bench.run."""
import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from decimal import Decimal

from sqlalchemy import Date, DateTime, bindparam, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from bench.common import OUT_DIR, pg_url

DEFAULT_AGG_ROWS = 1_000_000
AGG_VERSION = "3"          # bump when the build below changes
PROVINCE = "140000"
CITY = "140100"            # 太原市
CITY_AGENCY_USER = "ty_agency"
PROVINCE_AGENCY_USER = "sx_agency"
BIG_HOSPITAL = "ty_hosp1"  # the demo hospital that gets BIG_SHARES shares of the rows
BIG_SHARES = 10
HOSPITALS_PER_COUNTY = 2
TASK_NAME = "基准汇总任务 2025年度"
PERIOD = (dt.date(2025, 1, 1), dt.date(2025, 12, 31))
WARMUP = 3
CONTEXT_RUNS = 5           # the record-level GROUP BYs take seconds: 1 warm-up + 5 runs
TARGET = 2.0


def log(msg):
    print(f"  [agg] {msg}", flush=True)


def agg_url(dbname):
    if dbname == "sqlite":
        return "sqlite:///" + os.path.join(OUT_DIR, "bench-agg-sqlite.db")
    url = os.environ.get("BENCH_AGG_PG_URL")
    if url:
        return url
    return make_url(pg_url()).set(database="bench_agg").render_as_string(hide_password=False)


# ---- build ----------------------------------------------------------------------------------
def _read_meta(url):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT key, value FROM bench_meta")).all())
    except Exception:
        return {}
    finally:
        engine.dispose()


def _wipe(dbname, url):
    import shutil
    if dbname == "sqlite":
        path = make_url(url).database
        for suffix in ("", "-wal", "-shm", "-journal"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
    else:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    shutil.rmtree(os.path.join(OUT_DIR, f"storage-agg-{dbname}"), ignore_errors=True)


def ensure_agg_database(dbname, rows, rebuild=False):
    """(app, built, seconds) — the app on the aggregation dataset, built if needed."""
    from bench.build import ensure_pg_database, schema_fingerprint
    from bench.common import make_app
    url = agg_url(dbname)
    if make_url(url).database in ("test", "postgres", "bench") and dbname == "postgresql":
        raise SystemExit(f"refusing to use database {make_url(url).database!r}")
    os.makedirs(OUT_DIR, exist_ok=True)
    if dbname == "postgresql":
        ensure_pg_database(url)
    from app import models  # noqa: F401
    fingerprint = schema_fingerprint() + "/" + AGG_VERSION
    meta = _read_meta(url)
    if not rebuild and meta.get("rows") == str(rows) and meta.get("schema") == fingerprint \
            and meta.get("complete") == "1":
        log(f"{dbname}: reusing aggregation dataset with {rows:,} rows (--rebuild to rebuild)")
        return make_app(url, f"agg-{dbname}"), False, 0.0
    t0 = time.perf_counter()
    log(f"{dbname}: building aggregation dataset, {rows:,} applications in 山西省 …")
    _wipe(dbname, url)
    app = make_app(url, f"agg-{dbname}")
    with app.app_context():
        from app.cli import init_schema
        from app.demo import load_demo
        from app.extensions import db
        from app.regions import load_regions
        from bench.build import load_applications
        init_schema()
        load_regions()
        load_demo()
        db.session.commit()
        orgs = _make_orgs(db)
        log(f"{dbname}: {len(set(orgs)):,} Shanxi medical institutions; schema/demo ready in "
            f"{time.perf_counter() - t0:.1f}s")
        load_applications(dbname, db.engine, orgs, rows)
        t1 = time.perf_counter()
        n_units, n_cities = _make_reports(db)
        log(f"{dbname}: {n_units:,} unit reports + {n_cities} city aggregates in "
            f"{time.perf_counter() - t1:.1f}s")
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bench_meta "
                              "(key VARCHAR(32) PRIMARY KEY, value VARCHAR(64))"))
            conn.execute(text("DELETE FROM bench_meta"))
            conn.execute(text("INSERT INTO bench_meta (key, value) VALUES (:k, :v)"),
                         [{"k": "rows", "v": str(rows)}, {"k": "schema", "v": fingerprint},
                          {"k": "complete", "v": "1"}])
        if dbname == "sqlite":
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        db.session.remove()
    seconds = time.perf_counter() - t0
    log(f"{dbname}: aggregation dataset built in {seconds:.1f}s")
    return app, True, seconds


def _make_orgs(db):
    """City agencies where missing, HOSPITALS_PER_COUNTY hospitals per Shanxi county,
    prepayments and recoveries; returns the org tuples load_applications spreads over."""
    from app.models.core import Organization, Region, utcnow
    from app.models.relief import ReliefPrepayment, ReliefRecovery
    now = utcnow()
    cities = db.session.execute(select(Region).where(
        Region.level == "city", Region.province_code == PROVINCE).order_by(Region.code)).scalars().all()
    have = set(db.session.execute(select(Organization.region_id).where(
        Organization.org_type == "agency")).scalars())
    # cities with counties only (regions.py adds a synthetic, empty city per province)
    with_counties = set(db.session.execute(select(Region.parent_id).where(
        Region.level == "county", Region.province_code == PROVINCE)).scalars())
    cities = [c for c in cities if c.id in with_counties]
    agencies = [dict(name=f"{c.name}疾病应急救助经办机构（基准）", org_type="agency", level="city",
                     region_id=c.id, unit_code=c.code + "9980", province_code=c.province_code,
                     city_code=c.city_code, county_code=c.county_code, active=True,
                     created_at=now) for c in cities if c.id not in have]
    if agencies:
        db.session.execute(insert(Organization.__table__), agencies)
    counties = db.session.execute(select(Region).where(
        Region.level == "county", Region.province_code == PROVINCE).order_by(Region.code)).scalars().all()
    hospitals = [dict(name=f"{r.name}第{k}人民医院（基准）", org_type="medical", level="county",
                      region_id=r.id, unit_code=f"{r.code}999{k}", category="综合医院",
                      grade="二级甲等", province_code=r.province_code, city_code=r.city_code,
                      county_code=r.county_code, active=True, created_at=now)
                 for r in counties for k in range(1, HOSPITALS_PER_COUNTY + 1)]
    db.session.execute(insert(Organization.__table__), hospitals)
    db.session.commit()
    log(f"{len(agencies)} city agencies added, {len(counties)} counties, "
        f"{len(hospitals)} synthetic hospitals")
    medical = db.session.execute(
        select(Organization.id, Organization.name, Organization.province_code,
               Organization.city_code, Organization.county_code, Organization.unit_code)
        .where(Organization.org_type == "medical", Organization.province_code == PROVINCE)
        .order_by(Organization.id)).all()
    from app.models.core import User
    big_id = db.session.execute(select(User.organization_id).where(
        User.username == BIG_HOSPITAL)).scalar_one()
    pre, rec = [], []
    for n, m in enumerate(medical):
        scope = dict(organization_id=m.id, province_code=m.province_code,
                     city_code=m.city_code, county_code=m.county_code)
        pre.append(dict(scope, amount=Decimal(10_000 + 137 * n), remark="基准预拨款",
                        paid_on=dt.date(2025, 3, 1) + dt.timedelta(days=n % 200), created_at=now))
        if n % 10 == 0:
            rec.append(dict(scope, amount=Decimal(500 + 11 * n) + Decimal("0.25"),
                            remark="基准追缴", recovered_on=dt.date(2025, 6, 1) + dt.timedelta(days=n % 150),
                            created_at=now))
    db.session.execute(insert(ReliefPrepayment.__table__), pre)
    db.session.execute(insert(ReliefRecovery.__table__), rec)
    db.session.commit()
    orgs = []
    for m in medical:
        t = (m.id, m.name, m.province_code, m.city_code, m.county_code)
        orgs.extend([t] * (BIG_SHARES if m.id == big_id else 1))
    return orgs


def _make_reports(db):
    """The task, every Shanxi institution's approved unit report, every city agency's
    aggregate (approved; 太原's returned so that aggregate() can run)."""
    from app.models.core import Organization, utcnow
    from app.models.relief import ReliefReport, ReliefReportTask
    from app.services.relief.queries import extract_figures
    from app.workflows.relief import ReliefReportFlow, _agencies_by_region
    task = ReliefReportTask(name=TASK_NAME, period_start=PERIOD[0], period_end=PERIOD[1],
                            deadline=dt.date(2026, 1, 31))
    db.session.add(task)
    db.session.commit()
    agencies = _agencies_by_region()
    medical = db.session.execute(select(Organization).where(
        Organization.org_type == "medical", Organization.province_code == PROVINCE)
        .order_by(Organization.id)).scalars().all()
    now = utcnow()
    for org in medical:
        sup = ReliefReportFlow.superior_of(org, agencies=agencies)
        if sup is not None and org.city_code.endswith("9900"):
            continue   # 省本级 (e.g. the demo's 山西省人民医院) reports to the province agency directly
        if sup is None or sup.level != "city":
            raise SystemExit(f"{org.name}: no city agency above it ({sup})")
        r = ReliefReport(task_id=task.id, organization_id=org.id, kind="unit", state="approved",
                         reviewer_org_id=sup.id, submitted_at=now, reviewed_at=now,
                         **extract_figures(org, task))
        r.copy_scope_from(org)
        db.session.add(r)
    db.session.commit()
    province_agency = _org_of(PROVINCE_AGENCY_USER)
    city_agencies = db.session.execute(select(Organization).where(
        Organization.org_type == "agency", Organization.level == "city",
        Organization.province_code == PROVINCE).order_by(Organization.id)).scalars().all()
    made = 0
    for agency in city_agencies:
        where = (ReliefReport.task_id == task.id, ReliefReport.reviewer_org_id == agency.id,
                 ReliefReport.state == "approved")
        children = db.session.execute(select(ReliefReport.id).where(*where)).scalars().all()
        if not children:
            continue
        made += 1
        mine = ReliefReport(task_id=task.id, organization_id=agency.id, kind="aggregate",
                            state="returned" if agency.city_code == CITY else "approved",
                            reviewer_org_id=province_agency.id, submitted_at=now,
                            reviewed_at=now, aggregated_at=now,
                            review_opinion="基准：退回重新汇总" if agency.city_code == CITY else None,
                            **ReliefReportFlow.sums(task.id, agency.id))
        mine.copy_scope_from(agency)
        db.session.add(mine)
        db.session.flush()
        db.session.execute(ReliefReport.__table__.update().where(
            ReliefReport.id.in_(children)).values(aggregate_id=mine.id))
    db.session.commit()
    return len(medical), made


def _org_of(username):
    from app.extensions import db
    from app.models.core import User
    return db.session.execute(select(User).where(User.username == username)).scalar_one().organization


# ---- raw SQL --------------------------------------------------------------------------------
APP_FIGURES = ("apps_total", "apps_unidentified", "apps_unable_to_pay", "apps_pending",
               "apps_approved", "apps_returned", "apps_rejected", "apps_disbursed",
               "amount_requested", "amount_approved", "amount_disbursed")
APP_EXPRS = """count(id),
  COALESCE(SUM(CASE WHEN category = 'unidentified' THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN category = 'unable_to_pay' THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN state = 'submitted' THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN state IN ('approved', 'disbursed') THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN state = 'returned' THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN state = 'rejected' THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN state = 'disbursed' THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(requested_amount), 0),
  COALESCE(SUM(CASE WHEN state IN ('approved', 'disbursed') THEN requested_amount ELSE 0 END), 0),
  COALESCE(SUM(disbursed_amount), 0)"""
PERIOD_WHERE = "submitted_at >= :s AND submitted_at < :e AND state <> 'deleted'"


def _period_params():
    return {"s": dt.datetime.combine(PERIOD[0], dt.time.min),
            "e": dt.datetime.combine(PERIOD[1] + dt.timedelta(days=1), dt.time.min),
            "ds": PERIOD[0], "de": PERIOD[1]}


def _typed(sql):
    names = set(bindparam_names(sql))
    params = [bindparam(n, type_=DateTime) for n in ("s", "e") if n in names]
    params += [bindparam(n, type_=Date) for n in ("ds", "de") if n in names]
    return text(sql).bindparams(*params)


def bindparam_names(sql):
    return [n for n in ("s", "e", "ds", "de") if f":{n} " in sql + " " or f":{n})" in sql]


EXTRACT_SQL = _typed(f"SELECT {APP_EXPRS} FROM relief_application "
                     f"WHERE organization_id = :o AND {PERIOD_WHERE}")
PREPAID_SQL = _typed("SELECT COALESCE(SUM(amount), 0) FROM relief_prepayment "
                     "WHERE organization_id = :o AND paid_on >= :ds AND paid_on <= :de")
RECOVERED_SQL = _typed("SELECT COALESCE(SUM(amount), 0) FROM relief_recovery "
                       "WHERE organization_id = :o AND recovered_on >= :ds AND recovered_on <= :de")


def _sums_sql():
    from app.models.relief import ReliefReport
    cols = ", ".join(f"COALESCE(SUM({n}), 0)" for n in ReliefReport.FIGURES)
    return text(f"SELECT {cols} FROM relief_report "
                "WHERE task_id = :t AND reviewer_org_id = :r AND state = 'approved'")


GROUP_SQL = {level: _typed(f"SELECT {col}, {APP_EXPRS} FROM relief_application "
                           f"WHERE {level}_code = :c AND {PERIOD_WHERE} GROUP BY {col}")
             for level, col in (("city", "organization_id"), ("province", "city_code"))}


def _yuanify(names, values):
    from app.models.relief import MONEY_FIGURES
    from app.models.types import fen_to_yuan
    return {n: (fen_to_yuan(v) if n in MONEY_FIGURES else int(v)) for n, v in zip(names, values)}


# ---- timing ---------------------------------------------------------------------------------
def _t(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _check(label, app_value, raw_value):
    if app_value != raw_value:
        diff = {k: (app_value.get(k), raw_value.get(k)) for k in set(app_value) | set(raw_value)
                if app_value.get(k) != raw_value.get(k)}
        print(f"AGGREGATION MISMATCH in {label}: app vs raw differ: {diff}", flush=True)
        raise SystemExit(1)


def run_benchmark(app, repeat=20):
    from app.extensions import db
    from app.models.core import Organization, User
    from app.models.relief import ReliefApplication, ReliefReport, ReliefReportTask
    from app.services.relief.queries import extract_figures
    from app.workflows.relief import ReliefReportFlow
    from app.workflows.engine import Refusal

    with app.app_context():
        engine = db.engine
        task_id = db.session.execute(select(ReliefReportTask.id).where(
            ReliefReportTask.name == TASK_NAME)).scalar_one()
        top_org_id, top_n = db.session.execute(
            select(ReliefApplication.organization_id, db.func.count())
            .where(ReliefApplication.province_code == PROVINCE)
            .group_by(ReliefApplication.organization_id)
            .order_by(db.func.count().desc()).limit(1)).one()
        top_name = db.session.get(Organization, top_org_id).name
        city_agency = _org_of(CITY_AGENCY_USER)
        prov_agency = _org_of(PROVINCE_AGENCY_USER)
        city_agency_id, prov_agency_id = city_agency.id, prov_agency.id
        returned_cities = set(db.session.execute(select(ReliefReport.city_code).where(
            ReliefReport.task_id == task_id, ReliefReport.reviewer_org_id == prov_agency_id,
            ReliefReport.state != "approved")).scalars())
        total_rows = db.session.execute(text("SELECT count(*) FROM relief_application")).scalar()
        n_reports = {}
        for key, rid in (("city", city_agency_id), ("province", prov_agency_id)):
            n_reports[key] = db.session.execute(select(db.func.count()).select_from(ReliefReport)
                                                .where(ReliefReport.task_id == task_id,
                                                       ReliefReport.reviewer_org_id == rid,
                                                       ReliefReport.state == "approved")).scalar()
        db.session.remove()
    period = _period_params()
    sums_sql = _sums_sql()
    figures = ReliefReport.FIGURES

    # 1. 数据提取
    def app_extract():
        with app.app_context():
            org = db.session.get(Organization, top_org_id)
            task = db.session.get(ReliefReportTask, task_id)
            t, out = _t(lambda: extract_figures(org, task))
            db.session.rollback()
        return t, out

    def raw_extract():
        def q():
            with engine.connect() as conn:
                row = conn.execute(EXTRACT_SQL, {"o": top_org_id, **period}).one()
                pre = conn.execute(PREPAID_SQL, {"o": top_org_id, **period}).scalar()
                rec = conn.execute(RECOVERED_SQL, {"o": top_org_id, **period}).scalar()
            return _yuanify(figures, list(row) + [pre, rec])
        return _t(q)

    # 2./3. 数据汇总
    def app_sums(reviewer_id):
        def run():
            with app.app_context():
                t, out = _t(lambda: ReliefReportFlow.sums(task_id, reviewer_id))
                db.session.rollback()
            return t, out
        return run

    def raw_sums(reviewer_id):
        def run():
            def q():
                with engine.connect() as conn:
                    row = conn.execute(sums_sql, {"t": task_id, "r": reviewer_id}).one()
                return _yuanify(figures, row)
            return _t(q)
        return run

    def raw_group(level, code):
        def run():
            def q():
                with engine.connect() as conn:
                    return conn.execute(GROUP_SQL[level], {"c": code, **period}).all()
            return _t(q)
        return run

    def group_totals(rows, skip=()):
        tot = [0] * len(APP_FIGURES)
        for r in rows:
            if r[0] in skip:
                continue
            for i, v in enumerate(r[1:]):
                tot[i] += int(v or 0)
        return _yuanify(APP_FIGURES, tot)

    # the complete 数据汇总 for the 太原 agency, rolled back
    def app_aggregate():
        with app.test_request_context("/relief/reports/aggregate"):
            user = db.session.execute(select(User).where(
                User.username == CITY_AGENCY_USER)).scalar_one()
            user.organization  # noqa: B018
            task = db.session.get(ReliefReportTask, task_id)
            session = db.session()
            session.commit = session.flush       # keep it in the transaction
            try:
                t, mine = _t(lambda: ReliefReportFlow.aggregate(task, user))
                out = {n: getattr(mine, n) for n in figures}
            except Refusal as exc:
                print(f"aggregate() refused: {exc}", flush=True)
                raise SystemExit(1)
            finally:
                del session.commit
                db.session.rollback()
        return t, out

    def measure(label, app_fn, raw_fn, check=True):
        app_times, raw_times = [], []
        for i in range(WARMUP + repeat):
            t_app, v_app = app_fn()
            t_raw, v_raw = raw_fn()
            if i == 0 and check:
                _check(label, v_app, v_raw)
            if i >= WARMUP:
                app_times.append(t_app)
                raw_times.append(t_raw)
        app_ms = statistics.median(app_times) * 1000
        raw_ms = statistics.median(raw_times) * 1000
        log(f"{label}: app={app_ms:.2f}ms raw={raw_ms:.2f}ms ratio={app_ms / raw_ms:.2f}")
        return {"app_ms": app_ms, "raw_ms": raw_ms, "ratio": app_ms / raw_ms,
                "app_min_ms": min(app_times) * 1000, "raw_min_ms": min(raw_times) * 1000}, v_app

    def measure_one(label, fn, runs=None, warmup=WARMUP):
        times = []
        for i in range(warmup + (runs or repeat)):
            t, v = fn()
            if i >= warmup:
                times.append(t)
            if i == 0:
                first = v
        ms = statistics.median(times) * 1000
        log(f"{label}: {ms:.2f}ms (median of {len(times)})")
        return ms, first

    rows = []
    r, extracted = measure("数据提取", app_extract, raw_extract)
    rows.append(dict(r, step="数据提取 extract_figures", scope=f"{top_name} ({top_n:,} apps)"))

    r, city_sums = measure("数据汇总 city", app_sums(city_agency_id), raw_sums(city_agency_id))
    rows.append(dict(r, step="数据汇总 ReliefReportFlow.sums",
                     scope=f"city {CITY}: {n_reports['city']} unit reports"))
    city_group_ms, city_group = measure_one("context: GROUP BY org over city records",
                                            raw_group("city", CITY),
                                            runs=CONTEXT_RUNS, warmup=1)
    _check("city: reports vs records", {k: city_sums[k] for k in APP_FIGURES},
           group_totals(city_group))

    r, prov_sums = measure("数据汇总 province", app_sums(prov_agency_id), raw_sums(prov_agency_id))
    rows.append(dict(r, step="数据汇总 ReliefReportFlow.sums",
                     scope=f"province {PROVINCE}: {n_reports['province']} city aggregates"))
    prov_group_ms, prov_group = measure_one("context: GROUP BY city over province records",
                                            raw_group("province", PROVINCE),
                                            runs=CONTEXT_RUNS, warmup=1)
    provincial_own = {r[0] for r in prov_group if str(r[0]).endswith("9900")}   # 省本级: no unit reports
    _check("province: reports vs records", {k: prov_sums[k] for k in APP_FIGURES},
           group_totals(prov_group, skip=set(returned_cities) | provincial_own))

    agg_ms, agg_out = measure_one("ReliefReportFlow.aggregate (rolled back)", app_aggregate)
    _check("aggregate() vs raw city sums", agg_out, city_sums)

    return {"rows": rows, "total_rows": total_rows,
            "context": [
                {"step": "GROUP BY organization_id over relief_application",
                 "scope": f"city {CITY}: {len(city_group)} groups", "ms": city_group_ms, "runs": CONTEXT_RUNS},
                {"step": "GROUP BY city_code over relief_application",
                 "scope": f"province {PROVINCE}: {len(prov_group)} groups"
                          f" (excl. returned {','.join(sorted(returned_cities)) or '-'} in check)",
                 "ms": prov_group_ms, "runs": CONTEXT_RUNS},
                {"step": "ReliefReportFlow.aggregate(task, ty_agency), rolled back",
                 "scope": f"city {CITY}: {n_reports['city']} unit reports", "ms": agg_ms,
                 "runs": repeat}],
            "figures": {"extract": {k: str(v) for k, v in extracted.items()},
                        "city": {k: str(v) for k, v in city_sums.items()},
                        "province": {k: str(v) for k, v in prov_sums.items()}}}


def print_aggregation(res, target=TARGET):
    build = f"built in {res['build_s']:.0f}s" if res["built"] else "reused cached build"
    print(f"\n  Aggregation, 山西省 only: {res['agg_rows']:,} applications "
          f"({res['total_rows']:,} rows incl. deleted; {build}); median of {res['repeat']} runs "
          f"after {WARMUP} warm-ups")
    print(f"  {'step':<32} {'scope':<44} {'app ms':>9} {'raw ms':>9} {'ratio':>6}  target<={target:g}")
    for r in res["rows"]:
        ok = "ok" if r["ratio"] <= target else "MISSED"
        print(f"  {r['step']:<32} {r['scope']:<44} {r['app_ms']:>9.2f} {r['raw_ms']:>9.2f} "
              f"{r['ratio']:>6.2f}  {ok}")
    print("  context (no target):")
    for c in res["context"]:
        print(f"  {c['step']:<56} {c['scope']:<50} {c['ms']:>9.2f} ms"
              f"  (median of {c.get('runs', res['repeat'])})")


def main(argv=None):
    from bench.run import _env_int
    ap = argparse.ArgumentParser(prog="python -m bench.aggregation")
    ap.add_argument("--db", required=True, choices=("sqlite", "postgresql"))
    ap.add_argument("--rows", type=int, default=_env_int("BENCH_AGG_ROWS", DEFAULT_AGG_ROWS))
    ap.add_argument("--repeat", type=int, default=_env_int("BENCH_REPEAT", 20))
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--print", action="store_true", help="also print the table")
    args = ap.parse_args(argv)
    app, built, build_s = ensure_agg_database(args.db, args.rows, rebuild=args.rebuild)
    res = run_benchmark(app, repeat=args.repeat)
    res.update(db=args.db, url=agg_url(args.db), built=built, build_s=build_s,
               agg_rows=args.rows, repeat=args.repeat)
    if args.print:
        print_aggregation(res)
    print("BENCH_AGG " + json.dumps(res, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
