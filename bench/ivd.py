"""IVD benchmark (体外诊断试剂报量): one project with BENCH_IVD_ITEMS catalogue lines and
BENCH_IVD_HOSPITALS hospitals across 山西省, in a dataset of its own (SQLite
`bench/out/bench-ivd-sqlite.db`, PostgreSQL database `bench_ivd` next to BENCH_PG_URL's).

Build (cached, see `bench_meta`): schema + regions + demo as `flask portal setup`; medical
organisations in 山西 up to N in total (the demo's 8 hospitals plus synthetic ones spread
round-robin over the 117 real counties, every 33rd in 省本级 149900); a project whose
filling window is open today; the catalogue (≈0.35 注册证 per line: 2,000 lines = 700
注册证 × 2–3 流水号); every hospital's report through `commands.ensure_hospital_reports`, the
area reports through `commands.ensure_area_reports`; BENCH_IVD_LINES_PER_HOSPITAL filled lines
per reporting hospital (whole 注册证 groups chosen at random per hospital, the three
filling rules kept, ≈10 % of a hospital's 注册证 without an instrument in use); every
20th hospital 无需上报 (exempt, no lines); the denormalised totals by one correlated
UPDATE … (SELECT SUM …) over the lines. Lines go in by Core executemany (multi-row
INSERT … VALUES on PostgreSQL) with the secondary index dropped and re-created.

Timed (in this process unless said otherwise):
  1. 暂存 of a 50-line page: POST /ivd/fill/<project>/stash as ty_hosp1 (test client,
     logged in), page 1 of the catalogue, two value sets alternating so every call
     updates all 50 lines; plus `commands.save_lines` called directly (context only).
  2. Province summary: GET /ivd/review/areas/list/?project=<id> as sx_ybj (山西省医疗保障局);
     plus the pieces that GET runs (ensure_hospital_reports, ensure_area_reports,
     area_sums) and the bare GROUP BY in text() on the same engine.
  3. National CSV: the real job `ivd_national_csv(job_id)` on an ExportJob of the
     super-admin, and the baseline (the compiled `national_rows` SQL on a raw DB-API
     cursor — psycopg named cursor on PostgreSQL — into a bare csv.writer), each in a
     fresh process (`--export job|bare`) so its peak RSS is its own; runs alternate.

    python -m bench.ivd --db sqlite|postgresql [--hospitals N] [--items N] [--lines N]
                        [--repeat 20] [--export-runs 3] [--rebuild] [--out-dir DIR] [--print]
prints progress and a final `BENCH_IVD {...}` JSON line for bench.run."""
import argparse
import csv
import datetime as dt
import hashlib
import json
import math
import os
import random
import re
import resource
import statistics
import sys
import time

from sqlalchemy import bindparam, create_engine, insert, select, text
from sqlalchemy.engine import make_url

from bench.common import OUT_DIR, pg_url, proc_status_kb

DEFAULT_HOSPITALS = 10_000
DEFAULT_ITEMS = 2_000
DEFAULT_LINES = 60          # filled catalogue lines per reporting hospital (3 % of 2,000)
IVD_VERSION = "1"           # bump when the build below changes
PROVINCE = "140000"         # 山西省
PROVINCE_OWN = "149900"     # 山西省 省本级
OWN_EVERY = 33              # every 33rd synthetic hospital belongs to 省本级
EXEMPT_EVERY = 20           # every 20th hospital report is 无需上报 (no lines)
CERTS_PER_ITEM = 0.35       # 2,000 lines → 700 注册证
NOT_IN_USE_EVERY = 10       # ≈1 in 10 of a hospital's 注册证: no instrument in use
PROJECT_NAME = "基准报量项目（体外诊断试剂）"
STASH_USER = "ty_hosp1"     # a demo hospital account; its report is the one stashed
SUMMARY_USER = "sx_ybj"     # 山西省医疗保障局 (province-level 医保局)
EXPORT_USER = "admin"       # the super-admin
PASSWORD = "Demo@2026"
PAGE = 50                   # the fill screen's page size (app.views.ivd.fill.PAGE_SIZE)
WARMUP = 3
BATCH = 20_000
STASH_TARGET_MS = 300       # p95
SUMMARY_TARGET_MS = 1000    # p95
EXPORT_TARGET = 1.5         # job seconds / baseline seconds
REFUSED_PG = ("test", "postgres", "bench", "bench_agg")


def log(msg):
    print(f"  [ivd] {msg}", flush=True)


def ivd_url(dbname, out_dir=OUT_DIR):
    if dbname == "sqlite":
        return "sqlite:///" + os.path.join(out_dir, "bench-ivd-sqlite.db")
    url = os.environ.get("BENCH_IVD_PG_URL")
    if url:
        return url
    return make_url(pg_url()).set(database="bench_ivd").render_as_string(hide_password=False)


def make_ivd_app(url, dbname, out_dir=OUT_DIR):
    """As bench.common.make_app, with the storage directory under `out_dir`."""
    from app import create_app
    os.makedirs(out_dir, exist_ok=True)
    return create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "CAPTCHA_ENABLED": False,
        "SECRET_KEY": "bench-only-not-secret",
        "STORAGE_DIR": os.path.join(out_dir, f"storage-ivd-{dbname}"),
        "WTF_CSRF_ENABLED": False,
    })


def nearest_rank(values, q):
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)]


