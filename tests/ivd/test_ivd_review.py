"""Review of the reports (SPEC Q4 city and 省本级, Q5 province, Q6 national): the review
buttons, 提交 upward, the summaries and the summary exports."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.ivd import IvdAreaReport, IvdHospitalReport
from app.services.ivd import commands, queries
from app.workflows import engine
from app.workflows.ivd import IvdAreaReportFlow
from tests.conftest import flashes, user
from tests.ivd.ivd_support import (fill_valid, fire, followed, last_job, new_project,
                                   pdf_upload, report_of, state, submitted_project, wait_job)


def test_refused_button_flashes_and_goes_back(app, login_as, ctx):
    project_id = new_project()
    rep = report_of(project_id, "ty_hosp1")
    city = login_as("ty_ybj")
    back = f"http://localhost/ivd/review/hospitals/list/?project={project_id}"
    r = city.post(f"/ivd/review/hospitals/transition/approve/{rep.id}",
                  headers={"Referer": back})
    assert r.status_code == 302 and r.headers["Location"] == back
    page = city.get(back)
    assert page.status_code == 200
    assert "当前状态为“未提交”，不能审核通过" in flashes(page), flashes(page)
    assert state(IvdHospitalReport, rep.id) == "unsubmitted"


def test_city_review_chain(app, login_as, ctx):
    project_id = submitted_project(login_as)
    city = login_as("ty_ybj")
    r = city.get("/ivd/review/hospitals/list/")
    assert r.status_code == 200 and "太原市第一人民医院" not in r.get_data(as_text=True)
    r = city.get(f"/ivd/review/hospitals/list/?project={project_id}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "太原市第一人民医院" in page and "运城市中心医院" not in page
    rep = report_of(project_id, "ty_hosp1")
    r = fire(city, "hospitals", "reject", rep.id)          # refused: the opinion is required
    assert "请填写审核不通过意见" in flashes(r)
    assert state(IvdHospitalReport, rep.id) == "submitted"
    fire(city, "hospitals", "reject", rep.id, comment="数量有误")
    assert state(IvdHospitalReport, rep.id) == "rejected"
    fire(city, "hospitals", "unreview", rep.id)
    fire(city, "hospitals", "approve", rep.id)
    assert state(IvdHospitalReport, rep.id) == "approved"
    area = db.session.execute(select(IvdAreaReport).where(
        IvdAreaReport.project_id == project_id, IvdAreaReport.level == "city",
        IvdAreaReport.city_code == "140100")).scalar_one()
    r = city.post(f"/ivd/review/areas/submit/{area.id}")
    assert r.status_code == 409              # the confirmation page again, with the reason
    waiting = [h.organization.name for h in queries.hospitals_not_approved(project_id, "140100")]
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
    r = followed(city, city.post("/ivd/review/hospitals/action_post",
                                 data={"action": "exempt", "rowid": others + [rep.id]}), 302)
    assert "未做任何修改" in flashes(r)
    assert state(IvdHospitalReport, others[0]) == "unsubmitted"
    r = city.post("/ivd/review/hospitals/action_post", data={"action": "exempt", "rowid": others})
    assert r.status_code == 302
    assert state(IvdHospitalReport, others[0]) == "exempt"
    r = followed(city, city.post(f"/ivd/review/areas/submit/{area.id}"), 302)
    assert "提交成功" in flashes(r), flashes(r)
    assert state(IvdAreaReport, area.id) == "submitted"
    r = fire(city, "hospitals", "unreview", rep.id)
    assert "只有待提交或上级审核不通过时才能办理" in flashes(r)
    assert state(IvdHospitalReport, rep.id) == "approved"
    yc = report_of(project_id, "yc_hosp1")
    assert city.get(f"/ivd/review/hospitals/show/{yc.id}").status_code == 404
    fire(city, "hospitals", "exempt", yc.id, status=404)


def test_province_own_hospitals_are_reviewed_by_the_province_own_account(app, login_as, ctx):
    project_id = new_project()
    sbj = login_as("sx_sbj")
    r = sbj.get(f"/ivd/review/hospitals/list/?project={project_id}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "山西省人民医院" in page and "太原市第一人民医院" not in page
    rep = report_of(project_id, "sx_hosp")
    fire(sbj, "hospitals", "exempt", rep.id)
    assert state(IvdHospitalReport, rep.id) == "exempt"
    fire(login_as("ty_ybj"), "hospitals", "restore", rep.id, status=404)   # not its region
    assert state(IvdHospitalReport, rep.id) == "exempt"


def test_province_summary_review_export_and_submit(app, login_as, ctx):
    project_id = submitted_project(login_as)
    prov = login_as("sx_ybj")
    r = prov.get(f"/ivd/review/areas/list/?project={project_id}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "太原市" in page and "运城市" in page and "省本级" in page
    for column in ("hospital_count", "state_label", "submitted_at"):   # properties too
        assert prov.get(f"/ivd/review/areas/list/?project={project_id}&_oc_IvdAreaReviewView="
                        f"{column}&_od_IvdAreaReviewView=desc").status_code == 200
    sums = queries.area_sums(project_id, "city_code")
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
    assert queries.area_sums(project_id, "city_code")["140100"][0] == 1
    fire(city, "hospitals", "approve", ty.id)
    area = queries.area_report(project_id, "140100")
    assert city.post(f"/ivd/review/areas/submit/{area.id}").status_code == 302
    assert state(IvdAreaReport, area.id) == "submitted"
    fire(prov, "areas", "reject", area.id, comment="请核实")
    assert state(IvdAreaReport, area.id) == "rejected"
    fire(prov, "areas", "unreview", area.id)
    fire(prov, "areas", "approve", area.id)
    assert state(IvdAreaReport, area.id) == "approved"
    own = queries.area_report(project_id, "140000")
    r = prov.post(f"/ivd/review/areas/submit/{own.id}")
    assert r.status_code == 409
    assert "以下市级数据尚未审核通过" in flashes(r) and "运城市" in flashes(r)
    followed(prov, prov.post(f"/ivd/review/areas/export/{project_id}"), 302)
    job = last_job()
    wait_job(job.id)
    r = prov.get(f"/exports/file/{job.id}")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert login_as("ty_ybj").get(f"/exports/file/{job.id}").status_code == 404


def test_national_recall_and_csv_columns(app, login_as, ctx):
    project_id = new_project()
    commands.ensure_area_reports(project_id)
    province = queries.area_report(project_id, "140000")
    with engine.state_writes():        # fixture: the province as if it had reported
        province.state = "submitted"
        db.session.commit()
    c = login_as("admin")
    r = c.get(f"/ivd/national/list/?project={project_id}")
    assert r.status_code == 200 and "山西省" in r.get_data(as_text=True)
    with pytest.raises(Exception):
        engine.apply(IvdAreaReportFlow, province.id, "recall", user("sx_ybj"))
    assert c.post(f"/ivd/national/transition/recall/{province.id}").status_code == 302
    assert state(IvdAreaReport, province.id) == "rejected"
    hosp = login_as("ty_hosp1")
    fill_valid(hosp, project_id)
    assert c.post(f"/ivd/national/export/{project_id}").status_code == 302
    job = last_job()
    wait_job(job.id)
    r = c.get(f"/exports/file/{job.id}")
    assert r.status_code == 200
    body = r.data.decode("utf-8-sig").splitlines()
    assert body[0] == "省份,大项,小项,生产企业,注册证,上年度采购总数量,下年度采购总数量"
    assert sorted(body[1:]) == [
        "山西省,生化类,肝功能,晋阳生物科技有限公司,国械注准20193400001,300,330",
        "山西省,生化类,肾功能,汾河诊断试剂有限公司,国械注准20193400002,300,330",
        "山西省,生化类,血脂,太行医疗器械股份有限公司,国械注准20193400003,0,15"]


def test_province_submits_with_the_stamped_summary_and_national_returns_it(app, login_as, ctx):
    project_id = new_project()
    commands.ensure_area_reports(project_id)
    own = queries.area_report(project_id, "140000")
    cities = db.session.execute(select(IvdAreaReport).where(
        IvdAreaReport.project_id == project_id, IvdAreaReport.level == "city")).scalars().all()
    with engine.state_writes():        # fixture: every hospital approved, every city reported
        for h in db.session.execute(select(IvdHospitalReport).where(
                IvdHospitalReport.project_id == project_id)).scalars():
            h.state = "approved"
        for area in cities:
            area.state = "submitted"
        db.session.commit()
    prov = login_as("sx_ybj")
    for area in cities:
        fire(prov, "areas", "approve", area.id)
    assert {state(IvdAreaReport, a.id) for a in cities} == {"approved"}
    r = prov.post(f"/ivd/review/areas/submit/{own.id}")
    assert r.status_code == 409 and "请先上传盖章的汇总数据" in flashes(r)
    r = followed(prov, prov.post(f"/ivd/review/areas/upload/{own.id}/stamped_summary",
                                 data={"file": pdf_upload("汇总.pdf")},
                                 content_type="multipart/form-data"), 302)
    assert "上传成功" in flashes(r), flashes(r)
    r = followed(prov, prov.post(f"/ivd/review/areas/submit/{own.id}"), 302)
    assert "提交成功" in flashes(r) and state(IvdAreaReport, own.id) == "submitted"
    r = fire(prov, "areas", "unreview", cities[0].id)
    assert "只有待提交或审核不通过时才能办理" in flashes(r)
    assert state(IvdAreaReport, cities[0].id) == "approved"
    assert login_as("ty_ybj").post(f"/ivd/review/areas/upload/{own.id}/stamped_summary",
                                   data={"file": pdf_upload()}).status_code == 404
    admin = login_as("admin")
    r = admin.get(f"/ivd/national/list/?project={project_id}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "山西省" in page and "已提交" in page
    r = admin.post(f"/ivd/national/transition/recall/{own.id}", data={"comment": "请复核"})
    assert r.status_code == 302
    assert state(IvdAreaReport, own.id) == "rejected"
    fire(prov, "areas", "unreview", cities[0].id)
    assert state(IvdAreaReport, cities[0].id) == "submitted"
