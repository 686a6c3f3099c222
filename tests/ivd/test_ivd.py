"""体外诊断试剂报量 through the screens (SPEC Q2–Q6): project configuration, catalogue
import, hospital filling and 提交, city / 省本级 / province review, national data."""
import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.ivd import (IvdAreaReport, IvdCatalogItem, IvdHospitalReport, IvdProject,
                            IvdReportLine)
from app.models.core import Organization
from app.models.jobs import ExportJob
from tests.conftest import flashes, user

TODAY = dt.date.today()
DAY = dt.timedelta(days=1)


def pdf_upload(name="承诺书.pdf"):
    from app.services.pdf import write_cert_summary_pdf
    buf = io.BytesIO()
    write_cert_summary_pdf(buf, "测试", [], (("内容", 1, "left"),), [("x",)])
    buf.seek(0)
    return (buf, name)


def new_project(fill_start=-5, fill_end=10, city=20, province=30, certs=4, per_cert=3,
                threshold=30):
    """A project of our own (demo reports stay untouched), with hospital reports."""
    from app.demo.ivd import catalogue
    from app.services import ivd
    p = IvdProject(name=f"测试项目{dt.datetime.now().timestamp()}",
                   year=TODAY.year + 1, fill_start=TODAY + fill_start * DAY,
                   fill_end=TODAY + fill_end * DAY, city_deadline=TODAY + city * DAY,
                   province_deadline=TODAY + province * DAY, threshold_pct=threshold)
    db.session.add(p)
    db.session.flush()
    catalogue(p, certs=certs, per_cert=per_cert)
    db.session.commit()
    ivd.ensure_hospital_reports(p.id)
    return p.id


def items(project_id):
    return db.session.execute(select(IvdCatalogItem).where(
        IvdCatalogItem.project_id == project_id).order_by(IvdCatalogItem.serial_no)).scalars().all()


def report_of(project_id, login):
    return db.session.execute(select(IvdHospitalReport).where(
        IvdHospitalReport.project_id == project_id,
        IvdHospitalReport.organization_id == user(login).organization_id)).scalar_one()


def stash(c, project_id, rows, page=0):
    data = {"item": [str(i) for i in rows], "page": str(page)}
    for item_id, (last, nxt, in_use) in rows.items():
        data.update({f"last_{item_id}": last, f"next_{item_id}": nxt, f"inuse_{item_id}": in_use})
    return c.post(f"/ivd/fill/{project_id}/stash", data=data, follow_redirects=True)


def fill_valid(c, project_id, count=6):
    """Two whole 注册证 groups in use, the next without an instrument (nothing last year)."""
    its = items(project_id)[:count + 3]
    rows = {i.id: ("100", "110", "1") for i in its[:count]}
    rows.update({i.id: ("", "5", "0") for i in its[count:count + 3]})
    r = stash(c, project_id, rows)
    assert "暂存成功" in flashes(r), flashes(r)
    return its


def complete_submission(c, project_id, its):
    """Everything 提交 asks for: contact, notes, the 说明文件 and both PDFs."""
    rep = report_of(project_id, "ty_hosp1")
    form = {"contact": "王五", "contact_phone": "0351-4960001", "confirm": "0"}
    for line in db.session.execute(select(IvdReportLine).where(
            IvdReportLine.report_id == rep.id)).scalars():
        form[f"note_{line.id}"] = "新开展项目"
    c.post(f"/ivd/fill/{project_id}/submit", data=form)
    cert = its[-1].cert_no
    for slot in ("commitment", "demand", f"cert:{cert}"):
        r = c.post(f"/ivd/fill/{project_id}/upload/{slot}", data={"file": pdf_upload()},
                   content_type="multipart/form-data", follow_redirects=True)
        assert "上传成功" in flashes(r), flashes(r)


def submit(c, project_id):
    return c.post(f"/ivd/fill/{project_id}/submit", data={"confirm": "1", "contact": "王五",
                                                          "contact_phone": "0351-4960001"},
                  follow_redirects=True)


