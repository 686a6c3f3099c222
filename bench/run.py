"""`make bench`: scoped list pages and Excel export on BENCH_ROWS relief applications,
then the aggregation benchmark (数据提取 / 数据汇总) on BENCH_AGG_ROWS applications in one
province, then the IVD benchmark (体外诊断试剂报量: 暂存, province summary, national CSV) on
BENCH_IVD_HOSPITALS hospitals × BENCH_IVD_ITEMS catalogue lines, for SQLite and PostgreSQL.
See bench/README.md for what each figure means.

    python -m bench.run [--rows N] [--databases sqlite,postgresql] [--repeat 20]
                        [--export-small 100000] [--rebuild] [--no-export]
                        [--agg-rows N] [--no-aggregation]
                        [--ivd-hospitals N] [--ivd-items N] [--ivd-lines N] [--no-ivd]
                        [--only lists|aggregation|ivd]

Environment equivalents: BENCH_ROWS, BENCH_DATABASES, BENCH_REPEAT, BENCH_EXPORT_SMALL,
BENCH_REBUILD=1, BENCH_PG_URL, BENCH_AGG_ROWS, BENCH_AGG_PG_URL, BENCH_IVD_HOSPITALS,
BENCH_IVD_ITEMS, BENCH_IVD_LINES_PER_HOSPITAL, BENCH_IVD_PG_URL. Each database is built and timed in its own process and
every export runs in a fresh process (peak RSS per export). Always exits 0 unless the
benchmark itself cannot run; targets that are missed are reported as MISSED."""
import argparse
import json
import os
import subprocess
import sys
import time

from bench.common import DEFAULT_ROWS, OUT_DIR, url_for

DEFAULT_AGG_ROWS = 1_000_000   # = bench.aggregation.DEFAULT_AGG_ROWS (not imported: no app import here)
DEFAULT_IVD_HOSPITALS = 10_000  # = bench.ivd.DEFAULT_HOSPITALS
DEFAULT_IVD_ITEMS = 2_000       # = bench.ivd.DEFAULT_ITEMS
DEFAULT_IVD_LINES = 60          # = bench.ivd.DEFAULT_LINES: filled lines per reporting hospital

LIST_TARGET = 2.0
EXPORT_TARGET = 1.5
AGG_TARGET = 2.0
IVD_STASH_P95_MS = 300      # 暂存 of a 50-line page, p95
IVD_SUMMARY_P95_MS = 1000   # province summary screen, p95
IVD_EXPORT_TARGET = 1.5     # national CSV job / raw cursor + csv.writer


def _env_int(name, default):
    value = os.environ.get(name, "").replace("_", "").replace(",", "")
    return int(value) if value else default


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="python -m bench.run")
    ap.add_argument("--rows", type=int, default=_env_int("BENCH_ROWS", DEFAULT_ROWS))
    ap.add_argument("--databases", default=os.environ.get("BENCH_DATABASES", "sqlite,postgresql"))
    ap.add_argument("--repeat", type=int, default=_env_int("BENCH_REPEAT", 20))
    ap.add_argument("--export-small", type=int, default=_env_int("BENCH_EXPORT_SMALL", 100_000))
    ap.add_argument("--rebuild", action="store_true",
                    default=os.environ.get("BENCH_REBUILD", "") not in ("", "0"))
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--agg-rows", type=int, default=_env_int("BENCH_AGG_ROWS", DEFAULT_AGG_ROWS),
                    help="applications in the aggregation dataset (one province)")
    ap.add_argument("--no-aggregation", action="store_true")
    ap.add_argument("--ivd-hospitals", type=int,
                    default=_env_int("BENCH_IVD_HOSPITALS", DEFAULT_IVD_HOSPITALS),
                    help="hospitals in the IVD dataset (one province)")
    ap.add_argument("--ivd-items", type=int, default=_env_int("BENCH_IVD_ITEMS", DEFAULT_IVD_ITEMS),
                    help="catalogue lines of the IVD project")
    ap.add_argument("--ivd-lines", type=int,
                    default=_env_int("BENCH_IVD_LINES_PER_HOSPITAL", DEFAULT_IVD_LINES),
                    help="filled catalogue lines per reporting hospital")
    ap.add_argument("--no-ivd", action="store_true")
    ap.add_argument("--only", choices=("lists", "aggregation", "ivd"),
                    help="run only the list/export part, the aggregation part or the IVD part")
    args = ap.parse_args(argv)
    if args.only == "lists":
        args.no_aggregation = args.no_ivd = True
    elif args.only == "aggregation":
        args.no_ivd = True
    elif args.only == "ivd":
        args.no_aggregation = True
        args.no_ivd = False
    return args