def summarise(times_s):
    ms = [t * 1000 for t in times_s]
    return {"median_ms": statistics.median(ms), "p95_ms": nearest_rank(ms, 0.95),
            "min_ms": min(ms), "max_ms": max(ms), "runs": len(ms)}


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


def _wipe(dbname, url, out_dir):
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
    shutil.rmtree(os.path.join(out_dir, f"storage-ivd-{dbname}"), ignore_errors=True)


def ensure_ivd_database(dbname, hospitals, items, lines, rebuild=False, out_dir=OUT_DIR):
    """(app, built, seconds, meta) — the app on the IVD dataset, built if needed."""
    from bench.build import ensure_pg_database, schema_fingerprint
    url = ivd_url(dbname, out_dir)
    if dbname == "postgresql":
        if make_url(url).database in REFUSED_PG:
            raise SystemExit(f"refusing to use database {make_url(url).database!r} for the "
                             "IVD benchmark")
        ensure_pg_database(url)
    os.makedirs(out_dir, exist_ok=True)
    from app import models  # noqa: F401
    fingerprint = schema_fingerprint() + "/ivd" + IVD_VERSION
    want = {"hospitals": str(hospitals), "items": str(items), "lines": str(lines),
            "schema": fingerprint, "complete": "1"}
    meta = _read_meta(url)
    if not rebuild and all(meta.get(k) == v for k, v in want.items()):
        log(f"{dbname}: reusing IVD dataset ({hospitals:,} hospitals, {items:,} catalogue "
            f"lines, {lines} lines/hospital; --rebuild to rebuild)")
        return make_ivd_app(url, dbname, out_dir), False, 0.0, meta
    t0 = time.perf_counter()
    log(f"{dbname}: building IVD dataset: {hospitals:,} hospitals in 山西省, {items:,} "
        f"catalogue lines, {lines} filled lines per reporting hospital …")
    _wipe(dbname, url, out_dir)
    app = make_ivd_app(url, dbname, out_dir)
    with app.app_context():
        from app.cli import init_schema
        from app.demo import load_demo
        from app.extensions import db
        from app.regions import load_regions
        init_schema()
        load_regions()
        load_demo()
        db.session.commit()
        steps = {"schema_demo_s": time.perf_counter() - t0}
        log(f"{dbname}: schema, regions and demo in {steps['schema_demo_s']:.1f}s")
        t = time.perf_counter()
        n_synth, n_demo = _make_hospitals(db, hospitals)
        project_id, n_certs = _make_project(db, items)
        steps["orgs_catalogue_s"] = time.perf_counter() - t
        log(f"{dbname}: {n_synth:,} synthetic + {n_demo} demo hospitals, project "
            f"#{project_id}, {items:,} catalogue lines / {n_certs:,} 注册证 in "
            f"{steps['orgs_catalogue_s']:.1f}s")
        t = time.perf_counter()
        stats = _make_reports(dbname, db, project_id, n_certs, lines)
        steps["reports_lines_s"] = time.perf_counter() - t
        t = time.perf_counter()
        if dbname == "sqlite":
            with db.engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        else:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        steps["analyze_s"] = time.perf_counter() - t
        seconds = time.perf_counter() - t0
        meta = dict(want, project_id=str(project_id), synthetic=str(n_synth),
                    demo_hospitals=str(n_demo), certs=str(n_certs),
                    build_s=f"{seconds:.1f}", **{k: str(v) for k, v in stats.items()},
                    **{k: f"{v:.1f}" for k, v in steps.items()})
        with db.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS bench_meta "
                              "(key VARCHAR(32) PRIMARY KEY, value VARCHAR(64))"))
            conn.execute(text("DELETE FROM bench_meta"))
            conn.execute(text("INSERT INTO bench_meta (key, value) VALUES (:k, :v)"),
                         [{"k": k, "v": v} for k, v in meta.items()])
        db.session.remove()
    log(f"{dbname}: IVD dataset built in {seconds:.1f}s")
    return app, True, seconds, meta


def _make_hospitals(db, hospitals):
    """Synthetic medical organisations in 山西 so that, with the demo's, there are
    `hospitals` active ones: round-robin over the real counties, every OWN_EVERY-th in
    省本级; unit code <region code><5000+k>. Returns (synthetic, demo) counts."""
    from app.models.core import Organization, Region, utcnow
    medical = (Organization.org_type == "medical", Organization.active.is_(True),
               Organization.province_code == PROVINCE)
    n_demo = db.session.execute(select(db.func.count()).select_from(Organization)
                                .where(*medical)).scalar()
    n_synth = max(0, hospitals - n_demo)
    counties = db.session.execute(select(Region).where(
        Region.level == "county", Region.province_code == PROVINCE)
        .order_by(Region.code)).scalars().all()
    own = db.session.execute(select(Region).where(Region.code == PROVINCE_OWN)).scalar_one()
    now, seq, rows, c = utcnow(), {}, [], 0
    for i in range(n_synth):
        if i % OWN_EVERY == OWN_EVERY - 1:
            r, level = own, "city"
        else:
            r, level = counties[c % len(counties)], "county"
            c += 1
        k = seq[r.code] = seq.get(r.code, -1) + 1
        if k >= 5000:
            raise SystemExit(f"too many synthetic hospitals in region {r.code}")
        rows.append(dict(name=f"{r.name}第{k + 1}医院（基准）", org_type="medical", level=level,
                         region_id=r.id, unit_code=f"{r.code}{5000 + k:04d}",
                         category="综合医院", grade="二级甲等" if level == "county" else "三级甲等",
                         province_code=r.province_code, city_code=r.city_code,
                         county_code=r.county_code, active=True, created_at=now))
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(Organization.__table__), rows[start:start + BATCH])
    db.session.commit()
    return n_synth, n_demo


