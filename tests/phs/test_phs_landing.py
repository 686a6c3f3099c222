"""基本公卫: where each action lands and what each screen offers (issue 22 items 7–10, 12):
a unit's to-do with the reason it was sent back, 确认并上报 from 机构信息审核 staying there,
the refusal shown once, the county's own node open in 上报进度, no checkbox a batch would
refuse, and the 申请修改 list and review (审核通过 only where allowed, the new institution's
name, 提交申请修改 in the history, an opinion on 审核通过, the county's 撤回申请)."""
import re

from sqlalchemy import select

from app.extensions import db
from app.models.phs import PhsChangeRequest
from app.services.phs import queries
from tests.conftest import flashes
from phs_flow_support import (GOOD, demo_change, fire, inst, org_of, request_change,
                              xiaodian_reported, xiaodian_settled, xiaodian_units_ready)
from app.workflows.phs import PhsChangeRequestFlow


def text(r):
    return r.get_data(as_text=True)


def test_a_unit_sent_back_sees_it_on_its_to_dos_with_the_reason(login_as, ctx):
    ljb = inst("小店区刘家堡乡卫生院").organization_id
    page = text(login_as(queries.login_names([ljb])[ljb]).get("/"))
    assert re.search(r">1</div><a [^>]*>基本公卫 · 不通过的机构信息（原因：经纬度有误，请核实后重新上报）",
                     page)


def test_confirm_from_the_review_screen_stays_there(login_as, ctx):
    xiaodian_units_ready()
    xiaodian_settled()
    r = login_as("xd_county").post("/phs/institutions/report/confirm",
                                   data={"next": "/phs/review/"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/phs/review/")


def test_a_refused_confirm_is_said_once(login_as, ctx):
    r = login_as("xd_county").post("/phs/institutions/report/confirm",
                                   data={"next": "/phs/institutions/list/"}, follow_redirects=True)
    assert text(r).count("尚未确定上级机构") == 1


def test_the_countys_own_node_is_open_in_the_progress_tree(login_as, ctx):
    page = text(login_as("xd_county").get("/phs/progress/"))
    assert re.search(r"<details open>\s*<summary>\s*<strong>小店区卫生健康局</strong>", page)


def test_no_checkbox_on_rows_a_batch_would_refuse(login_as, ctx):
    xiaodian_reported()
    page = text(login_as("xd_county").get("/phs/review/"))
    assert 'class="row-check"' not in page


# ---- 申请修改 ------------------------------------------------------------------------------------
def test_approve_is_offered_only_where_the_data_is_held(login_as, ctx):
    change = demo_change()                  # waits at 运城市, whose data is with the province
    page = text(login_as("yc_hc").get("/phs/changes/list/"))
    assert "逐级上报" in page and "审核通过" not in page
    fire(PhsChangeRequestFlow, change, "forward", "yc_hc")
    assert "审核通过" in text(login_as("sx_hc").get("/phs/changes/list/"))


def test_an_add_request_shows_the_new_name_and_is_logged_as_a_request(login_as, ctx):
    change = request_change({"kind": "add", "content": {
        **GOOD, "name": "盐湖区龙居镇新村卫生室", "code": "PDY0009914010511A1001",
        "superior": inst("盐湖区龙居镇卫生院").organization_id}})
    c = login_as("yc_hc")
    assert "盐湖区龙居镇新村卫生室" in text(c.get("/phs/changes/list/"))
    page = text(c.get(f"/phs/changes/show/{change.id}"))
    assert "提交申请修改" in page and "新增“盐湖区龙居镇新村卫生室”：核实后申请" in page


def test_approve_carries_an_opinion_and_goes_back_to_the_list(login_as, ctx):
    change = demo_change()
    fire(PhsChangeRequestFlow, change, "forward", "yc_hc")
    c = login_as("sx_hc")
    back = "/phs/changes/list/?_flt_0_state=pending"
    page = text(c.get(f"/phs/changes/review/{change.id}?next={back}"))
    assert 'name="comment"' in page and f'name="next" value="{back}"' in page
    r = c.post(f"/phs/changes/review/{change.id}",
               data={"transition": "approve", "comment": "同意调整", "next": back})
    assert r.status_code == 302 and r.headers["Location"].endswith(back)
    db.session.expire_all()
    done = db.session.get(PhsChangeRequest, change.id)
    assert (done.state, done.review_opinion) == ("approved", "同意调整")
    assert inst("盐湖区龙居镇卫生院").contact == "李红"


def test_the_county_withdraws_its_pending_request(login_as, ctx):
    change = demo_change()
    assert login_as("yc_hc").post(f"/phs/changes/transition/withdraw/{change.id}",
                                  follow_redirects=True).status_code in (200, 403)
    assert db.session.get(PhsChangeRequest, change.id).state == "pending"
    r = login_as("yh_county").post(f"/phs/changes/transition/withdraw/{change.id}",
                                   follow_redirects=True)
    assert "撤回申请成功" in flashes(r)
    db.session.expire_all()
    assert db.session.execute(select(PhsChangeRequest.state).where(
        PhsChangeRequest.id == change.id)).scalar_one() == "withdrawn"
    assert org_of("yh_county") is not None


def test_the_help_page_says_who_requests_a_change(login_as, ctx):
    page = text(login_as("xd_county").get("/help/phs"))
    assert "申请修改由县级提出" in page and "不参与本次报送" in page
