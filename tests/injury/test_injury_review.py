"""工伤 declarations after submission (SPEC W6–W8, app/views/injury/review.py): employer
and agency review, the employer timeout, 办理情况查询, 重新申报 and the hall's figures."""
import datetime as dt

from sqlalchemy import func, select

from app.extensions import db
from app.models.injury import InjuryDeclaration
from app.services import accounts, clock
from tests.conftest import PASSWORD, flashes, user
from tests.injury.injury_support import (RELAPSE, declaration, determination, latest,
                                        save_relapse, submitted, text_of)


# ---- W6 employer, W7 agency ----------------------------------------------------------------


def test_employer_then_agency_approve(login_as, ctx):
    det = determination()
    pk = submitted(login_as("ty_hosp1"), det)
    employer = login_as("ty_employer")
    assert f"/injury/employer/review/{pk}" in text_of(employer.get(
        "/injury/employer/list/?status=employer_review"))
    r = employer.post(f"/injury/employer/transition/employer_reject/{pk}", data={"comment": ""},
                      follow_redirects=True)
    assert r.status_code == 200
    assert "请填写审核不通过意见" in flashes(r) and declaration(pk).state == "employer_review"
    assert employer.post(f"/injury/employer/transition/employer_approve/{pk}",
                         data={"comment": "情况属实"}).status_code == 302
    assert (declaration(pk).state, declaration(pk).employer_opinion) == ("agency_review", "情况属实")
    assert login_as("yc_agency").get(f"/injury/agency/show/{pk}").status_code == 404
    agency = login_as("ty_agency")
    listing = text_of(agency.get("/injury/agency/list/"))
    assert f"/injury/agency/review/{pk}" in listing and 'name="action" value="submit"' not in \
        listing and "action_post" not in listing
    assert agency.post(f"/injury/agency/transition/agency_approve/{pk}",
                       data={"comment": "同意"}).status_code == 302
    assert declaration(pk).state == "approved"
    text = text_of(login_as("ty_hosp1").get(f"/injury/declarations/show/{pk}"))
    assert "情况属实" in text and "同意" in text and "通过" in text


def test_another_employer_gets_404(app, login_as, ctx):
    det = determination()
    pk = submitted(login_as("ty_hosp1"), det)
    org = accounts.Organization(name="另一家用人单位", org_type="employer", level="county",
                                region_id=user("ty_employer").organization.region_id,
                                unit_code=accounts.next_unit_code(
                                    user("ty_employer").organization.region))
    org.copy_scope_from(user("ty_employer").organization)
    db.session.add(org)
    db.session.flush()
    accounts.create_user(user("admin"), org, "other_employer", "另一家", password=PASSWORD,
                         must_change=False)
    db.session.commit()
    other = login_as("other_employer")
    assert other.get(f"/injury/employer/show/{pk}").status_code == 404
    assert other.post(f"/injury/employer/transition/employer_approve/{pk}").status_code == 404
    assert declaration(pk).state == "employer_review"


def test_employer_timeout_is_approved_by_the_system_when_read(login_as, ctx, monkeypatch):
    det = determination()
    pk = submitted(login_as("ty_hosp1"), det)
    employer = login_as("ty_employer")
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + dt.timedelta(hours=23))
    assert employer.get("/injury/employer/list/").status_code == 200
    assert declaration(pk).state == "employer_review"
    monkeypatch.setattr(clock, "now", lambda: real_now() + dt.timedelta(hours=24, minutes=1))
    assert employer.get("/injury/employer/list/").status_code == 200
    item = declaration(pk)
    assert item.state == "agency_review" and item.employer_auto_approved
    r = employer.post(f"/injury/employer/transition/employer_approve/{pk}", follow_redirects=True)
    assert r.status_code == 200
    assert "经办审核中" in flashes(r) and declaration(pk).employer_opinion is None
    history = text_of(login_as("ty_hosp1").get(f"/injury/declarations/show/{pk}"))
    assert "超时自动通过" in history and "系统" in history
    assert f"/injury/agency/review/{pk}" in text_of(login_as("ty_agency").get(
        "/injury/agency/list/?status=agency_review"))


def test_auto_approve_command_moves_the_clock(app, login_as, ctx):
    det = determination()
    pk = submitted(login_as("ty_hosp1"), det)
    runner = app.test_cli_runner()
    soon = (declaration(pk).submitted_at + dt.timedelta(hours=1)).isoformat(" ", "minutes")
    assert "auto-approved: 0" in runner.invoke(args=["injury", "auto-approve", "--at", soon]).output
    later = declaration(pk).submitted_at + dt.timedelta(hours=25)
    due = db.session.execute(select(func.count()).select_from(InjuryDeclaration).where(
        InjuryDeclaration.state == "employer_review",
        InjuryDeclaration.employer_due_at <= later)).scalar()      # ours and the demo's
    out = runner.invoke(args=["injury", "auto-approve", "--at",
                              later.isoformat(" ", "minutes")]).output
    assert f"auto-approved: {due}" in out and due >= 1
    assert declaration(pk).state == "agency_review"
    assert runner.invoke(args=["injury", "auto-approve", "--at", "20191332"]).exit_code != 0


# ---- W8 办理情况查询 and 重新申报 ---------------------------------------------------------------


def test_rejected_declaration_is_resubmitted_as_a_linked_prefilled_draft(login_as, ctx):
    det = determination()
    hosp = login_as("ty_hosp1")
    pk = submitted(hosp, det)
    assert login_as("ty_employer").post(f"/injury/employer/transition/employer_reject/{pk}",
                                        data={"comment": "非本单位职工"}).status_code == 302
    assert declaration(pk).state == "rejected"
    month = (declaration(pk).submitted_at + dt.timedelta(hours=8)).strftime("%Y-%m")
    listing = text_of(hosp.get(f"/injury/declarations/list/?month={month}&status=rejected"))
    assert f"/injury/declarations/show/{pk}" in listing
    assert f"/injury/declarations/show/{pk}" not in text_of(hosp.get(
        "/injury/declarations/list/?status=approved"))
    assert f"/injury/declarations/show/{pk}" not in text_of(hosp.get(
        "/injury/declarations/list/?month=2001-01"))
    assert "提交年月格式" in text_of(hosp.get("/injury/declarations/list/?month=2026-13"))
    r = hosp.post(f"/injury/declarations/resubmit/{pk}")
    copy = latest()
    assert r.status_code == 302 and f"/injury/declare/edit/{copy.id}" in r.location
    assert (copy.state, copy.resubmitted_from_id, copy.diagnosis) == ("draft", pk,
                                                                      RELAPSE["diagnosis"])
    assert hosp.post(f"/injury/declarations/resubmit/{pk}").status_code == 302
    assert latest().id == copy.id                      # one open copy, not two
    assert login_as("ty_hosp2").post(f"/injury/declarations/resubmit/{pk}").status_code == 404


def test_hall_and_home_show_the_hospital_figures(login_as, ctx):
    det = determination()
    hosp = login_as("ty_hosp1")
    assert save_relapse(hosp, det).status_code == 302
    for page in ("/injury/hall/", "/"):
        text = text_of(hosp.get(page))
        assert "太原市第一人民医院" in text and 'id="hall-pending"' in text
        assert 'id="hall-month"' in text and 'id="hall-results"' in text
        assert "/injury/declare/?kind=device" in text
    assert 'id="hall-news"' in text_of(hosp.get("/injury/hall/"))
    assert 'id="hall-pending"' not in text_of(login_as("ty_agency").get("/"))
