"""The figures of an area (医疗机构数量, 历史采购量, 采购需求量) are the same on every page,
PDF and CSV, and equal a recount over the hospital lines: hospitals 审核通过 / 已提交 / 未提交
only (manual 省级审核 注2, SPEC Q5; 无需上报 and 审核不通过 left out) — issue 20 items 1, 2."""
import re

import pypdfium2
from sqlalchemy import func, select

from app.extensions import db
from app.models.ivd import IvdHospitalReport, IvdProject, IvdReportLine
from app.services.ivd import queries
from tests.ivd.ivd_support import followed, last_job, wait_job

COUNTED = ("approved", "submitted", "unsubmitted")


def demo_project():
    return db.session.execute(select(IvdProject).where(
        IvdProject.name.like("%年度体外诊断试剂报量"), IvdProject.fill_start <= func.current_date())
        .order_by(IvdProject.year.desc())).scalars().first()


def recount(project_id, **area):
    """(hospitals, Σ上年度, Σ下年度) straight from the hospital reports and their lines."""
    H, L = IvdHospitalReport, IvdReportLine
    where = [H.project_id == project_id, H.state.in_(COUNTED)]
    where += [getattr(H, k) == v for k, v in area.items()]
    hospitals = db.session.execute(select(func.count(H.id)).where(*where)).scalar()
    last, nxt = db.session.execute(select(
        func.coalesce(func.sum(L.last_year_qty), 0), func.coalesce(func.sum(L.next_year_qty), 0))
        .join(H, L.report_id == H.id).where(*where)).one()
    return hospitals, int(last), int(nxt)


def row_of(page, name):
    """The figures of the list row naming `name`: the first three whole numbers after it."""
    for row in re.findall(r"<tr>(.*?)</tr>", page, re.S):
        if "row-transitions" not in row:
            continue
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                       row, re.S)]
        if name in cells:
            numbers = [int(c) for c in cells[cells.index(name) + 1:] if c.isdigit()]
            return tuple(numbers[:3])
    raise AssertionError(f"no row {name}")


def shown_figures(page):
    """医疗机构数量 / 历史采购量 / 采购需求量 as a show or 提交 page prints them."""
    text = re.sub(r"<[^>]+>", " ", page)
    return tuple(int(re.search(rf"{label}\s*[：:]?\s*(\d+)", text).group(1))
                 for label in ("医疗机构数量", "历史采购量", "采购需求量"))


def pdf_text(data):
    return "".join(p.get_textpage().get_text_range() for p in pypdfium2.PdfDocument(data))


def test_every_page_pdf_and_csv_agree_with_a_recount(app, login_as, ctx):
    project = demo_project()
    prov, admin = login_as("sx_ybj"), login_as("admin")
    page = prov.get(f"/ivd/review/areas/list/?project={project.id}").get_data(as_text=True)
    national = admin.get(f"/ivd/national/list/?project={project.id}").get_data(as_text=True)
    # 查询 made every report row of the region exist; the recount comes after it
    taiyuan = recount(project.id, city_code="140100")
    shanxi = recount(project.id, province_code="140000")
    rejected = db.session.execute(select(IvdHospitalReport).where(
        IvdHospitalReport.project_id == project.id, IvdHospitalReport.city_code == "140100",
        IvdHospitalReport.state == "rejected")).scalars().all()
    assert rejected and rejected[0].last_year_total > 0      # the demo's 审核不通过 hospital
    assert queries.area_sums(project.id, "city_code")["140100"] == taiyuan
    assert row_of(page, "太原市") == taiyuan
    city = queries.area_report(project.id, "140100")
    r = prov.get(f"/ivd/review/areas/show/{city.id}")
    assert r.status_code == 200 and shown_figures(r.get_data(as_text=True)) == taiyuan
    own = queries.area_report(project.id, "140000")
    r = prov.get(f"/ivd/review/areas/submit/{own.id}")
    assert r.status_code == 200 and shown_figures(r.get_data(as_text=True)) == shanxi
    assert row_of(national, "山西省") == shanxi
    r = admin.get(f"/ivd/national/show/{own.id}")
    assert r.status_code == 200 and shown_figures(r.get_data(as_text=True)) == shanxi
    r = admin.get(f"/ivd/review/areas/list/?project={project.id}&region=140000")
    assert row_of(r.get_data(as_text=True), "太原市") == taiyuan

    followed(prov, prov.post(f"/ivd/review/areas/export/{project.id}"), 302)
    job = wait_job(last_job().id)
    text = pdf_text(prov.get(f"/exports/file/{job.id}").data)
    total = re.search(r"合计\s+(\d+)\s+(\d+)\s+(\d+)", text)
    assert total, text[-400:]
    assert tuple(int(n) for n in total.groups()) == shanxi

    followed(admin, admin.post(f"/ivd/national/export/{project.id}"), 302)
    job = wait_job(last_job().id)
    lines = admin.get(f"/exports/file/{job.id}").data.decode("utf-8-sig").splitlines()[1:]
    rows = [line.split(",") for line in lines if line.startswith("山西省,")]
    assert (sum(int(r[-2]) for r in rows), sum(int(r[-1]) for r in rows)) == shanxi[1:]
