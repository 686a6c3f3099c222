"""报量项目审核 in Chromium (issue 20 item 6, issue 18 item 7): the running project is the
select's choice, 查询 lists it, and 搜索 by 状态 keeps the chosen project."""
from tests.ivd.test_ivd_figures import demo_project


def test_query_then_filter_by_state_keeps_the_project(browse, shot, ctx):
    project = demo_project()
    page = browse("ty_ybj")
    page.goto("/ivd/review/hospitals/list/")
    assert page.locator("#query-form select[name=project]").input_value() == str(project.id)
    page.click("#query")
    page.wait_for_url(f"**/list/?project={project.id}")
    assert "太原市中心医院" in page.inner_text("body")
    page.click("text=搜索")
    page.click("text=添加过滤条件")
    page.click("#filter_form a.filter[name=state]")
    page.locator("#filter_form table.filters tr").first.locator("select").last.select_option(
        label="审核不通过")
    shot(page, "filter")
    page.click("#filter_form button[type=submit]")
    page.wait_for_load_state()
    assert f"project={project.id}" in page.url
    body = page.inner_text("body")
    assert "太原市第三人民医院" in body and "太原市中心医院" not in body
