"""Issue 17 items 4 and 5: malformed input is a 4xx, never a 500 (deeply nested JSON on
every REST endpoint, ids beyond 64 bits, someone else's export file), and resource limits
(a request-size cap from 附件大小上限 → 413 before the body is read; Excel imports refuse
oversized sheets up front and while streaming)."""
import io
import re
import time
import zipfile

import openpyxl
import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models.core import SystemParameter
from app.services import imports
from app.services.imports import ImportColumn, ImportRejected, read_rows
from tests.conftest import user

HUGE = 2 ** 64 + 7
DEEP = "[" * 100000 + "]" * 100000


def nested(depth):
    body = "1"
    for _ in range(depth):
        body = '{"a":' + body + "}"
    return body


def draft_application_id():
    from app.models.relief import ReliefApplication
    return db.session.execute(select(ReliefApplication.id).where(
        ReliefApplication.state == "draft",
        ReliefApplication.organization_id == user("ty_hosp1").organization_id).limit(1)).scalar()


def json_endpoints(pk):
    return [("ty_hosp1", "post", "/api/v1/relief_application/"),
            ("ty_hosp1", "put", f"/api/v1/relief_application/{pk}"),
            ("ty_hosp1", "post", f"/api/v1/relief_application/{pk}/submit"),
            ("ty_hosp1", "post", "/api/v1/relief_application/batch/submit"),
            ("admin", "post", "/api/v1/security/users/"),        # FAB's own generated API
            ("admin", "put", f"/api/v1/security/users/{user('admin').id}"),
            (None, "post", "/api/v1/security/login")]


@pytest.mark.parametrize("body", [DEEP, nested(40)], ids=["recursion", "depth-40"])
def test_a_deeply_nested_json_body_is_a_400_on_every_endpoint(app, ctx, api, client, body):
    for who, method, path in json_endpoints(draft_application_id()):
        c, h = api(who) if who else (client, {})
        r = getattr(c, method)(path, data=body, headers=h, content_type="application/json")
        assert (r.status_code, r.json) == (400, {"message": "请求体嵌套过深"}), (path, r.data[:200])


def test_the_nesting_limit_is_32_and_brackets_inside_strings_do_not_count(client):
    login = "/api/v1/security/login"
    r = client.post(login, data=nested(33), content_type="application/json")
    assert (r.status_code, r.json) == (400, {"message": "请求体嵌套过深"})
    r = client.post(login, data=nested(32), content_type="application/json")
    assert (r.status_code, r.json["message"]) == (400, "请提供登录名和密码")
    body = ('{"username": "nobody", "password": "x\\"' + "[{" * 5000 + '",'
            ' "provider": {"a": [[1]]}}')
    assert client.post(login, data=body, content_type="application/json").status_code == 401


@pytest.mark.parametrize("method,path,body", [
    ("get", f"/api/v1/relief_application/{HUGE}", None),
    ("get", f"/api/v1/relief_application/{HUGE}/history", None),
    ("put", f"/api/v1/relief_application/{HUGE}", {}),
    ("delete", f"/api/v1/relief_application/{HUGE}", None),
    ("post", f"/api/v1/relief_application/{HUGE}/submit", {}),
    ("post", "/api/v1/relief_application/batch/submit", {"ids": [HUGE]}),
    ("post", "/api/v1/relief_application/batch/submit", {"ids": [2 ** 40]}),
    ("post", "/api/v1/relief_application/batch/submit", {"ids": [-HUGE]}),
    ("post", f"/api/v1/injury_declaration/{HUGE}/attachments/x", {}),
    ("get", f"/api/v1/export_job/{HUGE}/file", None),
])
def test_ids_beyond_64_bits_on_the_api_are_a_4xx(api, method, path, body):
    c, h = api("admin")
    r = getattr(c, method)(path, headers=h, json=body)
    assert 400 <= r.status_code < 500 and r.json["message"], (r.status_code, r.data[:200])


@pytest.mark.parametrize("path", [f"/attachments/{HUGE}", f"/exports/file/{HUGE}"])
def test_ids_beyond_64_bits_on_screens_are_404(login_as, path):
    assert login_as("ty_hosp1").get(path).status_code == 404


def export_job(owner):
    from app.models.jobs import ExportJob
    row = ExportJob(user_id=user(owner).id, title="他人的导出", view_name="v", columns="-",
                    state="done", file_name="someone-elses.xlsx")
    db.session.add(row)
    db.session.commit()
    return row.id


def test_someone_elses_or_a_missing_export_file_is_a_404(app, ctx, api, login_as):
    from app.services.export_jobs import export_dir
    import os
    with open(os.path.join(export_dir(), "someone-elses.xlsx"), "wb") as fh:
        fh.write(b"PK")
    pk = export_job("ty_agency")
    c, h = api("ty_hosp1")
    for path in (f"/api/v1/export_job/{pk}/file", f"/api/v1/export_job/{pk + 1000}/file"):
        r = c.get(path, headers=h)
        assert r.status_code == 404 and r.json["message"], (path, r.data[:200])
    assert login_as("ty_hosp1").get(f"/exports/file/{pk}").status_code == 404
    a, ah = api("admin")     # the super-admin too: an export belongs to whoever asked for it
    assert a.get(f"/api/v1/export_job/{pk}/file", headers=ah).status_code == 404
    owner, oh = api("ty_agency")
    assert owner.get(f"/api/v1/export_job/{pk}/file", headers=oh).data == b"PK"


# ---- the request-size cap ---------------------------------------------------------------------

def set_upload_mb(value):
    db.session.execute(update(SystemParameter).where(SystemParameter.key == "upload_max_mb")
                       .values(value=str(value)))
    db.session.commit()


