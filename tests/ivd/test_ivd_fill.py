"""A hospital fills its report (SPEC Q3): 暂存 and its three rules, the filling window,
the 提交 page and its uploads, the downloads; a refused form keeps what was typed."""
import io
import re

import openpyxl

from app.extensions import db
from app.models.ivd import IvdHospitalReport, IvdReportLine
from app.views.ivd.fill import hospital_pdf_rows
from tests.conftest import flashes
from tests.ivd.ivd_support import (complete_submission, fill_valid, items, new_project,
                                   report_of, state, stash, submit, upload)


def test_stash_rules_name_the_lines_and_change_nothing(app, login_as, ctx):
    project_id = new_project()
    c = login_as("ty_hosp1")
    its = items(project_id)
    cases = [({its[0].id: ("abc", "", "1")}, "上年度采购总数量须为不小于0的整数"),
             ({its[0].id: ("-1", "", "1")}, "上年度采购总数量须为不小于0的整数"),
             ({its[0].id: ("5", "6", "")}, "须选择“是否有在用仪器”"),
             ({its[0].id: ("5", "6", "0")}, "“是否有在用仪器”不能为“否”"),
             ({its[0].id: ("", "6", "1"), its[1].id: ("", "6", "0")}, "各流水号的“是否有在用仪器”须相同")]
    for rows, message in cases:
        text = flashes(stash(c, project_id, rows, status=422))
        assert message in text and its[0].serial_no in text and "未做任何修改" in text, text
    assert report_of(project_id, "ty_hosp1").filled_lines == 0
    # rule 3 across pages: the other line of the 注册证 was saved by an earlier 暂存
    assert "暂存成功" in flashes(stash(c, project_id, {its[0].id: ("", "6", "1")}))
    text = flashes(stash(c, project_id, {its[2].id: ("", "3", "0")}, page=1, status=422))
    assert its[2].serial_no in text and its[0].serial_no in text
    rep = report_of(project_id, "ty_hosp1")
    assert (rep.filled_lines, rep.next_year_total) == (1, 6)


def test_refused_stash_shows_the_page_again_with_what_was_typed(app, login_as, ctx):
    """The error contract on the hand-written grid: 422, the typed values, the message
    beside the offending line."""
    project_id = new_project()
    c = login_as("ty_hosp1")
    its = items(project_id)
    r = stash(c, project_id, {its[0].id: ("abc", "7", "1"), its[1].id: ("3", "4", "1")},
              status=422)
    page = r.get_data(as_text=True)
    assert f'name="last_{its[0].id}" value="abc"' in page
    assert f'name="last_{its[1].id}" value="3"' in page
    row = re.search(rf"<td>{its[0].serial_no}<input[^>]*><br><small class=\"text-danger\">"
                    r"([^<]*)</small>", page)
    assert row and "上年度采购总数量须为不小于0的整数" in row.group(1), page[:2000]
    assert report_of(project_id, "ty_hosp1").filled_lines == 0


