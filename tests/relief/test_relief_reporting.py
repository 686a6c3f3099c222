"""数据上报 / 上报数据浏览 through HTTP and REST (SPEC R9, R10): extraction, the reporting
chain with aggregation checked figure by figure, drill-down."""
import datetime as dt
from decimal import Decimal

from app.extensions import db
from app.models.relief import ReliefPrepayment, ReliefReport, ReliefReportTask
from tests.conftest import make_application, user
from tests.relief.relief_support import (apply_steps, disbursed_application, in_period,
                                         make_report, new_task, report_id, text_of)


def test_extraction_figures(app, login_as):
    with app.app_context():
        task = new_task()
        a = disbursed_application(medical_cost=Decimal("1000.00"), living_cost=Decimal("0.10"),
                                  requested_amount=Decimal("1000.10"), category="unidentified")
        b = make_application(medical_cost=Decimal("50"), living_cost=Decimal("0"),
                             requested_amount=Decimal("50"))
        apply_steps(b, "submit", "send_back")
        c = make_application()
        apply_steps(c, "submit")
        late = make_application()
        apply_steps(late, "submit")
        for pk in (a, b, c):
            in_period(pk)
        in_period(late, "2026-01-02")
        hosp = user("ty_hosp1").organization
        db.session.add(ReliefPrepayment(organization_id=hosp.id, amount=Decimal("300.30"),
                                        paid_on=dt.date(2025, 2, 1), province_code="140000",
                                        city_code="140100", county_code="140105"))
        db.session.commit()
    c1 = login_as("ty_hosp1")
    assert c1.post("/relief/reports/new", data={"task_id": task}).status_code == 302
    with app.app_context():
        report = db.session.get(ReliefReport, report_id("ty_hosp1", task))
        assert (report.apps_total, report.apps_unidentified, report.apps_pending,
                report.apps_approved, report.apps_returned, report.apps_disbursed) == (3, 1, 1, 1, 1, 1)
        assert report.amount_requested == Decimal("1000.10") + Decimal("50.00") + Decimal("101.00")
        assert report.amount_disbursed == Decimal("1000.10")
        assert report.amount_prepaid == Decimal("300.30")
        rid = report.id
    r = c1.post("/relief/reports/new", data={"task_id": task})
    assert "每个任务每个单位只能上报一份" in text_of(r, 422)
    c1.post(f"/relief/reports/edit/{rid}", data={k: "1" for k in (
        "apps_total", "apps_unidentified", "apps_unable_to_pay", "apps_pending", "apps_approved",
        "apps_returned", "apps_rejected", "apps_disbursed", "amount_requested", "amount_approved",
        "amount_disbursed", "amount_prepaid", "amount_recovered")} | {"apps_total": "7"})
    with app.app_context():
        assert db.session.get(ReliefReport, rid).apps_total == 7


def test_report_task_form_refused_comes_back_422(app, login_as):
    admin = login_as("admin")
    form = {"name": "日期颠倒", "period_start": "2025-12-31", "period_end": "2025-01-01"}
    page = text_of(admin.post("/relief/report-tasks/add", data=form), 422)
    assert 'value="日期颠倒"' in page and "结束日期不能早于开始日期" in page
    r = admin.post("/relief/report-tasks/add", data=dict(form, period_end="2026-01-01"))
    assert r.status_code == 302
    with app.app_context():
        assert db.session.execute(db.select(ReliefReportTask.id).where(
            ReliefReportTask.name == "日期颠倒")).scalar() is not None


def test_submit_refused_before_the_period_ends(app, login_as):
    with app.app_context():
        task = new_task("未结束", dt.date(2026, 1, 1), dt.date.today() + dt.timedelta(days=30))
    c = login_as("ty_hosp1")
    assert c.post("/relief/reports/new", data={"task_id": task}).status_code == 302
    with app.app_context():
        rid = report_id("ty_hosp1", task)
    r = c.post(f"/relief/reports/transition/submit/{rid}", follow_redirects=True)
    assert "结束后才能提交" in text_of(r)
    with app.app_context():
        assert db.session.get(ReliefReport, rid).state == "draft"


