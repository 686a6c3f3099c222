"""The shared screen layer's buttons (issue 18 items 4, 7, 8), through HTTP on the demo:
every POST button asks first in Chinese, every action comes back to the list it was used on
(filters, page), a row that cannot be edited has no edit or delete icon, and a detail page
shows a transition its guard refuses disabled, with the reason."""
import html
import re
from urllib.parse import unquote

from sqlalchemy import select

from app.extensions import db
from app.models.relief import ReliefApplication
from tests.conftest import make_application
from tests.relief.relief_support import apply_steps, disbursed_application, in_period, \
    make_report, new_task

LIST = "/relief/applications/list/"


def page_of(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, r.location)
    return html.unescape(r.get_data(as_text=True))


def location(response):
    assert response.status_code == 302, response.status_code
    return unquote(response.location)


def form_tag(page, action_end):
    found = re.search(r'<form[^>]*action="[^"]*%s"[^>]*>' % re.escape(action_end), page)
    assert found, action_end
    return found.group(0)


def test_a_row_button_asks_in_chinese_and_carries_the_list_it_is_on(login_as, ctx):
    pk = make_application(patient_name="确认患者")
    c = login_as("ty_hosp1")
    url = LIST + "?_flt_0_patient_name=确认患者&psize_ReliefApplicationView=10"
    page = page_of(c, url)
    tag = form_tag(page, f"/transition/submit/{pk}")
    assert 'data-confirm="确定要提交吗？"' in tag
    after = page[page.index(tag):]
    next_value = re.search(r'name="next" value="([^"]*)"', after).group(1)
    assert next_value.startswith(LIST) and "确认患者" in next_value
    # the row's delete icon and the batch menu ask too, in Chinese
    assert 'data-confirm="确定要删除这条记录吗？"' in form_tag(page, f"/applications/delete/{pk}")
    assert 'data-confirm-text="确定要提交所选记录吗？"' in page
    assert "请先勾选要提交的记录" in page


def test_the_dialogs_and_logout_read_in_chinese(login_as):
    page = page_of(login_as("ty_hosp1"), LIST)
    dialog = page[page.index('id="portal-confirm"'):]
    assert "请确认" in dialog and ">取消<" in dialog and ">确定<" in dialog
    fab_dialog = page[page.index('id="modal-confirm"'):]
    assert ">取消<" in fab_dialog and "Cancel" not in fab_dialog and ">OK<" not in page
    assert page.count('id="modal-confirm"') == 1
    assert re.search(r'<a href="/logout/?" data-confirm="确定要退出系统吗？"', page)
    assert "portal.js" in page


def test_a_row_action_comes_back_to_the_filtered_list(login_as, ctx):
    pk = make_application(patient_name="返回患者")
    c = login_as("ty_hosp1")
    back = LIST + "?_flt_0_patient_name=返回患者&page_ReliefApplicationView=0"
    r = c.post(f"/relief/applications/transition/submit/{pk}", data={"next": back})
    assert location(r) == back
    db.session.expire_all()
    assert db.session.get(ReliefApplication, pk).state == "submitted"
    # another site's address is never followed: the list instead
    for evil in ("//evil.example/x", "https://evil.example/x", "/\\evil.example", "javascript:x"):
        pk = make_application(patient_name="外站患者")
        r = c.post(f"/relief/applications/transition/submit/{pk}", data={"next": evil})
        assert location(r) == "/relief/applications/list/", (evil, r.location)


def test_a_batch_comes_back_to_the_list_it_was_sent_from(login_as, ctx):
    a, b = make_application(patient_name="批量甲"), make_application(patient_name="批量乙")
    c = login_as("ty_hosp1")
    c.get("/")                                  # FAB's history: home, then the list
    back = LIST + "?_flt_0_patient_name=批量"
    c.get(back)
    r = c.post("/relief/applications/action_post",
               data={"action": "submit", "rowid": [a, b], "next": back})
    assert location(r) == back
    db.session.expire_all()
    assert {db.session.get(ReliefApplication, pk).state for pk in (a, b)} == {"submitted"}