def _make_project(db, items):
    """The project (window open today) and its catalogue: item n belongs to 注册证
    n·certs/items, so each 注册证 has 2–3 consecutive 流水号. Returns (id, certs)."""
    from app.demo.ivd import MAJORS, MAKERS, PRODUCTS
    from app.models.ivd import IvdCatalogItem, IvdProject
    today = dt.date.today()
    project = IvdProject(name=PROJECT_NAME, year=today.year + 1, threshold_pct=30,
                         **_window(today))
    db.session.add(project)
    db.session.commit()
    minors = [(major, minor) for major, group in MAJORS.items() for minor in group]
    certs = max(1, round(items * CERTS_PER_ITEM))
    rows, s, prev = [], 0, None
    for n in range(items):
        c = n * certs // items
        s = s + 1 if c == prev else 0
        prev = c
        major, minor = minors[c % len(minors)]
        rows.append(dict(project_id=project.id, serial_no=f"IVD{n + 1:06d}", major=major,
                         minor=minor, manufacturer=MAKERS[c % len(MAKERS)],
                         cert_no=f"国械注准2019340{c + 1:04d}",
                         product_name=f"{minor}{PRODUCTS[(c + s) % len(PRODUCTS)]}",
                         specification=f"{(s + 1) * 50}人份/盒"))
    db.session.execute(insert(IvdCatalogItem.__table__), rows)
    db.session.commit()
    return project.id, certs


def _window(today):
    day = dt.timedelta(days=1)
    return dict(fill_start=today - 30 * day, fill_end=today + 60 * day,
                city_deadline=today + 75 * day, province_deadline=today + 90 * day)


def line_values(report_id, cert_index):
    """(last, next, in_use) of one 注册证 of one report, deterministic; rules 1–3 kept:
    in_use always chosen, the same for every 流水号 of the 注册证, last = 0 when 否."""
    h = ((report_id * 1_000_003 + cert_index) * 2654435761 + 97) & 0xFFFFFFFF
    in_use = h % NOT_IN_USE_EVERY != 0
    if not in_use:
        return 0, (h >> 8) % 30, False
    last = 20 + (h >> 4) % 480
    return last, max(0, last + (h >> 12) % 60 - 20), True