def fire(c, view, name, pk, **data):
    return c.post(f"/ivd/review/{view}/transition/{name}/{pk}", data=data, follow_redirects=True)


def projects_named(name):
    return db.session.execute(select(IvdProject).where(IvdProject.name == name)).scalars().all()


def state(model, pk):
    db.session.expire_all()
    return db.session.get(model, pk).state


# ---- Q2 project configuration -----------------------------------------------------------
def test_project_dates_in_order_and_threshold_frozen_once_running(app, login_as, ctx):
    c = login_as("admin")
    form = {"name": "顺序错误项目", "year": "2027", "fill_start": str(TODAY + 10 * DAY),
            "fill_end": str(TODAY + 5 * DAY), "city_deadline": str(TODAY + 20 * DAY),
            "province_deadline": str(TODAY + 30 * DAY), "threshold_pct": "30"}
    r = c.post("/ivd/projects/add", data=form)
    # the same form again, 422, with what was typed and the message (nothing lost)
    assert r.status_code == 422 and "填报开始日期不能晚于填报结束日期" in r.get_data(as_text=True)
    assert 'value="顺序错误项目"' in r.get_data(as_text=True)
    assert projects_named("顺序错误项目") == []
    form.update(name="新项目", fill_end=str(TODAY + 15 * DAY))
    c.post("/ivd/projects/add", data=form, follow_redirects=True)
    project, = projects_named("新项目")
    assert project.status == "not_started"
    hospitals = db.session.execute(select(func.count(IvdHospitalReport.id)).where(
        IvdHospitalReport.project_id == project.id)).scalar()
    assert hospitals >= 8          # every demo hospital has its report row
    c.post(f"/ivd/projects/edit/{project.id}", data={**form, "threshold_pct": "40"})
    db.session.expire_all()
    assert db.session.get(IvdProject, project.id).threshold_pct == 40
    running = new_project()
    r = c.post(f"/ivd/projects/edit/{running}",
               data={**form, "name": "改名", "fill_start": str(TODAY - 5 * DAY),
                     "threshold_pct": "99"}, follow_redirects=True)
    assert "需求量阈值不可修改" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(IvdProject, running).threshold_pct == 30
    assert 'readonly' in c.get(f"/ivd/projects/edit/{running}").get_data(as_text=True)
    r = c.get("/ivd/projects/list/?status=not_started")
    assert "新项目" in r.get_data(as_text=True) and "改名" not in r.get_data(as_text=True)
    assert login_as("ty_hosp1").get("/ivd/projects/list/").status_code in (302, 403)


def test_catalogue_import_is_all_or_nothing(app, login_as, ctx):
    project_id = new_project(certs=1)
    c = login_as("admin")
    wb = openpyxl.load_workbook(io.BytesIO(c.get("/ivd/catalog/import/template").data))
    ws = wb.worksheets[0]
    ws.append(["NEW001", "生化类", "肝功能", "示例企业", "国械注准20990000001", "试剂盒", "1盒"])
    ws.append(["NEW001", "生化类", "肝功能", "示例企业", "国械注准20990000001", "试剂盒", ""])
    ws.append(["IVD000001", "生化类", "", "示例企业", "国械注准20990000001", "试剂盒", ""])

    def upload():
        buf = io.BytesIO()
        wb.save(buf)
        buf.seek(0)
        return c.post(f"/ivd/catalog/import/?project={project_id}",
                      data={"file": (buf, "目录.xlsx")}, content_type="multipart/form-data",
                      follow_redirects=True).get_data(as_text=True)

    text = upload()
    assert "未导入任何数据" in text and "与第 2 行重复" in text and "必填" in text
    assert len(items(project_id)) == 3
    ws.delete_rows(3)
    ws.cell(row=3, column=3, value="肝功能")
    text = upload()
    assert "未导入任何数据" in text and "该流水号已在目录中" in text
    assert len(items(project_id)) == 3
    ws.delete_rows(3)
    assert "导入成功，共 1 条" in upload()
    assert len(items(project_id)) == 4