class Unreadable(io.RawIOBase):
    """A request body of `size` bytes that must not be read: refusing it by its
    Content-Length is enough."""

    def __init__(self, size):
        super().__init__()
        self.size, self.position = size, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = offset + {io.SEEK_SET: 0, io.SEEK_CUR: self.position,
                                  io.SEEK_END: self.size}[whence]
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        raise AssertionError("the body of an oversized request was read")


def test_an_oversized_upload_is_a_chinese_413_before_the_body_is_read(app, ctx, login_as, api):
    set_upload_mb(1)
    page = login_as("ty_hosp1").post(
        "/relief/applications/upload/1/cost_list", input_stream=Unreadable(3 * 1024 * 1024),
        content_type="multipart/form-data; boundary=x")
    text = page.get_data(as_text=True)
    assert page.status_code == 413 and "上传的内容过大" in text and "合计不能超过 2 MB" in text
    c, h = api("ty_hosp1")
    r = c.post("/api/v1/relief_application/", headers=h, input_stream=Unreadable(3 * 1024 * 1024),
               content_type="application/json")
    assert r.status_code == 413 and "上传的内容过大" in r.json["message"]


def test_the_cap_follows_the_parameter_at_run_time_and_a_hard_cap_stays(app, ctx, login_as):
    c = login_as("ty_agency")
    body = {"file": (io.BytesIO(b"\0" * (3 * 1024 * 1024)), "大.xlsx")}
    set_upload_mb(1)
    assert c.post("/system/organizations/import/", data=body,
                  content_type="multipart/form-data").status_code == 413
    set_upload_mb(5)
    body = {"file": (io.BytesIO(b"\0" * (3 * 1024 * 1024)), "大.xlsx")}
    r = c.post("/system/organizations/import/", data=body, content_type="multipart/form-data")
    assert r.status_code == 200 and "不是有效的 Excel" in r.get_data(as_text=True)
    set_upload_mb(10 ** 6)
    r = c.post("/system/organizations/import/",
               input_stream=Unreadable(app.config["MAX_CONTENT_LENGTH"] + 1),
               content_type="multipart/form-data; boundary=x")
    assert r.status_code == 413


def test_a_chunked_body_over_the_cap_is_refused_while_reading(app, ctx, api):
    set_upload_mb(1)
    c, h = api("ty_hosp1")
    r = c.post("/api/v1/relief_application/", headers={**h, "Transfer-Encoding": "chunked"},
               input_stream=io.BytesIO(b"[" + b" " * (3 * 1024 * 1024) + b"]"),
               content_type="application/json", environ_overrides={"wsgi.input_terminated": True})
    assert r.status_code == 413 and "上传的内容过大" in r.json["message"]


# ---- Excel imports ----------------------------------------------------------------------------

COLUMNS = [ImportColumn("name", "机构名称", required=True)]


def workbook(rows=20000, last_col="XFD", dimension=True):
    """A small workbook whose sheet declares (or holds) a huge empty area: one styled empty
    cell at `last_col` on each of `rows` rows under a 机构名称 header."""
    wb = openpyxl.Workbook()
    wb.active.append(["机构名称"])
    wb.active.append(["甲医院"])
    src, out = io.BytesIO(), io.BytesIO()
    wb.save(src)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = re.sub(r'<dimension ref="[^"]*"/>',
                              f'<dimension ref="A1:{last_col}{rows + 2}"/>' if dimension else "",
                              data.decode())
                blank = "".join(f'<row r="{i}"><c r="{last_col}{i}" s="0"/></row>'
                                for i in range(3, rows + 3))
                data = text.replace("</sheetData>", blank + "</sheetData>").encode()
            zout.writestr(info, data)
    out.seek(0)
    return out


def refused(fileobj):
    started = time.monotonic()
    with pytest.raises(ImportRejected) as exc:
        read_rows(fileobj, COLUMNS)
    assert time.monotonic() - started < 5   # unguarded, these sheets took 7 s and more
    return exc.value.message


def test_a_sheet_declaring_huge_dimensions_is_refused_up_front():
    assert "文件过大：工作表最多 20000 行、100 列" in refused(workbook())
    assert "文件过大" in refused(workbook(rows=30000, last_col="C"))
    # blank rows and columns within the limits are still read past
    assert read_rows(workbook(rows=15000, last_col="CV"), COLUMNS) == [{"_row": 2, "name": "甲医院"}]


def test_a_sheet_without_dimensions_stops_at_the_row_limit_and_reads_no_wide_rows():
    assert "文件过大：工作表最多 20000 行" in refused(workbook(rows=30000, last_col="C",
                                                          dimension=False))
    started = time.monotonic()
    assert read_rows(workbook(rows=5000, dimension=False), COLUMNS) == [
        {"_row": 2, "name": "甲医院"}]
    assert time.monotonic() - started < 5   # unguarded, these sheets took 7 s and more


def test_a_file_over_the_size_limit_or_unpacking_too_large_is_refused(monkeypatch):
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 1000)
    assert "文件过大：不能超过" in refused(io.BytesIO(b"PK" + b"\0" * 2000))
    monkeypatch.setattr(imports, "MAX_FILE_BYTES", 10 ** 7)
    monkeypatch.setattr(imports, "MAX_UNPACKED_BYTES", 100_000)
    assert "文件过大：解压后" in refused(workbook(rows=5000, last_col="C"))


def test_the_import_screen_shows_the_limit_message(login_as):
    r = login_as("ty_agency").post("/system/organizations/import/",
                                   data={"file": (workbook(), "机构.xlsx")},
                                   content_type="multipart/form-data")
    assert r.status_code == 200 and "文件过大：工作表最多 20000 行、100 列" in r.get_data(as_text=True)
