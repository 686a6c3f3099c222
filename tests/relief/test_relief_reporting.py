"""疾病应急救助 R7–R11 through HTTP and REST: evaluation, recovery, reporting chain with
aggregation checked figure by figure, performance."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from app.extensions import db
from app.models.relief import (ReliefApplication, ReliefEvaluation, ReliefPrepayment,
                               ReliefRecovery, ReliefReport, ReliefReportTask)
from tests.conftest import make_application, user, zip_upload


def _apply(pk, *steps):
    from app.workflows.engine import apply
    from app.workflows.relief import ApplicationFlow
    actors = {"submit": "ty_hosp1", "approve": "ty_agency", "disburse": "ty_agency",
              "send_back": "ty_agency", "reject": "ty_agency"}
    for step in steps:
        item = db.session.get(ReliefApplication, pk)
        actor = actors[step] if item.organization.name == "太原市第一人民医院" or step != "submit" \
            else None
        if step == "submit":
            actor = next(u for u in ("ty_hosp1", "ty_hosp2", "yc_hosp1")
                         if user(u).organization_id == item.organization_id)
        if item.organization.city_code == "140800" and step != "submit":
            actor = "yc_agency"
        apply(ApplicationFlow, pk, step, user(actor),
              {"poverty": "1", "comment": "意见", "disbursed_amount": str(item.requested_amount),
               "disbursed_on": "2025-03-01"})


def disbursed_application(org="ty_hosp1", **kw):
    pk = make_application(org, **kw)
    _apply(pk, "submit", "approve", "disburse")
    return pk


# ---- R7 ------------------------------------------------------------------------------------
def test_evaluation_once_per_side_after_disbursement(app, login_as):
    with app.app_context():
        early = make_application()
        pk = disbursed_application()
    hosp, agency = login_as("ty_hosp1"), login_as("ty_agency")
    r = hosp.post(f"/relief/evaluations/new/{early}", data={"score": "80"}, follow_redirects=True)
    assert "拨款完成后才能评价" in r.get_data(as_text=True)
    r = agency.post(f"/relief/evaluations/new/{pk}", data={"score": "101"}, follow_redirects=True)
    assert "1到100" in r.get_data(as_text=True)
    agency.post(f"/relief/evaluations/new/{pk}", data={"score": "90", "content": "好"})
    hosp.post(f"/relief/evaluations/new/{pk}", data={"score": "70", "content": "一般"})
    r = agency.post(f"/relief/evaluations/new/{pk}", data={"score": "60"}, follow_redirects=True)
    assert "不能重复评价" in r.get_data(as_text=True)
    with app.app_context():
        rows = {e.side: e for e in db.session.execute(select(ReliefEvaluation).where(
            ReliefEvaluation.application_id == pk)).scalars()}
        assert rows["agency"].score == 90 and rows["agency"].evaluated_org.name == "太原市第一人民医院"
        assert rows["institution"].evaluated_org.name == "太原市疾病应急救助经办机构"
        assert rows["agency"].year == dt.date.today().year
    assert login_as("yc_agency").get(f"/relief/evaluations/new/{pk}").status_code == 404
    page = agency.get("/relief/evaluations/overview").get_data(as_text=True)
    assert "太原市第一人民医院" in page
    with app.app_context():
        mine = rows["institution"].id
    hosp.post(f"/relief/evaluations/edit/{mine}", data={"score": "75", "content": "改"})
    with app.app_context():
        assert db.session.get(ReliefEvaluation, mine).score == 75
    assert agency.get(f"/relief/evaluations/edit/{mine}").status_code == 404


def test_overview_counts_and_averages(app, login_as):
    with app.app_context():
        a, b = disbursed_application(), disbursed_application()
    agency = login_as("ty_agency")
    agency.post(f"/relief/evaluations/new/{a}", data={"score": "80"})
    agency.post(f"/relief/evaluations/new/{b}", data={"score": "91"})
    with app.app_context():
        from app.views.relief.reporting import ReliefEvaluationView  # noqa: F401
        E = ReliefEvaluation
        n, avg = db.session.execute(select(db.func.count(E.id), db.func.avg(E.score)).where(
            E.organization_id == user("ty_agency").organization_id,
            E.evaluated_org_id == user("ty_hosp1").organization_id)).one()
    page = agency.get("/relief/evaluations/overview").get_data(as_text=True)
    assert f"<td>{n}</td><td>{round(float(avg), 1)}</td>" in page


# ---- R8 ------------------------------------------------------------------------------------
def test_recovery_rules_and_statistics(app, login_as):
    with app.app_context():
        ok = disbursed_application()
        draft = make_application()
        other = disbursed_application("yc_hosp1")
    agency = login_as("ty_agency")
    form = {"app_id": [str(ok)], "amount": "500.50", "recovered_on": "2025-05-01", "remark": "追回"}
    r = agency.post("/relief/recoveries/new", data=form, follow_redirects=True)
    assert "请选择要上传的文件" in r.get_data(as_text=True)
    r = agency.post("/relief/recoveries/new", data=dict(form, app_id=[str(draft)], file=zip_upload()),
                    content_type="multipart/form-data", follow_redirects=True)
    assert "只能关联审核通过或已拨款的申请" in r.get_data(as_text=True)
    for bad in ("-1", "0"):
        r = agency.post("/relief/recoveries/new", data=dict(form, amount=bad, file=zip_upload()),
                        content_type="multipart/form-data", follow_redirects=True)
        assert "追缴金额必须" in r.get_data(as_text=True)
    r = agency.post("/relief/recoveries/new", data=dict(form, app_id=[str(other)], file=zip_upload()),
                    content_type="multipart/form-data")
    assert r.status_code == 404
    with app.app_context():
        assert db.session.execute(select(db.func.count()).select_from(ReliefRecovery)).scalar() == 0
    r = agency.post("/relief/recoveries/new", data=dict(form, file=zip_upload()),
                    content_type="multipart/form-data", follow_redirects=True)
    assert "追缴记录已保存" in r.get_data(as_text=True)
    agency.post("/relief/recoveries/new", data=dict(form, amount="100", recovered_on="2026-02-01",
                                                    file=zip_upload()),
                content_type="multipart/form-data")
    page = agency.get("/relief/recoveries/list/").get_data(as_text=True)
    assert "<strong>2</strong>" in page and "600.50" in page
    assert "2025年：1 条 / 500.50" in page and "2026年：1 条 / 100.00" in page
    assert "<strong>0</strong>" in login_as("yc_agency").get("/relief/recoveries/list/").get_data(
        as_text=True)


# ---- R9–R10 --------------------------------------------------------------------------------
def _task(name="测试任务", start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31)):
    task = ReliefReportTask(name=name, period_start=start, period_end=end)
    db.session.add(task)
    db.session.commit()
    return task.id


def _in_period(pk, day="2025-04-01"):
    item = db.session.get(ReliefApplication, pk)
    item.submitted_at = dt.datetime.fromisoformat(day)
    db.session.commit()


def _report_id(org_login, task_id):
    return db.session.execute(select(ReliefReport.id).where(
        ReliefReport.task_id == task_id,
        ReliefReport.organization_id == user(org_login).organization_id,
        ReliefReport.state != "deleted")).scalar()


def test_extraction_figures(app, login_as):
    with app.app_context():
        task = _task()
        a = disbursed_application(medical_cost=Decimal("1000.00"), living_cost=Decimal("0.10"),
                                  requested_amount=Decimal("1000.10"), category="unidentified")
        b = make_application(medical_cost=Decimal("50"), living_cost=Decimal("0"),
                             requested_amount=Decimal("50"))
        _apply(b, "submit", "send_back")
        c = make_application()
        _apply(c, "submit")
        late = make_application()
        _apply(late, "submit")
        for pk in (a, b, c):
            _in_period(pk)
        _in_period(late, "2026-01-02")
        hosp = user("ty_hosp1").organization
        db.session.add(ReliefPrepayment(organization_id=hosp.id, amount=Decimal("300.30"),
                                        paid_on=dt.date(2025, 2, 1), province_code="140000",
                                        city_code="140100", county_code="140105"))
        db.session.commit()
    c1 = login_as("ty_hosp1")
    c1.post("/relief/reports/new", data={"task_id": task})
    with app.app_context():
        report = db.session.get(ReliefReport, _report_id("ty_hosp1", task))
        assert (report.apps_total, report.apps_unidentified, report.apps_pending,
                report.apps_approved, report.apps_returned, report.apps_disbursed) == (3, 1, 1, 1, 1, 1)
        assert report.amount_requested == Decimal("1000.10") + Decimal("50.00") + Decimal("101.00")
        assert report.amount_disbursed == Decimal("1000.10")
        assert report.amount_prepaid == Decimal("300.30")
        rid = report.id
    r = c1.post("/relief/reports/new", data={"task_id": task}, follow_redirects=True)
    assert "每个任务每个单位只能上报一份" in r.get_data(as_text=True)
    c1.post(f"/relief/reports/edit/{rid}", data={k: "1" for k in (
        "apps_total", "apps_unidentified", "apps_unable_to_pay", "apps_pending", "apps_approved",
        "apps_returned", "apps_rejected", "apps_disbursed", "amount_requested", "amount_approved",
        "amount_disbursed", "amount_prepaid", "amount_recovered")} | {"apps_total": "7"})
    with app.app_context():
        assert db.session.get(ReliefReport, rid).apps_total == 7


def test_submit_refused_before_the_period_ends(app, login_as):
    with app.app_context():
        task = _task("未结束", dt.date(2026, 1, 1), dt.date.today() + dt.timedelta(days=30))
    c = login_as("ty_hosp1")
    c.post("/relief/reports/new", data={"task_id": task})
    with app.app_context():
        rid = _report_id("ty_hosp1", task)
    r = c.post(f"/relief/reports/transition/submit/{rid}", follow_redirects=True)
    assert "结束后才能提交" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ReliefReport, rid).state == "draft"


def _make_report(client, login, task):
    client.post("/relief/reports/new", data={"task_id": task})
    rid = _report_id(login, task)
    client.post(f"/relief/reports/transition/submit/{rid}")
    return rid


def test_the_whole_chain_with_numbers(app, login_as):
    with app.app_context():
        task = _task()
        for org in ("ty_hosp1", "ty_hosp2", "yc_hosp1"):
            pk = disbursed_application(org)
            _in_period(pk)
    h1, h2, yc = login_as("ty_hosp1"), login_as("ty_hosp2"), login_as("yc_hosp1")
    with app.app_context():
        r1 = _make_report(h1, "ty_hosp1", task)
        r2 = _make_report(h2, "ty_hosp2", task)
        r3 = _make_report(yc, "yc_hosp1", task)
    ty, ycag, sx, hc, nhc = (login_as(u) for u in ("ty_agency", "yc_agency", "sx_agency",
                                                   "sx_hc", "nhc"))
    # a non-subordinate cannot review
    assert ycag.post(f"/relief/report-review/transition/approve/{r1}").status_code == 404
    # return needs a reason; the unit resubmits
    r = ty.post(f"/relief/report-review/transition/send_back/{r2}", follow_redirects=True)
    assert "请填写退回意见" in r.get_data(as_text=True)
    ty.post(f"/relief/report-review/transition/send_back/{r2}", data={"comment": "请核对"})
    h2.post(f"/relief/reports/transition/submit/{r2}")
    ty.post(f"/relief/report-review/transition/approve/{r1}")
    ty.post(f"/relief/report-review/transition/approve/{r2}")
    # aggregation lists the subordinates that have not submitted, then sums
    page = ty.post(f"/relief/report-review/aggregate/{task}").get_data(as_text=True)
    assert "小店区北格镇卫生院" in page and "太原市第一人民医院" not in page.split('id="missing"')[1]
    ty.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"})
    with app.app_context():
        agg = db.session.get(ReliefReport, _report_id("ty_agency", task))
        kids = [db.session.get(ReliefReport, r1), db.session.get(ReliefReport, r2)]
        assert agg.kind == "aggregate"
        for name in ReliefReport.FIGURES:
            assert getattr(agg, name) == sum((getattr(k, name) for k in kids),
                                             start=type(getattr(agg, name))(0)), name
        agg_id = agg.id
    r = ty.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"},
                follow_redirects=True)
    assert "本机构已汇总" in r.get_data(as_text=True)
    assert 'id="aggregate-done"' in ty.get(f"/relief/report-review/list/?task={task}").get_data(
        as_text=True)
    # upward: city → province agency (returns once) → province health commission → national
    ty.post(f"/relief/reports/transition/submit/{agg_id}")
    sx.post(f"/relief/report-review/transition/send_back/{agg_id}", data={"comment": "补充"})
    assert 'id="aggregate"' in ty.get(f"/relief/report-review/list/?task={task}").get_data(
        as_text=True)
    ty.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"})
    ty.post(f"/relief/reports/transition/submit/{agg_id}")
    sx.post(f"/relief/report-review/transition/approve/{agg_id}")
    ycag.post(f"/relief/report-review/transition/approve/{r3}")
    ycag.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"})
    with app.app_context():
        yc_agg = _report_id("yc_agency", task)
    ycag.post(f"/relief/reports/transition/submit/{yc_agg}")
    sx.post(f"/relief/report-review/transition/approve/{yc_agg}")
    sx.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"})
    with app.app_context():
        sx_agg = _report_id("sx_agency", task)
        total = db.session.get(ReliefReport, sx_agg)
        assert total.apps_total == 3 and total.apps_disbursed == 3
    sx.post(f"/relief/reports/transition/submit/{sx_agg}")
    with app.app_context():
        assert db.session.get(ReliefReport, sx_agg).reviewer_org.name == "山西省卫生健康委员会"
    hc.post(f"/relief/report-review/transition/approve/{sx_agg}")
    hc.post(f"/relief/report-review/aggregate/{task}", data={"confirm": "1"})
    with app.app_context():
        hc_agg = _report_id("sx_hc", task)
    hc.post(f"/relief/reports/transition/submit/{hc_agg}")
    nhc.post(f"/relief/report-review/transition/approve/{hc_agg}")
    with app.app_context():
        final = db.session.get(ReliefReport, hc_agg)
        assert final.state == "approved" and final.reviewer_org.org_type == "national"
        assert final.apps_total == 3
    # drill-down from the national level to a hospital's report, and no peeking sideways
    page = nhc.get(f"/relief/report-review/detail/{hc_agg}").get_data(as_text=True)
    assert f"/relief/report-review/detail/{sx_agg}" in page
    page = sx.get(f"/relief/report-review/detail/{agg_id}").get_data(as_text=True)
    assert f"/relief/report-review/detail/{r1}" in page
    assert ycag.get(f"/relief/report-review/detail/{agg_id}").status_code == 404


def test_province_agency_may_report_to_national_directly(app, login_as, api):
    with app.app_context():
        task = _task()
        pk = disbursed_application()
        _in_period(pk)
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
    ca.post(f"/api/v1/relief_report/{agg}/submit", headers=ha)
    cs, hs = api("sx_agency")
    cs.post(f"/api/v1/relief_report/{agg}/approve", headers=hs)
    sx_agg = cs.post("/api/v1/relief_report/aggregate", json={"task_id": task, "confirm": True},
                     headers=hs).json["id"]
    page = login_as("sx_agency").get("/relief/reports/list/").get_data(as_text=True)
    assert "直接上报国家" in page
    login_as("sx_agency").post(f"/relief/reports/transition/submit/{sx_agg}?to_national=1")
    with app.app_context():
        assert db.session.get(ReliefReport, sx_agg).reviewer_org.org_type == "national"
    children = cs.get(f"/api/v1/relief_report/{sx_agg}/children", headers=hs).json["result"]
    assert [x["id"] for x in children] == [agg]


# ---- R11 -----------------------------------------------------------------------------------
def test_performance_generation_keeps_qualitative_text(app, login_as):
    with app.app_context():
        from app.models.core import SystemParameter
        db.session.execute(db.update(SystemParameter).where(
            SystemParameter.key == "performance_period").values(value="2025-01-01~2025-12-31"))
        db.session.commit()
        a = disbursed_application()
        b = make_application()
        _apply(b, "submit", "reject")
        for pk in (a, b):
            _in_period(pk)
            item = db.session.get(ReliefApplication, pk)
            item.reviewed_at = item.submitted_at + dt.timedelta(days=2)
        db.session.commit()
    agency = login_as("ty_agency")
    r = agency.post("/relief/performance/generate", follow_redirects=True)
    assert "已生成" in r.get_data(as_text=True)
    from app.models.relief import ReliefPerformance
    with app.app_context():
        row = db.session.execute(select(ReliefPerformance).where(
            ReliefPerformance.organization_id == user("ty_agency").organization_id)).scalar_one()
        assert (row.apps_received, row.apps_approved, row.apps_rejected) == (2, 1, 1)
        assert row.approval_rate == 500 and row.avg_review_days == 200
        pk = row.id
    agency.post(f"/relief/performance/edit/{pk}", data={"work_summary": "按时审核",
                                                         "problems": "", "improvements": ""})
    with app.app_context():
        c = make_application()
        _apply(c, "submit", "approve")
        _in_period(c)
    agency.post("/relief/performance/generate")
    with app.app_context():
        row = db.session.get(ReliefPerformance, pk)
        assert row.apps_received == 3 and row.work_summary == "按时审核"


def test_review_list_shows_the_chosen_task_only(app, login_as):
    with app.app_context():
        task = _task("另一任务", dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    agency = login_as("ty_agency")
    default = agency.get("/relief/report-review/list/").get_data(as_text=True)
    assert "太原市中心医院" in default           # the demo report of 2026年上半年
    other = agency.get(f"/relief/report-review/list/?task={task}").get_data(as_text=True)
    assert "太原市中心医院" not in other


def test_withdraw_delete_and_region_tree(app, login_as):
    with app.app_context():
        task = _task()
    h = login_as("ty_hosp1")
    with app.app_context():
        rid = _make_report(h, "ty_hosp1", task)
        assert db.session.get(ReliefReport, rid).state == "submitted"
    h.post(f"/relief/reports/transition/withdraw/{rid}")
    with app.app_context():
        assert db.session.get(ReliefReport, rid).state == "draft"
    h.post(f"/relief/reports/transition/submit/{rid}")
    agency = login_as("ty_agency")
    page = agency.get(f"/relief/report-review/list/?task={task}").get_data(as_text=True)
    assert "行政区划" in page and "太原市第一人民医院" in page
    other = agency.get(f"/relief/report-review/list/?task={task}&region=140106").get_data(as_text=True)
    assert "太原市第一人民医院" not in other.split("上报数据浏览")[-1]
    agency.post(f"/relief/report-review/transition/approve/{rid}")
    r = h.post(f"/relief/reports/transition/withdraw/{rid}", follow_redirects=True)
    assert "不能撤回" in r.get_data(as_text=True)
    agency.post(f"/relief/report-review/transition/send_back/{rid}", data={"comment": "重报"})
    h.post(f"/relief/reports/transition/delete/{rid}")
    with app.app_context():
        assert db.session.get(ReliefReport, rid).state == "deleted"
    assert f"/relief/reports/show/{rid}" not in h.get("/relief/reports/list/").get_data(as_text=True)
