"""工伤 master data screens (SPEC W3, P12, app/views/injury/master.py): the determinations'
Excel import, all or nothing and scoped."""
import io
import uuid

import openpyxl
from sqlalchemy import func, select

from app.extensions import db
from app.models.injury import InjuryDetermination
from tests.conftest import user
from tests.injury.injury_support import flashes_text, id_number, text_of


# ---- determinations import (P12) ------------------------------------------------------------


def test_determination_import_is_all_or_nothing_and_scoped(login_as, ctx):
    c = login_as("ty_agency")
    template = c.get("/injury/determinations/import/template")
    assert template.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(template.data))
    ws = wb.worksheets[0]
    good = id_number("14010619900202003")
    no = f"导认{uuid.uuid4().hex[:8]}"
    ws.append([good, "导入职工", "太原重型机械有限公司", None, "工伤", no, "2025-01-02", "140106"])
    ws.append([good[:17] + ("1" if good[17] == "0" else "0"), "错号", "某单位", None, "工伤",
               no + "b", "2025-01-02", "140106"])
    ws.append([good, "外地", "某单位", None, "职业病", no + "c", "2025-01-02", "140802"])

    def send():
        buf = io.BytesIO()
        wb.save(buf)
        buf.seek(0)
        return text_of(c.post("/injury/determinations/import/", data={"file": (buf, "认定.xlsx")},
                              content_type="multipart/form-data", follow_redirects=True))

    count = select(func.count()).select_from(InjuryDetermination).where(
        InjuryDetermination.determination_no.like(no + "%"))
    text = send()                                  # the rows are parsed first
    assert "未导入任何数据" in text and "校验位错误" in text, flashes_text(text)
    assert db.session.execute(count).scalar() == 0
    ws.delete_rows(3)
    text = send()                                  # then checked against the scope
    assert "未导入任何数据" in text and "不在本机构管辖范围内" in text, flashes_text(text)
    assert db.session.execute(count).scalar() == 0
    ws.delete_rows(3)
    assert "导入成功" in send()
    row = db.session.execute(select(InjuryDetermination).where(
        InjuryDetermination.determination_no == no)).scalar_one()
    assert (row.city_code, row.employer_id) == ("140100", user("ty_employer").organization_id)


def test_determination_import_names_every_error_of_every_row_at_once(login_as, ctx):
    c = login_as("ty_agency")
    wb = openpyxl.load_workbook(io.BytesIO(c.get("/injury/determinations/import/template").data))
    ws = wb.worksheets[0]
    good = id_number("14010619900202004")
    bad = good[:17] + ("1" if good[17] == "0" else "0")
    no = f"一次{uuid.uuid4().hex[:8]}"
    # one row: a wrong check digit, a date in the future and a region outside the scope
    ws.append([bad, "错行", "某单位", None, "工伤", no, "2099-01-02", "140802"])
    ws.append([good, "另一行", "某单位", None, "工伤", no + "b", "2025-01-02", "999999"])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    text = text_of(c.post("/injury/determinations/import/", data={"file": (buf, "认定.xlsx")},
                          content_type="multipart/form-data", follow_redirects=True))
    assert "校验位错误" in text and "不能晚于今天" in text and "不在本机构管辖范围内" in text
    assert "参保地必须是有效的市或县" in text
    assert db.session.execute(select(func.count()).select_from(InjuryDetermination).where(
        InjuryDetermination.determination_no.like(no + "%"))).scalar() == 0
