"""Screens of the module contract and the error contract, in Chromium, as their users click:
我的待办 built from every module's declaration; a refused form comes back with what was typed
and the message beside its field (422), a corrected one saves."""
import re

from tests.conftest import user

ENGLISH = re.compile(r"\b(True|False|None|Submit|Save|Cancel|Search|List|Edit|Delete)\b")


def visible_text(page):
    return page.inner_text("body")


def test_home_shows_every_modules_todos_and_the_hall_in_chinese(browse, ctx):
    page = browse("ty_hosp1")
    text = visible_text(page)
    assert "我的待办" in text and "疾病应急救助 · 待提交" in text and "工伤服务 · 待提交业务" in text
    assert "当前月已申报业务" in text                     # the 工伤 hall, a module's home panel
    assert not ENGLISH.search(text), ENGLISH.search(text)
    page.click("text=疾病应急救助 · 待提交")                # a to-do leads to its list
    assert "/relief/applications/list/" in page.url and "应急救助基金申请" in visible_text(page)


def test_a_refused_institution_form_keeps_what_was_typed(browse, shot, ctx):
    page = browse("xd_town1")
    page.click("text=基本公卫")
    page.click("text=机构信息上报")
    row = page.locator("tr", has_text="小店区北格镇张花村卫生室")
    row.locator("text=填报").click()
    page.fill("#contact", "刚输入的联系人")
    page.fill("#phone", "1391234567")                          # ten digits
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#save")
    assert posted.value.status == 422
    assert page.input_value("#contact") == "刚输入的联系人"
    assert page.input_value("#phone") == "1391234567"
    field = page.locator(".form-group.has-error", has=page.locator("#phone"))
    assert "手机号码应为11位" in field.inner_text()
    shot(page, "refused")
    page.fill("#phone", "13912345678")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#save")
    assert posted.value.status == 302
    assert "保存成功" in visible_text(page) and "/phs/institutions/list/" in page.url
    from app.extensions import db
    from app.models.phs import PhsInstitution
    db.session.expire_all()
    saved = db.session.execute(db.select(PhsInstitution).where(
        PhsInstitution.name == "小店区北格镇张花村卫生室")).scalar_one()
    assert (saved.contact, saved.phone) == ("刚输入的联系人", "13912345678")
    assert user("xd_town1").organization_id is not None