def _make_reports(dbname, db, project_id, certs, lines):
    """Reports (ensure_hospital_reports / ensure_area_reports), the exempt ones, the
    lines, then totals by one correlated UPDATE. Returns counts for bench_meta."""
    from app.models.core import User
    from app.models.ivd import (IvdAreaReport, IvdCatalogItem, IvdHospitalReport,
                                IvdReportLine)
    from app.services.ivd import commands
    H, L = IvdHospitalReport, IvdReportLine
    t0 = time.perf_counter()
    commands.ensure_hospital_reports(project_id, province_code=PROVINCE)
    commands.ensure_area_reports(project_id, PROVINCE)
    reports = db.session.execute(select(H.id, H.organization_id).where(
        H.project_id == project_id).order_by(H.id)).all()
    n_areas = db.session.execute(select(db.func.count()).select_from(IvdAreaReport).where(
        IvdAreaReport.project_id == project_id)).scalar()
    log(f"{dbname}: {len(reports):,} hospital reports, {n_areas} area reports in "
        f"{time.perf_counter() - t0:.1f}s")
    stash_org = db.session.execute(select(User.organization_id).where(
        User.username == STASH_USER)).scalar_one()
    exempt = [rid for i, (rid, org) in enumerate(reports)
              if i % EXEMPT_EVERY == EXEMPT_EVERY - 1 and org != stash_org]
    if exempt:
        with db.engine.begin() as conn:
            conn.execute(H.__table__.update().where(H.__table__.c.id == bindparam("rid"))
                         .values(state="exempt"), [{"rid": r} for r in exempt])
    item_ids = db.session.execute(select(IvdCatalogItem.id).where(
        IvdCatalogItem.project_id == project_id).order_by(IvdCatalogItem.serial_no)).scalars().all()
    groups = [[] for _ in range(certs)]
    for n, item_id in enumerate(item_ids):
        groups[n * certs // len(item_ids)].append(item_id)
    lines = min(lines, len(item_ids))
    exempt_set = set(exempt)
    table = L.__table__
    indexes = list(table.indexes)
    with db.engine.begin() as conn:
        for idx in indexes:
            idx.drop(conn, checkfirst=True)
    t1, total, batch, reporting = time.perf_counter(), 0, [], 0
    expected = [0, 0]
    with db.engine.begin() as conn:
        for rid, _org in reports:
            if rid in exempt_set:
                continue
            reporting += 1
            rng = random.Random(rid)
            picked = 0
            for c in rng.sample(range(certs), min(certs, lines)):
                last, nxt, in_use = line_values(rid, c)
                for item_id in groups[c]:
                    if picked == lines:
                        break
                    batch.append({"report_id": rid, "item_id": item_id, "last_year_qty": last,
                                  "next_year_qty": nxt, "in_use": in_use})
                    expected[0] += last
                    expected[1] += nxt
                    picked += 1
                if picked == lines:
                    break
            if len(batch) >= BATCH:
                conn.execute(insert(table), batch)
                total += len(batch)
                batch = []
                if total // BATCH % 10 == 0:
                    log(f"{dbname}: {total:,} lines ({time.perf_counter() - t1:.0f}s)")
        if batch:
            conn.execute(insert(table), batch)
            total += len(batch)
    insert_s = time.perf_counter() - t1
    log(f"{dbname}: {total:,} report lines inserted in {insert_s:.1f}s "
        f"({total / insert_s:,.0f} rows/s); re-creating {len(indexes)} index(es)")
    t2 = time.perf_counter()
    with db.engine.begin() as conn:
        for idx in indexes:
            idx.create(conn)
        sub = "FROM ivd_report_line l WHERE l.report_id = ivd_hospital_report.id"
        conn.execute(text(
            f"UPDATE ivd_hospital_report SET "
            f"last_year_total = COALESCE((SELECT SUM(l.last_year_qty) {sub}), 0), "
            f"next_year_total = COALESCE((SELECT SUM(l.next_year_qty) {sub}), 0), "
            f"filled_lines = (SELECT count(*) {sub}) WHERE project_id = :p"), {"p": project_id})
        got = conn.execute(text("SELECT SUM(last_year_total), SUM(next_year_total), "
                                "SUM(filled_lines) FROM ivd_hospital_report "
                                "WHERE project_id = :p"), {"p": project_id}).one()
    if [int(got[0]), int(got[1]), int(got[2])] != expected + [total]:
        raise SystemExit(f"IVD BUILD MISMATCH: totals {list(got)} vs generated "
                         f"{expected + [total]}")
    log(f"{dbname}: index + totals (one correlated UPDATE) in {time.perf_counter() - t2:.1f}s")
    return {"reports": len(reports), "reporting": reporting, "exempt": len(exempt),
            "line_rows": total, "area_reports": n_areas, "lines_insert_s": f"{insert_s:.1f}"}


# ---- measurements -------------------------------------------------------------------------
def _prepare(app):
    """Window open today, the three accounts usable; returns the ids the timings need."""
    from app.extensions import db
    from app.models.core import User
    from app.models.ivd import IvdHospitalReport, IvdProject
    with app.app_context():
        project = db.session.execute(select(IvdProject).where(
            IvdProject.name == PROJECT_NAME)).scalar_one()
        today = dt.date.today()
        if not project.fill_start <= today <= project.fill_end:
            for k, v in _window(today).items():
                setattr(project, k, v)
            log(f"project window moved to {project.fill_start}~{project.fill_end}")
        users = {}
        for name in (STASH_USER, SUMMARY_USER, EXPORT_USER):
            u = db.session.execute(select(User).where(User.username == name)).scalar_one_or_none()
            if u is None:
                raise SystemExit(f"user {name} missing: the IVD dataset loads the demo data; "
                                 "rebuild it (--rebuild)")
            u.fail_login_count, u.locked_until, u.must_change_password = 0, None, False
            users[name] = u.id
        stash_org = db.session.get(User, users[STASH_USER]).organization_id
        report = db.session.execute(select(IvdHospitalReport).where(
            IvdHospitalReport.project_id == project.id,
            IvdHospitalReport.organization_id == stash_org)).scalar_one()
        report.state = "unsubmitted"
        db.session.commit()
        ids = {"project_id": project.id, "report_id": report.id, "users": users}
        db.session.remove()
    return ids


def _login(app, username):
    client = app.test_client()
    r = client.post("/login/", data={"username": username, "password": PASSWORD})
    if r.status_code != 302 or "/login" in r.headers.get("Location", ""):
        raise SystemExit(f"login as {username} failed ({r.status_code})")
    return client


def _flashes(response):
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>',
                               response.get_data(as_text=True), re.S)).strip()


def _stash_page(app, ids):
    """The first catalogue page of 50 and two valid value sets for it (A/B differ in
    every line); 是否有在用仪器 follows what the report already has for each 注册证."""
    from app.extensions import db
    from app.models.ivd import IvdCatalogItem, IvdReportLine
    I, L = IvdCatalogItem, IvdReportLine
    with app.app_context():
        items = db.session.execute(select(I.id, I.cert_no).where(
            I.project_id == ids["project_id"]).order_by(I.serial_no).limit(PAGE)).all()
        page_ids = {i for i, _c in items}
        in_use = dict(db.session.execute(select(I.cert_no, L.in_use).join(L, L.item_id == I.id)
                                         .where(L.report_id == ids["report_id"],
                                                L.item_id.not_in(page_ids),
                                                L.in_use.is_not(None))).all())
        db.session.remove()
    sets = []
    for bump in (0, 1):
        entries = []
        for k, (item_id, cert) in enumerate(items):
            use = in_use.get(cert, True)
            last = 10 + k + bump if use else 0
            entries.append({"item_id": item_id, "last_year_qty": last,
                            "next_year_qty": 12 + k + 2 * bump, "in_use": use})
        sets.append(entries)
    return sets


