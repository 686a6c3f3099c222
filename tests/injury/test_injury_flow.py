"""The declared 工伤 machine through the engine (SPEC W5–W7): who may fire what, the system
transition, the employer deadline guard, and which rows each kind of account can see."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import SystemParameter
from app.models.files import Attachment
from app.models.injury import InjuryDeclaration, InjuryDeviceItem
from app.scope import region_scope
from app.services import clock
from app.services.injury import commands, rules
from app.workflows.engine import Refusal, apply, apply_system
from app.workflows.injury import AGENCY, EMPLOYER, HOSPITAL, KINDS, InjuryDeclarationFlow
from tests.conftest import user
from tests.injury.injury_support import RELAPSE, determination


@pytest.mark.parametrize("transition,role,allowed", [
    ("submit", HOSPITAL, True), ("submit", EMPLOYER, False), ("delete", HOSPITAL, True),
    ("employer_approve", EMPLOYER, True), ("employer_approve", AGENCY, False),
    ("employer_reject", EMPLOYER, True), ("employer_reject", HOSPITAL, False),
    ("agency_approve", AGENCY, True), ("agency_approve", EMPLOYER, False),
    ("agency_reject", AGENCY, True),
])
def test_role_table(transition, role, allowed):
    assert (role in InjuryDeclarationFlow.transitions[transition].roles) is allowed


def test_every_kind_declares_a_required_material():
    assert set(KINDS) == {"relapse", "transfer", "rehab", "device", "extension"}
    for kind in KINDS.values():
        assert any(s.required for s in kind.slots), kind.code
        assert all(s.kinds == ("image",) for s in kind.slots)


def draft(ctx_user="ty_hosp1"):
    det = determination()
    return commands.save(user(ctx_user), "relapse", {"determination": det.id, **RELAPSE})


def in_employer_review():
    item = draft()
    for slot in KINDS["relapse"].slots:
        db.session.add(Attachment(owner_type="injury_declaration", owner_id=item.id,
                                  slot=slot.name, original_name="a.png",
                                  stored_name=f"{item.id}{slot.name}", kind="image", ext="png",
                                  size=1, sha256="0" * 64))
    db.session.commit()
    return apply(InjuryDeclarationFlow, item, "submit", user("ty_hosp1"))


def test_nobody_fires_the_system_transition_and_the_system_is_audited(ctx):
    item = in_employer_review()
    with pytest.raises(Refusal) as exc:
        apply(InjuryDeclarationFlow, item.id, "auto_approve", user("admin"))
    assert exc.value.status == 403
    assert "auto_approve" not in [t.name for t in InjuryDeclarationFlow.available(item, user("admin"))]
    apply_system(InjuryDeclarationFlow, item, "auto_approve", comment="超时自动通过")
    row = db.session.execute(select(AuditLog).where(
        AuditLog.object_type == "injury_declaration", AuditLog.object_id == item.id,
        AuditLog.transition == "auto_approve")).scalar_one()
    assert (row.user_id, row.username, row.comment) == (None, "系统", "超时自动通过")
    with pytest.raises(Refusal):                      # not twice
        apply_system(InjuryDeclarationFlow, item, "auto_approve")


def test_the_employer_deadline_guard_refuses_after_the_hours(ctx, monkeypatch):
    item = in_employer_review()
    due = item.employer_due_at
    assert due - item.submitted_at == dt.timedelta(hours=24)
    monkeypatch.setattr(clock, "now", lambda: due + dt.timedelta(seconds=1))
    with pytest.raises(Refusal) as exc:
        apply(InjuryDeclarationFlow, item.id, "employer_approve", user("ty_employer"))
    assert "超时自动通过" in exc.value.message
    assert commands.approve_overdue() >= 1
    assert db.session.get(InjuryDeclaration, item.id).state == "agency_review"


def test_the_hours_come_from_the_system_parameter(ctx):
    db.session.execute(db.update(SystemParameter).where(
        SystemParameter.key == "employer_auto_approve_hours").values(value="48"))
    db.session.commit()
    item = in_employer_review()
    assert item.employer_due_at - item.submitted_at == dt.timedelta(hours=48)


def test_who_sees_which_declarations(ctx):
    unsent = draft()
    sent = in_employer_review()
    visible = {login: set(db.session.execute(select(InjuryDeclaration.id).where(
        region_scope(InjuryDeclaration, user(login)),
        InjuryDeclaration.id.in_([unsent.id, sent.id]))).scalars())
        for login in ("ty_hosp1", "ty_hosp2", "ty_employer", "ty_agency", "yc_agency")}
    assert visible == {"ty_hosp1": {unsent.id, sent.id}, "ty_hosp2": set(),
                       "ty_employer": {sent.id}, "ty_agency": {unsent.id, sent.id},
                       "yc_agency": set()}


def test_a_malformed_line_list_saves_nothing(ctx):
    det = determination()
    before = db.session.execute(select(func.count()).select_from(InjuryDeclaration)).scalar()
    for lines in ("not a list", [{"item": "x"}] * 51):
        with pytest.raises(Refusal) as exc:
            commands.save(user("ty_hosp1"), "device", {"determination": det.id}, lines)
        assert exc.value.status == 422 and "lines" in exc.value.fields
    db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(InjuryDeclaration)).scalar() \
        == before


def test_a_numeric_product_code_is_not_taken_for_a_database_id(ctx):
    first = InjuryDeviceItem(code="CODE-A", name="甲", category="假肢", price="1.00",
                             usage_years=1)
    db.session.add(first)
    db.session.flush()
    numeric = InjuryDeviceItem(code=str(first.id), name="乙", category="假肢", price="2.00",
                               usage_years=1)
    db.session.add(numeric)
    db.session.commit()
    lines = rules.clean_lines([{"item": str(first.id), "quantity": 1,
                                 "configured_on": "20240101"}])
    assert lines[0]["item"].id == numeric.id
