"""Building the benchmark database: schema, regions, demo data, then N synthetic
relief applications spread over every county (one synthetic hospital per county, plus
the demo hospitals so that ty_hosp1 has about N/2850 rows of its own).

Rows go in through the DB-API directly (sqlite3 executemany / PostgreSQL COPY) with
the table's secondary indexes dropped and re-created afterwards; money columns are
integer fen, which is what the Money type stores. A `bench_meta` table records the
row count and a schema fingerprint so an unchanged database is reused."""
import datetime as dt
import hashlib
import os
import time

from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from bench.common import OUT_DIR

BATCH = 50_000
# Visible states (100 entries); on top of the N visible rows, N/50 rows in state
# "deleted" are interleaved, so the list's `state NOT IN ('deleted')` filter has work
# and the export (which shows what the list shows) has exactly N rows to write.
STATE_MIX = (("draft", 15), ("submitted", 25), ("returned", 5), ("approved", 22),
             ("rejected", 5), ("disbursed", 28))
STATES = [s for s, pct in STATE_MIX for _ in range(pct)]
DELETED_SHARE = 50
REVIEWED = {"returned", "approved", "rejected", "disbursed"}
DISEASES = ["急性心肌梗死", "急性脑卒中", "严重多发伤", "颅脑损伤", "急性中毒", "重症肺炎",
            "消化道大出血", "大面积烧伤", "休克", "其他"]
COLS = ["organization_id", "reviewer_org_id", "state", "category", "patient_name", "gender",
        "id_number", "age", "household_address", "nationality", "phone", "relief_place",
        "start_at", "end_at", "disease", "other_disease", "emergency_cost", "medical_cost",
        "living_cost", "requested_amount", "poverty", "low_income", "basic_insurance_amount",
        "serious_illness_amount", "medical_assistance_amount", "other_fund_amount",
        "review_opinion", "reviewed_at", "disbursed_amount", "disbursed_on", "submitted_at",
        "created_at", "updated_at", "province_code", "city_code", "county_code"]
DT_COLS = [COLS.index(c) for c in ("start_at", "end_at", "reviewed_at", "submitted_at",
                                   "created_at", "updated_at")]
DATE_COLS = [COLS.index("disbursed_on")]
BOOL_COLS = [COLS.index("poverty"), COLS.index("low_income")]
BASE_TIME = dt.datetime(2025, 1, 1, 0, 0)
MINUTES_PER_YEAR = 365 * 24 * 60
GENERATOR_VERSION = "2"   # bump when generate() changes, so cached databases are rebuilt
# The list dataset's own version (the reviewing agency of submitted rows, below); not in
# GENERATOR_VERSION, which the aggregation and IVD datasets' fingerprints include too.
LIST_DATASET_VERSION = "L3"


def log(msg):
    print(f"  [build] {msg}", flush=True)


def schema_fingerprint():
    from flask_appbuilder import Model
    desc = [GENERATOR_VERSION]
    for table in sorted(Model.metadata.tables.values(), key=lambda t: t.name):
        desc.append(table.name + ":" + ",".join(f"{c.name}/{c.type}" for c in table.columns)
                    + ";" + ",".join(sorted(i.name or "" for i in table.indexes)))
    return hashlib.sha1("\n".join(desc).encode()).hexdigest()[:16]


def ensure_pg_database(url):
    """CREATE DATABASE for the bench URL if missing (connects to db `postgres`)."""
    import psycopg
    u = make_url(url)
    if u.database in ("test", "postgres"):
        raise SystemExit(f"refusing to use database {u.database!r} for the benchmark")
    conninfo = dict(host=u.host or "127.0.0.1", port=u.port or 5432,
                    user=u.username or "postgres", dbname="postgres")
    if u.password:
        conninfo["password"] = u.password
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (u.database,)).fetchone()
        if not found:
            conn.execute(f'CREATE DATABASE "{u.database}"')
            log(f"created PostgreSQL database {u.database}")


def read_meta(url):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT key, value FROM bench_meta")).all()
            meta = dict(rows)
            meta["actual_rows"] = conn.execute(
                text("SELECT count(*) FROM relief_application")).scalar()
            return meta
    except Exception:
        return {}
    finally:
        engine.dispose()


def wipe(dbname, url, tag=None):
    if dbname == "sqlite":
        path = make_url(url).database
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(path + suffix):
                os.unlink(path + suffix)
    else:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    import shutil
    shutil.rmtree(os.path.join(OUT_DIR, f"storage-{tag or dbname}"), ignore_errors=True)


