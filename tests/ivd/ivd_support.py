"""Shared steps of the IVD tests: a project of our own, the hospital's 暂存 and 提交, the
review buttons, each HTTP step checked for its status."""
import datetime as dt
import io
import time

from sqlalchemy import select

from app.demo.ivd import catalogue
from app.extensions import db
from app.models.ivd import IvdCatalogItem, IvdHospitalReport, IvdProject, IvdReportLine
from app.models.jobs import ExportJob
from app.services.ivd import commands
from app.services.pdf import write_cert_summary_pdf
from tests.conftest import flashes, user

TODAY = dt.date.today()
DAY = dt.timedelta(days=1)


def pdf_upload(name="承诺书.pdf"):
    buf = io.BytesIO()
    write_cert_summary_pdf(buf, "测试", [], (("内容", 1, "left"),), [("x",)])
    buf.seek(0)
    return (buf, name)


def new_project(fill_start=-5, fill_end=10, city=20, province=30, certs=4, per_cert=3,
                threshold=30):
    """A project of our own (demo reports stay untouched), with hospital reports."""
    p = IvdProject(name=f"测试项目{dt.datetime.now().timestamp()}",
                   year=TODAY.year + 1, fill_start=TODAY + fill_start * DAY,
                   fill_end=TODAY + fill_end * DAY, city_deadline=TODAY + city * DAY,
                   province_deadline=TODAY + province * DAY, threshold_pct=threshold)
    db.session.add(p)
    db.session.flush()
    catalogue(p, certs=certs, per_cert=per_cert)
    db.session.commit()
    commands.ensure_hospital_reports(p.id)
    return p.id


def items(project_id):
    return db.session.execute(select(IvdCatalogItem).where(
        IvdCatalogItem.project_id == project_id).order_by(IvdCatalogItem.serial_no)).scalars().all()


def report_of(project_id, login):
    return db.session.execute(select(IvdHospitalReport).where(
        IvdHospitalReport.project_id == project_id,
        IvdHospitalReport.organization_id == user(login).organization_id)).scalar_one()


def followed(c, r, status):
    """A POST answered `status`; a redirect (302) is followed to a page answering 200."""
    assert r.status_code == status, (r.status_code, flashes(r)[:300])
    if status != 302:
        return r
    page = c.get(r.headers["Location"])
    assert page.status_code == 200, page.status_code
    return page


def stash(c, project_id, rows, page=0, status=302):
    """暂存 of one page; a refused one answers the same page again (422 / 409)."""
    data = {"item": [str(i) for i in rows], "page": str(page)}
    for item_id, (last, nxt, in_use) in rows.items():
        data.update({f"last_{item_id}": last, f"next_{item_id}": nxt, f"inuse_{item_id}": in_use})
    return followed(c, c.post(f"/ivd/fill/{project_id}/stash", data=data), status)


def fill_valid(c, project_id, count=6):
    """Two whole 注册证 groups in use, the next without an instrument (nothing last year)."""
    its = items(project_id)[:count + 3]
    rows = {i.id: ("100", "110", "1") for i in its[:count]}
    rows.update({i.id: ("", "5", "0") for i in its[count:count + 3]})
    r = stash(c, project_id, rows)
    assert "暂存成功" in flashes(r), flashes(r)
    return its


def upload(c, project_id, slot, file, status=302):
    return followed(c, c.post(f"/ivd/fill/{project_id}/upload/{slot}", data={"file": file},
                              content_type="multipart/form-data"), status)


def complete_submission(c, project_id, its):
    """Everything 提交 asks for: contact, notes, the 说明文件 and both PDFs."""
    rep = report_of(project_id, "ty_hosp1")
    form = {"contact": "王五", "contact_phone": "0351-4960001", "confirm": "0"}
    for line in db.session.execute(select(IvdReportLine).where(
            IvdReportLine.report_id == rep.id)).scalars():
        form[f"note_{line.id}"] = "新开展项目"
    assert c.post(f"/ivd/fill/{project_id}/submit", data=form).status_code == 302
    cert = its[-1].cert_no
    for slot in ("commitment", "demand", f"cert:{cert}"):
        r = upload(c, project_id, slot, pdf_upload())
        assert "上传成功" in flashes(r), flashes(r)


def submit(c, project_id, status=302):
    """确认 on the 提交 page; refused, the page comes back with its status (409 …)."""
    return followed(c, c.post(f"/ivd/fill/{project_id}/submit", data={
        "confirm": "1", "contact": "王五", "contact_phone": "0351-4960001"}), status)


def fire(c, view, name, pk, status=302, **data):
    """A review button: the transition's POST; done or refused it goes back (302) with
    a flash, outside the caller's scope it is 404."""
    return followed(c, c.post(f"/ivd/review/{view}/transition/{name}/{pk}", data=data), status)


def submitted_project(login_as):
    project_id = new_project()
    c = login_as("ty_hosp1")
    complete_submission(c, project_id, fill_valid(c, project_id))
    assert "提交成功" in flashes(submit(c, project_id))
    return project_id


def projects_named(name):
    return db.session.execute(select(IvdProject).where(IvdProject.name == name)).scalars().all()


def state(model, pk):
    db.session.expire_all()
    return db.session.get(model, pk).state


def wait_job(job_id, seconds=20):
    for _ in range(seconds * 10):
        db.session.expire_all()
        job = db.session.get(ExportJob, job_id)
        if job.state in ("done", "failed"):
            assert job.state == "done", job.error
            return job
        time.sleep(0.1)
    raise AssertionError("export job did not finish")


def last_job():
    return db.session.execute(select(ExportJob).order_by(ExportJob.id.desc())).scalars().first()