def bench_stash(app, ids, repeat):
    """POST /ivd/fill/<p>/stash as the hospital (HTTP path) and save_lines() directly."""
    from flask import g
    from app.extensions import db
    from app.models.core import User
    from app.models.ivd import IvdHospitalReport, IvdReportLine
    from app.services.ivd import commands
    sets = _stash_page(app, ids)
    url = f"/ivd/fill/{ids['project_id']}/stash"
    client = _login(app, STASH_USER)

    def form(entries):
        data = {"item": [str(e["item_id"]) for e in entries], "page": "0", "q": ""}
        for e in entries:
            i = e["item_id"]
            data[f"last_{i}"] = str(e["last_year_qty"])
            data[f"next_{i}"] = str(e["next_year_qty"])
            data[f"inuse_{i}"] = "1" if e["in_use"] else "0"
        return data

    forms = [form(s) for s in sets]
    http = []
    for n in range(WARMUP + repeat):
        data = forms[n % 2]
        t0 = time.perf_counter()
        r = client.post(url, data=data)
        t = time.perf_counter() - t0
        if r.status_code != 302:
            raise SystemExit(f"暂存 refused ({r.status_code}): {_flashes(r)[:500]}")
        if n >= WARMUP:
            http.append(t)
    last_set = (WARMUP + repeat - 1) % 2

    direct = []
    for n in range(WARMUP + repeat):
        entries = sets[(last_set + 1 + n) % 2]
        with app.test_request_context(url, method="POST"):
            g.user = db.session.get(User, ids["users"][STASH_USER])
            g.user.organization  # noqa: B018
            report = db.session.get(IvdHospitalReport, ids["report_id"])
            report.project  # noqa: B018
            t0 = time.perf_counter()
            commands.save_lines(report, entries, g.user)
            t = time.perf_counter() - t0
        if n >= WARMUP:
            direct.append(t)
    final = sets[(last_set + WARMUP + repeat) % 2]

    # what is stored is the last set sent, and the totals are the lines' sums
    with app.app_context():
        L = IvdReportLine
        stored = dict(db.session.execute(select(L.item_id, L.next_year_qty).where(
            L.report_id == ids["report_id"],
            L.item_id.in_([e["item_id"] for e in final]))).all())
        if stored != {e["item_id"]: e["next_year_qty"] for e in final}:
            raise SystemExit("IVD STASH MISMATCH: stored lines differ from the last 暂存")
        report = db.session.get(IvdHospitalReport, ids["report_id"])
        sums = db.session.execute(select(db.func.sum(L.last_year_qty), db.func.sum(
            L.next_year_qty), db.func.count(L.id)).where(L.report_id == report.id)).one()
        if (report.last_year_total, report.next_year_total, report.filled_lines) != \
                (int(sums[0]), int(sums[1]), sums[2]):
            raise SystemExit("IVD STASH MISMATCH: report totals differ from its lines")
        filled = report.filled_lines
        db.session.remove()
    res = {"http": summarise(http), "direct": summarise(direct), "lines": len(sets[0]),
           "report_lines": filled, "user": STASH_USER}
    log(f"暂存 {len(sets[0])} lines, HTTP POST: median {res['http']['median_ms']:.1f}ms "
        f"p95 {res['http']['p95_ms']:.1f}ms; save_lines(): median "
        f"{res['direct']['median_ms']:.1f}ms p95 {res['direct']['p95_ms']:.1f}ms")
    return res


SUMMARY_SQL = text(
    "SELECT city_code, count(id), SUM(last_year_total), SUM(next_year_total) "
    "FROM ivd_hospital_report WHERE project_id = :p AND state <> 'exempt' "
    "AND city_code IN :codes GROUP BY city_code").bindparams(bindparam("codes", expanding=True))
LINE_LEVEL_SQL = text(
    "SELECT h.city_code, count(DISTINCT h.id), SUM(l.last_year_qty), SUM(l.next_year_qty) "
    "FROM ivd_report_line l JOIN ivd_hospital_report h ON l.report_id = h.id "
    "WHERE h.project_id = :p AND h.state <> 'exempt' AND h.province_code = :prov "
    "GROUP BY h.city_code")


