from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from app.services.imports import (ImportColumn, ImportRejected, RowError, errors_as_text,
                                  read_rows, write_template)
from app.services.validators import check_uscc

COLUMNS = [
    ImportColumn("name", "机构名称", required=True, max_length=10, unique=True, example="市第一人民医院"),
    ImportColumn("phone", "联系电话", example="0571-88888888"),
    ImportColumn("beds", "床位数", type="int"),
    ImportColumn("price", "单价（元）", type="decimal"),
    ImportColumn("since", "成立日期", type="date"),
    ImportColumn("active", "是否启用", type="bool"),
    ImportColumn("level", "医院等级", type="choice", choices=("一级", "二级", "三级")),
]
HEADERS = [c.header for c in COLUMNS]


def xlsx(tmp_path, rows, headers=HEADERS, name="in.xlsx"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(headers)
    for r in rows:
        ws.append(r)
    path = tmp_path / name
    wb.save(path)
    return path


def rejected(path, columns=COLUMNS, **kw):
    with pytest.raises(ImportRejected) as exc:
        read_rows(path, columns, **kw)
    return [(e.row, e.column, e.message) for e in exc.value.errors], str(exc.value)


def test_template_round_trip(tmp_path):
    path = tmp_path / "t.xlsx"
    write_template(path, COLUMNS)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["导入模板", "填写说明"]
    ws = wb["导入模板"]
    assert [c.value for c in ws[1]] == HEADERS and ws.max_row == 1  # no example row in data
    assert ws["A1"].font.color.rgb.endswith("C00000") and ws["A1"].comment.text == "必填"
    assert wb["填写说明"]["A2"].value == "机构名称" and wb["填写说明"]["E2"].value == "市第一人民医院"
    ws.append(["甲医院", "0571-88888888", 100, 12.5, date(2020, 1, 2), "是", "三级"])
    ws.append(["乙医院"])
    wb.save(path)
    rows = read_rows(path, COLUMNS)
    assert rows[0] == {"_row": 2, "name": "甲医院", "phone": "0571-88888888", "beds": 100,
                       "price": Decimal("12.50"), "since": date(2020, 1, 2), "active": True,
                       "level": "三级"}
    assert rows[1] == {"_row": 3, "name": "乙医院", "phone": None, "beds": None, "price": None,
                       "since": None, "active": None, "level": None}


def test_template_to_file_object_and_headers_any_order(tmp_path):
    import io
    buf = io.BytesIO()
    write_template(buf, COLUMNS)
    assert openpyxl.load_workbook(io.BytesIO(buf.getvalue()))["导入模板"]["G1"].value == "医院等级"
    path = xlsx(tmp_path, [["三级", "丙医院", "无关"]], headers=["医院等级", "机构名称*", "备注"])
    assert read_rows(path, COLUMNS)[0]["level"] == "三级"


@pytest.mark.parametrize("col,cell,expected", [
    ("beds", 12, 12), ("beds", 12.0, 12), ("beds", " 1,200 ", 1200), ("beds", "7.0", 7),
    ("price", 1.1, Decimal("1.10")), ("price", "1,234.5", Decimal("1234.50")), ("price", 3, Decimal("3.00")),
    ("since", datetime(2021, 5, 6), date(2021, 5, 6)), ("since", "2021-05-06", date(2021, 5, 6)),
    ("since", "20210506", date(2021, 5, 6)), ("since", 20210506, date(2021, 5, 6)),
    ("active", "否", False), ("active", "Y", True), ("active", "n", False), ("active", 1, True),
    ("active", "TRUE", True), ("active", "false", False), ("active", True, True),
    ("phone", 13812345678.0, "13812345678"), ("phone", 13812345678, "13812345678"),
    ("phone", "  0571-1234567 ", "0571-1234567"), ("level", " 二级 ", "二级"),
])
def test_type_conversion(tmp_path, col, cell, expected):
    row = ["医院", None, None, None, None, None, None]
    row[[c.key for c in COLUMNS].index(col)] = cell
    assert read_rows(xlsx(tmp_path, [row]), COLUMNS)[0][col] == expected


@pytest.mark.parametrize("col,cell,message", [
    ("beds", "12.5", "应为整数"), ("beds", "abc", "应为整数"), ("price", "1.005", "最多保留两位小数"),
    ("price", 1.234, "最多保留两位小数"), ("price", "一百", "应为数字"),
    ("since", "2021-02-30", "日期格式应为 YYYY-MM-DD 或 YYYYMMDD，且须为有效日期"),
    ("since", "2021/13/01", "日期格式应为 YYYY-MM-DD 或 YYYYMMDD，且须为有效日期"),
    ("active", "也许", "应填写“是”或“否”"), ("level", "特级", "取值无效，可选值：一级、二级、三级"),
    ("name", "很长很长很长很长很长很长", "长度不能超过 10 个字符（当前 12 个）"),
])
def test_bad_values(tmp_path, col, cell, message):
    row = ["医院", None, None, None, None, None, None]
    row[[c.key for c in COLUMNS].index(col)] = cell
    header = COLUMNS[[c.key for c in COLUMNS].index(col)].header
    assert rejected(xlsx(tmp_path, [row]))[0] == [(2, header, message)]


def test_missing_required_header(tmp_path):
    errors, msg = rejected(xlsx(tmp_path, [["x"]], headers=["联系电话"]))
    assert errors == [(1, "机构名称", "缺少必填列，请使用导入模板")]
    assert msg == "导入失败：共 1 处错误，未导入任何数据"


def test_required_empty_cell(tmp_path):
    assert rejected(xlsx(tmp_path, [["  ", "0571-1"]]))[0] == [(2, "机构名称", "必填")]


def test_duplicate_unique(tmp_path):
    errors, _ = rejected(xlsx(tmp_path, [["甲"], ["乙"], [" 甲 "], ["甲"]]))
    assert errors == [(4, "机构名称", "与第 2 行重复"), (5, "机构名称", "与第 2 行重复")]


def test_row_check_and_parse_hook(tmp_path):
    cols = COLUMNS + [ImportColumn("uscc", "统一社会信用代码", parse=check_uscc)]
    headers = HEADERS + ["统一社会信用代码"]

    def check(row):
        return [("床位数", "三级医院床位数不得少于 500")] if row["level"] == "三级" and (row["beds"] or 0) < 500 else []

    path = xlsx(tmp_path, [["甲", None, 100, None, None, None, "三级", "91330100MA27XXXX1X"],
                           ["乙", None, 100, None, None, None, "二级", None],
                           ["丙", None, 10, None, None, None, "三级", None]], headers=headers)
    errors, _ = rejected(path, cols, row_check=check)
    # row 2 has a field error, so the cross-field check is not run on it
    assert [(r, c) for r, c, _ in errors] == [(2, "统一社会信用代码"), (4, "床位数")]
    assert errors[0][2].startswith("统一社会信用代码") and errors[1][2] == "三级医院床位数不得少于 500"


def test_not_xlsx(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_text("name,phone\n甲,1\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as exc:
        read_rows(path, COLUMNS)
    assert exc.value.errors == [RowError(0, "", "文件不是有效的 Excel（.xlsx）文件")]
    assert str(exc.value) == "导入失败：文件不是有效的 Excel（.xlsx）文件，未导入任何数据"


def test_empty_file(tmp_path):
    assert rejected(xlsx(tmp_path, []))[0] == [(0, "", "文件中没有数据")]
    assert rejected(xlsx(tmp_path, [[None], ["", "  "]], name="b.xlsx"))[0] == [(0, "", "文件中没有数据")]
    wb = openpyxl.Workbook()
    wb.save(tmp_path / "blank.xlsx")
    assert rejected(tmp_path / "blank.xlsx")[0] == [(0, "", "文件中没有数据")]


def test_too_many_rows(tmp_path):
    errors, _ = rejected(xlsx(tmp_path, [[f"院{i}"] for i in range(4)]), max_rows=3)
    assert errors == [(0, "", "数据超过 3 行的上限，请分批导入")]


def test_all_errors_collected_and_blank_rows_skipped(tmp_path):
    path = xlsx(tmp_path, [["好"], [None, None, "x"], [None] * 7, ["坏", None, None, "0.001"],
                           ["差", None, None, None, "昨天", "也许"]])
    errors, msg = rejected(path)
    assert errors == [(3, "机构名称", "必填"), (3, "床位数", "应为整数"),
                      (5, "单价（元）", "最多保留两位小数"),
                      (6, "成立日期", "日期格式应为 YYYY-MM-DD 或 YYYYMMDD，且须为有效日期"),
                      (6, "是否启用", "应填写“是”或“否”")]
    assert msg == "导入失败：共 5 处错误，未导入任何数据"


def test_errors_as_text():
    errors = [RowError(3, "联系电话", "固定电话需包含区号"), RowError(0, "", "文件中没有数据"),
              RowError(4, "", "整行无效")] + [RowError(9, "x", "y")] * 3
    lines = errors_as_text(errors, limit=4).splitlines()
    assert lines == ["第 3 行【联系电话】：固定电话需包含区号", "文件中没有数据", "第 4 行：整行无效",
                     "第 9 行【x】：y", "……另有 2 处错误未列出"]


def test_column_definition_checked():
    with pytest.raises(ValueError):
        ImportColumn("a", "甲", type="money")
    with pytest.raises(ValueError):
        ImportColumn("a", "甲", type="choice")