def ensure_database(dbname, url, rows, rebuild=False, tag=None):
    """Build the database unless an identical one is there. One app per process (the
    FAB AppBuilder is a module singleton), so the app is created here, after a wipe,
    and returned: (app, built, seconds). `tag` names the storage directory
    (storage-<tag>, default the database kind); the small export dataset uses its own."""
    tag = tag or dbname
    os.makedirs(OUT_DIR, exist_ok=True)
    if dbname == "postgresql":
        ensure_pg_database(url)
    from app import models  # noqa: F401  (every table on Model.metadata)
    fingerprint = schema_fingerprint() + "/" + LIST_DATASET_VERSION
    meta = read_meta(url)
    from bench.common import make_app
    if (not rebuild and meta.get("rows") == str(rows) and meta.get("schema") == fingerprint
            and meta.get("actual_rows") == int(meta.get("total_rows", -1))):
        log(f"{tag}: reusing database with {rows:,} bench rows (BENCH_REBUILD=1 to rebuild)")
        return make_app(url, tag), False, 0.0
    t0 = time.perf_counter()
    log(f"{tag}: building {rows:,} relief applications …")
    wipe(dbname, url, tag)
    app = make_app(url, tag)
    with app.app_context():
        from app.cli import init_schema
        from app.demo import load_demo
        from app.extensions import db
        from app.regions import load_regions
        init_schema()
        load_regions()
        load_demo()
        db.session.commit()
        orgs = make_county_hospitals(db)
        reviewers = reviewing_agencies(db)
        log(f"{tag}: {len(orgs):,} hospitals (one per county + demo hospitals); "
            f"schema/demo ready in {time.perf_counter() - t0:.1f}s")
        load_applications(dbname, db.engine, orgs, rows, reviewers=reviewers)
        total = db.session.execute(text("SELECT count(*) FROM relief_application")).scalar()
        db.session.commit()
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bench_meta "
                              "(key VARCHAR(32) PRIMARY KEY, value VARCHAR(64))"))
            conn.execute(text("DELETE FROM bench_meta"))
            conn.execute(text("INSERT INTO bench_meta (key, value) VALUES (:k, :v)"),
                         [{"k": "rows", "v": str(rows)}, {"k": "schema", "v": fingerprint},
                          {"k": "total_rows", "v": str(total)}])
        db.session.remove()
    seconds = time.perf_counter() - t0
    log(f"{tag}: built in {seconds:.1f}s ({total:,} rows in relief_application)")
    return app, True, seconds


def make_county_hospitals(db):
    """One medical organisation per county (unit code <county>9990) via Core inserts;
    returns [(id, name, province, city, county)] for every medical organisation."""
    from app.models.core import Organization, Region, utcnow
    counties = db.session.execute(
        select(Region.id, Region.code, Region.name, Region.province_code, Region.city_code,
               Region.county_code).where(Region.level == "county").order_by(Region.code)).all()
    now = utcnow()
    batch = [dict(name=f"{r.name}人民医院（基准）", org_type="medical", level="county",
                  region_id=r.id, unit_code=r.code + "9990", category="综合医院", grade="二级甲等",
                  province_code=r.province_code, city_code=r.city_code,
                  county_code=r.county_code, active=True, created_at=now) for r in counties]
    db.session.execute(insert(Organization.__table__), batch)
    db.session.commit()
    return [tuple(r) for r in db.session.execute(
        select(Organization.id, Organization.name, Organization.province_code,
               Organization.city_code, Organization.county_code)
        .where(Organization.org_type == "medical").order_by(Organization.id)).all()]


def reviewing_agencies(db):
    """{medical organisation id: the agency that reviews its applications}, as
    `nearest_agency` finds it (the 经办机构 of the county, else of the city, else of the
    province); organisations with none (outside 山西 in the demo) are left out."""
    from app.models.core import Organization
    agencies = {}
    for oid, level, prov, city, county in db.session.execute(
            select(Organization.id, Organization.level, Organization.province_code,
                   Organization.city_code, Organization.county_code)
            .where(Organization.org_type == "agency", Organization.active.is_(True))
            .order_by(Organization.id.desc())).all():
        key = {"county": county, "city": city, "province": prov}.get(level)
        if key:
            agencies[(level, key)] = oid   # the lowest id wins, as in nearest_agency
    out = {}
    for oid, prov, city, county in db.session.execute(
            select(Organization.id, Organization.province_code, Organization.city_code,
                   Organization.county_code).where(Organization.org_type == "medical")).all():
        for level, key in (("county", county), ("city", city), ("province", prov)):
            if key and (level, key) in agencies:
                out[oid] = agencies[(level, key)]
                break
    return out


