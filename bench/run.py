"""`make bench`: scoped list queries, full list pages over HTTP (gunicorn) with their SQL
statement counts, and the Excel export through the background-job path on BENCH_ROWS
relief applications (and a BENCH_EXPORT_SMALL dataset), then the aggregation benchmark
(数据提取 / 数据汇总) on BENCH_AGG_ROWS applications in one province, then the IVD benchmark (体外诊断试剂报量: 暂存, province summary, national CSV) on
BENCH_IVD_HOSPITALS hospitals × BENCH_IVD_ITEMS catalogue lines, for SQLite and PostgreSQL.
See bench/README.md for what each figure means.

    python -m bench.run [--rows N] [--databases sqlite,postgresql] [--repeat 20]
                        [--export-small 100000] [--export-runs 1] [--rebuild] [--no-export]
                        [--http-duration 10] [--http-warmup 2] [--http-concurrency 1,8]
                        [--no-http]
                        [--agg-rows N] [--no-aggregation]
                        [--ivd-hospitals N] [--ivd-items N] [--ivd-lines N] [--no-ivd]
                        [--only lists|http|export|aggregation|ivd]

Environment equivalents: BENCH_ROWS, BENCH_DATABASES, BENCH_REPEAT, BENCH_EXPORT_SMALL,
BENCH_EXPORT_RUNS, BENCH_HTTP_DURATION, BENCH_HTTP_WARMUP, BENCH_HTTP_CONCURRENCY,
BENCH_REBUILD=1, BENCH_PG_URL, BENCH_AGG_ROWS, BENCH_AGG_PG_URL, BENCH_IVD_HOSPITALS,
BENCH_IVD_ITEMS, BENCH_IVD_LINES_PER_HOSPITAL, BENCH_IVD_PG_URL. Each database is built and timed in its own process and
every export runs in a fresh process (peak RSS per export). Always exits 0 unless the
benchmark itself cannot run or a check fails (… MISMATCH); targets that are missed are
reported as MISSED."""
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
HTTP_TARGET = 1.3           # portal list page p50 / plain FAB ModelView p50
SQL_PER_PAGE_TARGET = 10    # statements one portal list request issues
EXPORT_TARGET = 1.3         # job path / bare xlsxwriter loop
EXPORT_RSS_GROWTH_MB = 20   # job path: peak RSS at N rows − peak RSS at BENCH_EXPORT_SMALL rows
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
    ap.add_argument("--export-runs", type=int, default=_env_int("BENCH_EXPORT_RUNS", 1),
                    help="fresh-process runs of each export (job, bare alternating); median")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--http-duration", type=float,
                    default=float(os.environ.get("BENCH_HTTP_DURATION") or 10),
                    help="measured seconds per HTTP cell (page × concurrency)")
    ap.add_argument("--http-warmup", type=float,
                    default=float(os.environ.get("BENCH_HTTP_WARMUP") or 2),
                    help="unmeasured seconds at the start of every HTTP cell")
    ap.add_argument("--http-concurrency", default=os.environ.get("BENCH_HTTP_CONCURRENCY", "1,8"),
                    help="virtual users per cell, comma separated")
    ap.add_argument("--no-http", action="store_true", help="skip the HTTP list pages")
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
    ap.add_argument("--only", choices=("lists", "http", "export", "aggregation", "ivd"),
                    help="lists = list queries, HTTP pages and exports; http / export = that "
                         "part alone (dataset built if needed); or the aggregation / IVD part")
    args = ap.parse_args(argv)
    args.list_queries = args.only in (None, "lists")
    if args.only == "http":
        args.no_export = True
    elif args.only == "export":
        args.no_http = True
    if args.only in ("lists", "http", "export"):
        args.no_aggregation = args.no_ivd = True
    elif args.only == "aggregation":
        args.no_ivd = True
    elif args.only == "ivd":
        args.no_aggregation = True
        args.no_ivd = False
    return args


