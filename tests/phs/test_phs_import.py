"""基本公卫 Excel route (SPEC H7, P12) through HTTP: the template, the import (update of
what the caller may edit, creation the way 新增 does, all or nothing with per-row errors,
refused once reported) and the scoped export."""
import io
import re
from urllib.parse import unquote

import openpyxl
from sqlalchemy import func, select

from app.extensions import db
from app.models.core import Organization, User
from app.models.phs import PhsInstitution
from app.services.phs import commands, queries
from app.views.phs.screens import EXPORT_FIELDS
from app.workflows.engine import apply
from app.workflows.phs import PhsReportFlow
from tests.conftest import flashes, user

BASE = "/phs/institutions"
HEADERS = ["机构名称", "机构编码", "联系人", "联系电话", "所在乡镇（街道）", "详细地址", "机构类型",
           "主办类型", "经度", "纬度", "上级机构", "承担项目内容"]
TOWN1 = "小店区北格镇卫生院"
ZHANGHUA = "小店区北格镇张花村卫生室"
BEIGE = "小店区北格镇北格村卫生室"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def inst(name):
    return db.session.execute(select(PhsInstitution).where(
        PhsInstitution.name == name, PhsInstitution.deleted.is_(False))).scalar_one()


def counts():
    return (db.session.scalar(select(func.count(PhsInstitution.id))),
            db.session.scalar(select(func.count(Organization.id))),
            db.session.scalar(select(func.count(User.id))))


def text(r):
    return r.get_data(as_text=True)


def upload(c, rows):
    """rows: dicts keyed by template header → the response to the upload (followed)."""
    wb = openpyxl.load_workbook(io.BytesIO(c.get(f"{BASE}/import/template").data))
    ws = wb.worksheets[0]
    for row in rows:
        ws.append([row.get(h) for h in HEADERS])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return c.post(f"{BASE}/import/", data={"file": (buf, "机构信息.xlsx")},
                  content_type="multipart/form-data", follow_redirects=True)


def row_errors(r):
    """[(row, column, message)] of the error table."""
    table = re.search(r'id="import-errors".*?</table>', text(r), re.S)
    assert table, flashes(r)
    return [(int(n) if n else 0, col, msg) for n, col, msg in re.findall(
        r"<tr><td>(\d*)</td><td>(.*?)</td><td>(.*?)</td></tr>", table.group(0))]


def has_error(errors, row, column, fragment):
    return any(n == row and col == column and fragment in msg for n, col, msg in errors)


def station(name, **extra):
    return {"机构名称": name, "机构编码": "PDY0009914010511A1001", "联系人": "赵医生",
            "联系电话": "13912345678", "详细地址": "南庄村1号", "机构类型": "村卫生室",
            "主办类型": "社会办", "经度": 112.571, "纬度": 37.741,
            "承担项目内容": "健康教育、居民健康档案管理,预防接种", **extra}


def exported(c, cols=None):
    keys = cols or [f.key for f in EXPORT_FIELDS]
    r = c.get(f"{BASE}/export/", query_string=[("col", k) for k in keys])
    assert r.status_code == 200 and r.mimetype == XLSX, text(r)[:300]
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], values)) for values in rows[1:]]


# ---- template -------------------------------------------------------------------------------


