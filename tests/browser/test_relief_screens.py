"""疾病应急救助's own pages in Chromium, as their users work them: the menu, the page's own
widgets (check boxes, the portal's date picker, radio buttons, a file chooser), a refusal
drawn again with what was typed and the Chinese message beside its field, then saved; and a
row button with its flash."""
import re

from sqlalchemy import select

from app.demo import demo_zip
from app.extensions import db
from app.models.relief import ReliefApplication, ReliefRecovery, ReliefReportTask
from tests.conftest import make_application
from tests.relief.relief_support import apply_steps, disbursed_application


def post(page, click):
    """Click `click` (a selector) and return the status of the POST it sends."""
    asks = page.locator(click).first.evaluate("e => !!e.closest('[data-confirm]')")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click(click)
        if asks:
            page.click("#portal-confirm-ok")      # the page's own 确定 / 取消 (portal.js)
    return posted.value.status


def group_of(page, selector):
    """The form group holding `selector`: its label, input, help and messages."""
    return page.locator(".form-group", has=page.locator(selector)).last


def no_raw_values(text):
    """Nothing on the screen a clerk could not read: codes, booleans, English, UTC stamps."""
    for raw in ("True", "False", "None", "UTC", "draft", "disbursed", "approved", "Show",
                "Relief", "List", "Edit", "Add "):
        assert raw not in text, raw
    assert not re.search(r"\d:\d\d\.\d", text), "a time with microseconds (UTC, unformatted)"


def attach(page, name="追缴凭证.zip"):
    page.set_input_files("#file", files=[{"name": name, "mimeType": "application/zip",
                                          "buffer": demo_zip("recovery").read()}])


def test_an_agency_registers_a_recovery_after_a_refused_amount(browse, shot, ctx):
    pk = disbursed_application(patient_name="追缴患者")
    page = browse("ty_agency")
    page.click("text=疾病应急救助")
    page.click("text=追缴资金登记")
    page.click("a:has-text('添加追缴记录')")
    row = page.locator("tr", has=page.locator(f"input[name=app_id][value='{pk}']"))
    assert "追缴患者" in row.inner_text() and "已拨款" in row.inner_text()
    assert page.get_attribute("#recovered_on", "data-picker") == "date"
    row.locator("input[type=checkbox]").check()
    page.fill("#amount", "-5")
    page.fill("#recovered_on", "2026-05-08")
    page.fill("#remark", "骗保追回")
    attach(page)
    assert post(page, "#recovery-form button[type=submit]") == 422
    shot(page, "refused")
    assert page.input_value("#amount") == "-5"
    assert page.input_value("#recovered_on") == "2026-05-08"
    assert page.input_value("#remark") == "骗保追回"
    assert row.locator("input[type=checkbox]").is_checked()
    amount = group_of(page, "#amount")
    assert "追缴金额必须是不小于0且最多两位小数的金额" in amount.inner_text()
    assert "has-error" in amount.get_attribute("class")
    page.fill("#amount", "300.50")
    attach(page)                              # a browser never keeps a chosen file
    assert post(page, "#recovery-form button[type=submit]") == 302
    page.wait_for_load_state()
    shot(page, "saved")
    text = page.inner_text("body")
    assert "追缴记录已保存" in text and "300.50" in text
    no_raw_values(text)
    db.session.expire_all()
    saved = db.session.execute(select(ReliefRecovery).where(
        ReliefRecovery.remark == "骗保追回")).scalar_one()
    assert str(saved.amount) == "300.50" and saved.recovered_on.isoformat() == "2026-05-08"
    assert [a.id for a in saved.applications] == [pk]


