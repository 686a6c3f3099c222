"""The IVD REST resources (SPEC §X): the hospital's 暂存, details, uploads and 提交, the
city's review, the province's summary and export, under the JSON error contract."""
from sqlalchemy import func, select

from app.extensions import db
from app.models.core import Organization
from tests.ivd.ivd_support import items, new_project, pdf_upload, report_of, wait_job


def test_rest_chain(app, api, ctx):
    project_id = new_project()
    c, h = api("ty_hosp1")
    r = c.post(f"/api/v1/ivd_hospital_report/mine/{project_id}", headers=h)
    assert r.status_code == 200
    rid = r.json["id"]
    its = items(project_id)
    bad = c.put(f"/api/v1/ivd_hospital_report/{rid}/lines", headers=h,
                json={"lines": [{"item_id": its[0].id, "last_year_qty": -3, "in_use": True}]})
    assert bad.status_code == 422 and its[0].serial_no in bad.json["message"]
    assert its[0].serial_no in bad.json["fields"]
    lines = [{"item_id": i.id, "last_year_qty": 10, "next_year_qty": 11, "in_use": True}
             for i in its[:3]]
    r = c.put(f"/api/v1/ivd_hospital_report/{rid}/lines", headers=h, json={"lines": lines})
    assert r.status_code == 200 and r.json["filled_lines"] == 3
    r = c.post(f"/api/v1/ivd_hospital_report/{rid}/submit", headers=h)
    assert r.status_code == 409 and "承诺书" in r.json["message"]
    r = c.put(f"/api/v1/ivd_hospital_report/{rid}/details", headers=h,
              json={"contact": "赵六", "contact_phone": "4960001"})
    assert r.status_code == 422 and "区号" in r.json["fields"]["contact_phone"][0]
    r = c.put(f"/api/v1/ivd_hospital_report/{rid}/details", headers=h,
              json={"contact": "赵六", "contact_phone": "13800000000"})
    assert r.status_code == 200
    buf, _name = pdf_upload()
    r = c.post(f"/api/v1/ivd_hospital_report/{rid}/attachments/nonsense", headers=h,
               data={"file": (buf, "x.pdf")}, content_type="multipart/form-data")
    assert r.status_code == 404
    for slot in ("commitment", "demand"):
        buf, name = pdf_upload()
        r = c.post(f"/api/v1/ivd_hospital_report/{rid}/attachments/{slot}", headers=h,
                   data={"file": (buf, name)}, content_type="multipart/form-data")
        assert r.status_code == 201, r.json
    r = c.post(f"/api/v1/ivd_hospital_report/{rid}/submit", headers=h)
    assert r.status_code == 200 and r.json["state"] == "submitted"
    buf, name = pdf_upload()
    r = c.post(f"/api/v1/ivd_hospital_report/{rid}/attachments/demand", headers=h,
               data={"file": (buf, name)}, content_type="multipart/form-data")
    assert r.status_code == 409 and "不能上传附件" in r.json["message"]
    other = report_of(project_id, "yc_hosp1").id
    assert c.get(f"/api/v1/ivd_hospital_report/{other}/lines", headers=h).status_code == 404
    cc, ch = api("ty_ybj")
    assert cc.post(f"/api/v1/ivd_hospital_report/{rid}/approve", headers=ch).status_code == 200
    assert cc.post(f"/api/v1/ivd_hospital_report/{other}/approve", headers=ch).status_code == 404
    pc, ph = api("sx_ybj")
    r = pc.get(f"/api/v1/ivd_area_report/summary/{project_id}", headers=ph)
    assert r.status_code == 200
    ty = next(row for row in r.json["result"] if row["region_code"] == "140100")
    taiyuan = db.session.execute(select(func.count(Organization.id)).where(
        Organization.org_type == "medical", Organization.city_code == "140100")).scalar()
    assert ty["last_year_total"] == 30 and ty["hospital_count"] == taiyuan
    assert pc.get("/api/v1/ivd_project/", headers=ph).status_code == 200
    assert pc.post("/api/v1/ivd_project/", headers=ph, json={"name": "x"}).status_code == 403
    r = pc.post(f"/api/v1/ivd_area_report/export_summary/{project_id}", headers=ph)
    assert r.status_code == 202
    job = r.json["job_id"]
    wait_job(job)
    r = pc.get(f"/api/v1/export_job/{job}/file", headers=ph)
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert cc.get(f"/api/v1/export_job/{job}", headers=ch).status_code == 404


def test_rest_details_are_validated_by_the_submit_pages_form(app, api, ctx):
    """PUT …/details parses with the 提交 page's form: the same fields, the same messages."""
    project_id = new_project()
    c, h = api("ty_hosp1")
    rid = c.post(f"/api/v1/ivd_hospital_report/mine/{project_id}", headers=h).json["id"]
    r = c.put(f"/api/v1/ivd_hospital_report/{rid}/details", headers=h,
              json={"contact": "赵" * 33, "contact_phone": "13800000000"})
    assert r.status_code == 422 and "联系人不能超过32个字" in r.json["fields"]["contact"][0]
    r = c.put(f"/api/v1/ivd_hospital_report/{rid}/details", headers=h,
              json={"contact": " 赵六 ", "contact_phone": " 0351-4960001 "})
    assert r.status_code == 200
    db.session.expire_all()
    rep = report_of(project_id, "ty_hosp1")
    assert (rep.contact, rep.contact_phone) == ("赵六", "0351-4960001")


def test_states_are_enums_and_their_labels_keep_the_stored_values(app):
    from app.models.ivd import (AREA_STATE_LABELS, HOSPITAL_STATE_LABELS, AreaReportState,
                                HospitalReportState)
    from app.workflows.ivd import IvdAreaReportFlow, IvdHospitalReportFlow
    assert list(HOSPITAL_STATE_LABELS) == [s.value for s in HospitalReportState]
    assert list(AREA_STATE_LABELS) == [s.value for s in AreaReportState]
    assert str(HOSPITAL_STATE_LABELS["exempt"]) == "无需上报"
    submit = IvdHospitalReportFlow.transitions["submit"]
    assert submit.source == {"unsubmitted", "rejected"} and submit.target == "submitted"
    assert IvdAreaReportFlow.transitions["submit"].source == {"draft", "rejected"}
