"""救助申请 transitions through HTTP: submit, review, disburse, withdraw, batch, scope
(SPEC R5, R6, P8, P10)."""
import io
import threading

import openpyxl
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.files import Attachment
from app.models.relief import ReliefApplication
from app.workflows.engine import Refusal, apply
from app.workflows.relief import ReliefApplicationFlow
from tests.conftest import make_application, user
from tests.relief.relief_support import state_of


def test_full_flow_submit_review_disburse(app, login_as):
    with app.app_context():
        pk = make_application()
    hosp, agency = login_as("ty_hosp1"), login_as("ty_agency")
    assert hosp.post(f"/relief/applications/transition/submit/{pk}").status_code == 302
    assert state_of(app, pk) == "submitted"
    r = agency.get(f"/relief/review/review/{pk}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "贫困对象" in page and "审核通过" in page
    r = agency.post(f"/relief/review/transition/approve/{pk}", data={"comment": "同意"},
                    follow_redirects=True)
    assert r.status_code == 200
    assert "请选择贫困对象" in r.get_data(as_text=True) and state_of(app, pk) == "submitted"
    r = agency.post(f"/relief/review/transition/send_back/{pk}", data={"poverty": "1"},
                    follow_redirects=True)
    assert r.status_code == 200 and "请填写审核退回意见" in r.get_data(as_text=True)
    r = agency.post(f"/relief/review/transition/approve/{pk}",
                    data={"poverty": "1", "low_income": "0", "basic_insurance_amount": "10.50"})
    assert r.status_code == 302 and state_of(app, pk) == "approved"
    r = agency.post(f"/relief/review/transition/disburse/{pk}",
                    data={"disbursed_amount": "999999", "disbursed_on": "2026-06-01"},
                    follow_redirects=True)
    assert r.status_code == 200
    assert "不超过" in r.get_data(as_text=True) and state_of(app, pk) == "approved"
    r = agency.post(f"/relief/review/transition/disburse/{pk}",
                    data={"disbursed_amount": "101.00", "disbursed_on": "2026-06-01"})
    assert r.status_code == 302 and state_of(app, pk) == "disbursed"
    r = hosp.get(f"/relief/applications/show/{pk}")
    history = r.get_data(as_text=True)
    assert r.status_code == 200 and "办理记录" in history and "已拨款" in history


def test_review_page_refused_comes_back_422_with_what_was_typed(app, login_as):
    with app.app_context():
        pk = make_application()
    assert login_as("ty_hosp1").post(
        f"/relief/applications/transition/submit/{pk}").status_code == 302
    agency = login_as("ty_agency")
    # no 贫困对象 chosen: the same page, 422, the typed amount and opinion kept, the message
    # beside the field
    r = agency.post(f"/relief/review/review/{pk}",
                    data={"transition": "approve", "basic_insurance_amount": "10.50",
                          "comment": "同意拨付"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and state_of(app, pk) == "submitted"
    assert 'value="10.50"' in page and "同意拨付" in page
    field = page.split('name="poverty"')[-1].split('class="form-group')[0]
    assert "请选择贫困对象" in field
    r = agency.post(f"/relief/review/review/{pk}",
                    data={"transition": "approve", "poverty": "1", "other_fund_amount": "1.234"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'value="1.234"' in page
    assert "其他可支付必须是不小于0且最多两位小数的金额" in page
    assert '<input checked id="poverty-0" name="poverty" type="radio" value="1">' in page
    r = agency.post(f"/relief/review/review/{pk}", data={"transition": "approve", "poverty": "1",
                                                          "other_fund_amount": "1.50"})
    assert r.status_code == 302 and state_of(app, pk) == "approved"
    with app.app_context():
        assert str(db.session.get(ReliefApplication, pk).other_fund_amount) == "1.50"
    # 拨款 the same way: a refused amount is shown again beside its field
    r = agency.get(f"/relief/review/disburse/{pk}")
    assert r.status_code == 200 and 'name="disbursed_amount"' in r.get_data(as_text=True)
    r = agency.post(f"/relief/review/disburse/{pk}",
                    data={"disbursed_amount": "999999", "disbursed_on": "2026-06-01"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'value="999999"' in page and "不超过" in page
    r = agency.post(f"/relief/review/disburse/{pk}",
                    data={"disbursed_amount": "101.00", "disbursed_on": "2026-06-01"})
    assert r.status_code == 302 and state_of(app, pk) == "disbursed"


def test_a_refused_button_flashes_and_goes_back(app, login_as):
    with app.app_context():
        pk = make_application()
    hosp = login_as("ty_hosp1")
    back = f"http://localhost/relief/applications/show/{pk}"
    # 撤回 a draft: wrong state, nothing changes, the message on the page the clerk was on
    r = hosp.post(f"/relief/applications/transition/withdraw/{pk}", headers={"Referer": back})
    assert r.status_code == 302 and r.headers["Location"] == back
    r = hosp.get(back)
    assert r.status_code == 200 and "当前状态为“待提交”，不能撤回" in r.get_data(as_text=True)
    assert state_of(app, pk) == "draft"


def test_withdraw_only_before_the_agency_acts(app, login_as):
    with app.app_context():
        pk = make_application()
    hosp, agency = login_as("ty_hosp1"), login_as("ty_agency")
    assert hosp.post(f"/relief/applications/transition/submit/{pk}").status_code == 302
    assert hosp.post(f"/relief/applications/transition/withdraw/{pk}").status_code == 302
    assert state_of(app, pk) == "draft"
    assert hosp.post(f"/relief/applications/transition/submit/{pk}").status_code == 302
    r = agency.post(f"/relief/review/transition/send_back/{pk}",
                    data={"poverty": "0", "comment": "补充"})
    assert r.status_code == 302 and state_of(app, pk) == "returned"
    assert hosp.post(f"/relief/applications/transition/submit/{pk}").status_code == 302
    assert state_of(app, pk) == "submitted"


def test_other_city_agency_cannot_review(app, login_as):
    with app.app_context():
        pk = make_application()
    assert login_as("ty_hosp1").post(
        f"/relief/applications/transition/submit/{pk}").status_code == 302
    yc = login_as("yc_agency")
    assert yc.get(f"/relief/review/review/{pk}").status_code == 404
    assert yc.post(f"/relief/review/transition/approve/{pk}", data={"poverty": "1"}).status_code == 404
    assert yc.post(f"/relief/review/review/{pk}",
                   data={"transition": "approve", "poverty": "1"}).status_code == 404
    assert state_of(app, pk) == "submitted"


def test_out_of_scope_is_404_everywhere(app, login_as, api):
    with app.app_context():
        pk = make_application()
        att = db.session.execute(select(Attachment.id).where(Attachment.owner_id == pk)).scalars().first()
    other = login_as("yc_hosp1")
    for method, url in [("get", f"/relief/applications/show/{pk}"),
                        ("get", f"/relief/applications/edit/{pk}"),
                        ("post", f"/relief/applications/delete/{pk}"),
                        ("post", f"/relief/applications/transition/submit/{pk}"),
                        ("get", f"/attachments/{att}")]:
        assert getattr(other, method)(url).status_code == 404, url
    r = other.post("/relief/applications/action_post", data={"action": "submit", "rowid": [str(pk)]})
    assert r.status_code == 404
    c, headers = api("yc_hosp1")
    assert c.get(f"/api/v1/relief_application/{pk}", headers=headers).status_code == 404
    assert c.put(f"/api/v1/relief_application/{pk}", json={"patient_name": "x"},
                 headers=headers).status_code == 404
    assert c.post(f"/api/v1/relief_application/{pk}/submit", headers=headers).status_code == 404
    assert c.get(f"/api/v1/relief_application/{pk}/history", headers=headers).status_code == 404
    assert state_of(app, pk) == "draft"
    # the export of the other institution does not contain the row
    r = other.get("/relief/applications/export/?col=id&col=patient_name")
    ids = [row[0] for row in openpyxl.load_workbook(io.BytesIO(r.data)).active.iter_rows(
        min_row=2, values_only=True)]
    assert pk not in ids


def test_batch_submit_is_all_or_nothing(app, login_as):
    with app.app_context():
        good = make_application()
        bad = make_application(with_files=False)
    c = login_as("ty_hosp1")
    r = c.post("/relief/applications/action_post",
               data={"action": "submit", "rowid": [str(good), str(bad)]}, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert r.status_code == 200 and "未做任何修改" in text and "请上传附件" in text
    assert state_of(app, good) == "draft" and state_of(app, bad) == "draft"
    r = c.post("/relief/applications/action_post", data={"action": "delete", "rowid": [str(bad)]})
    assert r.status_code == 302 and state_of(app, bad) == "deleted"
    r = c.post("/relief/applications/action_post", data={"action": "submit", "rowid": [str(good)]})
    assert r.status_code == 302 and state_of(app, good) == "submitted"


def test_two_concurrent_approvals_exactly_one_wins(app):
    with app.app_context():
        pk = make_application()
        apply(ReliefApplicationFlow, pk, "submit", user("ty_hosp1"))
    results, barrier = [], threading.Barrier(2)

    def approve():
        with app.app_context():
            actor = user("ty_agency")
            item = db.session.get(ReliefApplication, pk)
            barrier.wait()
            try:
                apply(ReliefApplicationFlow, item, "approve", actor, {"poverty": "1"})
                results.append("ok")
            except Refusal as exc:
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results)[0] == "ok" and results.count("ok") == 1
    assert any("状态已变更" in r for r in results)
    with app.app_context():
        n = db.session.execute(select(db.func.count()).select_from(AuditLog).where(
            AuditLog.object_id == pk, AuditLog.transition == "approve")).scalar()
        assert n == 1


def test_list_shows_the_allowed_transitions_per_row(app, login_as):
    with app.app_context():
        pk = make_application()
    page = login_as("ty_hosp1").get("/relief/applications/list/").get_data(as_text=True)
    assert f"/relief/applications/transition/submit/{pk}" in page
    assert f"/relief/applications/transition/withdraw/{pk}" not in page
    review = login_as("ty_agency").get("/relief/review/list/").get_data(as_text=True)
    assert "/relief/review/review/" in review and "transition/submit" not in review
