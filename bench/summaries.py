"""Hierarchical figures from the summary table vs a raw GROUP BY over the records (issue 8
item 4, last point), on the list dataset (N relief applications over every county).

  national  救助数据统计 as `nhc` (scope all → one row per province): the app's
            `app.services.relief.queries.figures(user)` — a GROUP BY province_code, state over
            relief_summary (one row per institution × reviewer × state × category) — against
            the same figures as a raw GROUP BY over relief_application in text().
  province  the same as `sx_agency` (山西省 → one row per city): app figures over
            relief_summary WHERE province_code = '140000' vs the raw GROUP BY city_code over
            relief_application WHERE province_code = '140000'.

Both sides: a fresh app context per run, the user loaded outside the timer, connection
checkout inside; the app side includes its name look-up (regions) and Python pivot, the raw
side only the GROUP BY. Median of `repeat` runs after 2 warm-ups, alternating. The first run
checks that both give the same counts and amounts per area (exit 1 `SUMMARY MISMATCH`), and
that `app.summaries.differences` finds nothing (the dataset's summary equals a recount).
Target: summary ≥ 10× faster than the raw GROUP BY.

    python -m bench.summaries --db sqlite|postgresql --rows N [--repeat 10]
prints `BENCH_SUMMARY {...}` for bench.run."""
import argparse
import json
import statistics
import time

from sqlalchemy import text

from bench.build import ensure_database
from bench.common import load_user, storage_tag, url_for

TARGET = 10.0
STATES = "('draft', 'submitted', 'returned', 'approved', 'rejected', 'disbursed')"
CASES = (("national", "nhc", "province_code", ""),
         ("province", "sx_agency", "city_code", "AND province_code = '140000'"))


def _raw_sql(column, where):
    return text(f"SELECT {column}, state, count(*), COALESCE(SUM(requested_amount), 0), "
                f"COALESCE(SUM(disbursed_amount), 0) FROM relief_application "
                f"WHERE state IN {STATES} {where} GROUP BY {column}, state")


def _raw_figures(engine, sql):
    t0 = time.perf_counter()
    with engine.connect() as conn:
        rows = conn.execute(sql).all()
    elapsed = time.perf_counter() - t0
    out = {}
    for key, state, n, requested, disbursed in rows:
        area = out.setdefault(key, [0, 0, 0])
        area[0] += int(n)
        area[1] += int(requested)
        area[2] += int(disbursed)
    return elapsed, out


def _app_figures(app, username):
    from flask import g
    from app.extensions import db
    from app.services.relief import queries as relief
    with app.test_request_context("/relief/statistics/"):
        g.user = load_user(username)
        g.user.organization.region  # noqa: B018  (loaded by the login, not by the screen)
        g.user.roles  # noqa: B018
        t0 = time.perf_counter()
        rows, _totals = relief.figures(g.user)
        elapsed = time.perf_counter() - t0
        out = {r["key"]: [r["total"], int(r["requested"] * 100), int(r["disbursed"] * 100)]
               for r in rows}
        db.session.remove()
    return elapsed, out


def run_case(app, engine, name, username, column, where, repeat):
    sql = _raw_sql(column, where)
    app_times, raw_times = [], []
    for i in range(2 + repeat):
        t_app, figs_app = _app_figures(app, username)
        t_raw, figs_raw = _raw_figures(engine, sql)
        if i == 0 and figs_app != figs_raw:
            diff = {k: (figs_app.get(k), figs_raw.get(k)) for k in set(figs_app) | set(figs_raw)
                    if figs_app.get(k) != figs_raw.get(k)}
            raise SystemExit(f"SUMMARY MISMATCH {name}: {dict(list(diff.items())[:5])}")
        if i >= 2:
            app_times.append(t_app)
            raw_times.append(t_raw)
    app_ms = statistics.median(app_times) * 1000
    raw_ms = statistics.median(raw_times) * 1000
    return {"case": name, "user": username, "areas": len(figs_app),
            "records": sum(v[0] for v in figs_raw.values()), "summary_ms": app_ms,
            "raw_ms": raw_ms, "speedup": raw_ms / app_ms}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, choices=("sqlite", "postgresql"))
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args(argv)
    url = url_for(args.db)
    app, _built, _s = ensure_database(args.db, url, args.rows, tag=storage_tag(args.db))
    from app.extensions import db
    from app.summaries import differences
    with app.app_context():
        engine = db.engine
        with engine.connect() as conn:
            summary_rows = conn.execute(text("SELECT count(*) FROM relief_summary")).scalar()
            t0 = time.perf_counter()
            found = differences(conn)
            check_s = time.perf_counter() - t0
    if found:
        raise SystemExit(f"SUMMARY MISMATCH: check-summaries found {len(found)} differences, "
                         f"e.g. {found[:3]}")
    cases = []
    for name, username, column, where in CASES:
        res = run_case(app, engine, name, username, column, where, args.repeat)
        print(f"  [summary] {args.db} {name}: {res['areas']} areas, {res['records']:,} records, "
              f"summary {res['summary_ms']:.2f}ms, raw GROUP BY {res['raw_ms']:.1f}ms, "
              f"×{res['speedup']:.1f}", flush=True)
        cases.append(res)
    print("BENCH_SUMMARY " + json.dumps({"db": args.db, "rows": args.rows, "cases": cases,
                                         "summary_rows": summary_rows,
                                         "check_seconds": check_s}), flush=True)


def print_table(results):
    """The section bench.run prints: one line per database and case."""
    print("\nSummary tables — hierarchical figures (救助数据统计) from relief_summary vs a raw "
          "GROUP BY over relief_application; target ≥ %.0f× faster" % TARGET)
    print(f"  {'db':<11}{'figure':<10}{'areas':>6}{'records':>12}{'summary ms':>12}"
          f"{'raw ms':>10}{'speed-up':>10}  ")
    for res in results:
        for c in res["cases"]:
            mark = "" if c["speedup"] >= TARGET else "  MISSED"
            print(f"  {res['db']:<11}{c['case']:<10}{c['areas']:>6}{c['records']:>12,}"
                  f"{c['summary_ms']:>12.2f}{c['raw_ms']:>10.1f}{c['speedup']:>9.1f}×{mark}")
        print(f"  {res['db']:<11}summary rows {res['summary_rows']:,}; check-summaries (full "
              f"recount + compare) {res['check_seconds']:.1f}s")


if __name__ == "__main__":
    main()
