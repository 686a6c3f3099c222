"""Streaming export to Excel (xlsx) and CSV.

Rows come from a generator (e.g. a server-side cursor), so an export of a
million rows never holds them all: xlsxwriter's constant_memory mode flushes
each row to disk as soon as the next one starts, which also means rows must be
written strictly in order.

Cells that start with = + - @ (or tab / CR) are written as text with a leading
apostrophe, so neither Excel nor a CSV import treats user data as a formula
("CSV/formula injection").

Times: a "timestamp" column holds stored UTC stamps and is written in Asia/Shanghai, a
"datetime" column holds times as a person typed them (already local); both to the second,
through app.services.clock, so a file shows the times the screens show.

No Flask here: used from views and from Celery workers alike.
"""
import csv
import io
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import xlsxwriter

from app.services.clock import local, local_text, wall_clock_text

TYPES = ("text", "int", "money", "decimal", "date", "datetime", "timestamp", "bool")
EXCEL_MAX_ROWS = 1_048_576
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Column:
    key: str  # used when rows are mappings
    header: str  # shown in the header row (Chinese)
    type: str = "text"
    width: float | None = None  # Excel character units; None = estimate

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"unknown column type {self.type!r} for {self.key!r}")


def neutralise(value):
    """Strings Excel would evaluate get a leading apostrophe; anything else is
    returned unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _bool_text(value):
    return "是" if value else "否"


def _display_width(text):
    # CJK (wide / full-width) characters take two columns in Excel.
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


_MIN_WIDTH = {"date": 12, "datetime": 20, "timestamp": 20, "money": 14, "decimal": 12}


def _width(column):
    if column.width is not None:
        return column.width
    return min(60, max(8, _MIN_WIDTH.get(column.type, 0), _display_width(column.header) + 2))


def _cells(columns, rows):
    """Each row as a list of values in column order."""
    keys = [c.key for c in columns]
    for row in rows:
        if isinstance(row, Mapping):
            yield [row.get(k) for k in keys]
        else:
            yield row


def _sheet_names(base):
    # Excel: at most 31 characters, and none of []:*?/\ in a sheet name.
    base = "".join("_" if c in "[]:*?/\\" else c for c in base)[:28] or "数据"
    yield base
    n = 2
    while True:
        yield f"{base}{n}"
        n += 1


def write_xlsx(target, columns, rows, sheet_name="数据", max_rows_per_sheet=EXCEL_MAX_ROWS) -> int:
    """Write rows (sequences in column order, or mappings by Column.key) to an
    xlsx file path or binary file object.  Returns the number of data rows.

    A sheet holds max_rows_per_sheet rows including its header; further rows go
    to new sheets named <sheet_name>2, <sheet_name>3 … each with the header."""
    columns = list(columns)
    if max_rows_per_sheet < 2:
        raise ValueError("max_rows_per_sheet must leave room for header and one row")
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            # write_string is used for all text anyway; these stop any other
            # write() path from turning user text into formulas or links.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            # Times reach the writers as naive Asia/Shanghai (clock.local).
            "remove_timezone": True,
            "nan_inf_to_errors": True,  # NaN in data should not abort the export
        },
    )
    header_fmt = workbook.add_format({"bold": True})
    money_fmt = workbook.add_format({"num_format": "#,##0.00"})
    date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
    datetime_fmt = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})

    def text(ws, r, c, v):
        ws.write_string(r, c, neutralise(local_text(v)))

    def number(fmt):
        def write(ws, r, c, v):
            if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
                ws.write_number(r, c, float(v) if isinstance(v, Decimal) else v, fmt)
            else:  # a stray non-number is shown as it is rather than lost
                text(ws, r, c, v)

        return write

    def when(fmt, stored_utc=False):
        def write(ws, r, c, v):
            if isinstance(v, date):  # datetime is a date too
                ws.write_datetime(r, c, local(v, stored_utc), fmt)
            else:
                text(ws, r, c, v)

        return write

    writers = {
        "text": text,
        "int": number(None),
        "money": number(money_fmt),
        "decimal": number(None),
        "date": when(date_fmt),
        "datetime": when(datetime_fmt),
        "timestamp": when(datetime_fmt, stored_utc=True),
        "bool": lambda ws, r, c, v: ws.write_string(r, c, _bool_text(v)),
    }
    col_writers = [writers[c.type] for c in columns]
    names = _sheet_names(sheet_name)
    last_col = max(len(columns) - 1, 0)

    def new_sheet():
        ws = workbook.add_worksheet(next(names))
        for c, column in enumerate(columns):
            ws.set_column(c, c, _width(column))
            ws.write_string(0, c, column.header, header_fmt)
        ws.freeze_panes(1, 0)
        return ws

    def finish(ws, last_row):
        if columns:
            ws.autofilter(0, 0, last_row, last_col)

    count = 0
    try:
        ws, r = new_sheet(), 0
        for values in _cells(columns, rows):
            if r + 1 >= max_rows_per_sheet:
                finish(ws, r)
                ws, r = new_sheet(), 0
            r += 1
            for c, (write, v) in enumerate(zip(col_writers, values)):
                if v is not None:
                    write(ws, r, c, v)
            count += 1
        finish(ws, r)
    finally:
        workbook.close()
    return count


def cell_text(column_type, v):
    """A value of a column as the text a person reads (CSV cells, the 导出资料 sheet)."""
    if v is None:
        return ""
    if column_type == "bool":
        return _bool_text(v)
    if column_type == "money" and isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
        return str(Decimal(str(v)).quantize(_CENT, ROUND_HALF_UP))
    if column_type in ("int", "decimal") and isinstance(v, (int, float, Decimal)):
        return str(v)
    if column_type == "datetime" and isinstance(v, datetime):
        return wall_clock_text(v)
    if column_type in ("date", "datetime", "timestamp") and type(v) is date:
        return v.strftime("%Y-%m-%d")
    return local_text(v)     # a stamp in a timestamp (or text) column: local time


def _csv_value(column_type, v):
    text = cell_text(column_type, v)
    if column_type != "text" and not isinstance(v, str):   # a typed value (-5.00) is no formula
        return text
    return neutralise(text)


def write_csv(fileobj, columns, rows) -> int:
    """Write CSV in UTF-8 with BOM (without it Excel reads Chinese as GBK and
    shows garbage) to a binary or text file object.  Returns the data row count."""
    columns = list(columns)
    binary = not isinstance(fileobj, io.TextIOBase)
    # newline="" : the csv module writes its own \r\n line ends.
    out = io.TextIOWrapper(fileobj, encoding="utf-8", newline="") if binary else fileobj
    try:
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow([neutralise(c.header) for c in columns])
        types = [c.type for c in columns]
        count = 0
        for values in _cells(columns, rows):
            writer.writerow([_csv_value(t, v) for t, v in zip(types, values)])
            count += 1
    finally:
        if binary:
            out.flush()
            out.detach()  # leave the caller's file object open
    return count
