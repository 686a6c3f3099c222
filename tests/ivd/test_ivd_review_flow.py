"""The review screens lead the reviewer as the manual does (issue 20 item 6, issue 18
item 7 for the IVD module): the running project preselected, a review done on a detail page
goes back to the list it was opened from, buttons a guard refuses now are disabled with the
reason, the province's 详情 of a city carries the city's 审核通过 / 审核不通过."""
import re
from urllib.parse import unquote

from app.models.ivd import IvdAreaReport, IvdHospitalReport
from app.services.ivd import queries
from tests.conftest import flashes
from tests.ivd.ivd_support import report_of, state
from tests.ivd.test_ivd_figures import demo_project


def selected_project(page):
    return re.search(r'<option value="(\d+)" selected>', page).group(1)


def test_running_project_preselected_and_list_shown_after_query(app, login_as, ctx):
    project = demo_project()
    city = login_as("ty_ybj")
    page = city.get("/ivd/review/hospitals/list/").get_data(as_text=True)
    assert selected_project(page) == str(project.id)
    assert 'id="query-first"' in page and "太原市第一人民医院" not in page   # 查询 first
    hosp = login_as("ty_hosp1").get("/ivd/fill/").get_data(as_text=True)
    first = re.search(r"<tbody>\s*<tr([^>]*)>\s*<td>([^<]*)</td>", hosp)
    assert "running-project" in first.group(1) and first.group(2) == project.name


def test_review_on_the_detail_page_goes_back_to_the_list(app, login_as, ctx):
    project = demo_project()
    rep = report_of(project.id, "ty_mch")                  # 已提交 in the demo
    city = login_as("ty_ybj")
    listing = f"/ivd/review/hospitals/list/?project={project.id}"
    page = city.get(listing).get_data(as_text=True)
    detail = re.search(rf'href="(/ivd/review/hospitals/show/{rep.id}\?next=[^"]+)"', page)
    assert detail, "详情 carries the list it is opened from"
    show_url = unquote(detail.group(1).replace("&amp;", "&"))
    page = city.get(show_url).get_data(as_text=True)
    form_url = re.search(rf'href="(/ivd/review/hospitals/transition/reject/{rep.id}[^"]*)"', page)
    page = city.get(unquote(form_url.group(1).replace("&amp;", "&"))).get_data(as_text=True)
    back = re.search(r'name="next" value="([^"]+)"', page).group(1).replace("&amp;", "&")
    r = city.post(f"/ivd/review/hospitals/transition/reject/{rep.id}",
                  data={"comment": "数量有误", "next": back})
    assert r.status_code == 302
    assert r.headers["Location"].endswith(listing), r.headers["Location"]
    assert state(IvdHospitalReport, rep.id) == "rejected"
    r = city.post(f"/ivd/review/hospitals/transition/unreview/{rep.id}", data={"next": show_url})
    assert r.headers["Location"].endswith(listing), r.headers["Location"]
    assert "审核撤回成功" in flashes(city.get(listing))


def test_buttons_refused_now_are_disabled_with_the_reason(app, login_as, ctx):
    project = demo_project()          # 运城市 has submitted its report in the demo
    yc = login_as("yc_ybj")
    page = yc.get(f"/ivd/review/hospitals/list/?project={project.id}").get_data(as_text=True)
    assert re.search(r'<button[^>]*disabled title="[^"]*只有待提交或上级审核不通过时才能办理', page)
    assert "/transition/unreview/" not in page


def test_province_detail_of_a_city_offers_its_review(app, login_as, ctx):
    project = demo_project()
    area = queries.area_report(project.id, "140800")          # 运城市, 已提交
    prov = login_as("sx_ybj")
    page = prov.get(f"/ivd/review/areas/list/?project={project.id}").get_data(as_text=True)
    assert f"/ivd/review/hospitals/list/?project={project.id}&amp;region=140800" in page
    drilled = f"/ivd/review/hospitals/list/?project={project.id}&region=140800"
    page = prov.get(drilled).get_data(as_text=True)
    panel = page[page.index('id="drill-area"'):]
    assert "运城市" in panel and "已提交" in panel
    assert f"/ivd/review/areas/transition/approve/{area.id}" in panel
    assert f"/ivd/review/areas/transition/reject/{area.id}" in panel
    assert "运城市中心医院" in page
    r = prov.post(f"/ivd/review/areas/transition/approve/{area.id}", data={"next": drilled})
    assert r.status_code == 302 and r.headers["Location"].endswith(drilled)
    assert state(IvdAreaReport, area.id) == "approved"