def bench_summary(app, ids, repeat):
    """GET the province screen as sx_ybj; the pieces it runs; the bare GROUP BY."""
    from app.extensions import db
    from app.models.ivd import IvdAreaReport
    from app.services.ivd import commands, queries
    pid = ids["project_id"]
    url = f"/ivd/review/areas/list/?project={pid}"
    client = _login(app, SUMMARY_USER)
    screen, body = [], ""
    for n in range(WARMUP + repeat):
        t0 = time.perf_counter()
        r = client.get(url)
        t = time.perf_counter() - t0
        if r.status_code != 200:
            raise SystemExit(f"province summary answered {r.status_code}")
        if n >= WARMUP:
            screen.append(t)
        body = r.get_data(as_text=True)

    with app.app_context():
        codes = db.session.execute(select(IvdAreaReport.city_code).where(
            IvdAreaReport.project_id == pid, IvdAreaReport.level == "city",
            IvdAreaReport.province_code == PROVINCE)).scalars().all()
        db.session.remove()

    def timed(fn):
        def run():
            with app.app_context():
                t0 = time.perf_counter()
                out = fn()
                t = time.perf_counter() - t0
                db.session.remove()
            return t, out
        return run

    parts = {
        "ensure_hospital_reports": timed(
            lambda: commands.ensure_hospital_reports(pid, province_code=PROVINCE)),
        "ensure_area_reports": timed(lambda: commands.ensure_area_reports(pid, PROVINCE)),
        "area_sums": timed(lambda: queries.area_sums(pid, "city_code", codes)),
    }

    def raw():
        t0 = time.perf_counter()
        with db.engine.connect() as conn:
            rows = conn.execute(SUMMARY_SQL, {"p": pid, "codes": codes}).all()
        return time.perf_counter() - t0, {c: (n, int(a or 0), int(b or 0)) for c, n, a, b in rows}

    with app.app_context():
        engine_times = {k: [] for k in parts}
        engine_times["raw"] = []
        outs = {}
        for n in range(WARMUP + repeat):
            for k, fn in list(parts.items()) + [("raw", raw)]:
                t, out = fn()
                if n >= WARMUP:
                    engine_times[k].append(t)
                outs[k] = out
        with db.engine.connect() as conn:
            records = {c: (n, int(a or 0), int(b or 0)) for c, n, a, b in
                       conn.execute(LINE_LEVEL_SQL, {"p": pid, "prov": PROVINCE}).all()}
        db.session.remove()
    if outs["area_sums"] != outs["raw"]:
        raise SystemExit(f"IVD SUMMARY MISMATCH: area_sums {outs['area_sums']} vs raw "
                         f"{outs['raw']}")
    # the denormalised totals against the lines (hospitals without lines count 0)
    for code, (n, last, nxt) in outs["raw"].items():
        rn, rl, rx = records.get(code, (0, 0, 0))
        if (last, nxt) != (rl, rx) or rn > n:
            raise SystemExit(f"IVD SUMMARY MISMATCH in {code}: totals {(n, last, nxt)} vs "
                             f"lines {(rn, rl, rx)}")
    # the page shows every area's three figures (医疗机构数量, 历史采购量, 采购需求量)
    shown = sum(1 for n, last, nxt in outs["raw"].values()
                if re.search(rf"<td>{n}</td>\s*<td>{last}</td>\s*<td>{nxt}</td>", body))
    if shown != len(outs["raw"]):
        raise SystemExit(f"IVD SUMMARY MISMATCH: the screen shows the figures of {shown} of "
                         f"{len(outs['raw'])} areas")
    res = {"screen": summarise(screen), "areas": len(codes), "areas_with_figures_shown": shown,
           "hospitals_counted": sum(v[0] for v in outs["raw"].values()),
           "user": SUMMARY_USER,
           **{k: summarise(v) for k, v in engine_times.items()}}
    res["ratio_screen_raw"] = res["screen"]["median_ms"] / res["raw"]["median_ms"]
    res["ratio_area_sums_raw"] = res["area_sums"]["median_ms"] / res["raw"]["median_ms"]
    log(f"province summary GET: median {res['screen']['median_ms']:.1f}ms p95 "
        f"{res['screen']['p95_ms']:.1f}ms; ensure_hospital_reports "
        f"{res['ensure_hospital_reports']['median_ms']:.1f}ms, ensure_area_reports "
        f"{res['ensure_area_reports']['median_ms']:.1f}ms, area_sums "
        f"{res['area_sums']['median_ms']:.2f}ms, raw GROUP BY {res['raw']['median_ms']:.2f}ms")
    return res


def bench_export(dbname, out_dir, runs, lines):
    """Alternating fresh processes: the job, then the baseline, `runs` times each."""
    from bench.run import run_child
    out = {"job": [], "bare": []}
    for n in range(runs):
        for mode in ("job", "bare"):
            e = run_child(["bench.ivd", "--db", dbname, "--export", mode, "--out-dir", out_dir],
                          "BENCH_IVD_EXPORT")
            out[mode].append(e)
            log(f"national CSV {mode:<4} run {n + 1}: {e['rows']:,} rows from {lines:,} lines "
                f"in {e['seconds']:.2f}s, peak RSS {e['peak_kb'] / 1024:.0f}MB "
                f"(base {e['baseline_kb'] / 1024:.0f}MB), {e['file_bytes']:,} bytes")
    res = {}
    for mode, runs_ in out.items():
        secs = [e["seconds"] for e in runs_]
        med = statistics.median(secs)
        res[mode] = {"seconds": med, "min_s": min(secs), "max_s": max(secs), "runs": len(secs),
                     "rows": runs_[0]["rows"], "rows_per_s": runs_[0]["rows"] / med,
                     "lines_per_s": lines / med,
                     "baseline_kb": max(e["baseline_kb"] for e in runs_),
                     "peak_kb": max(e["peak_kb"] for e in runs_),
                     "file_bytes": runs_[0]["file_bytes"], "sha1": runs_[0]["sha1"]}
    res["identical"] = len({e["sha1"] for r in out.values() for e in r}) == 1
    if not res["identical"]:
        raise SystemExit(f"IVD EXPORT MISMATCH: job and baseline files differ "
                         f"({[e['sha1'] for r in out.values() for e in r]})")
    res["ratio"] = res["job"]["seconds"] / res["bare"]["seconds"]
    res["lines"] = lines
    return res


