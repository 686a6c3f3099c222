"""The rendered text of a few screens, widgets included (the search widget's filter rows are
drawn by script, so only a browser sees them), in Chinese (issue 18 items 1, 3, 6): a to-do
of 我的待办 opens its list filtered by a state shown by its label, FAB's default words and
stored codes appear nowhere."""
import re

from tests.platform.test_crawl_pages import raw_codes

ENGLISH = re.compile(r"\b(Show|Edit|Add|List|Delete|Search|Cancel|OK|True|False|None|Created|"
                     r"Changed|Starts with|Ends with|Equal to|January|Monday|Mon|Jan)\b")


def rendered_problems(page):
    text = page.inner_text("body")
    codes = [c for c in raw_codes() if re.search(rf"(?<![\w-]){c}(?![\w-])", text)]
    return ENGLISH.findall(text) + codes


def test_a_todo_opens_its_list_filtered_by_a_state_label(browse, shot, ctx):
    page = browse("ty_hosp1")
    page.click("text=疾病应急救助 · 待提交")
    assert "_flt_0_state=draft" in page.url
    row = page.locator("#filter_form table.filters tr").first
    assert row.locator("select").last.input_value() == "draft"      # the value's select
    assert "等于" in row.inner_text() and "待提交" in row.inner_text()
    assert row.locator("input[type=text]").count() == 0              # no box to type `draft`
    shot(page, "filtered")
    assert rendered_problems(page) == []


def test_screens_render_chinese_without_codes(browse, shot, ctx):
    page = browse("admin")
    for url in ("/", "/system/audit/list/", "/system/accounts/show/1", "/exports/list/",
                "/relief/applications/list/", "/registry/agreements/list/",
                "/system/organizations/show/1", "/phs/rounds/add"):
        page.goto(url)
        assert rendered_problems(page) == [], url
    page.goto("/system/audit/list/")
    page.click("text=搜索")
    page.click("text=添加过滤条件")
    page.click("#filter_form a.filter[name=action]")
    assert "登录成功" in page.inner_text("#filter_form")
    shot(page, "audit-filter")
