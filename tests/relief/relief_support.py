"""Shared steps of the 疾病应急救助 tests: applications moved through the engine, report
tasks and the reports of a unit."""
import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models.relief import ReliefApplication, ReliefReport, ReliefReportTask
from app.workflows.engine import apply
from app.workflows.relief import ReliefApplicationFlow
from tests.conftest import make_application, user


def state_of(app, pk):
    with app.app_context():
        return db.session.get(ReliefApplication, pk).state


def apply_steps(pk, *steps):
    """Move an application through `steps`, each by the actor who may."""
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
        apply(ReliefApplicationFlow, pk, step, user(actor),
              {"poverty": "1", "comment": "意见", "disbursed_amount": str(item.requested_amount),
               "disbursed_on": "2025-03-01"})


def disbursed_application(org="ty_hosp1", **kw):
    pk = make_application(org, **kw)
    apply_steps(pk, "submit", "approve", "disburse")
    return pk


def new_task(name="测试任务", start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31)):
    task = ReliefReportTask(name=name, period_start=start, period_end=end)
    db.session.add(task)
    db.session.commit()
    return task.id


def in_period(pk, day="2025-04-01"):
    item = db.session.get(ReliefApplication, pk)
    item.submitted_at = dt.datetime.fromisoformat(day)
    db.session.commit()


def report_id(org_login, task_id):
    return db.session.execute(select(ReliefReport.id).where(
        ReliefReport.task_id == task_id,
        ReliefReport.organization_id == user(org_login).organization_id,
        ReliefReport.state != "deleted")).scalar()


def make_report(client, login, task):
    assert client.post("/relief/reports/new", data={"task_id": task}).status_code == 302
    rid = report_id(login, task)
    assert client.post(f"/relief/reports/transition/submit/{rid}").status_code == 302
    return rid


def text_of(response, status=200):
    """The page of an HTTP step, after checking the step's status."""
    assert response.status_code == status, (response.status_code, response.location)
    return response.get_data(as_text=True)
