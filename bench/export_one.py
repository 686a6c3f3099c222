"""One Excel export in a fresh process, so its peak RSS (VmHWM) is its own. Usage:
    python -m bench.export_one --db sqlite|postgresql [--tag small] --mode job|bare --out F.xlsx
    python -m bench.export_one --compare A.xlsx B.xlsx        (no app; prints BENCH_COMPARE)

mode job  = the portal's background export, as a list export over
            `export_background_rows` becomes (SPEC P11): an ExportJob row of the
            super-admin `admin` (view_name ReliefApplicationView, empty query string, the 20
            column keys of EXPORT_COLUMNS, state pending — what
            ExcelExportMixin.export_in_background creates) is committed, then
            app.services.export_jobs.run_export(job_id) is called directly (not on the
            dispatch thread): export_count() for the progress total, then
            view.export_rows(fields) → write_xlsx(…) into STORAGE_DIR/exports, progress
            updates every 5,000 rows. All rows of the query: every relief application not
            in state deleted (the super-admin's scope is everything). The state must end done.
mode bare = the anchor: a plain Core select of the same 20 columns (outer join for
            organization.name, state <> 'deleted', ORDER BY id, yield_per=2000, i.e. a
            server-side cursor on PostgreSQL) written by a bare
            xlsxwriter.Workbook(path, {"constant_memory": True}) loop: one type dispatch
            per cell, labels looked up once per distinct code. The sheet set-up (formats in
            the same order, column widths, header, frozen header row, autofilter) is what
            write_xlsx does, so the two sheets' XML can be compared byte for byte.

Both modes create the same app first, so the baseline RSS is the same; prints a JSON
line `BENCH_EXPORT {...}` with seconds (the export call only), rows, baseline and peak
RSS (KiB) and the file's path (the caller compares and deletes it)."""
import argparse
import hashlib
import json
import os
import time
import zipfile
from decimal import Decimal

from app.services.clock import local
from bench.common import (EXPORT_USER, find_view, load_user, make_app, proc_status_kb,
                          storage_tag, url_for)

EXPORT_VIEW = "ReliefApplicationView"
# 20 of the view's 30 export fields: the 15 of the standard format plus five more, every
# cell type the export writes (int, text, code label, datetime, date, money).
EXPORT_COLUMNS = ("id", "organization.name", "state", "category", "patient_name", "gender",
                  "id_number", "age", "household_address", "phone", "start_at", "end_at",
                  "disease", "emergency_cost", "medical_cost", "living_cost",
                  "requested_amount", "disbursed_amount", "disbursed_on", "submitted_at")
SAMPLE_ROWS = 1000


def export_fields(view):
    fmap = view.export_field_map()
    missing = [k for k in EXPORT_COLUMNS if k not in fmap]
    if missing:
        raise SystemExit(f"{EXPORT_VIEW} has no export fields {missing}; update EXPORT_COLUMNS")
    return [fmap[k] for k in EXPORT_COLUMNS]


def export_job(app):
    """(seconds, rows, path): run_export on a pending ExportJob of the super-admin."""
    from app.extensions import db
    from app.models.jobs import ExportJob
    from app.services.export_jobs import export_dir, run_export
    with app.app_context():
        admin = load_user(EXPORT_USER)
        row = ExportJob(user_id=admin.id, title="基准-救助申请导出（20列）", view_name=EXPORT_VIEW,
                        query_string="", columns=",".join(EXPORT_COLUMNS), state="pending")
        db.session.add(row)
        db.session.commit()
        job_id = row.id
        exports = export_dir()
        db.session.remove()
    baseline = proc_status_kb("VmRSS")
    with app.app_context():
        t0 = time.perf_counter()
        run_export(job_id)
        seconds = time.perf_counter() - t0
        db.session.remove()
    with app.app_context():
        row = db.session.get(ExportJob, job_id)
        if row.state != "done":
            raise SystemExit(f"run_export ended in state {row.state}: {row.error}")
        rows, total, path = row.rows_written, row.rows_total, os.path.join(exports, row.file_name)
        db.session.delete(row)
        db.session.commit()
        db.session.remove()
    if total != rows:
        raise SystemExit(f"run_export counted {total} rows but wrote {rows}")
    return seconds, rows, path, baseline


def bare_statement(view, fields):
    from sqlalchemy import select
    table = view.datamodel.obj.__table__
    joins, cols = {}, []
    for f in fields:
        if "." in f.key:
            rel, col = f.key.split(".", 1)
            if rel not in joins:
                prop = getattr(view.datamodel.obj, rel).property
                target = prop.mapper.class_.__table__.alias(rel)
                (local,) = prop.local_columns
                joins[rel] = (target, local)
            cols.append(joins[rel][0].c[col])
        else:
            cols.append(table.c[f.key])
    source = table
    for target, local in joins.values():
        source = source.outerjoin(target, target.c.id == local)
    # The list's base filter (StateNotInFilter "deleted"); the admin's scope is everything.
    return select(*cols).select_from(source).where(table.c.state != "deleted").order_by(table.c.id)


