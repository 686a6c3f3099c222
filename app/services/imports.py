"""Bulk import of master data from Excel (SPEC P12): template download + validated upload.

All-or-nothing: every row is checked and every error collected; if there is any, the whole
file is rejected with ``ImportRejected`` listing (row, column, message), so the caller never
writes a partial import. The template's data sheet holds the header row only: examples live
on the "填写说明" sheet, so there is no example row the parser could mistake for data.

No Flask here (the import command `import_rows` reaches the database lazily): used from
views, CLI commands and background jobs alike.
"""
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

TYPES = ("text", "int", "decimal", "date", "bool", "choice")
TYPE_LABELS = {"text": "文本", "int": "整数", "decimal": "数字（最多两位小数）",
               "date": "日期（YYYY-MM-DD）", "bool": "是/否", "choice": "从下拉列表中选择"}
HELP_SHEET = "填写说明"
_TRUE, _FALSE = {"是", "y", "yes", "1", "true", "t"}, {"否", "n", "no", "0", "false", "f"}
_CENT = Decimal("0.01")
# Limits checked before any row is read, so that a small file declaring a huge sheet (16,384
# columns × 20,000 empty rows fit in 48 KB) cannot hold a worker: blank rows and columns
# count, data rows have their own limit (read_rows' max_rows).
MAX_FILE_BYTES = 10 * 1024 * 1024        # the workbook as uploaded
MAX_UNPACKED_BYTES = 100 * 1024 * 1024   # its parts once unzipped
MAX_SHEET_ROWS = 20_000
MAX_SHEET_COLUMNS = 100


@dataclass(frozen=True)
class ImportColumn:
    key: str
    header: str  # exactly the template header (Chinese); matched by text, order-independent
    required: bool = False
    type: str = "text"
    choices: tuple = ()  # for "choice": allowed display values
    parse: Callable[[Any], Any] | None = None  # extra normaliser; raises ValueError(中文)
    max_length: int | None = None
    example: str = ""
    unique: bool = False  # duplicates within the file are rejected
    # A choice column whose value the caller's own row check validates (with the rest of the
    # row, so one upload lists every error): the template still offers the dropdown.
    choices_checked_later: bool = False

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"unknown import column type {self.type!r} for {self.key!r}")
        if self.type == "choice" and not self.choices:
            raise ValueError(f"choice column {self.key!r} needs choices")


@dataclass
class RowError:
    row: int  # Excel row number (header = 1); 0 = the file as a whole
    column: str  # header text, "" for whole-row / whole-file errors
    message: str


class ImportRejected(ValueError):
    def __init__(self, errors: list[RowError]):
        self.errors = list(errors)
        if len(self.errors) == 1 and self.errors[0].row == 0:
            msg = f"导入失败：{self.errors[0].message}，未导入任何数据"
        else:
            msg = f"导入失败：共 {len(self.errors)} 处错误，未导入任何数据"
        super().__init__(msg)
        self.message = msg


