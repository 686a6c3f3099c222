"""疾病应急救助 demo records: applications in every state, prepayments, report tasks."""
import datetime as dt
from decimal import Decimal

from app.demo import demo_zip
from app.extensions import db
from app.models.relief import (ReliefApplication, ReliefPrepayment, ReliefReport,
                               ReliefReportTask)
from app.services import files
from app.services.relief.commands import evaluate
from app.services.relief.queries import extract_figures
from app.workflows import engine
from app.workflows.relief import SLOTS, ReliefApplicationFlow, ReliefReportFlow


def new_application(org, n, category="unable_to_pay"):
    start = dt.datetime(2026, 3, 1, 8, 0) + dt.timedelta(days=n)
    medical, living = Decimal("12000.50") + n * 100, Decimal("800.00")
    app = ReliefApplication(
        organization=org, category=category, relief_place=f"{org.name}急诊科",
        start_at=start, end_at=start + dt.timedelta(days=7), disease="急性心肌梗死",
        emergency_cost=Decimal("3000.00"), medical_cost=medical, living_cost=living,
        requested_amount=medical + living, state="draft")
    if category == "unable_to_pay":
        app.patient_name, app.gender, app.id_number = f"患者{n:02d}", "1", "310115199003071239"
        app.age, app.nationality, app.household_address = 36, "中国", "山西省太原市小店区"
    app.copy_scope_from(org)
    db.session.add(app)
    db.session.flush()
    return app


def load_relief(orgs, users):
    hosp = orgs["ty_hosp1"]
    for n, (amount, day) in enumerate([("50000.00", 10), ("30000.00", 40), ("20000.00", 100)]):
        db.session.add(ReliefPrepayment(organization=hosp, amount=Decimal(amount),
                                        paid_on=dt.date(2026, 1, 1) + dt.timedelta(days=day),
                                        remark=f"2026年第{n + 1}批预拨款",
                                        province_code=hosp.province_code,
                                        city_code=hosp.city_code, county_code=hosp.county_code))
    plan = {"draft": [], "submitted": ["submit"], "returned": ["submit", "send_back"],
            "approved": ["submit", "approve"], "rejected": ["submit", "reject"],
            "disbursed": ["submit", "approve", "disburse"]}
    n = 0
    for org_key, agency_key in (("ty_hosp1", "ty_agency"), ("ty_hosp2", "ty_agency"),
                                ("yc_hosp1", "yc_agency")):
        for state, steps in plan.items():
            n += 1
            app = new_application(orgs[org_key], n, "unidentified" if n % 5 == 0 else
                                  "unable_to_pay")
            for slot in SLOTS[:2]:
                files.attach(app, slot, demo_zip(str(slot.label)), users[org_key])
            db.session.commit()
            review = {"poverty": "0", "low_income": "0", "comment": "材料不全，请补充"}
            for step in steps:
                actor = users[org_key] if step == "submit" else users[agency_key]
                data = dict(review, disbursed_amount=str(app.requested_amount),
                            disbursed_on="2026-04-01")
                engine.apply(ReliefApplicationFlow, app, step, actor, data)


def load_relief_reporting(orgs, users):
    """A finished and a running report task, one report awaiting review, an evaluation
    and a recovery, so that every R7–R10 screen has something to show."""
    # The demo applications were 'submitted' in spring: date them so, for the first task.
    for app in db.session.execute(db.select(ReliefApplication)).scalars():
        if app.submitted_at is not None:
            app.submitted_at = app.start_at + dt.timedelta(days=1)
            if app.reviewed_at is not None:
                app.reviewed_at = app.start_at + dt.timedelta(days=3)
    first = ReliefReportTask(name="2026年上半年", period_start=dt.date(2026, 1, 1),
                             period_end=dt.date(2026, 6, 30), deadline=dt.date(2026, 7, 31))
    second = ReliefReportTask(name="2026年下半年", period_start=dt.date(2026, 7, 1),
                              period_end=dt.date(2026, 12, 31), deadline=dt.date(2027, 1, 31))
    db.session.add_all([first, second])
    db.session.commit()
    org = orgs["ty_hosp2"]
    report = ReliefReport(task_id=first.id, organization_id=org.id, kind="unit", state="draft",
                          **extract_figures(org, first))
    report.copy_scope_from(org)
    db.session.add(report)
    db.session.commit()
    engine.apply(ReliefReportFlow, report, "submit", users["ty_hosp2"])
    disbursed = db.session.execute(db.select(ReliefApplication).where(
        ReliefApplication.organization_id == orgs["ty_hosp1"].id,
        ReliefApplication.state == "disbursed")).scalars().first()
    if disbursed is not None:
        evaluate(disbursed, users["ty_agency"], 92, "材料齐全，救治及时。")