# ---- Q3 hospital filling ----------------------------------------------------------------
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
        text = flashes(stash(c, project_id, rows))
        assert message in text and its[0].serial_no in text and "未做任何修改" in text, text
    assert report_of(project_id, "ty_hosp1").filled_lines == 0
    # rule 3 across pages: the other line of the 注册证 was saved by an earlier 暂存
    assert "暂存成功" in flashes(stash(c, project_id, {its[0].id: ("", "6", "1")}))
    text = flashes(stash(c, project_id, {its[2].id: ("", "3", "0")}, page=1))
    assert its[2].serial_no in text and its[0].serial_no in text
    rep = report_of(project_id, "ty_hosp1")
    assert (rep.filled_lines, rep.next_year_total) == (1, 6)


def test_stashed_values_survive_paging_and_totals_follow(app, login_as, ctx):
    project_id = new_project(certs=20)     # 60 lines: two pages of 50
    c = login_as("ty_hosp1")
    its = items(project_id)
    stash(c, project_id, {its[0].id: ("12", "15", "1")})
    stash(c, project_id, {its[55].id: ("7", "8", "1")}, page=1)
    page1 = c.get(f"/ivd/fill/{project_id}?page=0").get_data(as_text=True)
    assert f'name="last_{its[0].id}" value="12"' in page1
    page2 = c.get(f"/ivd/fill/{project_id}?page=1").get_data(as_text=True)
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
    text = flashes(stash(c, closed, {it.id: ("1", "1", "1")}))
    assert "填报已截止" in text
    assert report_of(closed, "ty_hosp1").filled_lines == 0
    assert "填报已截止" in flashes(submit(c, closed))


def test_submit_needs_every_piece_and_pdf_only_letter(app, login_as, ctx):
    project_id = new_project()
    c = login_as("ty_hosp1")
    its = fill_valid(c, project_id)
    text = flashes(submit(c, project_id))
    assert "请上传以下注册证的是否在用仪器说明文件" in text and its[-1].cert_no in text
    assert "增降幅说明" in text and "承诺书" in text
    rep = report_of(project_id, "ty_hosp1")
    assert rep.state == "unsubmitted"
    r = c.post(f"/ivd/fill/{project_id}/upload/commitment",
               data={"file": (io.BytesIO(b"\x89PNG\r\n\x1a\n" + b"0" * 50), "承诺书.pdf")},
               content_type="multipart/form-data", follow_redirects=True)
    assert "上传成功" not in flashes(r)
    complete_submission(c, project_id, its)
    r = submit(c, project_id)
    assert "提交成功" in flashes(r), flashes(r)
    assert state(IvdHospitalReport, rep.id) == "submitted"
    assert "已提交" in c.get(f"/ivd/fill/{project_id}/status").get_data(as_text=True)
    assert "不能修改填报数据" in flashes(stash(c, project_id, {its[0].id: ("1", "1", "1")}))


def test_hospital_downloads(app, login_as, ctx):
    project_id = new_project()
    c = login_as("ty_hosp1")
    fill_valid(c, project_id)
    r = c.get(f"/ivd/fill/{project_id}/export")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    from app.views.ivd.fill import hospital_pdf_rows
    rows = list(hospital_pdf_rows(project_id, IvdHospitalReport.id == report_of(
        project_id, "ty_hosp1").id))
    assert [r[3:] for r in rows] == [(3, 300, 330, "是"), (3, 300, 330, "是"), (3, 0, 15, "否")]
    r = c.get(f"/ivd/fill/{project_id}/catalog")
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).worksheets[0]
    serials = [row[0] for row in ws.iter_rows(min_row=2, values_only=True)]
    assert serials == sorted(serials) and len(serials) == 12
    r = c.get(f"/ivd/fill/{project_id}/commitment-template")
    assert r.status_code == 200 and r.data[:2] == b"PK"
    assert login_as("ty_ybj").get(f"/ivd/fill/{project_id}").status_code in (403, 404, 302)