# ---- one export in a fresh process ----------------------------------------------------------
def export_child(dbname, mode, out_dir):
    from app.extensions import db
    from app.models.ivd import IvdProject
    app = make_ivd_app(ivd_url(dbname, out_dir), dbname, out_dir)
    with app.app_context():
        from app.services.export_jobs import export_dir
        pid = db.session.execute(select(IvdProject.id).where(
            IvdProject.name == PROJECT_NAME)).scalar_one()
        exports = export_dir()
        db.session.remove()
    baseline = proc_status_kb("VmRSS")
    if mode == "job":
        seconds, rows, path = _export_job(app, pid, exports)
    else:
        seconds, rows, path = _export_bare(app, pid, out_dir, dbname)
    # VmHWM, not ru_maxrss: on Linux ru_maxrss survives exec and so starts at the forking
    # parent's high-water mark (the building process here); VmHWM is this image's own.
    peak = proc_status_kb("VmHWM")
    ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(path, "rb") as fh:
        sha1 = hashlib.sha1(fh.read()).hexdigest()
    size = os.path.getsize(path)
    os.unlink(path)
    print("BENCH_IVD_EXPORT " + json.dumps({
        "db": dbname, "mode": mode, "rows": rows, "seconds": seconds,
        "baseline_kb": baseline, "peak_kb": peak, "ru_maxrss_kb": ru_maxrss, "file_bytes": size,
        "sha1": sha1}), flush=True)


def _export_job(app, pid, exports):
    """ivd_national_csv(job_id) on a pending ExportJob of the super-admin, as
    export_jobs.start() would queue it (called directly, not on a thread)."""
    from app.extensions import db
    from app.models.core import User
    from app.models.jobs import ExportJob
    from app.services.ivd.exports import ivd_national_csv
    with app.app_context():
        admin = db.session.execute(select(User).where(User.username == EXPORT_USER)).scalar_one()
        row = ExportJob(user_id=admin.id, title="基准-全国报量数据", view_name="ivd_national_csv",
                        query_string=f"project={pid}", columns="-", state="pending")
        db.session.add(row)
        db.session.commit()
        job_id = row.id
        db.session.remove()
    with app.app_context():
        t0 = time.perf_counter()
        ivd_national_csv(job_id)
        seconds = time.perf_counter() - t0
        db.session.remove()
    with app.app_context():
        row = db.session.get(ExportJob, job_id)
        if row.state != "done":
            raise SystemExit(f"ivd_national_csv ended in state {row.state}: {row.error}")
        rows, path = row.rows_written, os.path.join(exports, row.file_name)
        db.session.delete(row)
        db.session.commit()
        db.session.remove()
    return seconds, rows, path


def _export_bare(app, pid, out_dir, dbname):
    """The same SQL (national_rows compiled with literal values) on a raw DB-API cursor —
    a psycopg named (server-side) cursor on PostgreSQL, a plain sqlite3 cursor — written
    by a bare csv.writer with the same BOM and header row."""
    from app.extensions import db
    from app.services.ivd.exports import NATIONAL_COLUMNS
    from app.services.ivd.queries import national_rows
    path = os.path.join(out_dir, f"ivd-national-{dbname}-bare.csv")
    with app.app_context():
        engine = db.engine
        sql = str(national_rows(pid).compile(dialect=engine.dialect,
                                             compile_kwargs={"literal_binds": True}))
        headers = [c.header for c in NATIONAL_COLUMNS]
        t0 = time.perf_counter()
        raw = engine.raw_connection()
        try:
            if engine.dialect.name == "postgresql":
                cur = raw.driver_connection.cursor(name="ivd_national_bare")
                cur.itersize = 2000
            else:
                cur = raw.cursor()
            cur.execute(sql)
            rows = 0
            with open(path, "w", encoding="utf-8", newline="") as fh:
                fh.write("\ufeff")
                writer = csv.writer(fh)
                writer.writerow(headers)
                for row in cur:
                    writer.writerow(row)
                    rows += 1
            cur.close()
            raw.rollback()
        finally:
            raw.close()
        seconds = time.perf_counter() - t0
    return seconds, rows, path


# ---- report ---------------------------------------------------------------------------------
def _v(ok):
    return "ok" if ok else "MISSED"