def run_child(args, marker):
    """Run `python -m <args>` streaming its progress lines; return the marker's JSON."""
    cmd = [sys.executable, "-m", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result, tail = None, []
    for line in proc.stdout:
        if line.startswith(marker + " "):
            result = json.loads(line[len(marker) + 1:])
        else:
            tail = (tail + [line])[-40:]
            if line.startswith("  ["):
                print(line, end="", flush=True)
    proc.wait()
    if proc.returncode != 0 or result is None:
        sys.stdout.write("".join(tail))
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode})")
    return result


def pg_available(url):
    try:
        import psycopg
        from sqlalchemy.engine import make_url
        u = make_url(url)
        psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432,
                        user=u.username or "postgres", dbname="postgres",
                        password=u.password, connect_timeout=3).close()
        return True
    except Exception as exc:  # noqa: BLE001
        print(f"  PostgreSQL not reachable ({exc.__class__.__name__}: {exc}); skipped")
        return False


def mb(kb):
    return kb / 1024


def verdict(ratio, target):
    return "ok" if ratio <= target else "MISSED"


def print_lists(res):
    print(f"\n  Scoped list page (count + first page of 20, newest first), median of "
          f"{res['repeat']} runs after 3 warm-ups")
    print(f"  {'user':<11} {'scope':<22} {'rows in scope':>13} {'ORM/FAB ms':>11} "
          f"{'raw SQL ms':>11} {'ratio':>6}  target<={LIST_TARGET:g}")
    for r in res["lists"]:
        print(f"  {r['user']:<11} {r['scope']:<22} {r['count']:>13,} {r['orm_ms']:>11.2f} "
              f"{r['raw_ms']:>11.2f} {r['ratio']:>6.2f}  {verdict(r['ratio'], LIST_TARGET)}")


def print_exports(exports, sizes):
    print("\n  Export, standard format (15 columns), super-admin scope, xlsx constant_memory; "
          "one fresh process per run")
    print(f"  {'rows':>9} {'path':<28} {'seconds':>8} {'rows/s':>9} {'base RSS':>9} "
          f"{'peak RSS':>9} {'ratio':>6}")
    for n in sizes:
        a, b = exports.get(("app", n)), exports.get(("bare", n))
        if not a or not b:
            continue
        ratio = a["seconds"] / b["seconds"]
        for label, e, extra in (("portal export path", a, f"{ratio:>6.3f}  target<="
                                 f"{EXPORT_TARGET:g} {verdict(ratio, EXPORT_TARGET)}"),
                                ("bare xlsxwriter loop", b, "")):
            print(f"  {e['rows']:>9,} {label:<28} {e['seconds']:>8.2f} {e['rows_per_s']:>9,.0f} "
                  f"{mb(e['baseline_kb']):>7.0f}MB {mb(e['peak_kb']):>7.0f}MB {extra}")
    if len(sizes) == 2:
        small, big = sizes
        for mode, label in (("app", "portal export path"), ("bare", "bare xlsxwriter loop")):
            s, b = exports.get((mode, small)), exports.get((mode, big))
            if s and b:
                growth = mb(b["peak_kb"] - s["peak_kb"])
                over_base = (mb(s["peak_kb"] - s["baseline_kb"]), mb(b["peak_kb"] - b["baseline_kb"]))
                print(f"  peak RSS {label}: {mb(s['peak_kb']):.0f}MB at {small:,} rows vs "
                      f"{mb(b['peak_kb']):.0f}MB at {big:,} rows ({growth:+.1f}MB; above "
                      f"baseline {over_base[0]:.1f}MB vs {over_base[1]:.1f}MB)")


