"""导出查询数据 in Chromium (issue 18 items 5 and 9): the chooser keeps the order the fields
are ticked (and moved), refuses an empty choice with a message, and the file's times are the
list's times (the file's cells are drawn beside the list for the screenshot); the registry's
lists export too."""
import datetime as dt
import html
import io
import re

import openpyxl
from sqlalchemy import update

from app.extensions import db
from app.models.relief import ReliefApplication
from tests.conftest import make_application
from tests.relief.relief_support import apply_steps

STAMP = dt.datetime(2026, 5, 7, 20, 30, 5, 123456)     # stored UTC
SHOWN = "2026-05-08 04:30:05"                           # what the list shows


def submitted_application(name):
    pk = make_application("ty_hosp1", patient_name=name,
                          start_at=dt.datetime(2026, 6, 1, 9, 15))
    apply_steps(pk, "submit")
    db.session.execute(update(ReliefApplication).where(ReliefApplication.id == pk)
                       .values(submitted_at=STAMP))
    db.session.commit()
    return pk


def download(page, click):
    """Click `click` and return the downloaded workbook's first sheet."""
    with page.expect_download() as done:
        page.click(click)
    with open(done.value.path(), "rb") as fh:
        return openpyxl.load_workbook(io.BytesIO(fh.read())).active


def cell_text(value, number_format="hh"):
    """A cell as Excel shows it: a date-time to the second, a date cell as its date."""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S" if "hh" in number_format else "%Y-%m-%d")
    return "" if value is None else str(value)


def show_beside(page, ws):
    """Draw the file's cells in a panel under the list, as a person would lay them side by
    side (the screenshot is for the review)."""
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(cell_text(c.value, c.number_format))}</td>"
                                    for c in row) + "</tr>" for row in ws.iter_rows())
    page.evaluate("""rows => {
        const panel = document.createElement('div');
        panel.id = 'xlsx-beside';
        panel.className = 'panel panel-info';
        panel.innerHTML = '<div class="panel-heading">导出文件内容（xlsx）</div>'
            + '<table class="table table-bordered table-condensed">' + rows + '</table>';
        document.querySelector('.container, body').appendChild(panel);
    }""", rows)


def ticked_order(page):
    return page.eval_on_selector_all(
        "#export-choose input[name=col]:checked", "boxes => boxes.map(b => b.value)")


def test_the_file_has_the_ticked_columns_in_the_ticked_order_and_the_list_times(
        browse, shot, ctx):
    pk = submitted_application("导出顺序患者")
    page = browse("ty_hosp1")
    page.goto("/relief/applications/list/?_flt_0_patient_name=导出顺序患者")
    listed = page.inner_text("body")
    assert SHOWN in listed and "导出顺序患者" in listed
    page.click("text=导出查询数据 >> nth=0")
    page.click("#export-choose .export-none")
    for key in ("patient_name", "id", "submitted_at"):
        page.check(f"#export-choose input[value='{key}']")
    assert ticked_order(page) == ["patient_name", "id", "submitted_at"]
    page.locator(".export-column", has=page.locator("input[value='submitted_at']")) \
        .locator(".export-up").click()
    assert ticked_order(page) == ["patient_name", "submitted_at", "id"]
    numbers = page.eval_on_selector_all(".export-column .export-order",
                                        "spans => spans.map(s => s.textContent)")
    assert numbers[:4] == ["1", "2", "3", ""]
    shot(page, "chooser")
    ws = download(page, "#export-choose button[type=submit]")
    assert [c.value for c in ws[1]] == ["姓名", "提交时间", "编号"]
    assert [c.value for c in ws[2]] == ["导出顺序患者", dt.datetime(2026, 5, 8, 4, 30, 5), pk]
    page.goto("/relief/applications/list/?_flt_0_patient_name=导出顺序患者")
    show_beside(page, ws)
    row = page.locator("tr", has_text="导出顺序患者").first.inner_text()
    assert SHOWN in row and SHOWN in page.inner_text("#xlsx-beside")
    shot(page, "list-and-xlsx")


def test_nothing_ticked_shows_a_message_and_keeps_the_page(browse, shot, ctx):
    page = browse("ty_hosp1")
    page.goto("/relief/applications/list/")
    page.click("text=导出查询数据 >> nth=0")
    page.click("#export-choose .export-none")
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/export/" in r.url else None)
    page.click("#export-choose button[type=submit]")
    problem = page.locator(".export-problem")
    assert problem.is_visible() and "请至少勾选一个要导出的字段" in problem.inner_text()
    assert requests == [] and "/export/" in page.url
    shot(page, "refused")
    page.check("#export-choose input[value='patient_name']")
    assert not problem.is_visible()


def test_a_registry_list_exports_its_rows_with_the_list_times(browse, shot, ctx):
    page = browse("ty_ybj")          # the 医保部门 that confirms the agreements
    page.click("text=机构信息维护")
    page.click("text=医疗机构定点协议管理")
    listed = re.sub(r"\s+", " ", page.inner_text("body"))
    ws = download(page, "text=导出查询数据（标准格式）")
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["医疗机构", "经办机构", "协议编号"] and headers[-1] == "入库时间"
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert rows
    for row in rows:
        assert row[2] in listed
        if row[-1] is not None:
            assert cell_text(row[-1]) in listed
    show_beside(page, ws)
    shot(page, "registry-list-and-xlsx")
