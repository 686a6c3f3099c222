"""Helpers of the 基本公卫 REST tests (test_phs_api*.py): the resources, the rows by name,
the caller's own report and a transition that must succeed."""
import prison
from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.phs import PhsInstitution
from app.services.phs import queries
from tests.conftest import user

INST = "/api/v1/phs_institution"
REPORT = "/api/v1/phs_report"
CHANGE = "/api/v1/phs_change_request"
FILLED = {"longitude": "112.563000", "latitude": "37.733000", "services": ["01", "02", "07"]}


def inst(name):
    db.session.expire_all()
    return db.session.execute(select(PhsInstitution).where(PhsInstitution.name == name)) \
        .scalar_one()


def report(login):
    db.session.expire_all()
    return queries.report_of(user(login).organization, create=False)


def unit_login(name):
    org_id = inst(name).organization_id
    return queries.login_names([org_id])[org_id]


def count(model):
    return db.session.scalar(select(func.count(model.id)))


def transitions_logged():
    return db.session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.object_type == "phs_report", AuditLog.action == "transition"))


def ok(r, status=200):
    """The JSON of a response that must have this status (every step of a chain checks it)."""
    assert r.status_code == status, (r.status_code, r.json)
    return r.json


def mine(c, h):
    r = c.get(f"{REPORT}/mine", headers=h)
    assert r.status_code == 200, r.json
    return r.json["id"]


def fire(c, h, url, **body):
    r = c.post(url, headers=h, json=body)
    assert r.status_code == 200, r.json
    return r.json


def submitted_units(c, h, county_login):
    """The unit reports waiting for this county, as its list call finds them."""
    q = prison.dumps({"filters": [
        {"col": "state", "opr": "eq", "value": "submitted"},
        {"col": "reviewer_org_id", "opr": "eq", "value": user(county_login).organization_id}]})
    r = c.get(f"{REPORT}/", headers=h, query_string={"q": q})
    assert r.status_code == 200, r.json
    return r.json["ids"], [row["organization_name"] for row in r.json["result"]]