# ---- Q4 city review ---------------------------------------------------------------------
def submitted_project(login_as):
    project_id = new_project()
    c = login_as("ty_hosp1")
    complete_submission(c, project_id, fill_valid(c, project_id))
    assert "提交成功" in flashes(submit(c, project_id))
    return project_id


def test_city_review_chain(app, login_as, ctx):
    project_id = submitted_project(login_as)
    city = login_as("ty_ybj")
    assert "太原市第一人民医院" not in city.get("/ivd/review/hospitals/list/").get_data(as_text=True)
    page = city.get(f"/ivd/review/hospitals/list/?project={project_id}").get_data(as_text=True)
    assert "太原市第一人民医院" in page and "运城市中心医院" not in page
    rep = report_of(project_id, "ty_hosp1")
    r = fire(city, "hospitals", "reject", rep.id)
    assert state(IvdHospitalReport, rep.id) == "submitted"
    fire(city, "hospitals", "reject", rep.id, comment="数量有误")
    assert state(IvdHospitalReport, rep.id) == "rejected"
    fire(city, "hospitals", "unreview", rep.id)
    fire(city, "hospitals", "approve", rep.id)
    assert state(IvdHospitalReport, rep.id) == "approved"
    area = db.session.execute(select(IvdAreaReport).where(
        IvdAreaReport.project_id == project_id, IvdAreaReport.level == "city",
        IvdAreaReport.city_code == "140100")).scalar_one()
    r = city.post(f"/ivd/review/areas/submit/{area.id}", follow_redirects=True)
    from app.services import ivd
    waiting = [h.organization.name for h in ivd.hospitals_not_approved(project_id, "140100")]
    message = flashes(r)
    assert "尚未审核通过" in message and "太原市中心医院" in waiting
    assert all(name in message for name in waiting[:10]), message
    assert len(waiting) <= 10 or f"等 {len(waiting)} 个" in message
    assert state(IvdAreaReport, area.id) == "draft"
    # every other 太原 institution still unsubmitted (the demo's hospitals and the 基本公卫
    # township units, which are medical institutions too) is exempted by the city
    others = db.session.execute(select(IvdHospitalReport.id).where(
        IvdHospitalReport.project_id == project_id, IvdHospitalReport.city_code == "140100",
        IvdHospitalReport.state == "unsubmitted")).scalars().all()
    assert {report_of(project_id, u).id for u in ("ty_hosp2", "ty_hosp3", "ty_mch",
                                                  "xd_town1")} <= set(others)
    r = city.post("/ivd/review/hospitals/action_post",
                  data={"action": "exempt", "rowid": others + [rep.id]}, follow_redirects=True)
    assert "未做任何修改" in flashes(r)
    assert state(IvdHospitalReport, others[0]) == "unsubmitted"
    city.post("/ivd/review/hospitals/action_post", data={"action": "exempt", "rowid": others})
    assert state(IvdHospitalReport, others[0]) == "exempt"
    r = city.post(f"/ivd/review/areas/submit/{area.id}", follow_redirects=True)
    assert "提交成功" in flashes(r), flashes(r)
    assert state(IvdAreaReport, area.id) == "submitted"
    r = fire(city, "hospitals", "unreview", rep.id)
    assert "只有待提交或上级审核不通过时才能办理" in flashes(r)
    assert state(IvdHospitalReport, rep.id) == "approved"
    yc = report_of(project_id, "yc_hosp1")
    assert city.get(f"/ivd/review/hospitals/show/{yc.id}").status_code == 404
    assert fire(city, "hospitals", "exempt", yc.id).status_code == 404


