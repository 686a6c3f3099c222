"""One local time (issue 18 item 5): every time a person sees or receives — FAB's lists and
show pages, xlsx / csv exports, the 导出资料 zip, PDFs (导出时间), 导出列表, 系统参数, the audit
log — is Asia/Shanghai to the second, and an export's times equal the screen's. A time a
person typed (救助开始时间) stays as typed. And export on every registry list (item 9)."""
import datetime as dt
import io
import re
import zipfile

import openpyxl
import pypdfium2
import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import SystemParameter
from app.models.jobs import ExportJob
from app.models.relief import ReliefApplication
from app.services import clock
from app.services.export import Column, write_csv, write_xlsx
from app.services.pdf import write_cert_summary_pdf
from tests.conftest import make_application, user

STAMP = dt.datetime(2026, 5, 7, 20, 30, 5, 123456)     # stored: naive UTC, with microseconds
SHOWN = "2026-05-08 04:30:05"                           # Asia/Shanghai, to the second
LOCAL = dt.datetime(2026, 5, 8, 4, 30, 5)
TYPED = dt.datetime(2026, 6, 1, 9, 15, 0)               # 救助开始时间 as the clerk typed it


def text_of(response, status=200):
    assert response.status_code == status, response.data[:800]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def no_raw_stamp(page):
    assert "2026-05-07 20:30:05" not in page, "a UTC time on the screen"
    assert not re.search(r"\d:\d\d\.\d", page), "a time with microseconds"


def sheet(data):
    return openpyxl.load_workbook(io.BytesIO(data)).active


def test_the_one_conversion():
    assert clock.local(STAMP) == LOCAL
    assert clock.local(STAMP.replace(tzinfo=dt.timezone.utc)) == LOCAL
    assert clock.local(TYPED.replace(microsecond=7), stored_utc=False) == TYPED
    assert clock.local_text(STAMP) == SHOWN and clock.local_text(None) == ""
    assert clock.wall_clock_text(TYPED) == "2026-06-01 09:15:00"
    assert clock.local_text(dt.date(2026, 5, 8)) == "2026-05-08"


def test_xlsx_and_csv_write_stamps_in_local_time_and_typed_times_as_typed():
    columns = [Column("at", "提交时间", "timestamp"), Column("typed", "救助开始时间", "datetime")]
    buf = io.BytesIO()
    write_xlsx(buf, columns, [[STAMP, TYPED.replace(microsecond=9)]])
    assert [c.value for c in sheet(buf.getvalue())[2]] == [LOCAL, TYPED]
    out = io.StringIO()
    write_csv(out, columns, [[STAMP, TYPED], {"at": None, "typed": None}])
    assert out.getvalue().splitlines()[1:] == [f"{SHOWN},2026-06-01 09:15:00", ","]


def submitted(app, org="ty_hosp1"):
    """An application submitted at STAMP, started at TYPED."""
    from tests.relief.relief_support import apply_steps
    with app.app_context():
        pk = make_application(org, patient_name="时间患者", start_at=TYPED)
        apply_steps(pk, "submit")
        db.session.execute(update(ReliefApplication).where(ReliefApplication.id == pk)
                           .values(submitted_at=STAMP))
        db.session.commit()
    return pk


def test_the_export_shows_the_times_of_the_list_and_show_pages(app, login_as):
    pk = submitted(app)
    c = login_as("ty_hosp1")
    listed = text_of(c.get("/relief/applications/list/?_flt_0_patient_name=时间患者"))
    assert SHOWN in listed
    no_raw_stamp(listed)
    shown = text_of(c.get(f"/relief/applications/show/{pk}"))
    assert "2026-06-01 09:15:00" in shown
    no_raw_stamp(shown)
    r = c.get("/relief/applications/export/?_flt_0_patient_name=时间患者"
              "&col=submitted_at&col=start_at&col=patient_name")
    ws = sheet(r.data)
    assert [c.value for c in ws[1]] == ["提交时间", "救助开始时间", "姓名"]
    assert [c.value for c in ws[2]] == [LOCAL, TYPED, "时间患者"]
    assert ws["A2"].number_format == "yyyy-mm-dd hh:mm:ss"


def test_the_dossier_sheet_shows_local_times(app, login_as):
    pk = submitted(app)
    r = login_as("ty_agency").get(f"/relief/review/dossier/{pk}")
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        ws = sheet(zf.read(f"{pk}/申请信息.xlsx"))
    fields = dict(ws.iter_rows(min_row=2, values_only=True))
    assert fields["提交时间"] == SHOWN
    assert fields["救助开始时间"] == "2026-06-01 09:15:00"


def test_the_background_export_writes_local_times(app, login_as):
    import time
    pk = submitted(app)
    with app.app_context():
        db.session.execute(update(SystemParameter).where(
            SystemParameter.key == "export_background_rows").values(value="0"))
        db.session.commit()
    c = login_as("ty_hosp1")
    r = c.get("/relief/applications/export/?col=id&col=submitted_at")
    assert r.status_code == 302
    for _ in range(100):
        with app.app_context():
            job = db.session.execute(select(ExportJob).order_by(ExportJob.id.desc())).scalar()
            if job.state in ("done", "failed"):
                break
        time.sleep(0.1)
    assert job.state == "done", job.error
    rows = {row[0]: row[1] for row in sheet(c.get(f"/exports/file/{job.id}").data)
            .iter_rows(min_row=2, values_only=True)}
    assert rows[pk] == LOCAL