def test_an_agency_reviews_after_a_refused_review_then_a_clerk_submits(browse, shot, ctx):
    pk = make_application(patient_name="审核患者")
    draft = make_application(patient_name="提交患者")
    clerk = browse("ty_hosp1")
    clerk.click("text=疾病应急救助")
    clerk.click("text=应急救助基金申请")
    # the row's 提交 button: the state moves and the flash says so
    with clerk.expect_response(lambda r: r.request.method == "POST") as posted:
        clerk.click(f"form[action$='/transition/submit/{pk}'] button")
        clerk.click("#portal-confirm-ok")
    assert posted.value.status == 302
    clerk.wait_for_load_state()
    shot(clerk, "submitted")
    assert "提交成功，当前状态：已提交" in clerk.inner_text(".alert-success")
    no_raw_values(clerk.inner_text("body"))
    agency = browse("ty_agency")
    agency.click("text=疾病应急救助")
    agency.click("text=救助申请审核")
    agency.click(f"a[href*='/relief/review/review/{pk}?']")
    agency.fill("#basic_insurance_amount", "10.5")
    agency.fill("#other_fund_amount", "1.234")
    agency.fill("#comment", "材料齐全")
    assert post(agency, "#review-form button[value=approve]") == 422
    shot(agency, "review-refused")
    assert agency.input_value("#basic_insurance_amount") == "10.5"
    assert agency.input_value("#other_fund_amount") == "1.234"
    assert agency.input_value("#comment") == "材料齐全"
    assert "其他可支付必须是不小于0且最多两位小数的金额" in group_of(
        agency, "#other_fund_amount").inner_text()
    assert "请选择贫困对象" in group_of(agency, "#poverty-0").inner_text()
    agency.check("#poverty-0")
    agency.fill("#other_fund_amount", "1.23")
    assert post(agency, "#review-form button[value=approve]") == 302
    agency.wait_for_load_state()
    shot(agency, "approved")
    assert "审核通过成功，当前状态：审核通过" in agency.inner_text(".alert-success")
    no_raw_values(agency.inner_text("body"))
    db.session.expire_all()
    item = db.session.get(ReliefApplication, pk)
    assert item.state == "approved" and item.poverty is True
    assert str(item.other_fund_amount) == "1.23" and item.review_opinion == "材料齐全"
    assert db.session.get(ReliefApplication, draft).state == "draft"


def test_an_agency_disburses_after_a_refused_amount_and_generates_performance(browse, shot, ctx):
    pk = make_application(patient_name="拨款患者")
    apply_steps(pk, "submit", "approve")
    page = browse("ty_agency")
    page.click("text=疾病应急救助")
    page.click("text=救助申请审核")
    page.click(f"a[href$='/relief/review/show/{pk}']")
    page.click(f"a[href*='/relief/review/disburse/{pk}?']")
    assert page.get_attribute("#disbursed_on", "data-picker") == "date"
    page.fill("#disbursed_amount", "999")
    page.fill("#disbursed_on", "2026-06-01")
    assert post(page, "#disburse-form button[type=submit]") == 422
    shot(page, "disburse-refused")
    assert page.input_value("#disbursed_amount") == "999"
    assert page.input_value("#disbursed_on") == "2026-06-01"
    assert "不超过申请基金拨付金额 101.00 元" in group_of(page, "#disbursed_amount").inner_text()
    page.fill("#disbursed_amount", "100.00")
    assert post(page, "#disburse-form button[type=submit]") == 302
    page.wait_for_load_state()
    assert "拨款成功，当前状态：已拨款" in page.inner_text(".alert-success")
    no_raw_values(page.inner_text("body"))
    # 绩效填报's button: the figures of the configured period, and the flash saying so
    page.click("text=疾病应急救助")
    page.click("text=绩效填报")
    assert post(page, "button:has-text('生成绩效数据')") == 302
    page.wait_for_load_state()
    shot(page, "performance")
    assert "的绩效数据" in page.inner_text(".alert-success")
    no_raw_values(page.inner_text("body"))
    db.session.expire_all()
    item = db.session.get(ReliefApplication, pk)
    assert item.state == "disbursed" and str(item.disbursed_amount) == "100.00"


def test_the_task_select_of_the_report_review_shows_the_picked_task(browse, shot, ctx):
    tasks = dict(db.session.execute(select(ReliefReportTask.name, ReliefReportTask.id)).all())
    page = browse("ty_agency")
    page.click("text=疾病应急救助")
    page.click("text=上报数据浏览")
    with page.expect_navigation():
        page.select_option("#task", str(tasks["2026年上半年"]))
    assert f"task={tasks['2026年上半年']}" in page.url
    assert page.input_value("#task") == str(tasks["2026年上半年"])
    shot(page, "report-review")
    assert page.locator("#aggregate button, #aggregate-done").count() == 1
    no_raw_values(page.inner_text("body"))
