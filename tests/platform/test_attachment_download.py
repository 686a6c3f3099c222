"""Attachments are downloaded exactly when the caller may open the owning record on a screen
or the API: the module's permission and the record's scope (issue 17 item 1). Before, the
scope alone decided, and ids are sequential: a registry maintainer fetched a patient's 病案首页."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.files import Attachment
from app.views.shared.attachments import OWNER_MODELS
from tests.conftest import user


def owner_org_attachment(owner_type, model, login):
    org_id = user(login).organization_id
    return db.session.execute(
        select(Attachment.id).join(model, model.id == Attachment.owner_id)
        .where(Attachment.owner_type == owner_type, model.organization_id == org_id)
        .order_by(Attachment.id)).scalars().first()


@pytest.mark.parametrize("login,allowed", [
    ("ty_hosp1", True),        # its own application
    ("ty_agency", True),       # reviews 太原's applications
    ("ty_maint", False),       # registry role only: 403 on the screen, so 404 here
    ("ty_hc", False), ("sx_ybj", False), ("ty_ybj", False), ("xd_county", False),
    ("yc_hosp1", False),       # another city's hospital: outside the scope
])
def test_relief_medical_records(app, ctx, login_as, login, allowed):
    from app.models.relief import ReliefApplication
    pk = owner_org_attachment("relief_application", ReliefApplication, "ty_hosp1")
    assert pk is not None
    r = login_as(login).get(f"/attachments/{pk}")
    assert r.status_code == (200 if allowed else 404), login


@pytest.mark.parametrize("owner_type,readers,strangers", [
    ("injury_declaration", ["ty_hosp1", "ty_agency"], ["ty_maint", "ty_hc", "sx_ybj", "xd_county"]),
    ("ivd_hospital_report", ["ty_hosp2", "ty_ybj"], ["ty_maint", "ty_agency", "ty_hc", "xd_county",
                                                    "ty_hosp1"]),
    ("registry_authorization", ["ty_maint", "ty_agency"], ["ty_hosp1", "ty_hc", "sx_ybj", "ty_ybj"]),
])
def test_other_modules_attachments(app, ctx, login_as, owner_type, readers, strangers):
    model = OWNER_MODELS[owner_type]
    org_id = user(readers[0]).organization_id
    column = getattr(model, "organization_id", None)
    stmt = select(Attachment.id).join(model, model.id == Attachment.owner_id).where(
        Attachment.owner_type == owner_type)
    if column is not None and owner_type != "registry_authorization":
        stmt = stmt.where(column == org_id)
    pk = db.session.execute(stmt.order_by(Attachment.id)).scalars().first()
    assert pk is not None, owner_type
    for login in readers:
        assert login_as(login).get(f"/attachments/{pk}").status_code == 200, login
    for login in strangers:
        assert login_as(login).get(f"/attachments/{pk}").status_code == 404, login