def export_bare(app, view, path):
    with app.app_context():   # labels are gettext strings: translated as the job does
        return _export_bare(view, path)


def _export_bare(view, path):
    import xlsxwriter
    from app.extensions import db
    from app.services.export import _width
    fields = export_fields(view)
    columns = view.export_columns(fields)
    stmt = bare_statement(view, fields)
    engine = db.engine
    baseline = proc_status_kb("VmRSS")
    t0 = time.perf_counter()
    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("数据")
    bold = wb.add_format({"bold": True})
    money_fmt = wb.add_format({"num_format": "#,##0.00"})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    datetime_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for c, col in enumerate(columns):
        ws.set_column(c, c, _width(col))
        ws.write_string(0, c, col.header, bold)
    ws.freeze_panes(1, 0)
    memo = [{} if f.fmt else None for f in fields]
    kinds = ["label" if f.fmt else col.type for f, col in zip(fields, columns)]
    r = 0
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=2000).execute(stmt)
        for row in result:
            r += 1
            for c, v in enumerate(row):
                kind = kinds[c]
                if kind == "label":   # a code's label, "" for none (as export_rows does)
                    m = memo[c]
                    s = m.get(v)
                    if s is None:
                        s = m[v] = fields[c].fmt(v)
                    ws.write_string(r, c, s)
                elif v is None:
                    continue
                elif kind == "money":
                    ws.write_number(r, c, float(v) if isinstance(v, Decimal) else v, money_fmt)
                elif kind in ("int", "decimal"):
                    ws.write_number(r, c, v)
                elif kind in ("datetime", "timestamp"):   # stored UTC → Asia/Shanghai
                    ws.write_datetime(r, c, local(v, kind == "timestamp"), datetime_fmt)
                elif kind == "date":
                    ws.write_datetime(r, c, v, date_fmt)
                else:
                    ws.write_string(r, c, v if isinstance(v, str) else str(v))
    ws.autofilter(0, 0, r, len(columns) - 1)
    wb.close()
    return time.perf_counter() - t0, r, path, baseline


# ---- comparing the two files (no app import) ---------------------------------------------
def _sheet_digest(path):
    h, size = hashlib.sha1(), 0
    with zipfile.ZipFile(path) as zf, zf.open("xl/worksheets/sheet1.xml") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _sample(path, n):
    from openpyxl import load_workbook
    wb = load_workbook(path, read_only=True)
    try:
        ws = wb.worksheets[0]
        return [tuple(row) for row in ws.iter_rows(min_row=1, max_row=n + 1, values_only=True)]
    finally:
        wb.close()


def compare(a, b):
    """Sheet XML identical (every cell of every row), else the first SAMPLE_ROWS rows'
    values compared through openpyxl."""
    (da, sa), (db_, sb) = _sheet_digest(a), _sheet_digest(b)
    out = {"sheet_identical": da == db_, "sheet_bytes": [sa, sb], "sheets": 0}
    for path in (a, b):
        with zipfile.ZipFile(path) as zf:
            out["sheets"] = max(out["sheets"], sum(1 for n in zf.namelist()
                                                   if n.startswith("xl/worksheets/sheet")))
    if not out["sheet_identical"]:
        sa_rows, sb_rows = _sample(a, SAMPLE_ROWS), _sample(b, SAMPLE_ROWS)
        out["sample_rows"] = len(sa_rows) - 1
        out["sample_identical"] = sa_rows == sb_rows
        if not out["sample_identical"]:
            bad = next((i for i, (x, y) in enumerate(zip(sa_rows, sb_rows)) if x != y),
                       min(len(sa_rows), len(sb_rows)))
            out["first_difference"] = [bad, repr(sa_rows[bad:bad + 1]),
                                       repr(sb_rows[bad:bad + 1])]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=("sqlite", "postgresql"))
    ap.add_argument("--tag", help="dataset tag (small = the smaller export dataset)")
    ap.add_argument("--mode", choices=("job", "bare"))
    ap.add_argument("--out", help="file of the bare loop")
    ap.add_argument("--compare", nargs=2, metavar=("A", "B"))
    args = ap.parse_args(argv)
    if args.compare:
        print("BENCH_COMPARE " + json.dumps(compare(*args.compare)), flush=True)
        return
    if not (args.db and args.mode) or (args.mode == "bare" and not args.out):
        ap.error("--db and --mode (and --out for bare) are required")
    app = make_app(url_for(args.db, args.tag), storage_tag(args.db, args.tag))
    view = find_view(EXPORT_VIEW)
    if args.mode == "job":
        seconds, count, path, baseline = export_job(app)
    else:
        seconds, count, path, baseline = export_bare(app, view, args.out)
    peak = proc_status_kb("VmHWM")
    print("BENCH_EXPORT " + json.dumps({
        "db": args.db, "tag": args.tag, "mode": args.mode, "rows": count, "seconds": seconds,
        "rows_per_s": count / seconds if seconds else 0.0, "baseline_kb": baseline,
        "peak_kb": peak, "file_bytes": os.path.getsize(path), "path": path,
        "columns": len(EXPORT_COLUMNS)}), flush=True)


if __name__ == "__main__":
    main()
