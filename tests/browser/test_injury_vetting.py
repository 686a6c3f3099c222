"""工伤 in Chromium (issue 21 items 1 and 5): the agency approves a self-registered hospital
on 定点医疗机构审核 (the page's own confirmation), and that hospital's clerk looks up a
person with two determinations — none pre-selected, the business buttons disabled until the
放大镜 and a choice, then the chosen determination's form."""
from sqlalchemy import select

from app.extensions import db
from app.models.injury import InjuryHospital
from app.services.injury import commands
from tests.browser.test_injury_screens import flash_text, menu, posted
from tests.injury.injury_support import determination, id_number
from tests.injury.test_injury_register import GOOD_PASSWORD, form, uscc


def test_the_agency_approves_a_new_hospital_whose_clerk_then_picks_a_determination(
        browse, shot, ctx):
    username = "浏览器定点医院"
    org, _user = commands.register(form(name="浏览器定点医院", uscc=uscc(7301),
                                        username=username))        # 马上注册 (its own test)
    hospital = db.session.execute(select(InjuryHospital).where(
        InjuryHospital.organization_id == org.id)).scalar_one()
    assert hospital.state == "pending"

    page = browse("ty_agency")
    menu(page, "定点医疗机构审核")
    row = page.locator("tr", has_text="浏览器定点医院")
    assert "待审核" in row.inner_text()
    shot(page, "agency-list")
    row_button = "tr:has-text('浏览器定点医院') button:has-text('审核通过')"
    assert posted(page, row_button) == 302
    assert "审核通过成功" in flash_text(page)
    db.session.expire_all()
    assert db.session.get(InjuryHospital, hospital.id).state == "approved"

    number = id_number("14010519800101004")
    first, second = determination(number=number), determination(number=number)
    page = browse(username, GOOD_PASSWORD)
    menu(page, "工伤保险业务")
    page.fill("#id_number", f"{number[:6]} {number[6:]}")
    page.click("#lookup-form button[type=submit]")
    shot(page, "two-determinations")
    assert page.locator("input[name=determination]:checked").count() == 0
    relapse = "#business-menu button:has-text('旧伤复发治疗申请')"
    assert page.locator(relapse).is_disabled()
    page.click("#pick-determination")
    page.check(f"input[name=determination][value='{second.id}']")
    assert page.locator(relapse).is_enabled()
    page.click(relapse)
    assert page.input_value("#det-no") == second.determination_no != first.determination_no