def test_refused_submit_page_keeps_the_typed_values_beside_the_message(app, login_as, ctx):
    project_id = new_project()
    c = login_as("ty_hosp1")
    fill_valid(c, project_id)
    r = c.post(f"/ivd/fill/{project_id}/submit",
               data={"contact": "李四", "contact_phone": "4960001", "confirm": "0"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'name="contact" value="李四"' in page and 'name="contact_phone" value="4960001"' in page
    assert re.search(r'name="contact_phone" value="4960001"[^>]*>'
                     r'<span class="help-block text-danger field-error">固定电话需包含区号', page)
    rep = report_of(project_id, "ty_hosp1")
    assert rep.contact is None and rep.contact_phone is None      # nothing kept


def test_stashed_values_survive_paging_and_totals_follow(app, login_as, ctx):
    project_id = new_project(certs=20)     # 60 lines: two pages of 50
    c = login_as("ty_hosp1")
    its = items(project_id)
    stash(c, project_id, {its[0].id: ("12", "15", "1")})
    stash(c, project_id, {its[55].id: ("7", "8", "1")}, page=1)
    r = c.get(f"/ivd/fill/{project_id}?page=0")
    assert r.status_code == 200
    assert f'name="last_{its[0].id}" value="12"' in r.get_data(as_text=True)
    r = c.get(f"/ivd/fill/{project_id}?page=1")
    page2 = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f'name="next_{its[55].id}" value="8"' in page2 and its[0].serial_no not in page2
    rep = report_of(project_id, "ty_hosp1")
    assert (rep.filled_lines, rep.last_year_total, rep.next_year_total) == (2, 19, 23)
    stash(c, project_id, {its[0].id: ("", "", "")})      # emptied line is removed
    rep = report_of(project_id, "ty_hosp1")
    assert (rep.filled_lines, rep.last_year_total) == (1, 7)


def test_filling_only_inside_the_window(app, login_as, ctx):
    closed = new_project(fill_start=-30, fill_end=-1, city=5, province=10)
    c = login_as("ty_hosp1")
    it = items(closed)[0]
    text = flashes(stash(c, closed, {it.id: ("1", "1", "1")}, status=409))
    assert "填报已截止" in text
    assert report_of(closed, "ty_hosp1").filled_lines == 0
    assert "填报已截止" in flashes(submit(c, closed, status=409))


def test_submit_needs_every_piece_and_pdf_only_letter(app, login_as, ctx):
    project_id = new_project()
    c = login_as("ty_hosp1")
    its = fill_valid(c, project_id)
    text = flashes(submit(c, project_id, status=409))
    assert "请上传以下注册证的是否在用仪器说明文件" in text and its[-1].cert_no in text
    assert "增降幅说明" in text and "承诺书" in text
    rep = report_of(project_id, "ty_hosp1")
    assert rep.state == "unsubmitted"
    r = upload(c, project_id, "commitment",
               (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 50), "承诺书.pdf"))
    assert "上传成功" not in flashes(r) and flashes(r)
    complete_submission(c, project_id, its)
    r = submit(c, project_id)
    assert "提交成功" in flashes(r), flashes(r)
    assert state(IvdHospitalReport, rep.id) == "submitted"
    r = c.get(f"/ivd/fill/{project_id}/status")
    assert r.status_code == 200 and "已提交" in r.get_data(as_text=True)
    text = flashes(stash(c, project_id, {its[0].id: ("1", "1", "1")}, status=409))
    assert "不能修改填报数据" in text


def test_submit_rechecks_the_rules_and_names_the_lines(app, login_as, ctx):
    """Lines that break a rule however they got there (e.g. written before a catalogue
    correction) block 提交, named by 流水号."""
    project_id = new_project()
    c = login_as("ty_hosp1")
    its = fill_valid(c, project_id)
    rep = report_of(project_id, "ty_hosp1")
    db.session.add(IvdReportLine(report_id=rep.id, item_id=items(project_id)[9].id,
                                 last_year_qty=4, next_year_qty=4, in_use=False))
    db.session.commit()
    complete_submission(c, project_id, its)
    text = flashes(submit(c, project_id, status=409))
    assert "以下流水号不符合填报规则" in text and items(project_id)[9].serial_no in text
    assert state(IvdHospitalReport, rep.id) == "unsubmitted"


def test_hospital_downloads(app, login_as, ctx):
    project_id = new_project()
    c = login_as("ty_hosp1")
    fill_valid(c, project_id)
    r = c.get(f"/ivd/fill/{project_id}/export")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    rows = list(hospital_pdf_rows(project_id, IvdHospitalReport.id == report_of(
        project_id, "ty_hosp1").id))
    assert [r[3:] for r in rows] == [(3, 300, 330, "是"), (3, 300, 330, "是"), (3, 0, 15, "否")]
    r = c.get(f"/ivd/fill/{project_id}/catalog")
    assert r.status_code == 200
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).worksheets[0]
    serials = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert serials == sorted(serials) and len(serials) == 12
    r = c.get(f"/ivd/fill/{project_id}/commitment-template")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert login_as("ty_ybj").get(f"/ivd/fill/{project_id}").status_code in (403, 404, 302)

