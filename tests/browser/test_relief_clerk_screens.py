"""疾病应急救助 screens followed as the manual's clerks do (issue 19): 新增上报数据 from the
数据上报 list, the report edit form keeping the fen, 提交 shown disabled with its reason; a new
application with its photo and attachments chosen on the form; 评价 opening the
application's evaluations."""
import io

from PIL import Image
from sqlalchemy import select

from app.demo import demo_zip
from app.extensions import db
from app.models.relief import (ReliefApplication, ReliefEvaluation, ReliefReport,
                               ReliefReportTask)
from tests.browser.test_relief_application_form import fill_application, save
from tests.conftest import user
from tests.relief.relief_support import disbursed_application


def png():
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), "blue").save(buf, "PNG")
    return buf.getvalue()


def test_a_clerk_reports_with_the_fen_kept_and_sees_why_submit_waits(browse, shot, ctx):
    page = browse("ty_hosp1")
    page.click("text=疾病应急救助")
    page.click("text=数据上报")
    page.click("a:has-text('新增上报数据')")
    page.select_option("#task_id", label=page.locator(
        "#task_id option", has_text="2026年下半年").inner_text())
    page.click("#report-new-form button[type=submit]")          # 数据提取
    page.wait_for_load_state()
    db.session.expire_all()
    report = db.session.execute(select(ReliefReport).join(ReliefReportTask).where(
        ReliefReport.organization_id == user("ty_hosp1").organization_id,
        ReliefReportTask.name == "2026年下半年")).scalar_one()
    report.amount_requested = report.amount_requested + type(report.amount_requested)("0.50")
    db.session.commit()
    expected = str(report.amount_requested)
    page.goto(f"/relief/reports/edit/{report.id}")
    shot(page, "report-edit")
    assert page.input_value("#amount_requested") == expected      # with its fen
    page.fill("#amount_recovered", "1200.00")
    assert save(page) == 302
    db.session.expire_all()
    saved = db.session.get(ReliefReport, report.id)
    assert str(saved.amount_requested) == expected and str(saved.amount_recovered) == "1200.00"
    page.goto("/relief/reports/list/")
    row = page.locator("tr", has_text="2026年下半年")
    button = row.locator("button:has-text('提交')")
    assert button.is_disabled() and "结束后才能提交" in row.inner_text()
    shot(page, "report-list")


def test_a_clerk_adds_the_photo_and_attachments_on_the_application_form(browse, shot, ctx):
    page = browse("ty_hosp1")
    page.click("text=疾病应急救助")
    page.click("text=应急救助基金申请")
    page.click("a:has-text('新增申请')")
    fill_application(page, "11010519491231002X")
    page.fill("#phone", "abc")
    page.set_input_files("#photo", files=[{"name": "患者照片.png", "mimeType": "image/png",
                                           "buffer": png()}])
    assert save(page) == 422                                       # the phone
    assert "联系电话格式无效" in page.locator(".form-group, tr",
                                              has=page.locator("#phone")).last.inner_text()
    page.fill("#phone", "0351-1234567")
    page.set_input_files("#photo", files=[{"name": "患者照片.png", "mimeType": "image/png",
                                           "buffer": png()}])
    for slot in ("medical_record", "cost_list"):
        page.set_input_files(f"#{slot}", files=[{"name": f"{slot}.zip",
                                                 "mimeType": "application/zip",
                                                 "buffer": demo_zip(slot).read()}])
    shot(page, "application-form")
    assert save(page) == 302
    page.wait_for_load_state()
    db.session.expire_all()
    item = db.session.execute(select(ReliefApplication).where(
        ReliefApplication.patient_name == "浏览器患者")).scalar_one()
    assert item.phone == "0351-1234567"
    thumb = page.locator(f"tr:has(a[href$='/relief/applications/show/{item.id}']) img")
    assert thumb.count() == 1                                      # the photo in the list
    page.goto(f"/relief/applications/show/{item.id}")
    assert page.locator("a.attachment-preview img").count() == 1
    shot(page, "application-show")
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.click("#remove-files li:has-text('cost_list.zip') button")
        page.click("#portal-confirm-ok")
    page.wait_for_load_state()
    assert "已删除附件：cost_list.zip" in page.inner_text(".alert-success")


def test_evaluate_opens_the_applications_evaluations(browse, shot, ctx):
    pk = disbursed_application(patient_name="评价患者")
    page = browse("ty_agency")
    page.click("text=疾病应急救助")
    page.click("text=救助申请审核")
    row = f"tr:has(a[href$='/relief/review/show/{pk}'])"
    page.click(f"{row} a:has-text('评价')")
    assert "暂无评价" in page.inner_text("#evaluations")
    page.click("a:has-text('新增评价')")
    page.fill("#score", "95")
    page.fill("#content", "救治及时")
    assert save(page) == 302
    page.wait_for_load_state()
    shot(page, "evaluations")
    assert "救治及时" in page.inner_text("#evaluations")
    assert page.locator("#evaluation-actions button:has-text('新增评价')").is_disabled()
    page.click("a:has-text('返回')")
    page.wait_for_load_state()
    assert "/relief/review/list" in page.url
    assert page.locator(f"{row} a:has-text('评价')").count() == 0
    db.session.expire_all()
    assert db.session.execute(select(ReliefEvaluation.score).where(
        ReliefEvaluation.application_id == pk)).scalar() == 95
