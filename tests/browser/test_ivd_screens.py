"""体外诊断试剂报量 in Chromium, as a hospital's clerk: the menu to 报量项目管理, the catalogue
grid's 暂存 refused (a quantity that is not a number) with what was typed kept and the message
on its line, then saved; the 提交 page's contact phone refused beside its field, corrected;
the two PDFs uploaded; 确认 with the page's own question, and its flash."""
import re

from sqlalchemy import select

from app.extensions import db
from app.models.ivd import IvdHospitalReport, IvdProject
from tests.conftest import user
from tests.ivd.ivd_support import items, new_project, pdf_upload, submitted_project

ENGLISH = re.compile(r"\b(True|False|None|UTC|Submit|Save|Cancel|Search|List|Edit|Delete)\b")


def posted(page, selector):
    """Click a submit button; the status of the POST it sent."""
    asks = page.locator(selector).first.evaluate("e => !!e.closest('[data-confirm]')")
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.click(selector)
        if asks:
            page.click("#portal-confirm-ok")      # the page's own 确定 / 取消 (portal.js)
    return response.value.status


def screen_text(page):
    text = page.inner_text("body")
    assert not ENGLISH.search(text), ENGLISH.search(text)
    return text


def pdf(name):
    buf, _name = pdf_upload(name)
    return {"name": name, "mimeType": "application/pdf", "buffer": buf.getvalue()}


def test_a_hospital_fills_stashes_and_submits_its_report(browse, shot, ctx):
    project_id = new_project()
    project = db.session.get(IvdProject, project_id)
    first, second = items(project_id)[:2]
    page = browse("ty_hosp1")
    page.click("a.dropdown-toggle:has-text('报量项目管理')")
    page.click(".dropdown-menu a[href*='/ivd/fill']")
    page.locator("#ivd-projects tr", has_text=project.name).locator("text=填报").click()
    assert f"/ivd/fill/{project_id}" in page.url

    # 暂存 refused: a quantity that is not a number; nothing is lost, the line says why
    page.fill(f"#last_{first.id}", "abc")
    page.fill(f"#next_{first.id}", "7")
    page.select_option(f"#inuse_{first.id}", "1")
    page.fill(f"#last_{second.id}", "3")
    page.fill(f"#next_{second.id}", "4")
    page.select_option(f"#inuse_{second.id}", "1")
    assert posted(page, "#stash") == 422
    shot(page, "grid-refused")
    assert page.input_value(f"#last_{first.id}") == "abc"
    assert page.input_value(f"#next_{first.id}") == "7"
    assert page.input_value(f"#inuse_{second.id}") == "1"
    row = page.locator("tr", has=page.locator(f"#last_{first.id}"))
    assert "上年度采购总数量须为不小于0的整数" in row.inner_text()
    assert "未做任何修改" in screen_text(page)
    page.fill(f"#last_{first.id}", "100")
    page.fill(f"#next_{first.id}", "110")
    assert posted(page, "#stash") == 302
    assert "暂存成功，已保存本页 12 行" in screen_text(page)      # every line shown
    assert page.input_value(f"#last_{first.id}") == "100"
    shot(page, "grid-saved")

    # the 提交 page: a landline without its area code is refused beside 联系方式
    page.click(".ivd-toolbar a:has-text('提交')")
    page.fill("#contact", "王五")
    page.fill("#contact_phone", "4960001")
    note = page.locator("#change-notes input")            # 3 → 4 is beyond the 30% threshold
    note.fill("新开展项目")
    assert posted(page, "#submit-form button[value='0']") == 422
    shot(page, "submit-refused")
    assert page.input_value("#contact") == "王五"
    assert page.input_value("#contact_phone") == "4960001"
    assert page.locator("#change-notes input").input_value() == "新开展项目"
    field = page.locator(".form-group.has-error", has=page.locator("#contact_phone"))
    assert "区号" in field.inner_text()
    page.fill("#contact_phone", "0351-4960001")
    assert posted(page, "#submit-form button[value='0']") == 302
    assert "暂存成功" in screen_text(page)

    # the two PDFs, each with its flash
    for label, name in (("承诺书", "承诺书.pdf"), ("采购需求量附件", "填报数据.pdf")):
        slot = page.locator("tr", has_text=label)
        slot.locator("input[type=file]").set_input_files(pdf(name))
        assert posted(page, f"tr:has-text('{label}') button:has-text('上传')") == 302
        assert f"上传成功：{name}" in screen_text(page)
    assert page.locator("#problems").count() == 0
    shot(page, "submit-ready")

    # 确认 asks first (the page's own question), then the report is submitted
    assert page.get_attribute("#confirm-submit", "data-confirm") == "确认提交报量数据？提交后不能修改。"
    assert posted(page, "#confirm-submit") == 302
    text = screen_text(page)
    assert "提交成功，当前状态：已提交" in text and "/status" in page.url
    assert page.inner_text("#status-state") == "已提交"
    shot(page, "submitted")
    db.session.expire_all()
    report = db.session.execute(select(IvdHospitalReport).where(
        IvdHospitalReport.project_id == project_id,
        IvdHospitalReport.organization_id == user("ty_hosp1").organization_id)).scalar_one()
    assert (report.state, report.contact, report.contact_phone) == (
        "submitted", "王五", "0351-4960001")
    assert (report.filled_lines, report.last_year_total, report.next_year_total) == (2, 103, 114)


def test_the_city_reviews_a_hospital_with_a_button_and_its_flash(app, browse, shot, login_as,
                                                                  ctx):
    app.config["WTF_CSRF_ENABLED"] = False      # the hospital's part through the test client
    project_id = submitted_project(login_as)
    app.config["WTF_CSRF_ENABLED"] = True
    page = browse("ty_ybj")
    page.click("a.dropdown-toggle:has-text('报量项目管理')")
    page.click(".dropdown-menu a:has-text('报量项目审核')")
    assert "请选择报量项目后点击【查询】" in screen_text(page)
    page.select_option("#query-form select[name=project]", str(project_id))
    page.click("#query")
    assert f"project={project_id}" in page.url
    assert page.inner_text("#own-state") == "待提交"
    shot(page, "review-list")
    row = page.locator("tr", has_text="太原市第一人民医院")
    assert "已提交" in row.inner_text()
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        row.locator("button:has-text('审核通过')").click()
        page.click("#portal-confirm-ok")
    assert response.value.status == 302
    assert "审核通过成功，当前状态：审核通过" in screen_text(page)
    assert f"project={project_id}" in page.url               # back to the list it came from
    row = page.locator("tr", has_text="太原市第一人民医院")
    assert "审核通过" in row.inner_text()
    shot(page, "approved")
    report = db.session.execute(select(IvdHospitalReport).where(
        IvdHospitalReport.project_id == project_id,
        IvdHospitalReport.organization_id == user("ty_hosp1").organization_id)).scalar_one()
    db.session.refresh(report)
    assert report.state == "approved"