def test_the_whole_chain_with_numbers(app, login_as):
    with app.app_context():
        task = new_task()
        for org in ("ty_hosp1", "ty_hosp2", "yc_hosp1"):
            pk = disbursed_application(org)
            in_period(pk)
    h1, h2, yc = login_as("ty_hosp1"), login_as("ty_hosp2"), login_as("yc_hosp1")
    with app.app_context():
        r1 = make_report(h1, "ty_hosp1", task)
        r2 = make_report(h2, "ty_hosp2", task)
        r3 = make_report(yc, "yc_hosp1", task)
    ty, ycag, sx, hc, nhc = (login_as(u) for u in ("ty_agency", "yc_agency", "sx_agency",
                                                   "sx_hc", "nhc"))
    # a non-subordinate cannot review
    assert ycag.post(f"/relief/report-review/transition/approve/{r1}").status_code == 404
    # return needs a reason; the unit resubmits
    r = ty.post(f"/relief/report-review/transition/send_back/{r2}", follow_redirects=True)
    assert "请填写退回意见" in text_of(r)
    r = ty.post(f"/relief/report-review/transition/send_back/{r2}", data={"comment": "请核对"})
    assert r.status_code == 302
    assert h2.post(f"/relief/reports/transition/submit/{r2}").status_code == 302
    assert ty.post(f"/relief/report-review/transition/approve/{r1}").status_code == 302
    assert ty.post(f"/relief/report-review/transition/approve/{r2}").status_code == 302
    # aggregation lists the subordinates that have not submitted, then sums
    page = text_of(ty.post(f"/relief/report-review/aggregate/{task}"))
    assert "小店区北格镇卫生院" in page and "太原市第一人民医院" not in page.split('id="missing"')[1]
    r = ty.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"})
    assert r.status_code == 302
    with app.app_context():
        agg = db.session.get(ReliefReport, report_id("ty_agency", task))
        kids = [db.session.get(ReliefReport, r1), db.session.get(ReliefReport, r2)]
        assert agg.kind == "aggregate"
        for name in ReliefReport.FIGURES:
            assert getattr(agg, name) == sum((getattr(k, name) for k in kids),
                                             start=type(getattr(agg, name))(0)), name
        agg_id = agg.id
    r = ty.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"},
                follow_redirects=True)
    assert "本机构已汇总" in text_of(r)
    assert 'id="aggregate-done"' in text_of(ty.get(f"/relief/report-review/list/?task={task}"))
    # upward: city → province agency (returns once) → province health commission → national
    assert ty.post(f"/relief/reports/transition/submit/{agg_id}").status_code == 302
    r = sx.post(f"/relief/report-review/transition/send_back/{agg_id}", data={"comment": "补充"})
    assert r.status_code == 302
    assert 'id="aggregate"' in text_of(ty.get(f"/relief/report-review/list/?task={task}"))
    r = ty.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"})
    assert r.status_code == 302
    assert ty.post(f"/relief/reports/transition/submit/{agg_id}").status_code == 302
    assert sx.post(f"/relief/report-review/transition/approve/{agg_id}").status_code == 302
    assert ycag.post(f"/relief/report-review/transition/approve/{r3}").status_code == 302
    r = ycag.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"})
    assert r.status_code == 302
    with app.app_context():
        yc_agg = report_id("yc_agency", task)
    assert ycag.post(f"/relief/reports/transition/submit/{yc_agg}").status_code == 302
    assert sx.post(f"/relief/report-review/transition/approve/{yc_agg}").status_code == 302
    r = sx.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"})
    assert r.status_code == 302
    with app.app_context():
        sx_agg = report_id("sx_agency", task)
        total = db.session.get(ReliefReport, sx_agg)
        assert total.apps_total == 3 and total.apps_disbursed == 3
    assert sx.post(f"/relief/reports/transition/submit/{sx_agg}").status_code == 302
    with app.app_context():
        assert db.session.get(ReliefReport, sx_agg).reviewer_org.name == "山西省卫生健康委员会"
    assert hc.post(f"/relief/report-review/transition/approve/{sx_agg}").status_code == 302
    r = hc.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"})
    assert r.status_code == 302
    with app.app_context():
        hc_agg = report_id("sx_hc", task)
    assert hc.post(f"/relief/reports/transition/submit/{hc_agg}").status_code == 302
    assert nhc.post(f"/relief/report-review/transition/approve/{hc_agg}").status_code == 302
    with app.app_context():
        final = db.session.get(ReliefReport, hc_agg)
        assert final.state == "approved" and final.reviewer_org.org_type == "national"
        assert final.apps_total == 3
    # drill-down from the national level to a hospital's report, and no peeking sideways
    page = text_of(nhc.get(f"/relief/report-review/detail/{hc_agg}"))
    assert f"/relief/report-review/detail/{sx_agg}" in page
    page = text_of(sx.get(f"/relief/report-review/detail/{agg_id}"))
    assert f"/relief/report-review/detail/{r1}" in page
    assert ycag.get(f"/relief/report-review/detail/{agg_id}").status_code == 404