def main(argv=None):
    args = parse_args(argv)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    for d in databases:
        if d not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown database {d!r} in BENCH_DATABASES")
    os.makedirs(OUT_DIR, exist_ok=True)
    sizes = sorted({min(args.export_small, args.rows), args.rows})
    lists = "off" if args.only in ("aggregation", "ivd") else (
        f"{args.rows:,} relief applications, export sizes {', '.join(f'{s:,}' for s in sizes)}")
    ivd = "off" if args.no_ivd else (
        f"{args.ivd_hospitals:,} hospitals × {args.ivd_items:,} catalogue lines, "
        f"{args.ivd_lines} filled lines per reporting hospital "
        f"({100 * min(args.ivd_lines, args.ivd_items) / max(args.ivd_items, 1):.1f}% density) in 山西省")
    print(f"bench: databases: {', '.join(databases)}; lists: {lists}; aggregation: "
          f"{'off' if args.no_aggregation else f'{args.agg_rows:,} rows in 山西省'}; "
          f"IVD: {ivd}", flush=True)
    results = {}
    for dbname in databases:
        if dbname == "postgresql" and not pg_available(url_for(dbname)):
            continue
        t0 = time.perf_counter()
        if args.only in ("aggregation", "ivd"):
            res = {"skipped_lists": True}
        else:
            print(f"\n== {dbname}: preparing and timing lists", flush=True)
            child = ["bench.db_one", "--db", dbname, "--rows", str(args.rows),
                     "--repeat", str(args.repeat)] + (["--rebuild"] if args.rebuild else [])
            res = run_child(child, "BENCH_RESULT")
            res["repeat"] = args.repeat
        exports = {}
        if not args.no_export and not res.get("skipped_lists"):
            for n in sizes:
                for mode in ("app", "bare"):
                    out = os.path.join(OUT_DIR, f"export-{dbname}-{mode}-{n}.xlsx")
                    e = run_child(["bench.export_one", "--db", dbname, "--mode", mode,
                                   "--rows", str(n), "--out", out], "BENCH_EXPORT")
                    exports[(mode, n)] = e
                    print(f"  [export] {dbname} {mode:<4} {e['rows']:>9,} rows "
                          f"{e['seconds']:7.2f}s {e['rows_per_s']:>9,.0f} rows/s "
                          f"peak RSS {mb(e['peak_kb']):.0f}MB", flush=True)
        res["exports"] = exports
        if not args.no_aggregation:
            print(f"\n== {dbname}: aggregation dataset ({args.agg_rows:,} applications in "
                  f"山西省) and timings", flush=True)
            res["aggregation"] = run_child(
                ["bench.aggregation", "--db", dbname, "--rows", str(args.agg_rows),
                 "--repeat", str(args.repeat)] + (["--rebuild"] if args.rebuild else []),
                "BENCH_AGG")
        if not args.no_ivd:
            print(f"\n== {dbname}: IVD dataset ({args.ivd_hospitals:,} hospitals, "
                  f"{args.ivd_items:,} catalogue lines, {args.ivd_lines} lines per hospital) "
                  f"and timings", flush=True)
            res["ivd"] = run_child(
                ["bench.ivd", "--db", dbname, "--hospitals", str(args.ivd_hospitals),
                 "--items", str(args.ivd_items), "--lines", str(args.ivd_lines),
                 "--repeat", str(args.repeat)] + (["--rebuild"] if args.rebuild else []),
                "BENCH_IVD")
        res["wall_s"] = time.perf_counter() - t0
        results[dbname] = res

    for dbname, res in results.items():
        if res.get("skipped_lists"):
            print(f"\n=== {dbname} ===")
        else:
            build = f"built in {res['build_s']:.0f}s" if res["built"] else "reused cached build"
            print(f"\n=== {dbname} — {args.rows:,} relief applications ({build}) ===")
            print_lists(res)
        if res["exports"]:
            print_exports(res["exports"], sizes)
        if res.get("aggregation"):
            from bench.aggregation import print_aggregation
            print_aggregation(res["aggregation"], AGG_TARGET)
        if res.get("ivd"):
            from bench.ivd import print_ivd
            print_ivd(res["ivd"], IVD_STASH_P95_MS, IVD_SUMMARY_P95_MS, IVD_EXPORT_TARGET)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
