"""基本公卫 screens in Chromium, as their users click them: a township fills its village
clinic with the page's own widgets (选择框, 全选, the coordinates), a position outside China
refused with everything typed kept and the message beside 经纬度, then saved and 上报; the
county passes a unit with the 全选 box of 机构信息审核 and attaches an existing institution
after a refused empty choice."""
import re

from sqlalchemy import select

from app.extensions import db
from app.models.phs import PhsInstitution
from tests.conftest import user

ENGLISH = re.compile(r"\b(True|False|None|UTC|Submit|Save|Cancel|Search|List|Edit|Delete|"
                     r"draft|submitted|approved|returned|pending)\b")


def menu(page, *labels):
    page.click(".navbar >> text=基本公卫")
    for label in labels:
        page.click(f".navbar >> text={label}")


def posted(page, selector):
    """Click a submit button; the status of the POST it sends (the page it leads to is
    loaded when this returns)."""
    asks = page.locator(selector).first.evaluate("e => !!e.closest('[data-confirm]')")
    with page.expect_navigation():
        with page.expect_response(lambda r: r.request.method == "POST") as response:
            page.click(selector)
            if asks:
                page.click("#portal-confirm-ok")  # the page's own 确定 / 取消 (portal.js)
    return response.value.status


def flash_text(page):
    return " ".join(page.locator(".alert").all_inner_texts())


def chinese_only(page):
    text = page.inner_text("body")
    assert not ENGLISH.search(text), ENGLISH.search(text)


def test_a_township_fills_its_clinic_after_a_refused_position_then_reports(browse, shot, ctx):
    page = browse("xd_town1")
    menu(page, "机构信息上报")
    page.locator("tr", has_text="小店区北格镇张花村卫生室").locator("text=填报").click()
    assert "尚缺" in page.inner_text("body")
    shot(page, "form")
    page.select_option("#inst_type", label="村卫生室")
    page.select_option("#sponsor", label="政府办")
    page.fill("#contact", "张医生")
    page.click("#services-all")                              # 全选: the 15 service items
    assert page.locator(".service-item:checked").count() == 15
    page.fill("#longitude", "12.5")                          # outside China
    page.fill("#latitude", "37.73")
    assert posted(page, "#save") == 422
    shot(page, "refused")
    chinese_only(page)
    assert page.input_value("#contact") == "张医生"
    assert page.input_value("#longitude") == "12.5"
    assert page.input_value("#inst_type") == "village_clinic"
    assert page.locator(".service-item:checked").count() == 15
    field = page.locator(".form-group.has-error", has=page.locator("#longitude"))
    assert "经纬度不在中国境内" in field.inner_text()
    assert "请检查填写的信息" in flash_text(page)
    page.fill("#longitude", "112.56")
    assert posted(page, "#save") == 302
    assert "/phs/institutions/list/" in page.url and "保存成功" in flash_text(page)
    shot(page, "saved")
    db.session.expire_all()
    saved = db.session.execute(select(PhsInstitution).where(
        PhsInstitution.name == "小店区北格镇张花村卫生室")).scalar_one()
    assert saved.is_complete and saved.inst_type == "village_clinic"
    assert saved.longitude == 112.56 and len(saved.service_codes) == 15
    # the report's own button (a small POST form): 上报, its flash and the new state
    assert posted(page, "form.inline-form button:has-text('上报')") == 302
    assert "上报成功，当前状态：已上报" in flash_text(page)
    shot(page, "reported")
    chinese_only(page)


def test_a_county_passes_a_unit_with_the_check_all_box(browse, shot, ctx):
    page = browse("xd_county")
    menu(page, "机构信息审核")
    row = page.locator("#review-table tr", has_text="小店区西温庄乡卫生院")
    assert "已上报" in row.inner_text()
    boxes = page.locator(".row-check")
    page.click("#review-table .phs-check-all")               # the header box ticks each row
    assert page.locator(".row-check:checked").count() == boxes.count() >= 2
    page.click("#review-table .phs-check-all")               # … and unticks them
    assert page.locator(".row-check:checked").count() == 0
    row.locator(".row-check").check()
    shot(page, "ticked")
    assert posted(page, ".well button:has-text('通过')") == 302
    assert "已通过 1 个" in flash_text(page)
    assert "通过" in page.locator("#review-table tr", has_text="小店区西温庄乡卫生院").inner_text()
    shot(page, "passed")
    chinese_only(page)


def test_a_county_attaches_an_institution_after_an_empty_choice(browse, shot, ctx):
    page = browse("xd_county")
    menu(page, "机构隶属关系维护")
    town1 = user("xd_town1").organization
    page.select_option("#superior", label=town1.name)
    assert posted(page, "button:has-text('保存')") == 422      # nothing ticked
    shot(page, "refused")
    chinese_only(page)
    assert page.input_value("#superior") == str(town1.id)
    assert "请至少选择一个机构" in page.locator(".has-error").first.inner_text()
    page.click("label:has-text('小店区黄陵乡卫生院')")
    page.select_option("#superior", label="小店区")
    assert posted(page, "button:has-text('保存')") == 302
    assert "已保存 1 个机构的上级机构" in flash_text(page)
    shot(page, "saved")
    db.session.expire_all()
    org = user("xd_town2").organization
    row = db.session.execute(select(PhsInstitution).where(
        PhsInstitution.source_org_id == org.id)).scalar_one()
    assert row.tier == "unit"
