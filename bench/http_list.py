"""Full list pages over HTTP: gunicorn (2 sync workers, as `make run`) on loopback serving
`bench.plain_app:app` — the portal plus one plain FAB ModelView — on the list dataset, a
load generator in this process (no app imported here), and the SQL statements one
list request issues, counted in-process. Usage:

    python -m bench.http_list --db sqlite|postgresql [--duration 10] [--warmup 2]
                              [--concurrency 1,8] [--workers 2]
    python -m bench.http_list --db … --prepare     (child: permissions, captcha off, counts)

Steps (one `python -m bench.http_list` per database, after bench.db_one built the data):

1. a child process (`--prepare`) imports bench.plain_app with the server's environment,
   gives PlainReliefView's can_list to the Admin role, sets the system parameter
   `captcha_enabled` to 0 in the bench database (the login form then asks for no captcha;
   CSRF stays on), resets the lock-out of the accounts used, and counts the statements of
   one request per page: Flask test client, real login POST with the form's csrf_token,
   one warm-up GET, then the GET counted by a `before_cursor_execute` listener on db.engine
   (everything the request runs: user load, parameters, permissions, count, page…);
2. gunicorn -w 2 -b 127.0.0.1:<free port> bench.plain_app:app with DATABASE_URL,
   INSTANCE_DIR, STORAGE_DIR and SECRET_KEY pointing at the dataset and bench/out;
3. per page a real login over HTTP (GET /login/ for the session cookie and csrf_token,
   POST /login/), one checked GET (status 200, 记录数目 and the rows on the page read from
   the HTML), then per concurrency a cell: C threads, one http.client connection and one
   copy of the session cookie each (updated from every Set-Cookie, as a browser does),
   requesting the page back to back for warm-up + duration seconds; latencies of the
   requests started after the warm-up are kept. Cells alternate pages, concurrency outer.

Prints `BENCH_HTTP {...}` (JSON) for bench.run."""
import argparse
import http.client
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

from bench.common import OUT_DIR, storage_tag, url_for

PASSWORD = "Demo@2026"
PAGE_SIZE = 20
# key, user, path, label. The plain anchor first; it is requested as the super-admin (every
# row). Every URL asks for 20 rows a page explicitly: the portal's lists show FAB's
# default of 25 otherwise (the `default_page_size` parameter is not applied to them).
PAGES = (
    ("plain", "admin", f"/bench/plain-relief/list/?psize_PlainReliefView={PAGE_SIZE}",
     "plain FAB ModelView (anchor)"),
    ("review_city", "ty_agency", f"/relief/review/list/?psize_ReliefReviewView={PAGE_SIZE}",
     "救助申请审核, city agency"),
    ("apps_admin", "admin",
     f"/relief/applications/list/?psize_ReliefApplicationView={PAGE_SIZE}",
     "应急救助基金申请, super-admin"),
    ("apps_hosp", "ty_hosp1",
     f"/relief/applications/list/?psize_ReliefApplicationView={PAGE_SIZE}",
     "应急救助基金申请, institution"),
)
ANCHOR = "plain"


def log(msg):
    print(f"  [http] {msg}", flush=True)


