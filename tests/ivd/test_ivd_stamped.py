"""Stamped documents stay bound to the figures they certify (issue 20 item 4): a hospital's
承诺书 and 采购需求量附件 uploaded before its lines changed, or the province's stamped summary
uploaded before its cities' figures moved, are asked for again; the PDFs print the
数据校验码 the reviewer compares with the current one."""
import pypdfium2
from sqlalchemy import select

from app.extensions import db
from app.models.ivd import IvdAreaReport, IvdHospitalReport
from app.services.ivd import commands, queries
from app.workflows import engine
from tests.conftest import flashes
from tests.ivd.ivd_support import (fire, followed, items, new_project, pdf_upload, report_of,
                                   stash, state, submit, submitted_project, upload)


def pdf_text(data):
    return "".join(p.get_textpage().get_text_range() for p in pypdfium2.PdfDocument(data))


def test_resubmission_after_a_change_asks_for_new_stamped_documents(app, login_as, ctx):
    project_id = submitted_project(login_as)
    rep = report_of(project_id, "ty_hosp1")
    city = login_as("ty_ybj")
    fire(city, "hospitals", "reject", rep.id, comment="数量有误")
    hosp = login_as("ty_hosp1")
    first = items(project_id)[0]
    stash(hosp, project_id, {first.id: ("100", "110", "1")})           # the same figures
    assert "提交成功" in flashes(submit(hosp, project_id))             # the uploads still hold
    assert state(IvdHospitalReport, rep.id) == "submitted"
    fire(city, "hospitals", "reject", rep.id, comment="数量有误")
    stash(hosp, project_id, {first.id: ("100", "120", "1")})           # a line changed
    r = submit(hosp, project_id, status=409)
    assert "后填报数据已修改，请重新导出填报数据" in flashes(r) + r.get_data(as_text=True)
    assert state(IvdHospitalReport, rep.id) == "rejected"
    page = city.get(f"/ivd/review/hospitals/show/{rep.id}").get_data(as_text=True)
    assert 'id="stale-uploads"' in page and "采购需求量附件" in page
    digest = queries.lines_digest(rep.id)
    assert digest in page
    assert f"数据校验码：{digest}" in pdf_text(hosp.get(f"/ivd/fill/{project_id}/export").data)
    for slot in ("commitment", "demand"):
        upload(hosp, project_id, slot, pdf_upload())
    assert "提交成功" in flashes(submit(hosp, project_id))
    page = city.get(f"/ivd/review/hospitals/show/{rep.id}").get_data(as_text=True)
    assert 'id="uploads-current"' in page


def test_province_stamped_summary_older_than_a_city_review_is_asked_again(app, login_as, ctx):
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
    followed(prov, prov.post(f"/ivd/review/areas/upload/{own.id}/stamped_summary",
                             data={"file": pdf_upload("汇总.pdf")},
                             content_type="multipart/form-data"), 302)
    fire(prov, "areas", "unreview", cities[0].id)
    fire(prov, "areas", "approve", cities[0].id)
    r = prov.post(f"/ivd/review/areas/submit/{own.id}")
    assert r.status_code == 409 and "请重新导出汇总数据" in flashes(r)
    page = prov.get(f"/ivd/review/areas/submit/{own.id}").get_data(as_text=True)
    assert queries.province_digest(project_id, "140000") in page
    followed(prov, prov.post(f"/ivd/review/areas/upload/{own.id}/stamped_summary",
                             data={"file": pdf_upload("汇总.pdf")},
                             content_type="multipart/form-data"), 302)
    r = followed(prov, prov.post(f"/ivd/review/areas/submit/{own.id}"), 302)
    assert "提交成功" in flashes(r)
