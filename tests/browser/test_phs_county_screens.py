"""基本公卫 in Chromium, the county's side (issue 22): a unit added by mistake is refused when
it exists, added with a new name (its account slip shows login and initial password),
deleted from the list with the page's own confirmation; a 修改 request opens with the
institution's current values, and its review at the province reads labels, not codes."""
from sqlalchemy import select

from app.extensions import db
from app.models.core import User
from app.models.phs import PhsInstitution
from app.services.parameters import param
from test_phs_screens import chinese_only, flash_text, menu, posted
from app.workflows.engine import apply
from app.workflows.phs import PhsChangeRequestFlow
from tests.conftest import user


def test_a_county_adds_a_unit_prints_its_slip_and_deletes_it(app, browse, shot, ctx):
    page = browse("xd_county")
    menu(page, "机构信息上报")
    page.click("a:has-text('新增')")
    page.fill("#name", "小店区西温庄乡卫生院")                 # exists already
    page.fill("#township", "西温庄乡")
    assert posted(page, "#save") == 422
    assert "本县已有“小店区西温庄乡卫生院”" in page.inner_text("body")
    page.fill("#name", "小店区测试乡卫生院")
    page.fill("#township", "测试乡")
    assert posted(page, "#save") == 302
    with app.app_context():
        password = param("initial_password")
    slip = page.inner_text("#account-slip")
    assert "小店区测试乡卫生院" in slip and password in slip and "首次登录须修改密码" in slip
    shot(page, "slip")
    chinese_only(page)
    menu(page, "机构信息上报")
    assert password in page.inner_text("#county-units")
    assert posted(page, f"tr:has-text('小店区测试乡卫生院') button:has-text('删除')") == 302
    assert "已删除“小店区测试乡卫生院”，其账号已停用" in flash_text(page)
    shot(page, "deleted")
    db.session.expire_all()
    added = db.session.execute(select(PhsInstitution).where(
        PhsInstitution.name == "小店区测试乡卫生院")).scalar_one()
    assert added.deleted and not db.session.execute(select(User.active).where(
        User.organization_id == added.organization_id)).scalar_one()


def test_a_modify_request_amends_and_its_review_reads_labels(browse, shot, ctx):
    page = browse("yh_county")
    page.goto("/phs/changes/new")
    page.select_option("#kind", "modify")
    target = db.session.execute(select(PhsInstitution).where(
        PhsInstitution.name == "盐湖区龙居镇龙居村卫生室")).scalar_one()
    before = list(target.service_codes)
    with page.expect_navigation():
        page.select_option("#institution", str(target.id))   # loads its current values
    assert page.input_value("#contact") == "联系人42"
    ticked = page.locator(".service-item:checked").count()
    assert ticked == len(target.service_codes)
    page.select_option("#inst_type", "community_station")
    page.check(".service-item[value='09']")
    page.fill("#reason", "村卫生室改设为社区卫生服务站")
    assert posted(page, "button:has-text('提交申请')") == 302
    assert "申请修改已提交至运城市卫生健康委员会" in flash_text(page)
    change = db.session.execute(select(PhsChangeRequestFlow.model).where(
        PhsChangeRequestFlow.model.institution_id == target.id)).scalar_one()
    apply(PhsChangeRequestFlow, change, "forward", user("yc_hc"), {})
    province = browse("sx_hc")
    province.goto(f"/phs/changes/review/{change.id}")
    table = province.inner_text("#comparison")
    assert "村卫生室" in table and "社区卫生服务站" in table and "严重精神障碍患者管理" in table
    assert "village_clinic" not in table and "联系人42" not in table
    shot(province, "review")
    chinese_only(province)
    province.fill("#comment", "同意")
    assert posted(province, "#change-review-form button:has-text('审核通过')") == 302
    db.session.expire_all()
    merged = db.session.get(PhsInstitution, target.id)
    assert merged.inst_type == "community_station" and "09" in merged.service_codes
    assert merged.service_codes == sorted(before + ["09"])     # amended, nothing lost
