"""Smoke test of the IVD benchmark (bench/ivd.py): build and measure a tiny dataset on
SQLite in a temporary directory, in a child process as `make bench` runs it (one
AppBuilder per process), and check the result line. Nothing here asserts a target:
on 50 hospitals the export's fixed costs dominate, the figures only have to be sane."""
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOSPITALS, ITEMS, LINES, REPEAT = 50, 100, 20, 3


@pytest.fixture(autouse=True)
def _restore():
    """Replaces conftest's autouse fixture of the same name: this test never touches the
    session's demo database, so it need not be built."""
    yield


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench-ivd")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("BENCH_") and k not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    proc = subprocess.run(
        [sys.executable, "-m", "bench.ivd", "--db", "sqlite", "--hospitals", str(HOSPITALS),
         "--items", str(ITEMS), "--lines", str(LINES), "--repeat", str(REPEAT),
         "--export-runs", "1", "--out-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    marker = [line for line in proc.stdout.splitlines() if line.startswith("BENCH_IVD ")]
    assert proc.returncode == 0 and marker, (proc.stdout[-3000:], proc.stderr[-3000:])
    res = json.loads(marker[-1][len("BENCH_IVD "):])
    res["_out"] = str(out)
    res["_stdout"] = proc.stdout
    return res


def test_dataset(result):
    d = result["dataset"]
    assert result["db"] == "sqlite" and result["built"] is True
    assert result["url"].startswith("sqlite:///" + result["_out"])
    assert d["hospitals"] == HOSPITALS                     # demo hospitals included
    assert d["synthetic"] + d["demo_hospitals"] == HOSPITALS
    assert d["exempt"] + d["reporting"] == HOSPITALS and d["exempt"] >= 1
    assert d["items"] == ITEMS and d["certs"] == round(ITEMS * 0.35)
    assert d["line_rows"] == d["reporting"] * LINES and d["lines_per_hospital"] == LINES
    assert d["density_pct"] == pytest.approx(100 * LINES / ITEMS)
    assert d["area_reports"] >= 2                          # cities + the province
    assert result["build_s"] > 0


def test_stash(result):
    s = result["stash"]
    assert s["lines"] == 50 and s["user"] == "ty_hosp1" and s["report_lines"] >= 50
    for key in ("http", "direct"):
        t = s[key]
        assert t["runs"] == REPEAT
        assert 0 < t["min_ms"] <= t["median_ms"] <= t["p95_ms"] <= t["max_ms"] < 10_000


def test_summary(result):
    p = result["summary"]
    assert p["user"] == "sx_ybj"
    assert p["areas"] >= 1 and p["areas_with_figures_shown"] >= 1
    assert p["hospitals_counted"] == result["dataset"]["reporting"]
    for key in ("screen", "ensure_hospital_reports", "ensure_area_reports", "area_sums", "raw"):
        assert p[key]["runs"] == REPEAT
        assert 0 < p[key]["median_ms"] <= p[key]["p95_ms"] < 10_000
    assert p["ratio_screen_raw"] > 1 and p["ratio_area_sums_raw"] > 0


def test_export(result):
    e = result["export"]
    assert e["identical"] is True and e["lines"] == result["dataset"]["line_rows"]
    assert e["job"]["rows"] == e["bare"]["rows"] == result["dataset"]["certs"]
    for mode in ("job", "bare"):
        x = e[mode]
        assert x["runs"] == 1 and x["seconds"] > 0 and x["rows_per_s"] > 0
        assert x["file_bytes"] > 100
        assert 0 < x["baseline_kb"] <= x["peak_kb"] < 4 * 1024 * 1024
    assert e["ratio"] == pytest.approx(e["job"]["seconds"] / e["bare"]["seconds"])
    # the export files and job rows are cleaned up; the SQLite file stays in the temp dir
    exports = os.path.join(result["_out"], "storage-ivd-sqlite", "exports")
    assert not os.path.isdir(exports) or not os.listdir(exports)
    assert os.path.exists(os.path.join(result["_out"], "bench-ivd-sqlite.db"))


def test_printed_table(result):
    from bench.ivd import print_ivd
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print_ivd(result)
    text = buf.getvalue()
    for needle in ("暂存 50 lines", "province summary", "ivd_national_csv job",
                   "raw cursor + csv.writer", "target<=1.5"):
        assert needle in text
    assert "[ivd]" in result["_stdout"]