def test_template_has_the_ten_items_in_table_2_order_with_examples(login_as, ctx):
    r = login_as("xd_town1").get(f"{BASE}/import/template")
    assert r.status_code == 200 and r.mimetype == XLSX
    disposition = unquote(r.headers["Content-Disposition"])
    assert disposition.startswith("attachment") and "机构信息导入模板.xlsx" in disposition
    wb = openpyxl.load_workbook(io.BytesIO(r.data))
    data, help_sheet = wb.worksheets[0], wb["填写说明"]
    assert [c.value for c in data[1]] == HEADERS and data.max_row == 1
    lists = {str(v.sqref): v.formula1 for v in data.data_validations.dataValidation}
    assert "乡镇卫生院" in lists["G2:G10001"] and "政府办" in lists["H2:H10001"]
    notes = {row[0]: row for row in help_sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    assert notes["机构名称"][1] == "必填" and notes["联系人"][1] == "选填"
    assert "社区卫生服务中心" in notes["机构类型"][3] and notes["机构类型"][4] == "村卫生室"
    assert "私人办" in notes["主办类型"][3]
    assert "居民健康档案管理" in notes["承担项目内容"][4]


# ---- import -----------------------------------------------------------------------------------


def test_township_file_adds_stations_and_updates_its_own_rows(login_as, ctx):
    c = login_as("xd_town1")
    own_before = inst(TOWN1)
    phone_before, type_before = own_before.phone, own_before.inst_type
    before = counts()
    r = upload(c, [
        {"机构名称": TOWN1, "联系人": "新院长"},                         # blank cells kept
        {"机构名称": ZHANGHUA, "经度": 112.563, "纬度": 37.733, "承担项目内容": "健康教育"},
        station("小店区北格镇南庄村卫生室"),
        station("小店区北格镇东庄村卫生室", 上级机构=TOWN1, 联系电话=13812345678,
                机构类型="社区卫生服务站", 主办类型="私人办"),
    ])
    assert "导入成功，共 4 条" in flashes(r), flashes(r)
    assert counts() == (before[0] + 2, before[1], before[2])
    org = user("xd_town1").organization
    own = inst(TOWN1)
    assert (own.contact, own.phone, own.inst_type) == ("新院长", phone_before, type_before)
    zh = inst(ZHANGHUA)
    assert (zh.longitude, zh.latitude, zh.services) == (112.563, 37.733, "02")
    south = inst("小店区北格镇南庄村卫生室")
    assert (south.tier, south.organization_id, south.superior_label) == ("station", org.id, TOWN1)
    assert (south.inst_type, south.sponsor, south.services) == ("village_clinic", "2", "01,02,03")
    assert south.is_complete and south.county_code == org.county_code
    east = inst("小店区北格镇东庄村卫生室")
    assert (east.inst_type, east.sponsor, east.phone) == ("community_station", "3", "13812345678")
    assert "小店区北格镇南庄村卫生室" in text(c.get(f"{BASE}/list/"))


def test_county_file_creates_a_unit_with_its_account_and_stations(login_as, ctx):
    c = login_as("xd_county")
    before = counts()
    r = upload(c, [
        station("小店区新村镇新村卫生室", 上级机构="小店区新村镇卫生院"),     # before its unit
        {"机构名称": "小店区新村镇卫生院", "所在乡镇（街道）": "新村镇", "机构类型": "乡镇卫生院",
         "主办类型": "政府办", "上级机构": "小店区", "联系电话": "0351-7654321"},
        station("小店区刘家堡乡前村卫生室", 上级机构="小店区刘家堡乡卫生院"),
        {"机构名称": "小店区刘家堡乡卫生院", "联系人": "刘院长"},
    ])
    assert "导入成功，共 4 条" in flashes(r), flashes(r)
    assert counts() == (before[0] + 3, before[1] + 1, before[2] + 1)
    county = user("xd_county").organization
    unit = inst("小店区新村镇卫生院")
    assert (unit.tier, unit.superior_org_id, unit.superior_label) == ("unit", county.id, "小店区")
    assert unit.organization_id != county.id and unit.source_org_id == unit.organization_id
    login = queries.login_names([unit.organization_id])[unit.organization_id]
    account = user(login)
    assert account.must_change_password and "H 基层机构" in {x.name for x in account.roles}
    assert login in text(c.get(f"{BASE}/list/"))
    below = inst("小店区新村镇新村卫生室")
    assert (below.tier, below.organization_id) == ("station", unit.organization_id)
    ljb = inst("小店区刘家堡乡卫生院")
    assert ljb.contact == "刘院长"
    front = inst("小店区刘家堡乡前村卫生室")
    assert (front.organization_id, front.superior_label) == (ljb.organization_id, ljb.name)


def test_bad_values_reject_the_whole_file_with_row_errors(login_as, ctx):
    c = login_as("xd_town1")
    before, contact = counts(), inst(TOWN1).contact
    r = upload(c, [
        {"机构名称": TOWN1, "联系人": "不应写入"},
        station("小店区北格镇甲村卫生室", 联系电话="1391234567"),
        station("小店区北格镇乙村卫生室", 经度="2.35", 纬度="48.85"),
        station("小店区北格镇丙村卫生室", 机构类型="卫生站", 承担项目内容="健康教育、义诊"),
        station("小店区北格镇甲村卫生室"),
        station("小店区北格镇丁村卫生室", 上级机构="小店区西温庄乡卫生院", 纬度=None),
    ])
    assert "未导入任何数据" in flashes(r)
    errors = row_errors(r)
    assert has_error(errors, 3, "联系电话", "手机号码应为11位（当前10位）")
    assert has_error(errors, 4, "经度、纬度", "经纬度不在中国境内")
    assert has_error(errors, 5, "机构类型", "请从列表中选择机构类型")
    assert has_error(errors, 5, "承担项目内容", "未知的服务项目：义诊")
    assert has_error(errors, 6, "机构名称", "与第 3 行重复")
    assert has_error(errors, 7, "上级机构", f"上级机构应为：{TOWN1}")
    assert has_error(errors, 7, "经度、纬度", "经度和纬度需同时填写")
    assert not any(n == 2 for n, _c, _m in errors)
    assert counts() == before and inst(TOWN1).contact == contact


def test_county_rows_it_may_not_write_are_refused_with_the_reason(login_as, ctx):
    c = login_as("xd_county")
    before = counts()
    r = upload(c, [
        {"机构名称": "小店区西温庄乡卫生院", "联系人": "改"},       # its report is submitted
        {"机构名称": BEIGE, "联系人": "改"},                     # filled by 北格镇卫生院
        {"机构名称": "小店区无乡镇卫生院"},
        station("小店区某村卫生室", 上级机构="迎泽区郝庄镇卫生院"),
        {"机构名称": "小店区刘家堡乡卫生院", "上级机构": TOWN1},
    ])
    errors = row_errors(r)
    assert has_error(errors, 2, "机构名称", "已上报（已上报），不能修改")
    assert has_error(errors, 3, "机构名称", "只能修改本机构填报的机构信息")
    assert has_error(errors, 4, "所在乡镇（街道）", "请填写所在乡镇（街道）")
    assert has_error(errors, 5, "上级机构", "上级机构应为：小店区、")
    assert has_error(errors, 6, "上级机构", "导入不能修改上级机构（当前为“小店区”）")
    assert counts() == before


def test_import_is_refused_once_the_unit_has_reported(login_as, ctx):
    town1 = user("xd_town1")
    commands.save(inst(ZHANGHUA),
                  {"longitude": "112.56", "latitude": "37.73", "services": ["01"]}, town1)
    apply(PhsReportFlow, queries.report_of(town1.organization), "submit", town1)
    c = login_as("xd_town1")
    before, contact = counts(), inst(TOWN1).contact
    r = upload(c, [{"机构名称": TOWN1, "联系人": "改"}, station("小店区北格镇新村卫生室")])
    errors = row_errors(r)
    assert has_error(errors, 2, "机构名称", "的信息已上报（已上报），不能修改")
    assert has_error(errors, 3, "机构名称", "本级已上报（已上报），不能新增；如需新增请申请修改")
    assert counts() == before and inst(TOWN1).contact == contact


def test_a_file_without_the_name_column_or_rows_is_rejected(login_as, ctx):
    c = login_as("xd_town1")
    wb = openpyxl.Workbook()
    wb.active.append(["联系人", "联系电话"])
    wb.active.append(["张三", "13912345678"])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    r = c.post(f"{BASE}/import/", data={"file": (buf, "x.xlsx")},
               content_type="multipart/form-data")
    assert has_error(row_errors(r), 1, "机构名称", "缺少必填列")
    assert "文件中没有数据" in flashes(upload(c, []))


# ---- export -----------------------------------------------------------------------------------


def test_county_export_is_scoped_and_writes_labels(login_as, ctx):
    rows = exported(login_as("xd_county"))
    by_name = {r["机构名称"]: r for r in rows}
    county = user("xd_county").organization
    mine = db.session.execute(select(PhsInstitution.name).where(
        PhsInstitution.county_code == county.county_code,
        PhsInstitution.deleted.is_(False))).scalars().all()
    assert sorted(by_name) == sorted(mine) and len(rows) == len(mine)
    assert not [n for n in by_name if "迎泽区" in n or "盐湖区" in n]
    unit = by_name["小店区西温庄乡卫生院"]
    assert (unit["机构类型"], unit["主办类型"], unit["上级机构"], unit["数据项完整"]) == \
        ("乡镇卫生院", "政府办", "小店区", "是")
    assert unit["承担项目内容"].startswith("居民健康档案管理、健康教育、预防接种")
    assert isinstance(unit["经度"], float) and unit["所在乡镇（街道）"] == "西温庄乡"
    assert by_name[ZHANGHUA]["数据项完整"] == "否" and by_name[ZHANGHUA]["上级机构"] == TOWN1
    assert list(rows[0]) == HEADERS + ["数据项完整"]


def test_township_export_has_only_its_rows_and_imports_back_unchanged(login_as, ctx):
    c = login_as("xd_town1")
    rows = exported(c)
    assert sorted(r["机构名称"] for r in rows) == sorted([TOWN1, BEIGE, ZHANGHUA])
    before = counts()
    snapshot = {r["机构名称"]: (inst(r["机构名称"]).services, inst(r["机构名称"]).phone)
                for r in rows}
    r = upload(c, [{h: row[h] for h in HEADERS} for row in rows])
    assert "导入成功，共 3 条" in flashes(r), row_errors(r)
    assert counts() == before
    assert {n: (inst(n).services, inst(n).phone) for n in snapshot} == snapshot