def print_ivd(res, stash_target=STASH_TARGET_MS, summary_target=SUMMARY_TARGET_MS,
              export_target=EXPORT_TARGET):
    m, d = res["meta"], res["dataset"]
    build = f"built in {res['build_s']:.0f}s" if res["built"] else \
        f"reused cached build (built in {m.get('build_s', '?')}s)"
    print(f"\n  IVD 体外诊断试剂报量, 山西省 only: {d['hospitals']:,} hospitals "
          f"({d['reporting']:,} reporting, {d['exempt']:,} 无需上报), {d['items']:,} catalogue "
          f"lines / {d['certs']:,} 注册证, {d['line_rows']:,} report lines "
          f"({d['lines_per_hospital']} per reporting hospital = "
          f"{d['density_pct']:.1f}% of the catalogue); {build}")
    s = res["stash"]
    print(f"  {'step':<58} {'median ms':>10} {'p95 ms':>9}  target")
    h = s["http"]
    print(f"  {'暂存 ' + str(s['lines']) + ' lines: POST /ivd/fill/<p>/stash as ' + s['user']:<58} "
          f"{h['median_ms']:>10.1f} {h['p95_ms']:>9.1f}  p95<={stash_target:g}ms "
          f"{_v(h['p95_ms'] <= stash_target)}")
    print(f"  {'  of which ivd.save_lines() called directly':<58} "
          f"{s['direct']['median_ms']:>10.1f} {s['direct']['p95_ms']:>9.1f}")
    p = res["summary"]
    sc = p["screen"]
    print(f"  {'province summary: GET /ivd/review/areas/list/ as ' + p['user']:<58} "
          f"{sc['median_ms']:>10.1f} {sc['p95_ms']:>9.1f}  p95<={summary_target:g}ms "
          f"{_v(sc['p95_ms'] <= summary_target)}")
    for k, label in (("ensure_hospital_reports", "  ensure_hospital_reports(province) (each GET)"),
                     ("ensure_area_reports", "  ensure_area_reports(province) (each GET)"),
                     ("area_sums", f"  area_sums() GROUP BY city_code ({p['areas']} areas)"),
                     ("raw", "  raw SQL: the same GROUP BY in text()")):
        print(f"  {label:<58} {p[k]['median_ms']:>10.2f} {p[k]['p95_ms']:>9.2f}")
    print(f"  {'  ratio screen / raw GROUP BY; area_sums() / raw':<58} "
          f"{p['ratio_screen_raw']:>10.1f} {p['ratio_area_sums_raw']:>9.2f}  (no target)")
    e = res["export"]
    print(f"  national CSV export ({e['lines']:,} lines → {e['job']['rows']:,} rows, "
          f"{e['job']['file_bytes']:,} bytes; fresh process per run, median of "
          f"{e['job']['runs']})")
    print(f"  {'path':<34} {'seconds':>8} {'rows/s':>9} {'lines/s':>11} {'base RSS':>9} "
          f"{'peak RSS':>9} {'ratio':>6}")
    for mode, label in (("job", "ivd_national_csv job"), ("bare", "raw cursor + csv.writer")):
        x = e[mode]
        extra = (f"{e['ratio']:>6.2f}  target<={export_target:g} "
                 f"{_v(e['ratio'] <= export_target)}") if mode == "job" else ""
        print(f"  {label:<34} {x['seconds']:>8.2f} {x['rows_per_s']:>9,.0f} "
              f"{x['lines_per_s']:>11,.0f} {x['baseline_kb'] / 1024:>7.0f}MB "
              f"{x['peak_kb'] / 1024:>7.0f}MB {extra}")


def main(argv=None):
    from bench.run import _env_int
    ap = argparse.ArgumentParser(prog="python -m bench.ivd")
    ap.add_argument("--db", required=True, choices=("sqlite", "postgresql"))
    ap.add_argument("--hospitals", type=int,
                    default=_env_int("BENCH_IVD_HOSPITALS", DEFAULT_HOSPITALS))
    ap.add_argument("--items", type=int, default=_env_int("BENCH_IVD_ITEMS", DEFAULT_ITEMS))
    ap.add_argument("--lines", type=int,
                    default=_env_int("BENCH_IVD_LINES_PER_HOSPITAL", DEFAULT_LINES),
                    help="filled catalogue lines per reporting hospital")
    ap.add_argument("--repeat", type=int, default=_env_int("BENCH_REPEAT", 20))
    ap.add_argument("--export-runs", type=int, default=3,
                    help="fresh-process runs of each export (job, baseline), alternating")
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument("--out-dir", default=OUT_DIR,
                    help="SQLite file, storage and export files (default bench/out)")
    ap.add_argument("--export", choices=("job", "bare"), help=argparse.SUPPRESS)
    ap.add_argument("--print", action="store_true", help="also print the table")
    args = ap.parse_args(argv)
    if args.export:
        export_child(args.db, args.export, args.out_dir)
        return 0
    if args.items < 1 or args.lines < 1 or args.repeat < 1 or args.export_runs < 1:
        raise SystemExit("--items, --lines, --repeat and --export-runs must be positive")
    app, built, build_s, meta = ensure_ivd_database(args.db, args.hospitals, args.items,
                                                    args.lines, args.rebuild, args.out_dir)
    ids = _prepare(app)
    lines_per = min(args.lines, args.items)
    dataset = {"hospitals": int(meta["reports"]), "synthetic": int(meta["synthetic"]),
               "demo_hospitals": int(meta["demo_hospitals"]), "reporting": int(meta["reporting"]),
               "exempt": int(meta["exempt"]), "items": args.items, "certs": int(meta["certs"]),
               "line_rows": int(meta["line_rows"]), "lines_per_hospital": lines_per,
               "density_pct": 100.0 * lines_per / args.items,
               "area_reports": int(meta["area_reports"])}
    log(f"{args.db}: {dataset['hospitals']:,} hospital reports ({dataset['exempt']:,} exempt), "
        f"{dataset['line_rows']:,} lines = {lines_per} per reporting hospital "
        f"({dataset['density_pct']:.1f}% of {args.items:,} catalogue lines)")
    res = {"db": args.db, "url": ivd_url(args.db, args.out_dir), "built": built,
           "build_s": build_s, "meta": meta, "dataset": dataset, "repeat": args.repeat,
           "project_id": ids["project_id"]}
    res["stash"] = bench_stash(app, ids, args.repeat)
    res["summary"] = bench_summary(app, ids, args.repeat)
    res["export"] = bench_export(args.db, args.out_dir, args.export_runs, dataset["line_rows"])
    if args.print:
        print_ivd(res)
    print("BENCH_IVD " + json.dumps(res, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
