import csv
import io
import tracemalloc
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from app.services.export import Column, neutralise, write_csv, write_xlsx

COLUMNS = [
    Column("name", "机构名称"),
    Column("beds", "床位数", "int"),
    Column("amount", "金额（元）", "money"),
    Column("ratio", "比例", "decimal"),
    Column("day", "日期", "date"),
    Column("at", "提交时间", "datetime"),
    Column("active", "是否启用", "bool", width=10),
]
ROWS = [
    ["市第一人民医院", 500, Decimal("1234567.89"), Decimal("0.125"), date(2024, 3, 1),
     datetime(2024, 3, 1, 8, 30, 5), True],
    {"name": "=1+1", "beds": None, "amount": Decimal("-5.5"), "ratio": 1.5,
     "day": None, "at": None, "active": False},
    ["@SUM(A1)", 0, 0, 0, date(2000, 1, 31), datetime(2000, 1, 31), None],
    ["-2+3", 1, Decimal("0.005"), None, None, None, True],
]


def load(buf):
    buf.seek(0)
    return openpyxl.load_workbook(buf)


@pytest.fixture
def book():
    buf = io.BytesIO()
    assert write_xlsx(buf, COLUMNS, ROWS) == 4
    return load(buf)


def test_neutralise():
    for bad in ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]:
        assert neutralise(bad) == "'" + bad
    for ok in ["正常", "a=b", "", 5, None, Decimal("-1")]:
        assert neutralise(ok) == ok


def test_column_type_checked():
    with pytest.raises(ValueError):
        Column("x", "X", "float")


def test_headers_frozen_and_filtered(book):
    assert book.sheetnames == ["数据"]
    ws = book["数据"]
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:G5"
    assert ws.max_row == 5
    assert ws.column_dimensions["G"].width == pytest.approx(10, abs=1)
    # CJK headers count double: "提交时间" is 4 characters but needs 8+ columns.
    assert ws.column_dimensions["A"].width >= 10


def test_typed_cells(book):
    ws = book["数据"]
    name, beds, amount, ratio, day, at, active = ws[2]
    assert name.value == "市第一人民医院" and name.data_type == "s"
    assert beds.value == 500 and beds.data_type == "n"
    assert amount.value == pytest.approx(1234567.89) and amount.data_type == "n"
    assert amount.number_format == "#,##0.00"
    assert ratio.value == pytest.approx(0.125)
    assert day.value == datetime(2024, 3, 1) and day.number_format == "yyyy-mm-dd"
    assert at.value == datetime(2024, 3, 1, 8, 30, 5)
    assert at.number_format == "yyyy-mm-dd hh:mm:ss"
    assert active.value == "是"
    # Row given as a mapping; None -> empty cell.
    row = ws[3]
    assert row[1].value is None and row[4].value is None and row[5].value is None
    assert row[2].value == pytest.approx(-5.5) and row[6].value == "否"
    assert ws["G4"].value is None


def test_formula_like_text_is_not_a_formula(book):
    ws = book["数据"]
    for cell, original in [(ws["A3"], "=1+1"), (ws["A4"], "@SUM(A1)"), (ws["A5"], "-2+3")]:
        assert cell.data_type == "s", cell.coordinate
        assert cell.value == "'" + original
    # Numbers in number columns are never touched, negative or not.
    assert ws["C3"].data_type == "n"


def test_sheet_split(tmp_path):
    path = tmp_path / "out.xlsx"
    rows = ([f"单位{i}", i] for i in range(12))  # a generator, consumed once
    cols = [Column("name", "名称"), Column("n", "序号", "int")]
    assert write_xlsx(str(path), cols, rows, max_rows_per_sheet=5) == 12
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["数据", "数据2", "数据3"]
    numbers = []
    for ws in wb.worksheets:
        values = list(ws.iter_rows(values_only=True))
        assert values[0] == ("名称", "序号")
        assert len(values) <= 5
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref == f"A1:B{len(values)}"
        numbers += [v[1] for v in values[1:]]
    assert numbers == list(range(12))


def test_split_exactly_full_sheet_makes_no_empty_sheet():
    buf = io.BytesIO()
    write_xlsx(buf, [Column("n", "序号", "int")], ([i] for i in range(8)), max_rows_per_sheet=5)
    assert load(buf).sheetnames == ["数据", "数据2"]


def test_empty_export_has_header():
    buf = io.BytesIO()
    assert write_xlsx(buf, COLUMNS, iter(()), sheet_name="机构") == 0
    ws = load(buf)["机构"]
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]


def test_csv():
    buf = io.BytesIO()
    assert write_csv(buf, COLUMNS, iter(ROWS)) == 4
    data = buf.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == [c.header for c in COLUMNS]
    assert rows[1] == ["市第一人民医院", "500", "1234567.89", "0.125", "2024-03-01",
                       "2024-03-01 08:30:05", "是"]
    assert rows[2] == ["'=1+1", "", "-5.50", "1.5", "", "", "否"]
    assert rows[3] == ["'@SUM(A1)", "0", "0.00", "0", "2000-01-31", "2000-01-31 00:00:00", ""]
    assert rows[4] == ["'-2+3", "1", "0.01", "", "", "", "是"]
    assert not buf.closed  # the caller's file object stays usable


def test_csv_to_text_file(tmp_path):
    path = tmp_path / "out.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        write_csv(f, [Column("name", "名称")], [["张三"]])
    assert path.read_bytes() == "\ufeff名称\r\n张三\r\n".encode()


def test_constant_memory(tmp_path):
    # 20k rows × 20 columns: without constant_memory xlsxwriter keeps all 400,000 cells
    # (tens of MB); with it the peak stays flat. tracemalloc slows writing ~4x, so keep it small.
    n_rows, n_cols = 20_000, 20
    cols = [Column(f"c{i}", f"列{i}", "int" if i % 2 else "text") for i in range(n_cols)]

    def rows():
        for r in range(n_rows):
            yield [r * n_cols + c if c % 2 else f"文本{r}-{c}" for c in range(n_cols)]

    tracemalloc.start()
    try:
        assert write_xlsx(str(tmp_path / "big.xlsx"), cols, rows()) == n_rows
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