def server_env(dbname):
    """The environment config.py and create_app read: the dataset and bench/out only."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")}
    env.update({
        "DATABASE_URL": url_for(dbname),
        "INSTANCE_DIR": os.path.join(OUT_DIR, f"instance-{dbname}"),
        "STORAGE_DIR": os.path.join(OUT_DIR, f"storage-{storage_tag(dbname)}"),
        "SECRET_KEY": "bench-only-not-secret",
        "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
    })
    return env


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- reading pages --------------------------------------------------------------------------
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
_COUNT = re.compile(r"(?:记录数目|Record Count)\s*:?\s*</strong>\s*([\d,]+)")


def csrf_token(html):
    m = _CSRF.search(html)
    if not m:
        raise SystemExit("no csrf_token in the login form")
    return m.group(1) or m.group(2)


def page_rows(html):
    """(record count the page states, table rows on the page)."""
    m = _COUNT.search(html)
    count = int(m.group(1).replace(",", "")) if m else None
    start = html.find("</thead>")
    end = html.find("</table>", start)
    rows = html[start:end].count("<tr") if start >= 0 and end > start else 0
    return count, rows


def group_statements(statements):
    """[(count, shortened statement)] in order of first appearance."""
    groups = {}
    for s in statements:
        s = " ".join(s.split())
        s = re.sub(r"^SELECT .+? FROM ", "SELECT … FROM ", s, count=1)
        key = s if len(s) <= 240 else s[:237] + "…"
        groups[key] = groups.get(key, 0) + 1
    return [(n, k) for k, n in groups.items()]


# ---- 1. prepare (child process, the app imported) -------------------------------------------
def prepare(dbname):
    from sqlalchemy import event, select, update
    from bench.plain_app import PLAIN_VIEW, app, grant_plain_permissions
    from app.extensions import db
    from app.models.core import SystemParameter, User
    grant_plain_permissions(app)
    users = sorted({user for _k, user, _p, _l in PAGES})
    with app.app_context():
        db.session.execute(update(SystemParameter).where(SystemParameter.key == "captcha_enabled")
                           .values(value="0"))
        found = db.session.execute(select(User.username).where(User.username.in_(users))) \
            .scalars().all()
        if sorted(found) != users:
            raise SystemExit(f"accounts missing in the bench database: {set(users) - set(found)}")
        db.session.execute(update(User).where(User.username.in_(users)).values(
            fail_login_count=0, locked_until=None, must_change_password=False, active=True))
        db.session.commit()
        engine = db.engine
        db.session.remove()
    statements = []
    event.listen(engine, "before_cursor_execute",
                 lambda conn, cur, stmt, params, ctx, many: statements.append(stmt))
    out = {"plain_view": PLAIN_VIEW, "pages": {}}
    for key, user, path, _label in PAGES:
        client = app.test_client()
        token = csrf_token(client.get("/login/").get_data(as_text=True))
        r = client.post("/login/", data={"username": user, "password": PASSWORD,
                                         "csrf_token": token})
        if r.status_code != 302 or "/login" in r.headers.get("Location", ""):
            raise SystemExit(f"login as {user} failed ({r.status_code} → "
                             f"{r.headers.get('Location')})")
        client.get(path)        # warm-up: first-use caches of the process
        statements.clear()
        r = client.get(path)
        html = r.get_data(as_text=True)
        if r.status_code != 200:
            raise SystemExit(f"GET {path} as {user}: {r.status_code}")
        count, rows = page_rows(html)
        out["pages"][key] = {"statements": len(statements),
                             "groups": group_statements(statements),
                             "count": count, "rows": rows, "bytes": len(r.get_data())}
        log(f"{dbname} {key}: {len(statements)} SQL statements per request "
            f"({count:,} rows listed, {rows} on the page)")
    print("BENCH_HTTP_PREP " + json.dumps(out), flush=True)


# ---- 2. the server --------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(dbname, workers, env):
    port = free_port()
    logfile = open(os.path.join(OUT_DIR, f"gunicorn-{dbname}.log"), "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--timeout", "120", "bench.plain_app:app"],
        cwd=ROOT, env=env, stdout=logfile, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited ({proc.returncode}); see {logfile.name}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login/")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port
        except OSError:
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"gunicorn did not answer within 120 s; see {logfile.name}")


def stop_server(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- 3. the load generator ------------------------------------------------------------------
def _session_cookie(resp, current):
    for header in resp.msg.get_all("Set-Cookie") or []:
        m = re.match(r"\s*session=([^;]*)", header)
        if m:
            return m.group(1)
    return current


def login(port, user):
    """A real login over HTTP; returns the session cookie value."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", "/login/")
    r = conn.getresponse()
    html = r.read().decode()
    cookie = _session_cookie(r, None)
    body = urllib.parse.urlencode({"username": user, "password": PASSWORD,
                                   "csrf_token": csrf_token(html)})
    conn.request("POST", "/login/", body=body, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"session={cookie}"})
    r = conn.getresponse()
    r.read()
    location = r.getheader("Location") or ""
    conn.close()
    if r.status != 302 or "/login" in location:
        raise SystemExit(f"HTTP login as {user} failed ({r.status} → {location})")
    return _session_cookie(r, cookie)


def fetch(port, path, cookie):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers={"Cookie": f"session={cookie}"})
    r = conn.getresponse()
    html = r.read().decode()
    conn.close()
    return r.status, html


def nearest_rank(values, q):
    s = sorted(values)
    return s[max(0, math.ceil(q * len(s)) - 1)] if s else float("nan")


