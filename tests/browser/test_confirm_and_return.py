"""Issue 18 items 4 and 7 in Chromium: an irreversible action asks first in the page's own
Chinese dialog (确定 / 取消) — a row's 提交, the batch menu, the row's delete icon — 取消
changes nothing, 确定 does it and the browser is back on the same filtered list."""
from urllib.parse import unquote

from playwright.sync_api import expect

from app.extensions import db
from app.models.relief import ReliefApplication
from tests.conftest import make_application

LIST = "/relief/applications/list/"
DIALOG = "#portal-confirm"


def state(pk):
    db.session.expire_all()
    return db.session.get(ReliefApplication, pk).state


def asked(page):
    """The dialog now open: its question; its buttons read 确定 and 取消."""
    page.wait_for_selector(DIALOG, state="visible")
    expect(page.locator(DIALOG)).to_have_css("opacity", "1")     # faded in
    assert page.inner_text(f"{DIALOG} .modal-title") == "请确认"
    assert page.inner_text("#portal-confirm-ok") == "确定"
    assert page.inner_text("#portal-confirm-cancel") == "取消"
    return page.inner_text("#portal-confirm-text")


def cancel(page):
    page.click("#portal-confirm-cancel")
    page.wait_for_selector(DIALOG, state="hidden")


def confirm(page):
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("#portal-confirm-ok")
    assert posted.value.status == 302
    page.wait_for_load_state()


def filtered_list(page, name):
    url = f"{LIST}?_flt_0_patient_name={name}"
    page.goto(url)
    return url


def test_a_rows_submit_asks_first_then_comes_back_to_the_filtered_list(browse, shot, ctx):
    pk = make_application(patient_name="弹窗患者")
    page = browse("ty_hosp1")
    url = filtered_list(page, "弹窗患者")
    button = f"form[action$='/transition/submit/{pk}'] button"
    page.click(button)
    assert asked(page) == "确定要提交吗？"
    shot(page, "dialog")
    cancel(page)
    assert state(pk) == "draft" and unquote(page.url).endswith(url)
    page.click(button)
    asked(page)
    confirm(page)
    shot(page, "submitted")
    assert state(pk) == "submitted"
    assert unquote(page.url).endswith(url)
    assert "提交成功，当前状态：已提交" in page.inner_text(".alert-success")
    assert page.locator("tr", has_text="弹窗患者").count() == 1


def test_the_batch_menu_asks_first_and_says_when_nothing_is_ticked(browse, shot, ctx):
    a, b = make_application(patient_name="批量弹窗"), make_application(patient_name="批量弹窗")
    page = browse("ty_hosp1")
    url = filtered_list(page, "批量弹窗")
    page.click(".batch-actions .dropdown-toggle")
    page.click("a[data-batch=submit]")
    assert asked(page) == "请先勾选要提交的记录"
    page.click("#portal-confirm-ok")
    page.wait_for_selector(DIALOG, state="hidden")
    page.click("#check_all")
    page.click(".batch-actions .dropdown-toggle")
    page.click("a[data-batch=submit]")
    assert asked(page) == "确定要提交所选记录吗？"
    shot(page, "batch-dialog")
    cancel(page)
    assert {state(a), state(b)} == {"draft"}
    page.click(".batch-actions .dropdown-toggle")
    page.click("a[data-batch=submit]")
    asked(page)
    confirm(page)
    assert {state(a), state(b)} == {"submitted"}
    assert unquote(page.url).endswith(url)
    assert "已提交2条记录" in page.inner_text(".alert-success")


def test_the_rows_delete_icon_asks_in_chinese(browse, shot, ctx):
    pk = make_application(patient_name="删除弹窗")
    page = browse("ty_hosp1")
    url = filtered_list(page, "删除弹窗")
    page.click(f"form[action$='/applications/delete/{pk}'] button")
    assert asked(page) == "确定要删除这条记录吗？"
    shot(page, "delete-dialog")
    cancel(page)
    assert state(pk) == "draft"
    page.click(f"form[action$='/applications/delete/{pk}'] button")
    asked(page)
    confirm(page)
    assert state(pk) == "deleted"
    assert unquote(page.url).endswith(url)
    assert "删除成功" in page.inner_text(".alert-success")


def test_a_detail_page_shows_why_submit_is_not_offered(browse, shot, ctx):
    pk = make_application(patient_name="缺附件弹窗", with_files=False)
    page = browse("ty_hosp1")
    page.goto(f"/relief/applications/show/{pk}")
    refused = page.locator(".detail-transitions .refused-action")
    assert refused.locator("button").is_disabled()
    assert refused.locator("button").inner_text() == "提交"
    assert "请上传附件：病案首页或抢救记录或门诊记录、费用清单" in refused.inner_text()
    shot(page, "refused-submit")
    page.click(f"form[action$='/transition/delete/{pk}'] button")
    assert asked(page) == "确定要删除吗？"
    cancel(page)
    assert state(pk) == "draft"