def run_child(args, marker, env=None):
    """Run `python -m <args>` streaming its progress lines; return the marker's JSON."""
    cmd = [sys.executable, "-m", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            env=env)
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
    print(f"\n  Scoped list query (count + first page of 20, newest first), median of "
          f"{res['repeat']} runs after 3 warm-ups")
    print(f"  {'user':<11} {'scope':<22} {'rows in scope':>13} {'ORM/FAB ms':>11} "
          f"{'raw SQL ms':>11} {'ratio':>6}  target<={LIST_TARGET:g}")
    for r in res["lists"]:
        print(f"  {r['user']:<11} {r['scope']:<22} {r['count']:>13,} {r['orm_ms']:>11.2f} "
              f"{r['raw_ms']:>11.2f} {r['ratio']:>6.2f}  {verdict(r['ratio'], LIST_TARGET)}")


def print_http(h):
    pages, anchor = h["pages"], h["pages"][h["anchor"]]
    print(f"\n  List page over HTTP: gunicorn -w {h['workers']} (sync workers) on loopback, "
          f"load generator on the same {h['cpus']} CPUs; {h['duration']:g} s per cell after "
          f"{h['warmup']:g} s warm-up; {h['page_size']} rows a page, newest first")
    print(f"  {'page':<30} {'user':<10} {'rows listed':>11} {'on page':>7} {'SQL':>4} "
          f"{'c':>2} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>7} {'p50 ratio':>9}  "
          f"target<={HTTP_TARGET:g}")
    for c in h["concurrency"]:
        for key, p in pages.items():
            cell = p["cells"][str(c)]
            if key == h["anchor"]:
                extra = "   (anchor)"
            else:
                ratio = cell["p50_ms"] / anchor["cells"][str(c)]["p50_ms"]
                extra = f"{ratio:>9.2f}  {verdict(ratio, HTTP_TARGET)}"
            path = p["path"].split("?")[0]
            errors = f"  {cell['errors']} ERRORS" if cell["errors"] else ""
            print(f"  {path:<30} {p['user']:<10} {p['count']:>11,} {p['rows']:>7} "
                  f"{p['statements']:>4} {c:>2} {cell['p50_ms']:>8.1f} {cell['p99_ms']:>8.1f} "
                  f"{cell['rps']:>7.1f} {extra}{errors}")
    print(f"  SQL statements per list request (in-process, test client, after one warm-up "
          f"request), target <= {SQL_PER_PAGE_TARGET} for portal pages:")
    for key, p in pages.items():
        over = key != h["anchor"] and p["statements"] > SQL_PER_PAGE_TARGET
        mark = "" if key == h["anchor"] else ("  MISSED" if over else "  ok")
        print(f"    {p['label']}: {p['statements']}{mark}")
        if over:
            for n, stmt in p["statement_groups"]:
                print(f"      {n:>3} × {stmt}")


def print_exports(ex):
    sizes = ex["sizes"]
    print(f"\n  Export, {ex['columns']} columns, super-admin (every row not deleted), xlsx "
          f"constant_memory; one fresh process per run"
          + (f", median of {ex['runs']} runs" if ex["runs"] > 1 else ""))
    print(f"  {'rows':>9} {'dataset':<8} {'path':<30} {'seconds':>8} {'rows/s':>9} "
          f"{'base RSS':>9} {'peak RSS':>9} {'ratio':>6}")
    for n in sizes:
        a, b = ex["runs_by"].get(f"job/{n}"), ex["runs_by"].get(f"bare/{n}")
        if not a or not b:
            continue
        ratio = a["seconds"] / b["seconds"]
        for label, e, extra in (("job path (run_export)", a, f"{ratio:>6.2f}  target<="
                                 f"{EXPORT_TARGET:g} {verdict(ratio, EXPORT_TARGET)}"),
                                ("bare xlsxwriter loop", b, "")):
            print(f"  {e['rows']:>9,} {e['dataset']:<8} {label:<30} {e['seconds']:>8.2f} "
                  f"{e['rows_per_s']:>9,.0f} {mb(e['baseline_kb']):>7.0f}MB "
                  f"{mb(e['peak_kb']):>7.0f}MB {extra}")
        cmp_ = ex["compare"][str(n)]
        same = ("sheet XML byte-identical (every cell of every row)" if cmp_["sheet_identical"]
                else f"sheet XML differs; first {cmp_['sample_rows']:,} rows' values identical")
        print(f"  {'':>9} {'':<8} rows equal ({a['rows']:,}); {same}")
    if len(sizes) == 2:
        small, big = sizes
        for mode, label in (("job", "job path"), ("bare", "bare loop")):
            s_, b_ = ex["runs_by"].get(f"{mode}/{small}"), ex["runs_by"].get(f"{mode}/{big}")
            if s_ and b_:
                growth = mb(b_["peak_kb"] - s_["peak_kb"])
                over_base = (mb(s_["peak_kb"] - s_["baseline_kb"]),
                             mb(b_["peak_kb"] - b_["baseline_kb"]))
                target = (f"  target <= +{EXPORT_RSS_GROWTH_MB}MB "
                          f"{'ok' if growth <= EXPORT_RSS_GROWTH_MB else 'MISSED'}"
                          if mode == "job" else "")
                print(f"  peak RSS {label}: {mb(s_['peak_kb']):.0f}MB at {small:,} rows vs "
                      f"{mb(b_['peak_kb']):.0f}MB at {big:,} rows ({growth:+.1f}MB; above "
                      f"baseline {over_base[0]:.1f}MB vs {over_base[1]:.1f}MB){target}")


