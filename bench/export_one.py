"""One export in a fresh process, so its peak RSS (VmHWM) is its own. Usage:
    python -m bench.export_one --db sqlite|postgresql --mode app|bare --rows K --out F.xlsx

mode app  = the portal's export path for the standard format (导出查询数据（标准格式）),
            as the super-admin (all rows): view.export_rows(fields) consumed by
            app.services.export.write_xlsx(path, columns, rows), exactly as
            ExcelExportMixin.stream_xlsx does (minus audit record and send_file);
            the first K rows (itertools.islice) of the ordered query.
mode bare = the anchor: a plain Core select of the same columns and rows (outer join
            for organization.name, state <> 'deleted', ORDER BY id, yield_per=2000) and a bare
            xlsxwriter.Workbook(path, {"constant_memory": True}) loop writing the same
            cells (labels looked up once per distinct code, same number/date formats).

Both modes create the same app first, so the baseline RSS is the same; prints a JSON
line `BENCH_EXPORT {...}` with seconds, rows, baseline and peak RSS (KiB)."""
import argparse
import itertools
import json
import os
import time
from decimal import Decimal

from bench.common import EXPORT_USER, find_view, load_user, make_app, proc_status_kb, url_for


def export_app(view, rows, path):
    from app.services.export import Column, write_xlsx
    fmap = view.export_field_map()
    fields = [fmap[k] for k in view.standard_export]
    columns = [Column(f.key, str(f.header), "text" if f.fmt else f.type) for f in fields]
    return write_xlsx(path, columns, itertools.islice(view.export_rows(fields), rows))


def export_bare(view, rows, path):
    import xlsxwriter
    from sqlalchemy import select
    from app.extensions import db
    fmap = view.export_field_map()
    fields = [fmap[k] for k in view.standard_export]
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
    # The list's base filter (StateNotFilter "deleted"); the admin's scope is everything.
    stmt = (select(*cols).select_from(source).where(table.c.state != "deleted")
            .order_by(table.c.id).limit(rows))

    wb = xlsxwriter.Workbook(path, {"constant_memory": True})
    ws = wb.add_worksheet("数据")
    bold = wb.add_format({"bold": True})
    money_fmt = wb.add_format({"num_format": "#,##0.00"})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    datetime_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for c, f in enumerate(fields):
        ws.write_string(0, c, str(f.header), bold)
    memo = [{} if f.fmt else None for f in fields]
    kinds = ["label" if f.fmt else f.type for f in fields]
    r = 0
    with db.engine.connect() as conn:
        result = conn.execution_options(yield_per=2000).execute(stmt)
        for row in result:
            r += 1
            for c, v in enumerate(row):
                if v is None:
                    continue
                kind = kinds[c]
                if kind == "label":
                    m = memo[c]
                    s = m.get(v)
                    if s is None:
                        s = m[v] = fields[c].fmt(v)
                    ws.write_string(r, c, s)
                elif kind == "money":
                    ws.write_number(r, c, float(v) if isinstance(v, Decimal) else v, money_fmt)
                elif kind in ("int", "decimal"):
                    ws.write_number(r, c, v)
                elif kind == "datetime":
                    ws.write_datetime(r, c, v, datetime_fmt)
                elif kind == "date":
                    ws.write_datetime(r, c, v, date_fmt)
                else:
                    ws.write_string(r, c, str(v))
    wb.close()
    return r


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True, choices=("sqlite", "postgresql"))
    ap.add_argument("--mode", required=True, choices=("app", "bare"))
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    app = make_app(url_for(args.db), args.db)
    view = find_view("ReliefApplicationView")
    from flask import g
    with app.test_request_context("/relief/applications/export/standard/"):
        g.user = load_user(EXPORT_USER)
        g.user.roles  # noqa: B018
        baseline = proc_status_kb("VmRSS")
        t0 = time.perf_counter()
        count = (export_app if args.mode == "app" else export_bare)(view, args.rows, args.out)
        seconds = time.perf_counter() - t0
    peak = proc_status_kb("VmHWM")
    size = os.path.getsize(args.out)
    os.unlink(args.out)
    print("BENCH_EXPORT " + json.dumps({
        "db": args.db, "mode": args.mode, "rows": count, "seconds": seconds,
        "rows_per_s": count / seconds if seconds else 0.0, "baseline_kb": baseline,
        "peak_kb": peak, "file_bytes": size}), flush=True)


if __name__ == "__main__":
    main()
