"""疾病应急救助 REST resources (SPEC §X): flow, batch, export, prepayments, OpenAPI."""
import io

import openpyxl
from sqlalchemy import select

from app.extensions import db
from app.models.core import Organization
from app.models.relief import ReliefApplication
from tests.conftest import APPLICATION_FORM, make_application
from tests.relief.relief_support import state_of


def test_rest_flow_and_batch_conflict(app, api):
    c, h = api("ty_hosp1")
    body = {k: v for k, v in APPLICATION_FORM.items() if v != ""}
    r = c.post("/api/v1/relief_application/", json=dict(body, requested_amount="1.00"), headers=h)
    assert r.status_code == 422 and "requested_amount" in r.json["fields"]
    r = c.post("/api/v1/relief_application/", json=body, headers=h)
    assert r.status_code == 201, r.json
    pk = r.json["id"]
    r = c.post(f"/api/v1/relief_application/{pk}/submit", headers=h)
    assert r.status_code == 409 and "请上传附件" in r.json["message"]
    with app.app_context():
        ready = make_application()
    r = c.post("/api/v1/relief_application/batch/submit", json={"ids": [ready, pk]}, headers=h)
    assert r.status_code == 409 and [x["id"] for x in r.json["ineligible"]] == [pk]
    assert state_of(app, ready) == "draft"
    r = c.post(f"/api/v1/relief_application/{ready}/submit", headers=h)
    assert r.status_code == 200 and r.json["state"] == "submitted"
    r = c.post(f"/api/v1/relief_application/{ready}/approve", json={"poverty": "1"}, headers=h)
    assert r.status_code == 403
    ca, ha = api("ty_agency")
    r = ca.post(f"/api/v1/relief_application/{ready}/approve", json={"poverty": "1"}, headers=ha)
    assert r.status_code == 200 and r.json["state"] == "approved"
    r = ca.post(f"/api/v1/relief_application/{ready}/approve", json={"poverty": "1"}, headers=ha)
    assert r.status_code == 409
    hist = c.get(f"/api/v1/relief_application/{ready}/history", headers=h).json["result"]
    assert [x["transition"] for x in hist] == ["submit", "approve"]


def test_rest_export_is_scoped_and_filtered(app, api):
    with app.app_context():
        mine = make_application(patient_name="导出甲")
        other = make_application("yc_hosp1", patient_name="导出乙")
    c, h = api("ty_hosp1")
    r = c.get("/api/v1/relief_application/export?columns=id,patient_name,state", headers=h)
    assert r.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(r.data)).active.iter_rows(min_row=2, values_only=True))
    ids = {row[0] for row in rows}
    assert mine in ids and other not in ids
    q = "(filters:!((col:patient_name,opr:eq,value:导出甲)))"
    r = c.get(f"/api/v1/relief_application/export?columns=id&q={q}", headers=h)
    rows = list(openpyxl.load_workbook(io.BytesIO(r.data)).active.iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == [mine]
    assert c.get("/api/v1/relief_application/export?columns=password", headers=h).status_code == 400


def test_prepayment_api_validates_and_keeps_records(app, api):
    c, h = api("ty_hosp1")
    assert c.post("/api/v1/relief_prepayment/", json={"amount": "-5", "paid_on": "2026-03-01"},
                  headers=h).status_code == 422
    r = c.post("/api/v1/relief_prepayment/", json={"amount": "12.34", "paid_on": "2026-03-01"},
               headers=h)
    assert r.status_code == 201
    pk = r.json["id"]
    # Corrected as on the screen (until a report carried it up), never to three decimals
    assert c.put(f"/api/v1/relief_prepayment/{pk}", json={"amount": "0.015"},
                 headers=h).status_code == 422
    assert c.put(f"/api/v1/relief_prepayment/{pk}", json={"amount": "0.01"},
                 headers=h).status_code == 200
    assert c.get(f"/api/v1/relief_prepayment/{pk}", headers=h).json["result"]["amount"] in (
        "0.01", 0.01)
    co, ho = api("yc_hosp1")
    assert co.get(f"/api/v1/relief_prepayment/{pk}", headers=ho).status_code == 404
    assert co.delete(f"/api/v1/relief_prepayment/{pk}", headers=ho).status_code == 404
    assert c.delete(f"/api/v1/relief_prepayment/{pk}", headers=h).status_code == 200


def test_rest_post_cannot_place_a_row_in_another_organisation(app, api):
    with app.app_context():
        other = db.session.execute(select(Organization.id).where(
            Organization.name == "运城市中心医院")).scalar()
    c, h = api("ty_hosp1")
    body = {k: v for k, v in APPLICATION_FORM.items() if v != ""}
    r = c.post("/api/v1/relief_application/", json=dict(body, organization_id=other,
                                                        city_code="140800"), headers=h)
    if r.status_code == 201:
        with app.app_context():
            item = db.session.get(ReliefApplication, r.json["id"])
            assert item.organization.name == "太原市第一人民医院" and item.city_code == "140100"
    else:
        assert r.status_code in (400, 422)


def test_openapi_document_lists_the_resources(api):
    c, h = api("admin")
    r = c.get("/api/v1/_openapi", headers=h)
    assert r.status_code == 200 and "/relief_application/" in str(r.json["paths"])