def test_an_opinion_form_returns_to_the_list_it_was_opened_from(app, login_as, ctx):
    task = new_task("返回任务")
    in_period(disbursed_application("ty_hosp1"))
    rid = make_report(login_as("ty_hosp1"), "ty_hosp1", task)
    agency = login_as("ty_agency")
    back = f"/relief/report-review/list/?task={task}"
    listing = page_of(agency, back)
    link = re.search(r'href="([^"]*/transition/send_back/%s\?next=[^"]*)"' % rid, listing)
    assert link, "退回 opens its opinion form with the list it is on"
    form = page_of(agency, link.group(1))
    assert f'name="next" value="{back}"' in form
    assert re.search(r'<a class="btn btn-default" href="%s">取消</a>' % re.escape(back), form)
    assert 'data-confirm="确定要退回吗？"' in form
    r = agency.post(f"/relief/report-review/transition/send_back/{rid}",
                    data={"comment": "请核对", "next": back})
    assert location(r) == back


def test_rows_that_cannot_be_edited_have_no_edit_or_delete_icon(login_as, ctx):
    draft = make_application(patient_name="图标草稿")
    sent = make_application(patient_name="图标已提交")
    apply_steps(sent, "submit")
    page = page_of(login_as("ty_hosp1"), LIST + "?_flt_0_patient_name=图标")
    assert f"/relief/applications/edit/{draft}" in page
    assert f"/relief/applications/delete/{draft}" in page
    assert f"/relief/applications/show/{sent}" in page
    assert f"/relief/applications/edit/{sent}" not in page
    assert f"/relief/applications/delete/{sent}" not in page


def test_a_detail_page_shows_a_refused_submit_with_its_reason(login_as, ctx):
    pk = make_application(patient_name="缺附件患者", with_files=False)
    page = page_of(login_as("ty_hosp1"), f"/relief/applications/show/{pk}")
    refused = re.search(r'<span class="refused-action">(.*?)</span>', page, re.S)
    assert refused, "提交 is shown, disabled"
    assert "disabled" in refused.group(1) and ">提交<" in refused.group(1)
    assert "请上传附件：病案首页或抢救记录或门诊记录、费用清单" in refused.group(1)
    assert f"/transition/submit/{pk}" not in page
    # 删除 stays offered, and asks first
    assert 'data-confirm="确定要删除吗？"' in form_tag(page, f"/transition/delete/{pk}")


def test_another_roles_transition_is_not_shown_disabled(login_as, ctx):
    pk = make_application(patient_name="他人审核")
    apply_steps(pk, "submit")
    page = page_of(login_as("ty_hosp1"), f"/relief/applications/show/{pk}")
    assert "审核通过" not in page and 'class="refused-action"' not in page
    assert 'data-confirm="确定要撤回吗？"' in form_tag(page, f"/transition/withdraw/{pk}")
    assert db.session.execute(select(ReliefApplication.state).where(
        ReliefApplication.id == pk)).scalar() == "submitted"


def test_a_review_form_returns_to_the_list_it_was_opened_from(login_as, ctx):
    pk = make_application(patient_name="审核返回")
    apply_steps(pk, "submit")
    agency = login_as("ty_agency")
    back = "/relief/review/list/?_flt_0_patient_name=审核返回"
    link = re.search(r'href="([^"]*/relief/review/review/%s\?next=[^"]*)"' % pk,
                     page_of(agency, back))
    assert link, "审核 opens its form with the list it is on"
    form = page_of(agency, link.group(1))
    assert f'name="next" value="{back}"' in form
    assert 'data-confirm="确定要审核通过吗？"' in form
    r = agency.post(f"/relief/review/review/{pk}",
                    data={"transition": "approve", "poverty": "1", "comment": "同意",
                          "next": back})
    assert location(r) == back
    db.session.expire_all()
    assert db.session.get(ReliefApplication, pk).state == "approved"