def run_exports(dbname, args):
    """Job path and bare loop, fresh processes, alternating; the small size on the small
    dataset (bench-sqlite-small.db / database bench_small), N on the main one."""
    import statistics
    sizes = sorted({min(args.export_small, args.rows), args.rows})
    out = {"sizes": sizes, "runs": args.export_runs, "runs_by": {}, "compare": {}}
    for n in sizes:
        tag = "small" if n != args.rows else None
        dataset = tag or "main"
        if tag:
            print(f"  [export] {dbname}: small export dataset ({n:,} rows)", flush=True)
            run_child(["bench.db_one", "--db", dbname, "--rows", str(n), "--tag", tag,
                       "--build-only"] + (["--rebuild"] if args.rebuild else []), "BENCH_RESULT")
        runs = {"job": [], "bare": []}
        for i in range(args.export_runs):
            for mode in ("job", "bare"):
                cmd = ["bench.export_one", "--db", dbname, "--mode", mode]
                cmd += ["--tag", tag] if tag else []
                if mode == "bare":
                    cmd += ["--out", os.path.join(OUT_DIR, f"export-{dbname}-{dataset}-bare.xlsx")]
                e = run_child(cmd, "BENCH_EXPORT")
                e["dataset"] = dataset
                runs[mode].append(e)
                print(f"  [export] {dbname} {mode:<4} {e['rows']:>9,} rows "
                      f"{e['seconds']:7.2f}s {e['rows_per_s']:>9,.0f} rows/s "
                      f"peak RSS {mb(e['peak_kb']):.0f}MB", flush=True)
            job_e, bare_e = runs["job"][-1], runs["bare"][-1]
            if job_e["rows"] != bare_e["rows"]:   # n generated rows + the demo's own
                raise SystemExit(f"EXPORT MISMATCH: job wrote {job_e['rows']} rows, "
                                 f"bare loop {bare_e['rows']}")
            if i == 0:
                cmp_ = run_child(["bench.export_one", "--compare", job_e["path"],
                                  bare_e["path"]], "BENCH_COMPARE")
                if not cmp_["sheet_identical"] and not cmp_.get("sample_identical"):
                    raise SystemExit("EXPORT MISMATCH: cells differ "
                                     f"{cmp_.get('first_difference')}")
                out["compare"][str(n)] = cmp_
            for e in (job_e, bare_e):
                if os.path.exists(e["path"]):
                    os.unlink(e["path"])
        out["columns"] = runs["job"][0]["columns"]
        for mode, rs in runs.items():
            med = dict(rs[0])
            med["seconds"] = statistics.median(e["seconds"] for e in rs)
            med["rows_per_s"] = med["rows"] / med["seconds"]
            med["peak_kb"] = max(e["peak_kb"] for e in rs)
            med["baseline_kb"] = max(e["baseline_kb"] for e in rs)
            med["all_seconds"] = [e["seconds"] for e in rs]
            out["runs_by"][f"{mode}/{n}"] = med
    return out