@pytest.mark.parametrize("url, stamp_row", [
    ("/system/audit/list/", lambda: AuditLog(created_at=STAMP, action="export", username="时间")),
    ("/exports/list/", lambda: ExportJob(user_id=user("admin").id, title="时间导出",
                                         view_name="X", columns="-", state="done",
                                         created_at=STAMP, finished_at=STAMP)),
])
def test_platform_screens_show_local_times(app, login_as, url, stamp_row):
    with app.app_context():
        db.session.add(stamp_row())
        db.session.commit()
    page = text_of(login_as("admin").get(url))
    assert SHOWN in page
    no_raw_stamp(page)


def test_system_parameters_show_local_times(app, login_as):
    with app.app_context():
        db.session.execute(update(SystemParameter).where(
            SystemParameter.key == "export_background_rows").values(updated_at=STAMP))
        db.session.commit()
    page = text_of(login_as("admin").get("/system/parameters/list/?psize_SystemParameterView=100"))
    assert SHOWN in page
    no_raw_stamp(page)


def pdf_text(data):
    doc = pypdfium2.PdfDocument(data)
    return "".join(page.get_textpage().get_text_range() for page in doc)


def test_pdf_export_time_is_local():
    out = io.BytesIO()
    write_cert_summary_pdf(out, "汇总", [("导出时间", STAMP)], [("注册证号", 1, "left")],
                           iter([("国械注准1", )]))
    assert "导出时间：2026-05-08 04:30:05" in pdf_text(out.getvalue())


def test_the_hospital_pdf_names_the_local_export_time(app, login_as, monkeypatch, ctx):
    from tests.ivd.ivd_support import fill_valid, new_project
    project_id = new_project()
    c = login_as("ty_hosp1")
    fill_valid(c, project_id)
    monkeypatch.setattr(clock, "now", lambda: STAMP)
    r = c.get(f"/ivd/fill/{project_id}/export")
    assert "导出时间：2026-05-08 04:30:05" in pdf_text(r.data)


REGISTRY_LISTS = [   # (login, list url, a header of its standard format)
    ("ty_agency", "/registry/authorizations/", "授权文件编号"),
    ("ty_agency", "/registry/institutions/", "统一社会信用代码"),
    ("ty_agency", "/registry/cert-changes/", "原统一社会信用代码"),
    ("ty_agency", "/registry/staff/", "执业证书编号"),
    ("ty_ybj", "/registry/agreements/", "协议编号"),     # the 医保部门 confirms agreements
    ("ty_agency", "/registry/designated/", "国家编码"),
]


@pytest.mark.parametrize("login, base, header", REGISTRY_LISTS)
def test_every_registry_list_exports_what_it_shows(app, login_as, login, base, header):
    c = login_as(login)
    page = c.get(base + "list/").get_data(as_text=True)
    assert base + "export/" in page and base + "export/standard/" in page
    ws = sheet(c.get(base + "export/standard/").data)
    headers = [cell.value for cell in ws[1]]
    assert header in headers
    listed = text_of(c.get(base + "list/?psize_x=100"))
    times = [cell.value for row in ws.iter_rows(min_row=2) for cell in row
             if cell.is_date and "hh" in cell.number_format]
    for value in times:                            # every time in the file is on the screen
        assert value.strftime("%Y-%m-%d %H:%M:%S") in listed
    chooser = text_of(c.get(base + "export/"))
    assert "勾选要导出的字段" in chooser


def test_registry_export_follows_relations_and_the_chosen_order(app, login_as):
    c = login_as("ty_agency")
    r = c.get("/registry/staff/export/?col=created_at&col=institution.organization.name"
              "&col=name")
    ws = sheet(r.data)
    assert [cell.value for cell in ws[1]] == ["创建时间", "医疗机构", "姓名"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows and all(isinstance(a, dt.datetime) and b and n for a, b, n in rows)


def test_nothing_ticked_is_refused_with_a_message_and_the_page_kept(app, login_as):
    c = login_as("ty_hosp1")
    r = c.get("/relief/applications/export/?chosen=1&_flt_0_patient_name=张")
    page = text_of(r, 422)
    assert "请至少勾选一个要导出的字段" in page and "勾选要导出的字段" in page
    body = r.get_data(as_text=True)
    assert 'name="_flt_0_patient_name" value="张"' in body
    assert 'name="col"' in body and "checked" not in body


def test_the_chooser_shows_the_ticked_order_first(app, login_as):
    c = login_as("ty_hosp1")
    body = c.get("/relief/applications/export/").get_data(as_text=True)
    keys = re.findall(r'name="col" value="([^"]+)"', body)
    assert keys[:2] == ["id", "organization.name"] and body.count(" checked") == len(keys)
    assert "export_choose.js" in body
