"""工伤定点医疗机构服务 in Chromium, as 太原市第一人民医院's clerk (ty_hosp1): the menu to
工伤保险业务, the person looked up by ID number, 职工康复申请 with the browser's own date
inputs — dates in the wrong order refused (422, everything typed kept, the message beside
结束日期), then saved — and 我的待提交业务's buttons: 提交 refused for missing materials,
删除 after the page's own confirmation, each with its flash. And 马上注册, public: the
region selects cascading, a wrong USCC refused beside its field, then registered."""
from sqlalchemy import select

from app.extensions import db
from app.models.core import Organization
from app.models.injury import InjuryDeclaration
from app.services.validators import _uscc_check_char
from tests.injury.injury_support import determination


def menu(page, entry):
    page.click("a.dropdown-toggle:has-text('工伤服务')")
    page.click(f".dropdown-menu a:has-text('{entry}')")


def posted(page, click):
    asks = page.locator(click).first.evaluate("e => !!e.closest('[data-confirm]')")
    with page.expect_response(lambda r: r.request.method == "POST") as response:
        page.click(click)
        if asks:
            page.click("#portal-confirm-ok")      # the page's own 确定 / 取消 (portal.js)
    page.wait_for_load_state()
    return response.value.status


def group_text(page, field):
    return page.locator(".form-group", has=page.locator(f"#{field}")).last.inner_text()


def flash_text(page):
    return " ".join(page.locator(".alert").all_inner_texts())


def test_a_clerk_declares_rehab_after_refused_dates_and_uses_the_pending_buttons(browse, shot,
                                                                                ctx):
    det = determination(name="浏览器职工")
    page = browse("ty_hosp1")
    shot(page, "hall")              # a designated hospital's home page is its service hall
    assert page.locator("#hall-month").is_visible()
    menu(page, "工伤保险业务")
    page.fill("#id_number", det.id_number)
    page.click("#lookup-form button[type=submit]")
    assert det.determination_no in page.inner_text("#determinations")
    shot(page, "lookup")
    page.click("#business-menu button:has-text('职工康复申请')")
    assert page.get_attribute("#start_date", "data-picker") == "date"
    assert page.input_value("#det-person") == "浏览器职工"
    page.fill("#rehab_items", "运动疗法、作业疗法")
    page.fill("#start_date", "2026-11-10")
    page.fill("#end_date", "2026-11-01")
    page.fill("#rehab_institution", "山西省工伤康复中心")
    page.fill("#opinion", "建议康复治疗")
    assert posted(page, "#save") == 422
    shot(page, "refused")
    assert page.input_value("#rehab_items") == "运动疗法、作业疗法"
    assert page.input_value("#start_date") == "2026-11-10"
    assert page.input_value("#end_date") == "2026-11-01"
    assert page.input_value("#rehab_institution") == "山西省工伤康复中心"
    assert "康复结束日期不能早于开始日期" in group_text(page, "end_date")
    assert "请检查填写的信息" in flash_text(page)

    page.fill("#end_date", "2026-11-30")
    assert posted(page, "#save") == 302
    shot(page, "saved")
    assert "保存成功" in flash_text(page) and "/injury/declare/edit/" in page.url
    db.session.expire_all()
    saved = db.session.execute(select(InjuryDeclaration).where(
        InjuryDeclaration.determination_id == det.id)).scalar_one()
    assert (saved.kind, saved.state, str(saved.end_date)) == ("rehab", "draft", "2026-11-30")

    menu(page, "我的待提交业务")
    row = page.locator("tr", has=page.locator(f"input[name=ids][value='{saved.id}']"))
    row.locator("input[name=ids]").check()
    assert posted(page, "#pending-submit") == 409
    shot(page, "submit-refused")
    assert "缺少电子材料" in flash_text(page) and "康复治疗方案" in flash_text(page)

    row = page.locator("tr", has=page.locator(f"input[name=ids][value='{saved.id}']"))
    assert row.locator("input[name=ids]").is_checked()      # a refused batch keeps the ticks
    assert posted(page, "#pending-delete") == 302
    shot(page, "deleted")
    assert "已删除1条业务" in flash_text(page)
    db.session.expire_all()
    assert db.session.get(InjuryDeclaration, saved.id).state == "deleted"


def uscc(serial):
    body = f"12140100MB{serial:07d}"
    return body + _uscc_check_char(body)


def test_a_hospital_registers_after_a_refused_uscc(browse, chromium, live_server, shot, ctx):
    # `browse` switches CSRF on as for every browser test; registration needs no login.
    context = chromium.new_context(base_url=live_server, locale="zh-CN",
                                   timezone_id="Asia/Shanghai",
                                   viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto("/login/")
        page.click("a:has-text('马上注册')")
        page.fill("#name", "浏览器工伤医院")
        good = uscc(4242)
        page.fill("#uscc", good[:-1] + ("0" if good[-1] != "0" else "1"))
        page.select_option("#province", "140000")
        page.wait_for_selector("#city option[value='140100']", state="attached")
        page.select_option("#city", "140100")
        page.wait_for_selector("#county:not(.hidden) option[value='140105']", state="attached")
        page.select_option("#county", "140105")
        page.fill("#contact", "李明")
        page.fill("#phone", "13912340000")
        page.fill("#username", "浏览器工伤医院")
        page.fill("#password", "Reg@2026x")
        page.fill("#confirm", "Reg@2026x")
        shot(page, "register-filled")
        assert posted(page, "#injury-register button[type=submit]") == 422
        shot(page, "register-refused")
        assert "统一社会信用代码校验位错误" in group_text(page, "uscc")
        assert page.input_value("#name") == "浏览器工伤医院"
        assert page.input_value("#county") == "140105"
        page.fill("#uscc", good)
        page.fill("#password", "Reg@2026x")
        page.fill("#confirm", "Reg@2026x")
        assert posted(page, "#injury-register button[type=submit]") == 302
        shot(page, "registered")
        assert "医疗机构网上服务已开通" in page.inner_text("body")
        db.session.expire_all()
        org = db.session.execute(select(Organization).where(
            Organization.uscc == good)).scalar_one()
        assert (org.name, org.region.code) == ("浏览器工伤医院", "140105")
    finally:
        context.close()
