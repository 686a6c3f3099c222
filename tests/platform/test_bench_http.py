"""Smoke test of the list benchmark's HTTP and export parts (bench/http_list.py,
bench/export_one.py): a tiny list dataset on SQLite in a temporary BENCH_OUT_DIR, then
the HTTP part (gunicorn, real logins, both concurrencies for a fraction of a second) and
one job/bare export pair, each in child processes as `make bench` runs them. Nothing here
asserts a target; the mechanics have to hold: the plain anchor and the super-admin's
portal page list the same rows, every request answered 200, the two exports are equal."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROWS = 300


@pytest.fixture(autouse=True)
def _restore():
    """Replaces conftest's autouse fixture: the session's demo database is not used."""
    yield


def _child(args, marker, env, timeout=300):
    proc = subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith(marker + " ")]
    assert proc.returncode == 0 and lines, (proc.stdout[-3000:], proc.stderr[-3000:])
    return json.loads(lines[-1][len(marker) + 1:])


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-http")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BENCH_") and k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env["BENCH_OUT_DIR"] = str(out)
    built = _child(["bench.db_one", "--db", "sqlite", "--rows", str(ROWS), "--build-only"],
                   "BENCH_RESULT", env)
    assert built["built"] is True and built["url"].startswith("sqlite:///" + str(out))
    return env


def test_http_pages(env):
    res = _child(["bench.http_list", "--db", "sqlite", "--duration", "0.5", "--warmup", "0.2",
                  "--concurrency", "1,2"], "BENCH_HTTP", env)
    pages = res["pages"]
    assert set(pages) == {"plain", "review_city", "apps_admin", "apps_hosp"}
    # the anchor and the super-admin's portal page: every row not deleted (+ the demo's)
    assert pages["plain"]["count"] == pages["apps_admin"]["count"] > ROWS
    assert pages["plain"]["rows"] == pages["apps_admin"]["rows"] == 20
    assert 0 < pages["apps_hosp"]["count"] < pages["review_city"]["count"] < ROWS
    for key, page in pages.items():
        assert page["statements"] >= 5, key      # user, parameters, roles, count, page …
        assert sum(n for n, _s in page["statement_groups"]) == page["statements"]
        for c in ("1", "2"):
            cell = page["cells"][c]
            assert cell["requests"] > 0 and cell["errors"] == 0, (key, c, cell)
            assert 0 < cell["p50_ms"] <= cell["p99_ms"]


def test_export_job_and_bare(env):
    out = env["BENCH_OUT_DIR"]
    job = _child(["bench.export_one", "--db", "sqlite", "--mode", "job"], "BENCH_EXPORT", env)
    bare = _child(["bench.export_one", "--db", "sqlite", "--mode", "bare", "--out",
                   os.path.join(out, "bare.xlsx")], "BENCH_EXPORT", env)
    assert job["rows"] == bare["rows"] > ROWS and job["columns"] == 20
    assert job["path"].startswith(os.path.join(out, "storage-sqlite", "exports"))
    cmp_ = _child(["bench.export_one", "--compare", job["path"], bare["path"]],
                  "BENCH_COMPARE", env)
    assert cmp_["sheet_identical"] is True and cmp_["sheets"] == 1


def test_summary_figures_equal_the_raw_group_by(env):
    """bench/summaries.py on the same tiny dataset: it checks app = raw per area itself
    (exit 1 otherwise) and that check-summaries finds nothing after the bulk load."""
    res = _child(["bench.summaries", "--db", "sqlite", "--rows", str(ROWS), "--repeat", "1"],
                 "BENCH_SUMMARY", env)
    cases = {c["case"]: c for c in res["cases"]}
    assert set(cases) == {"national", "province"}
    assert cases["national"]["records"] > ROWS > cases["province"]["records"] > 0
    assert cases["national"]["areas"] > 1 and cases["province"]["areas"] > 1
    assert res["summary_rows"] > 0