def main(argv=None):
    args = parse_args(argv)
    databases = [d.strip() for d in args.databases.split(",") if d.strip()]
    for d in databases:
        if d not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown database {d!r} in BENCH_DATABASES")
    os.makedirs(OUT_DIR, exist_ok=True)
    sizes = sorted({min(args.export_small, args.rows), args.rows})
    list_part = args.only in (None, "lists", "http", "export")
    parts = [p for p, on in (("list queries", args.list_queries),
                             ("HTTP pages", list_part and not args.no_http),
                             ("exports " + ", ".join(f"{s:,}" for s in sizes),
                              list_part and not args.no_export)) if on]
    lists = f"{args.rows:,} relief applications ({'; '.join(parts)})" if list_part else "off"
    ivd = "off" if args.no_ivd else (
        f"{args.ivd_hospitals:,} hospitals × {args.ivd_items:,} catalogue lines, "
        f"{args.ivd_lines} filled lines per reporting hospital "
        f"({100 * min(args.ivd_lines, args.ivd_items) / max(args.ivd_items, 1):.1f}% density) in 山西省")
    print(f"bench: databases: {', '.join(databases)}; lists: {lists}; aggregation: "
          f"{'off' if args.no_aggregation else f'{args.agg_rows:,} rows in 山西省'}; "
          f"IVD: {ivd}", flush=True)
    concurrency = ",".join(str(int(c)) for c in args.http_concurrency.split(",") if c.strip())
    results = {}
    for dbname in databases:
        if dbname == "postgresql" and not pg_available(url_for(dbname)):
            continue
        t0 = time.perf_counter()
        if not list_part:
            res = {"skipped_lists": True}
        else:
            print(f"\n== {dbname}: preparing" + (" and timing list queries"
                                                 if args.list_queries else ""), flush=True)
            child = ["bench.db_one", "--db", dbname, "--rows", str(args.rows),
                     "--repeat", str(args.repeat)] + (["--rebuild"] if args.rebuild else [])
            res = run_child(child + ([] if args.list_queries else ["--build-only"]),
                            "BENCH_RESULT")
            res["repeat"] = args.repeat
            if not args.no_http:
                print(f"\n== {dbname}: list pages over HTTP", flush=True)
                res["http"] = run_child(
                    ["bench.http_list", "--db", dbname, "--duration", str(args.http_duration),
                     "--warmup", str(args.http_warmup), "--concurrency", concurrency],
                    "BENCH_HTTP")
            if not args.no_export:
                print(f"\n== {dbname}: exports", flush=True)
                res["exports"] = run_exports(dbname, args)
            if args.list_queries:
                print(f"\n== {dbname}: summary tables vs raw GROUP BY", flush=True)
                res["summaries"] = run_child(
                    ["bench.summaries", "--db", dbname, "--rows", str(args.rows),
                     "--repeat", str(args.repeat)], "BENCH_SUMMARY")
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

    with open(os.path.join(OUT_DIR, "bench-results.json"), "w") as fh:
        json.dump({"args": vars(args), "results": results}, fh, ensure_ascii=False, indent=1,
                  default=str)
    for dbname, res in results.items():
        if res.get("skipped_lists"):
            print(f"\n=== {dbname} ===")
        else:
            build = f"built in {res['build_s']:.0f}s" if res["built"] else "reused cached build"
            print(f"\n=== {dbname} — {args.rows:,} relief applications ({build}) ===")
            if res.get("lists"):
                print_lists(res)
            if res.get("http"):
                print_http(res["http"])
            if res.get("exports"):
                print_exports(res["exports"])
            if res.get("summaries"):
                from bench.summaries import print_table
                print_table([res["summaries"]])
        if res.get("aggregation"):
            from bench.aggregation import print_aggregation
            print_aggregation(res["aggregation"], AGG_TARGET)
        if res.get("ivd"):
            from bench.ivd import print_ivd
            print_ivd(res["ivd"], IVD_STASH_P95_MS, IVD_SUMMARY_P95_MS, IVD_EXPORT_TARGET)
    print(f"\n(all figures also in {os.path.join(OUT_DIR, 'bench-results.json')})\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
