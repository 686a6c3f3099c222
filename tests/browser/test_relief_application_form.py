"""新增 应急救助基金申请 in Chromium, as a hospital clerk: the page's own widgets (选择框,
the portal's date-time picker), a wrong ID number refused with everything typed kept, then
saved (issue 18's "a clerk could not save a relief application")."""
from sqlalchemy import select

from app.extensions import db
from app.models.relief import ReliefApplication


def fill_application(page, id_number):
    page.select_option("#category", "unable_to_pay")
    page.fill("#patient_name", "浏览器患者")
    page.select_option("#gender", "1")
    page.fill("#id_number", id_number)
    page.fill("#household_address", "山西省太原市小店区")
    page.fill("#relief_place", "急诊科")
    page.fill("#start_at", "2026-11-01 08:00:00")
    page.fill("#end_at", "2026-11-03 18:30:00")
    page.select_option("#disease", index=1)
    for field, value in (("emergency_cost", "100.00"), ("medical_cost", "1000.50"),
                         ("living_cost", "199.50"), ("requested_amount", "1200.00")):
        page.fill(f"#{field}", value)


def save(page):
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("form button[type=submit]")
    return posted.value.status


def test_a_clerk_saves_a_new_application_after_a_refused_id_number(browse, shot, ctx):
    page = browse("ty_hosp1")
    page.click("text=疾病应急救助")
    page.click("text=应急救助基金申请")
    page.click("a[href*='/relief/applications/add']")
    assert page.get_attribute("#start_at", "data-picker") == "datetime"
    fill_application(page, "110105194912310021")            # wrong check digit
    assert save(page) == 422
    shot(page, "refused")
    assert page.input_value("#patient_name") == "浏览器患者"
    assert page.input_value("#start_at") == "2026-11-01 08:00:00"
    assert page.input_value("#medical_cost") == "1000.50"
    field = page.locator(".form-group, tr", has=page.locator("#id_number")).last
    assert "校验位错误" in field.inner_text()
    page.fill("#id_number", "11010519491231002X")
    assert save(page) == 302
    shot(page, "saved")
    assert "/relief/applications/" in page.url
    db.session.expire_all()
    saved = db.session.execute(select(ReliefApplication).where(
        ReliefApplication.patient_name == "浏览器患者")).scalar_one()
    assert saved.state == "draft" and saved.id_number == "11010519491231002X"
    assert saved.start_at.strftime("%Y-%m-%d %H:%M") == "2026-11-01 08:00"
    assert saved.end_at.strftime("%Y-%m-%d %H:%M") == "2026-11-03 18:30"
    assert str(saved.requested_amount) == "1200.00"