def generate(orgs, start, stop, total, deleted, reviewers=None):
    """Rows start..stop-1 of `total` as tuples in COLS order, exactly `deleted` of all
    `total` spread evenly in state "deleted"; deterministic, no RNG calls. With
    `reviewers` ({org id: agency id}) every row past draft gets its organisation's
    reviewing agency, as the submit transition sets it; without, none."""
    norg = len(orgs)
    reviewers = reviewers or {}
    td, tm = dt.timedelta, dt.timedelta
    for i in range(start, stop):
        oid, oname, prov, city, county = orgs[i % norg]
        h = (i * 2654435761 + 97) & 0xFFFFFFFF
        if ((i + 1) * deleted) // total > (i * deleted) // total:
            state = "deleted"
        else:
            state = STATES[(i * 37 + (h >> 7)) % 100]
        start_at = BASE_TIME + tm(minutes=h % MINUTES_PER_YEAR)
        end_at = start_at + td(days=1 + (h >> 3) % 14)
        if h % 10 == 0:
            category, name, gender, idn, age, addr, nat, phone = (
                "unidentified", None, None, None, None, None, None, None)
        else:
            year = 1940 + (h >> 5) % 80
            category, name, gender = "unable_to_pay", f"患者{i}", "1" if h & 1 else "2"
            idn = f"{county or '110101'}{year}{1 + (h >> 9) % 12:02d}{1 + (h >> 11) % 28:02d}{h % 1000:03d}{h % 10}"
            age, addr, nat, phone = 2025 - year, f"某省某市某县{h % 97}号", "中国", f"13{h % 1000000000:09d}"
        disease = DISEASES[(h >> 13) % 10]
        emergency = 50_000 + h % 500_000
        medical = 500_000 + (h >> 8) % 5_000_000
        living = (h >> 4) % 100_000
        requested = emergency + medical + living
        reviewed = state in REVIEWED
        reviewed_at = end_at + td(days=3) if reviewed else None
        disbursed = state == "disbursed"
        submitted_at = end_at + td(days=1) if state not in ("draft", "deleted") else None
        reviewer = reviewers.get(oid) if submitted_at is not None else None
        yield (oid, reviewer, state, category, name, gender, idn, age, addr, nat, phone,
               oname + "急诊科", start_at, end_at, disease,
               "罕见病" if disease == "其他" else None,
               emergency, medical, living, requested,
               (h % 7 == 0) if reviewed else None, (h % 11 == 0) if reviewed else None,
               requested // 2 if reviewed else None, requested // 10 if reviewed else None,
               requested // 20 if reviewed else None, 0 if reviewed else None,
               ("同意" if state in ("approved", "disbursed") else "材料不全，请补充") if reviewed else None,
               reviewed_at, requested if disbursed else None,
               (end_at + td(days=10)).date() if disbursed else None,
               submitted_at, end_at, reviewed_at or end_at, prov, city, county)


def _sqlite_rows(rows):
    for row in rows:
        row = list(row)
        for c in DT_COLS:
            if row[c] is not None:
                row[c] = row[c].isoformat(" ", timespec="microseconds")
        for c in DATE_COLS:
            if row[c] is not None:
                row[c] = row[c].isoformat()
        for c in BOOL_COLS:
            if row[c] is not None:
                row[c] = int(row[c])
        yield row


def load_applications(dbname, engine, orgs, rows, reviewers=None):
    from app.models.relief import ReliefApplication
    table = ReliefApplication.__table__
    missing = [c for c in COLS if c not in table.c]
    if missing:
        raise SystemExit(f"relief_application lacks columns {missing}; update bench/build.py")
    deleted = rows // DELETED_SHARE
    total = rows + deleted
    indexes = [i for i in table.indexes]
    from app.models.relief import RELIEF_SUMMARY
    from app.summaries import install, rebuild, uninstall
    with engine.begin() as conn:
        for idx in indexes:
            idx.drop(conn, checkfirst=True)
        uninstall(conn, [RELIEF_SUMMARY])   # bulk load: summary recomputed once at the end
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if dbname == "sqlite":
            sql = (f"INSERT INTO relief_application ({', '.join(COLS)}) "
                   f"VALUES ({', '.join('?' * len(COLS))})")
            for start in range(0, total, BATCH):
                cur.executemany(sql, list(_sqlite_rows(
                    generate(orgs, start, min(total, start + BATCH), total, deleted, reviewers))))
                raw.commit()
                if (start // BATCH) % 4 == 3:
                    log(f"{dbname}: {start + BATCH:,} rows ({time.perf_counter() - t0:.0f}s)")
        else:
            pg = raw.driver_connection
            with pg.cursor() as pcur:
                for start in range(0, total, BATCH * 4):
                    stop = min(total, start + BATCH * 4)
                    with pcur.copy(f"COPY relief_application ({', '.join(COLS)}) FROM STDIN") as cp:
                        for row in generate(orgs, start, stop, total, deleted, reviewers):
                            cp.write_row(row)
                    pg.commit()
                    log(f"{dbname}: {stop:,} rows ({time.perf_counter() - t0:.0f}s)")
        cur.close()
    finally:
        raw.close()
    log(f"{dbname}: {rows:,} visible + {deleted:,} deleted rows inserted in {time.perf_counter() - t0:.1f}s; re-creating {len(indexes)} indexes")
    t1 = time.perf_counter()
    with engine.begin() as conn:
        for idx in indexes:
            idx.create(conn)
        rebuild(conn, [RELIEF_SUMMARY])
        install(conn, [RELIEF_SUMMARY])
    if dbname == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    log(f"{dbname}: indexes + ANALYZE in {time.perf_counter() - t1:.1f}s")