def write_template(fileobj_or_path, columns, sheet_name: str = "导入模板") -> None:
    import xlsxwriter  # lazy: only the download view needs it

    wb = xlsxwriter.Workbook(fileobj_or_path, {"in_memory": True})
    head = {"bold": True, "bg_color": "#D9E1F2", "border": 1, "align": "center"}
    fmt_head, fmt_req = wb.add_format(head), wb.add_format({**head, "font_color": "#C00000"})
    # Pre-format whole columns so phone numbers / codes typed in stay text and dates look right.
    fmt_text, fmt_date = wb.add_format({"num_format": "@"}), wb.add_format({"num_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet(sheet_name)
    ws.freeze_panes(1, 0)
    for i, c in enumerate(columns):
        width = max(12, 2 * len(c.header) + 4, len(c.example) + 4)
        ws.set_column(i, i, width, fmt_date if c.type == "date" else fmt_text if c.type == "text" else None)
        ws.write_string(0, i, c.header, fmt_req if c.required else fmt_head)
        if c.required:
            ws.write_comment(0, i, "必填")
        opts = c.choices if c.type == "choice" else ("是", "否") if c.type == "bool" else ()
        if opts and len(",".join(opts)) <= 255:  # Excel's limit for an inline list
            ws.data_validation(1, i, 10000, i, {"validate": "list", "source": list(opts),
                                                "error_message": "请从下拉列表中选择"})
    help_ws = wb.add_worksheet(HELP_SHEET)
    help_ws.set_column(0, 4, 24)
    for j, h in enumerate(("列名", "是否必填", "类型", "可选值 / 说明", "示例")):
        help_ws.write_string(0, j, h, fmt_head)
    for i, c in enumerate(columns, start=1):
        notes = "、".join(c.choices) if c.type == "choice" else ""
        if c.max_length:
            notes = (notes + "；" if notes else "") + f"最多 {c.max_length} 个字符"
        if c.unique:
            notes = (notes + "；" if notes else "") + "文件内不得重复"
        cells = (c.header, "必填" if c.required else "选填", TYPE_LABELS[c.type], notes, c.example)
        for j, v in enumerate(cells):
            help_ws.write_string(i, j, v)
    help_ws.write_string(len(columns) + 2, 0, f"请在“{sheet_name}”工作表第 2 行起填写数据，不要修改列名；红色列名为必填。")
    wb.close()


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        # Excel stores a phone typed as a number as 13812345678.0; users mean the digits.
        return str(int(v)) if v.is_integer() else format(v, ".15g")
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() else v.isoformat(" ")
    if isinstance(v, date):
        return v.isoformat()
    return str(v).strip()


def _convert(c: ImportColumn, v):
    """Raw cell value -> typed value; None for an empty cell; ValueError(中文) when bad."""
    if isinstance(v, str) or v is None:
        v = _text(v)
        if v == "":
            return None
    if c.type == "text":
        return _text(v)
    if c.type == "int":
        if isinstance(v, bool):
            raise ValueError("应为整数")
        if isinstance(v, int):
            return v
        s = _text(v).replace(",", "")
        if not re.fullmatch(r"[+-]?\d+(\.0*)?", s):
            raise ValueError("应为整数")
        return int(s.split(".")[0])
    if c.type == "decimal":
        if isinstance(v, bool):
            raise ValueError("应为数字")
        try:  # floats go through 15 significant digits, as Excel itself displays them
            d = Decimal(format(v, ".15g") if isinstance(v, float) else _text(v).replace(",", ""))
        except InvalidOperation:
            raise ValueError("应为数字") from None
        if not d.is_finite():
            raise ValueError("应为数字")
        if d != d.quantize(_CENT):
            raise ValueError("最多保留两位小数")
        return d.quantize(_CENT)
    if c.type == "date":
        if isinstance(v, datetime):
            return v.date()
        if isinstance(v, date):
            return v
        s = _text(v)
        m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", s) or re.fullmatch(r"(\d{4})(\d{2})(\d{2})", s)
        try:
            return date(*map(int, m.groups()))
        except (AttributeError, ValueError):
            raise ValueError("日期格式应为 YYYY-MM-DD 或 YYYYMMDD，且须为有效日期") from None
    if c.type == "bool":
        if isinstance(v, bool):
            return v
        s = _text(v).lower()
        if s in _TRUE or s in _FALSE:
            return s in _TRUE
        raise ValueError("应填写“是”或“否”")
    s = _text(v)  # choice
    if s not in c.choices and not c.choices_checked_later:
        raise ValueError("取值无效，可选值：" + "、".join(c.choices))
    return s


def _refuse(message):
    raise ImportRejected([RowError(0, "", message)])


def _mb(n):
    return f"{n / 1024 / 1024:g} MB"


def _check_file(fileobj):
    """The file's size and its unzipped size, before openpyxl parses anything."""
    if isinstance(fileobj, (str, os.PathLike)):
        size = os.path.getsize(fileobj)
    else:
        start = fileobj.tell()
        size = fileobj.seek(0, os.SEEK_END) - start
        fileobj.seek(start)
    if size > MAX_FILE_BYTES:
        _refuse(f"文件过大：不能超过 {_mb(MAX_FILE_BYTES)}，请分批导入")
    try:
        with zipfile.ZipFile(fileobj) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        unpacked = 0      # not a zip: _open_sheet says so
    finally:
        if not isinstance(fileobj, (str, os.PathLike)):
            fileobj.seek(start)
    if unpacked > MAX_UNPACKED_BYTES:
        _refuse(f"文件过大：解压后超过 {_mb(MAX_UNPACKED_BYTES)}，请删除多余内容或分批导入")


def _too_large():
    _refuse(f"文件过大：工作表最多 {MAX_SHEET_ROWS} 行、{MAX_SHEET_COLUMNS} 列（空行、空列也计算在内），"
            "请删除多余的行列或分批导入")


def _open_sheet(fileobj):
    import openpyxl  # lazy: only the upload path needs it

    _check_file(fileobj)
    try:
        wb = openpyxl.load_workbook(fileobj, read_only=True, data_only=True)
        sheets = [ws for ws in wb.worksheets if ws.title != HELP_SHEET]
        ws = sheets[0]  # data sheet = first one that is not the instructions
    except Exception:  # zip / xml / format errors: all mean "not a usable xlsx"
        raise ImportRejected([RowError(0, "", "文件不是有效的 Excel（.xlsx）文件")]) from None
    if (ws.max_row or 0) > MAX_SHEET_ROWS or (ws.max_column or 0) > MAX_SHEET_COLUMNS:
        wb.close()
        _too_large()   # the sheet's declared dimensions: refused before a row is read
    return wb, ws


def read_rows(fileobj, columns, max_rows: int = 10000, row_check=None) -> list[dict]:
    wb, ws = _open_sheet(fileobj)
    try:  # read-only workbooks keep the file open until closed
        # a sheet that declares no dimensions is read no wider than the limit
        rows = ws.iter_rows(values_only=True, max_col=ws.max_column or MAX_SHEET_COLUMNS)
        return _read(rows, columns, max_rows, row_check)
    finally:
        wb.close()


def _read(rows, columns, max_rows, row_check) -> list[dict]:
    header = next(rows, None)
    if header is None:
        raise ImportRejected([RowError(0, "", "文件中没有数据")])
    # Tolerate a trailing "*" users sometimes add to required headers; otherwise exact text.
    found = [_text(h).rstrip("*＊").strip() for h in header]
    errors, index = [], {}
    for c in columns:
        pos = [i for i, h in enumerate(found) if h == c.header]
        if len(pos) > 1:
            errors.append(RowError(1, c.header, "列名重复"))
        elif pos:
            index[c.key] = pos[0]
        elif c.required:
            errors.append(RowError(1, c.header, "缺少必填列，请使用导入模板"))
    if errors:  # without the columns the rows cannot be read meaningfully
        raise ImportRejected(errors)

    result, seen = [], {c.key: {} for c in columns if c.unique}
    for rownum, raw in enumerate(rows, start=2):
        if rownum > MAX_SHEET_ROWS:   # a sheet without dimensions: stop while streaming
            _too_large()
        raw = raw or ()
        if raw.count(None) == len(raw) or all(_text(v) == "" for v in raw):
            continue  # completely empty rows (incl. formatted-but-blank ones) are ignored
        cells = {c.key: (raw[index[c.key]] if c.key in index and index[c.key] < len(raw) else None)
                 for c in columns}
        if len(result) >= max_rows:
            raise ImportRejected([RowError(0, "", f"数据超过 {max_rows} 行的上限，请分批导入")])
        row, row_errors = {"_row": rownum}, []
        for c in columns:
            try:
                v = _convert(c, cells[c.key])
                if v is None and c.required:
                    raise ValueError("必填")
                if v is not None and c.max_length and len(str(v)) > c.max_length:
                    raise ValueError(f"长度不能超过 {c.max_length} 个字符（当前 {len(str(v))} 个）")
                if v is not None and c.parse:
                    v = c.parse(v)
            except ValueError as e:
                row_errors.append(RowError(rownum, c.header, getattr(e, "message", None) or str(e)))
                continue
            row[c.key] = v
            if c.unique and v is not None:
                first = seen[c.key].setdefault(v, rownum)
                if first != rownum:
                    row_errors.append(RowError(rownum, c.header, f"与第 {first} 行重复"))
        if row_check and not row_errors:  # cross-field checks only make sense on clean values
            row_errors += [RowError(rownum, h, m) for h, m in row_check(row)]
        errors += row_errors
        result.append(row)
    if errors:
        raise ImportRejected(errors)
    if not result:
        raise ImportRejected([RowError(0, "", "文件中没有数据")])
    return result


def import_rows(user, rows, check, create, object_type, comment):
    """The import command: `check(rows)` → RowErrors (any: ImportRejected), `create(row)`
    for every row, one audit row (导入), one commit — or rolled back and raised, nothing
    partial written."""
    from app.extensions import db
    from app.services import audit
    try:
        problems = check(rows)
        if problems:
            raise ImportRejected(problems)
        for row in rows:
            create(row)
        audit.record(user, "import", object_type=object_type, comment=comment)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return len(rows)


def errors_as_text(errors, limit: int = 50) -> str:
    lines = []
    for e in errors[:limit]:
        where = f"第 {e.row} 行" if e.row else ""
        where += f"【{e.column}】" if e.column else ""
        lines.append(f"{where}：{e.message}" if where else e.message)
    if len(errors) > limit:
        lines.append(f"……另有 {len(errors) - limit} 处错误未列出")
    return "\n".join(lines)