def test_province_own_hospitals_are_reviewed_by_the_province_own_account(app, login_as, ctx):
    project_id = new_project()
    sbj = login_as("sx_sbj")
    page = sbj.get(f"/ivd/review/hospitals/list/?project={project_id}").get_data(as_text=True)
    assert "山西省人民医院" in page and "太原市第一人民医院" not in page
    rep = report_of(project_id, "sx_hosp")
    fire(sbj, "hospitals", "exempt", rep.id)
    assert state(IvdHospitalReport, rep.id) == "exempt"
    fire(login_as("ty_ybj"), "hospitals", "restore", rep.id)
    assert state(IvdHospitalReport, rep.id) == "exempt"


# ---- Q5 province, Q6 national -----------------------------------------------------------
def test_province_summary_review_export_and_submit(app, login_as, ctx):
    project_id = submitted_project(login_as)
    prov = login_as("sx_ybj")
    page = prov.get(f"/ivd/review/areas/list/?project={project_id}").get_data(as_text=True)
    assert "太原市" in page and "运城市" in page and "省本级" in page
    for column in ("hospital_count", "state_label", "submitted_at"):   # properties too
        assert prov.get(f"/ivd/review/areas/list/?project={project_id}&_oc_IvdAreaReviewView="
                        f"{column}&_od_IvdAreaReviewView=desc").status_code == 200
    from app.services import ivd
    sums = ivd.area_sums(project_id, "city_code")
    ty = report_of(project_id, "ty_hosp1")
    others = db.session.execute(select(IvdHospitalReport.id).where(
        IvdHospitalReport.project_id == project_id, IvdHospitalReport.city_code == "140100",
        IvdHospitalReport.id != ty.id)).scalars().all()
    assert len(others) >= 4                # ty_hosp2, ty_hosp3, ty_mch, xd_town1, the 基本公卫 units
    assert sums["140100"][0] == len(others) + 1          # every 太原 institution, none exempt yet
    assert sums["140100"][1] == ty.last_year_total
    city = login_as("ty_ybj")
    for pk in others:
        fire(city, "hospitals", "exempt", pk)
    assert ivd.area_sums(project_id, "city_code")["140100"][0] == 1
    fire(city, "hospitals", "approve", ty.id)
    area = ivd.area_report(project_id, "140100")
    city.post(f"/ivd/review/areas/submit/{area.id}")
    assert state(IvdAreaReport, area.id) == "submitted"
    fire(prov, "areas", "reject", area.id, comment="请核实")
    assert state(IvdAreaReport, area.id) == "rejected"
    fire(prov, "areas", "unreview", area.id)
    fire(prov, "areas", "approve", area.id)
    assert state(IvdAreaReport, area.id) == "approved"
    own = ivd.area_report(project_id, "140000")
    r = prov.post(f"/ivd/review/areas/submit/{own.id}", follow_redirects=True)
    assert "以下市级数据尚未审核通过" in flashes(r) and "运城市" in flashes(r)
    r = prov.post(f"/ivd/review/areas/export/{project_id}", follow_redirects=True)
    job = db.session.execute(select(ExportJob).order_by(ExportJob.id.desc())).scalars().first()
    _wait(job.id)
    r = prov.get(f"/exports/file/{job.id}")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert login_as("ty_ybj").get(f"/exports/file/{job.id}").status_code == 404


def _wait(job_id, seconds=20):
    import time
    for _ in range(seconds * 10):
        db.session.expire_all()
        job = db.session.get(ExportJob, job_id)
        if job.state in ("done", "failed"):
            assert job.state == "done", job.error
            return job
        time.sleep(0.1)
    raise AssertionError("export job did not finish")


