"""The workflow engine and the declared tables (SPEC P8)."""
import os

import pytest

from app.extensions import db
from app.workflows.engine import Refusal, apply, apply_batch
from app.workflows.relief import AGENCY, INSTITUTION, ReliefApplicationFlow
from tests.conftest import make_application, user

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "workflows.md")


def test_docs_match_the_declarations(ctx):
    from app.workflows.docs import transition_tables
    with open(DOCS, encoding="utf-8") as fh:
        assert fh.read() == transition_tables(), "run `flask portal workflow-docs`"


@pytest.mark.parametrize("transition,role,allowed", [
    ("submit", INSTITUTION, True), ("submit", AGENCY, False),
    ("withdraw", INSTITUTION, True), ("approve", AGENCY, True), ("approve", INSTITUTION, False),
    ("send_back", AGENCY, True), ("reject", AGENCY, True), ("disburse", AGENCY, True),
    ("delete", INSTITUTION, True), ("delete", AGENCY, False),
])
def test_role_table(transition, role, allowed):
    assert (role in ReliefApplicationFlow.transitions[transition].roles) is allowed


def test_refusal_order_scope_role_state(ctx):
    pk = make_application()
    with pytest.raises(Exception) as exc:           # another city: not found
        apply(ReliefApplicationFlow, pk, "submit", user("yc_hosp1"))
    assert getattr(exc.value, "code", None) == 404
    with pytest.raises(Refusal) as exc:              # agency may not submit
        apply(ReliefApplicationFlow, pk, "submit", user("ty_agency"))
    assert exc.value.status == 403
    with pytest.raises(Refusal) as exc:              # wrong state
        apply(ReliefApplicationFlow, pk, "withdraw", user("ty_hosp1"))
    assert exc.value.status == 409 and "待提交" in exc.value.message


def test_batch_names_each_ineligible_row_and_changes_nothing(ctx):
    a, b, c = make_application(), make_application(with_files=False), make_application()
    apply(ReliefApplicationFlow, c, "submit", user("ty_hosp1"))
    with pytest.raises(Refusal) as exc:
        apply_batch(ReliefApplicationFlow, [a, b, c], "submit", user("ty_hosp1"))
    ineligible = {row["id"]: row for row in exc.value.ineligible}
    assert set(ineligible) == {b, c}
    assert ineligible[c]["state"] == "submitted" and "请上传附件" in ineligible[b]["reason"]
    from app.models.relief import ReliefApplication
    db.session.expire_all()
    assert db.session.get(ReliefApplication, a).state == "draft"


def test_every_transition_is_audited_with_from_and_to(ctx):
    from app.services.audit import history
    pk = make_application()
    apply(ReliefApplicationFlow, pk, "submit", user("ty_hosp1"))
    apply(ReliefApplicationFlow, pk, "send_back", user("ty_agency"), {"poverty": "0", "comment": "补"})
    rows = history("relief_application", pk)
    assert [(r.from_state, r.to_state, r.username) for r in rows] == [
        ("draft", "submitted", "ty_hosp1"), ("submitted", "returned", "ty_agency")]
    assert rows[1].comment == "补"


def test_audit_rows_cannot_be_changed(ctx):
    from app.models.audit import AuditLog
    row = db.session.execute(db.select(AuditLog).limit(1)).scalar_one()
    row.comment = "篡改"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()


def test_models_and_migrations_agree(ctx):
    """A model change without its Alembic migration fails here (`flask db migrate`)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_appbuilder import Model
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Model.metadata)
    assert diff == []
