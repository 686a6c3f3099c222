"""绩效填报 (SPEC R11)."""
import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models.core import SystemParameter
from app.models.relief import ReliefApplication, ReliefPerformance
from tests.conftest import make_application, user
from tests.relief.relief_support import apply_steps, disbursed_application, in_period, text_of


def test_performance_generation_keeps_qualitative_text(app, login_as):
    with app.app_context():
        db.session.execute(db.update(SystemParameter).where(
            SystemParameter.key == "performance_period").values(value="2025-01-01~2025-12-31"))
        db.session.commit()
        a = disbursed_application()
        b = make_application()
        apply_steps(b, "submit", "reject")
        for pk in (a, b):
            in_period(pk)
            item = db.session.get(ReliefApplication, pk)
            item.reviewed_at = item.submitted_at + dt.timedelta(days=2)
        db.session.commit()
    agency = login_as("ty_agency")
    r = agency.post("/relief/performance/generate", follow_redirects=True)
    assert "已生成" in text_of(r)
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
        apply_steps(c, "submit", "approve")
        in_period(c)
    assert agency.post("/relief/performance/generate").status_code == 302
    with app.app_context():
        row = db.session.get(ReliefPerformance, pk)
        assert row.apps_received == 3 and row.work_summary == "按时审核"
