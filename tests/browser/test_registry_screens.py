"""医疗机构信息维护 in Chromium, as 太原市第一人民医院's maintainer (ty_maint): the menu to each
screen, the hand-written WTForms pages (医师护士信息, 机构信息维护, 新增协议) refused with what
was typed kept and the Chinese message beside its field (status 422), then corrected and
saved; 提交 on a staff row with its flash. The screens show no English, no raw codes, no
True/False and no UTC."""
import re

from sqlalchemy import select

from app.extensions import db
from app.models.registry import RegistryAgreement, RegistryStaff

ENGLISH = re.compile(r"\b(True|False|None|UTC|Submit|Save|Cancel|Search|List|Edit|Delete|"
                     r"draft|submitted|pending|coded|Not a valid)\b")

SAVE = "#registry-form button.btn-primary[type=submit]"     # not 查询 (the agency search)


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


def menu(page, entry):
    page.click("a.dropdown-toggle:has-text('机构信息维护')")
    page.click(f".dropdown-menu a:has-text('{entry}')")


def beside(page, field):
    """The text of the form group holding #field (label, input, message)."""
    return page.locator(".form-group", has=page.locator(f"#{field}")).last.inner_text()


def test_a_maintainer_adds_a_doctor_after_a_refused_id_number_and_submits_it(browse, shot,
                                                                              ctx):
    page = browse("ty_maint")
    menu(page, "医师护士信息维护")
    page.click("a:has-text('新增人员')")
    screen_text(page)
    page.fill("#name", "周强")
    page.fill("#id_number", "110101199003071234")            # the check digit should be 3
    page.check("#group-staff_type input[value='doctor']")
    page.fill("#cert_no", "110140000007777")
    assert posted(page, SAVE) == 422
    shot(page, "staff-refused")
    assert page.input_value("#name") == "周强"
    assert page.input_value("#id_number") == "110101199003071234"
    assert page.input_value("#cert_no") == "110140000007777"
    assert page.is_checked("#group-staff_type input[value='doctor']")
    assert "身份证号校验位错误" in beside(page, "id_number")
    screen_text(page)

    page.fill("#id_number", "110101199003071233")
    assert posted(page, SAVE) == 302
    assert "已保存“周强”，状态：待提交" in screen_text(page)
    shot(page, "staff-saved")

    row = page.locator("tr", has_text="1101**********1233")     # masked in the list
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        row.locator("button:has-text('提交')").click()
        page.click("#portal-confirm-ok")
    assert response.value.status == 302
    assert "提交成功，当前状态：待审核" in screen_text(page)
    shot(page, "staff-submitted")
    db.session.expire_all()
    staff = db.session.execute(select(RegistryStaff).where(
        RegistryStaff.id_number == "110101199003071233")).scalar_one()
    assert (staff.name, staff.staff_type, staff.state) == ("周强", "doctor", "submitted")


def test_a_maintainer_corrects_a_refused_phone_on_the_institution_form(browse, shot, ctx):
    page = browse("ty_maint")
    menu(page, "医疗机构信息维护")
    page.locator("tr", has_text="太原市第一人民医院").locator("a:has-text('维护')").click()
    page.wait_for_url("**/registry/institutions/maintain/**")
    page.wait_for_selector(".registry-region")
    # the three region selects side by side (registry.css), filled for the stored region
    assert page.eval_on_selector(".registry-region", "e => getComputedStyle(e).display") == \
        "flex"
    province, city = page.input_value("#province"), page.input_value("#city")
    assert province == "140000" and city == "140100"
    page.fill("#address", "山西省太原市解放南路99号")
    page.fill("#phone", "12345")
    assert posted(page, SAVE) == 422
    shot(page, "institution-refused")
    assert page.input_value("#address") == "山西省太原市解放南路99号"
    assert page.input_value("#phone") == "12345"
    assert (page.input_value("#province"), page.input_value("#city")) == (province, city)
    assert re.search(r"[\u4e00-\u9fff]", beside(page, "phone").replace("联系电话", ""))
    screen_text(page)

    page.fill("#phone", "0351-4960001")
    assert posted(page, SAVE) == 302
    assert "已保存" in screen_text(page)
    assert "0351-4960001" in screen_text(page)
    shot(page, "institution-saved")


def test_a_maintainer_adds_an_agreement_after_a_refused_date_order(browse, shot, ctx):
    page = browse("ty_maint")
    menu(page, "医疗机构定点协议管理")
    page.click("a:has-text('新增协议')")
    assert page.get_attribute("#start_date", "data-picker") == "date"
    page.locator("#group-agency_org_id input[type=radio]").first.check()
    page.fill("#agreement_no", "TY-浏览器-001")
    page.select_option("#agreement_type", "service")
    page.fill("#start_date", "2027-01-01")
    page.fill("#end_date", "2026-12-31")
    page.keyboard.press("Escape")        # the date picker closes, off the 保存 button
    assert posted(page, SAVE) == 422
    shot(page, "agreement-refused")
    assert page.input_value("#agreement_no") == "TY-浏览器-001"
    assert page.input_value("#start_date") == "2027-01-01"
    assert page.input_value("#end_date") == "2026-12-31"
    assert page.locator("#group-agency_org_id input[type=radio]:checked").count() == 1
    assert "协议结束日期不能早于开始日期" in beside(page, "end_date")
    screen_text(page)

    page.fill("#end_date", "2029-12-31")
    page.keyboard.press("Escape")        # the date picker closes, off the 保存 button
    assert posted(page, SAVE) == 302
    assert "协议已保存，状态：待确认" in screen_text(page)
    shot(page, "agreement-saved")
    db.session.expire_all()
    saved = db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.agreement_no == "TY-浏览器-001")).scalar_one()
    assert saved.state == "pending" and str(saved.end_date) == "2029-12-31"


def test_the_agency_search_keeps_the_agreement_form_and_the_url_clean(browse, shot, ctx):
    """Issue 23 item 1: 查询 for the 医保部门 of another region, then 保存 — nothing typed is
    lost and neither the form nor the CSRF token goes into the URL."""
    page = browse("ty_maint")
    menu(page, "医疗机构定点协议管理")
    page.click("a:has-text('新增协议')")
    page.fill("#agreement_no", "TY-查询-001")
    page.select_option("#agreement_type", "service")
    page.fill("#start_date", "2027-01-01")
    page.fill("#end_date", "2027-12-31")
    page.keyboard.press("Escape")
    page.select_option("#agency_region", "140800")
    page.click("#agency-search")
    page.wait_for_selector("#group-agency_org_id input[type=radio]")
    shot(page, "agreement-after-search")
    assert "?" not in page.url and "csrf" not in page.url
    assert page.input_value("#agreement_no") == "TY-查询-001"
    assert page.input_value("#start_date") == "2027-01-01"
    labels = page.inner_text("#group-agency_org_id")
    assert "运城市医疗保障局" in labels and "经办机构（" not in labels
    assert "疾病应急救助" not in labels
    page.locator("#group-agency_org_id input[type=radio]").first.check()
    assert posted(page, SAVE) == 302
    assert "协议已保存，状态：待确认" in screen_text(page)
    db.session.expire_all()
    saved = db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.agreement_no == "TY-查询-001")).scalar_one()
    assert saved.agency.name == "运城市医疗保障局" and str(saved.start_date) == "2027-01-01"