def test_national_recall_and_csv_columns(app, login_as, ctx):
    from app.services import ivd
    from app.workflows import engine
    from app.workflows.ivd import AreaFlow
    project_id = new_project()
    ivd.ensure_area_reports(project_id)
    province = ivd.area_report(project_id, "140000")
    province.state = "submitted"
    db.session.commit()
    c = login_as("admin")
    page = c.get(f"/ivd/national/list/?project={project_id}").get_data(as_text=True)
    assert "山西省" in page
    with pytest.raises(Exception):
        engine.apply(AreaFlow, province.id, "recall", user("sx_ybj"))
    c.post(f"/ivd/national/transition/recall/{province.id}")
    assert state(IvdAreaReport, province.id) == "rejected"
    hosp = login_as("ty_hosp1")
    fill_valid(hosp, project_id)
    c.post(f"/ivd/national/export/{project_id}")
    job = db.session.execute(select(ExportJob).order_by(ExportJob.id.desc())).scalars().first()
    _wait(job.id)
    body = c.get(f"/exports/file/{job.id}").data.decode("utf-8-sig").splitlines()
    assert body[0] == "省份,大项,小项,生产企业,注册证,上年度采购总数量,下年度采购总数量"
    assert sorted(body[1:]) == [
        "山西省,生化类,肝功能,晋阳生物科技有限公司,国械注准20193400001,300,330",
        "山西省,生化类,肾功能,汾河诊断试剂有限公司,国械注准20193400002,300,330",
        "山西省,生化类,血脂,太行医疗器械股份有限公司,国械注准20193400003,0,15"]


def test_rest_chain(app, api, ctx):
    project_id = new_project()
    c, h = api("ty_hosp1")
    rid = c.post(f"/api/v1/ivd_hospital_report/mine/{project_id}", headers=h).json["id"]
    its = items(project_id)
    bad = c.put(f"/api/v1/ivd_hospital_report/{rid}/lines", headers=h,
                json={"lines": [{"item_id": its[0].id, "last_year_qty": -3, "in_use": True}]})
    assert bad.status_code == 422 and its[0].serial_no in bad.json["message"]
    lines = [{"item_id": i.id, "last_year_qty": 10, "next_year_qty": 11, "in_use": True}
             for i in its[:3]]
    r = c.put(f"/api/v1/ivd_hospital_report/{rid}/lines", headers=h, json={"lines": lines})
    assert r.status_code == 200 and r.json["filled_lines"] == 3
    r = c.post(f"/api/v1/ivd_hospital_report/{rid}/submit", headers=h)
    assert r.status_code == 409 and "承诺书" in r.json["message"]
    r = c.put(f"/api/v1/ivd_hospital_report/{rid}/details", headers=h,
              json={"contact": "赵六", "contact_phone": "13800000000"})
    assert r.status_code == 200
    for slot in ("commitment", "demand"):
        buf, name = pdf_upload()
        r = c.post(f"/api/v1/ivd_hospital_report/{rid}/attachments/{slot}", headers=h,
                   data={"file": (buf, name)}, content_type="multipart/form-data")
        assert r.status_code == 201, r.json
    r = c.post(f"/api/v1/ivd_hospital_report/{rid}/submit", headers=h)
    assert r.status_code == 200 and r.json["state"] == "submitted"
    other = report_of(project_id, "yc_hosp1").id
    assert c.get(f"/api/v1/ivd_hospital_report/{other}/lines", headers=h).status_code == 404
    cc, ch = api("ty_ybj")
    assert cc.post(f"/api/v1/ivd_hospital_report/{rid}/approve", headers=ch).status_code == 200
    assert cc.post(f"/api/v1/ivd_hospital_report/{other}/approve", headers=ch).status_code == 404
    pc, ph = api("sx_ybj")
    summary = pc.get(f"/api/v1/ivd_area_report/summary/{project_id}", headers=ph).json["result"]
    ty = next(row for row in summary if row["region_code"] == "140100")
    taiyuan = db.session.execute(select(func.count(Organization.id)).where(
        Organization.org_type == "medical", Organization.city_code == "140100")).scalar()
    assert ty["last_year_total"] == 30 and ty["hospital_count"] == taiyuan
    assert pc.get("/api/v1/ivd_project/", headers=ph).status_code == 200
    assert pc.post("/api/v1/ivd_project/", headers=ph, json={"name": "x"}).status_code == 403
    job = pc.post(f"/api/v1/ivd_area_report/export_summary/{project_id}", headers=ph).json["job_id"]
    _wait(job)
    assert pc.get(f"/api/v1/export_job/{job}/file", headers=ph).data.startswith(b"%PDF")
    assert cc.get(f"/api/v1/export_job/{job}", headers=ch).status_code == 404