def test_province_agency_may_report_to_national_directly(app, login_as, api):
    with app.app_context():
        task = new_task()
        pk = disbursed_application()
        in_period(pk)
    c, h = api("ty_hosp1")
    rid = c.post("/api/v1/relief_report/", json={"task_id": task}, headers=h).json["id"]
    assert c.post(f"/api/v1/relief_report/{rid}/submit", headers=h).json["state"] == "submitted"
    ca, ha = api("ty_agency")
    assert ca.post(f"/api/v1/relief_report/{rid}/approve", headers=ha).status_code == 200
    r = ca.post("/api/v1/relief_report/aggregate", json={"task_id": task}, headers=ha)
    assert r.status_code == 409 and "小店区北格镇卫生院" in str(r.json["missing"])
    r = ca.post("/api/v1/relief_report/aggregate", json={"task_id": task, "confirm": True},
                headers=ha)
    assert r.status_code == 200 and r.json["figures"]["apps_total"] == "1"
    agg = r.json["id"]
    assert ca.post("/api/v1/relief_report/aggregate", json={"task_id": task, "confirm": True},
                   headers=ha).status_code == 409
    assert ca.post(f"/api/v1/relief_report/{agg}/submit", headers=ha).status_code == 200
    cs, hs = api("sx_agency")
    assert cs.post(f"/api/v1/relief_report/{agg}/approve", headers=hs).status_code == 200
    sx_agg = cs.post("/api/v1/relief_report/aggregate", json={"task_id": task, "confirm": True},
                     headers=hs).json["id"]
    page = text_of(login_as("sx_agency").get("/relief/reports/list/"))
    assert "直接上报国家" in page
    r = login_as("sx_agency").post(f"/relief/reports/transition/submit/{sx_agg}?to_national=1")
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(ReliefReport, sx_agg).reviewer_org.org_type == "national"
    children = cs.get(f"/api/v1/relief_report/{sx_agg}/children", headers=hs).json["result"]
    assert [x["id"] for x in children] == [agg]


def test_review_list_shows_the_chosen_task_only(app, login_as):
    with app.app_context():
        task = new_task("另一任务", dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    agency = login_as("ty_agency")
    default = text_of(agency.get("/relief/report-review/list/"))
    assert "太原市中心医院" in default           # the demo report of 2026年上半年
    other = text_of(agency.get(f"/relief/report-review/list/?task={task}"))
    assert "太原市中心医院" not in other


def test_withdraw_delete_and_region_tree(app, login_as):
    with app.app_context():
        task = new_task()
    h = login_as("ty_hosp1")
    with app.app_context():
        rid = make_report(h, "ty_hosp1", task)
        assert db.session.get(ReliefReport, rid).state == "submitted"
    assert h.post(f"/relief/reports/transition/withdraw/{rid}").status_code == 302
    with app.app_context():
        assert db.session.get(ReliefReport, rid).state == "draft"
    assert h.post(f"/relief/reports/transition/submit/{rid}").status_code == 302
    agency = login_as("ty_agency")
    page = text_of(agency.get(f"/relief/report-review/list/?task={task}"))
    assert "行政区划" in page and "太原市第一人民医院" in page
    other = text_of(agency.get(f"/relief/report-review/list/?task={task}&region=140106"))
    assert "太原市第一人民医院" not in other.split("上报数据浏览")[-1]
    assert agency.post(f"/relief/report-review/transition/approve/{rid}").status_code == 302
    r = h.post(f"/relief/reports/transition/withdraw/{rid}", follow_redirects=True)
    assert "不能撤回" in text_of(r)
    r = agency.post(f"/relief/report-review/transition/send_back/{rid}", data={"comment": "重报"})
    assert r.status_code == 302
    assert h.post(f"/relief/reports/transition/delete/{rid}").status_code == 302
    with app.app_context():
        assert db.session.get(ReliefReport, rid).state == "deleted"
    assert f"/relief/reports/show/{rid}" not in text_of(h.get("/relief/reports/list/"))