def run_cell(port, path, cookie, concurrency, warmup, duration):
    """C virtual users, each on its own keep-alive connection, back to back for
    warmup + duration seconds; latencies of requests started after the warm-up."""
    t_start = time.perf_counter() + warmup
    t_end = t_start + duration
    results = [None] * concurrency

    def user(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        my_cookie, lat, finished, errors = cookie, [], 0.0, 0
        while True:
            t0 = time.perf_counter()
            if t0 >= t_end:
                break
            try:
                conn.request("GET", path, headers={"Cookie": f"session={my_cookie}"})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
                my_cookie = _session_cookie(resp, my_cookie)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                ok = False
            t1 = time.perf_counter()
            if t0 >= t_start:
                if ok:
                    lat.append(t1 - t0)
                else:
                    errors += 1
                finished = max(finished, t1)
        conn.close()
        results[i] = (lat, finished, errors)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lat = [x for r in results for x in r[0]]
    errors = sum(r[2] for r in results)
    span = max((r[1] for r in results), default=t_end) - t_start
    ms = [x * 1000 for x in lat]
    return {"concurrency": concurrency, "requests": len(ms), "errors": errors,
            "seconds": span, "rps": len(ms) / span if span > 0 else 0.0,
            "p50_ms": statistics.median(ms) if ms else float("nan"),
            "p99_ms": nearest_rank(ms, 0.99), "mean_ms": statistics.fmean(ms) if ms else None,
            "max_ms": max(ms) if ms else None}


def run(args):
    env = server_env(args.db)
    os.makedirs(env["INSTANCE_DIR"], exist_ok=True)
    from bench.run import run_child
    prep = run_child(["bench.http_list", "--db", args.db, "--prepare"], "BENCH_HTTP_PREP",
                     env=env)
    proc, port = start_server(args.db, args.workers, env)
    log(f"{args.db}: gunicorn -w {args.workers} on 127.0.0.1:{port} (pid {proc.pid})")
    try:
        pages = {}
        for key, user, path, label in PAGES:
            cookie = login(port, user)
            status, html = fetch(port, path, cookie)
            if status != 200:
                raise SystemExit(f"GET {path} as {user}: HTTP {status}")
            count, rows = page_rows(html)
            if count is None or rows == 0 and count > 0:
                raise SystemExit(f"GET {path} as {user}: no list in the page (记录数目 {count}, "
                                 f"{rows} table rows)")
            pages[key] = {"user": user, "path": path, "label": label, "count": count,
                          "rows": rows, "bytes": len(html.encode()), "cookie": cookie,
                          "statements": prep["pages"][key]["statements"],
                          "statement_groups": prep["pages"][key]["groups"], "cells": {}}
        if pages["plain"]["count"] != pages["apps_admin"]["count"]:
            raise SystemExit(f"HTTP MISMATCH: plain page lists {pages['plain']['count']} rows, "
                             f"the super-admin's portal page {pages['apps_admin']['count']}")
        for c in args.concurrency:
            for key, page in pages.items():
                cell = run_cell(port, page["path"], page["cookie"], c, args.warmup,
                                args.duration)
                page["cells"][str(c)] = cell
                log(f"{args.db} c={c} {key:<12} p50 {cell['p50_ms']:7.1f}ms p99 "
                    f"{cell['p99_ms']:7.1f}ms {cell['rps']:6.1f} req/s "
                    f"({cell['requests']} requests, {cell['errors']} errors)")
    finally:
        stop_server(proc)
    for page in pages.values():
        page.pop("cookie")
    print("BENCH_HTTP " + json.dumps({
        "db": args.db, "workers": args.workers, "duration": args.duration,
        "warmup": args.warmup, "concurrency": args.concurrency, "anchor": ANCHOR,
        "page_size": PAGE_SIZE, "pages": pages, "cpus": os.cpu_count()}), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench.http_list")
    ap.add_argument("--db", required=True, choices=("sqlite", "postgresql"))
    ap.add_argument("--duration", type=float, default=10.0, help="measured seconds per cell")
    ap.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per cell")
    ap.add_argument("--concurrency", default="1,8",
                    type=lambda s: [int(x) for x in s.split(",") if x.strip()])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.prepare:
        prepare(args.db)
    else:
        run(args)


if __name__ == "__main__":
    main()