def test_province_submits_with_the_stamped_summary_and_national_returns_it(app, login_as, ctx):
    from app.services import ivd
    project_id = new_project()
    ivd.ensure_area_reports(project_id)
    for h in db.session.execute(select(IvdHospitalReport).where(
            IvdHospitalReport.project_id == project_id)).scalars():
        h.state = "approved"
    own = ivd.area_report(project_id, "140000")
    cities = db.session.execute(select(IvdAreaReport).where(
        IvdAreaReport.project_id == project_id, IvdAreaReport.level == "city")).scalars().all()
    for area in cities:
        area.state = "submitted"
    db.session.commit()
    prov = login_as("sx_ybj")
    for area in cities:
        fire(prov, "areas", "approve", area.id)
    assert {state(IvdAreaReport, a.id) for a in cities} == {"approved"}
    r = prov.post(f"/ivd/review/areas/submit/{own.id}", follow_redirects=True)
    assert "请先上传盖章的汇总数据" in flashes(r)
    r = prov.post(f"/ivd/review/areas/upload/{own.id}/stamped_summary",
                  data={"file": pdf_upload("汇总.pdf")}, content_type="multipart/form-data",
                  follow_redirects=True)
    assert "上传成功" in flashes(r), flashes(r)
    r = prov.post(f"/ivd/review/areas/submit/{own.id}", follow_redirects=True)
    assert "提交成功" in flashes(r) and state(IvdAreaReport, own.id) == "submitted"
    r = fire(prov, "areas", "unreview", cities[0].id)
    assert "只有待提交或审核不通过时才能办理" in flashes(r)
    assert state(IvdAreaReport, cities[0].id) == "approved"
    assert login_as("ty_ybj").post(f"/ivd/review/areas/upload/{own.id}/stamped_summary",
                                   data={"file": pdf_upload()}).status_code == 404
    admin = login_as("admin")
    page = admin.get(f"/ivd/national/list/?project={project_id}").get_data(as_text=True)
    assert "山西省" in page and "已提交" in page
    admin.post(f"/ivd/national/transition/recall/{own.id}", data={"comment": "请复核"})
    assert state(IvdAreaReport, own.id) == "rejected"
    fire(prov, "areas", "unreview", cities[0].id)
    assert state(IvdAreaReport, cities[0].id) == "submitted"


def test_rest_project_configuration(app, api, ctx):
    c, h = api("admin")
    body = {"name": "接口项目", "year": 2028, "fill_start": str(TODAY + 40 * DAY),
            "fill_end": str(TODAY + 10 * DAY), "city_deadline": str(TODAY + 50 * DAY),
            "province_deadline": str(TODAY + 60 * DAY), "threshold_pct": 25}
    r = c.post("/api/v1/ivd_project/", headers=h, json=body)
    assert r.status_code == 422 and "不能晚于" in r.json["message"]
    assert projects_named("接口项目") == []
    r = c.post("/api/v1/ivd_project/", headers=h, json={**body, "fill_end": str(TODAY + 45 * DAY)})
    assert r.status_code == 201, r.json
    pk = r.json["id"]
    assert c.get(f"/api/v1/ivd_project/{pk}", headers=h).json["result"]["status"] == "not_started"
    running = new_project()
    r = c.put(f"/api/v1/ivd_project/{running}", headers=h, json={"threshold_pct": 80})
    assert r.status_code == 422 and "不可修改" in r.json["message"]


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
    text = flashes(submit(c, project_id))
    assert "以下流水号不符合填报规则" in text and items(project_id)[9].serial_no in text
    assert state(IvdHospitalReport, rep.id) == "unsubmitted"
