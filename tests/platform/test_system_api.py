"""Issue 17 item 9: the REST resources of SPEC §X the platform lacked — audit_log (read only,
super-admin), system_parameter (super-admin, checked as on the screen), announcement (read by
every signed-in user, written by the super-admin)."""
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import SystemParameter


def test_the_audit_log_is_the_super_admins_and_read_only(api, ctx):
    admin, ah = api("admin")
    r = admin.get("/api/v1/audit_log/", headers=ah)
    assert r.status_code == 200 and r.json["count"] > 0
    assert {"action", "username", "created_at"} <= set(r.json["result"][0])
    first = r.json["ids"][0]
    assert admin.get(f"/api/v1/audit_log/{first}", headers=ah).status_code == 200
    assert admin.delete(f"/api/v1/audit_log/{first}", headers=ah).status_code in (403, 405)
    assert admin.post("/api/v1/audit_log/", headers=ah,
                      json={"action": "x"}).status_code in (403, 405)
    assert db.session.get(AuditLog, first) is not None          # nothing removed
    hosp, hh = api("ty_hosp1")
    assert hosp.get("/api/v1/audit_log/", headers=hh).status_code == 403


def test_system_parameters_are_checked_as_on_the_screen_and_audited(api, ctx):
    param = db.session.execute(select(SystemParameter).where(
        SystemParameter.key == "default_page_size")).scalar_one()
    admin, ah = api("admin")
    r = admin.put(f"/api/v1/system_parameter/{param.id}", headers=ah, json={"value": "很多"})
    assert r.status_code == 422 and r.json["fields"]["value"]
    db.session.expire_all()
    assert db.session.get(SystemParameter, param.id).value != "很多"
    r = admin.put(f"/api/v1/system_parameter/{param.id}", headers=ah, json={"value": " 30 "})
    assert r.status_code == 200
    db.session.expire_all()
    assert db.session.get(SystemParameter, param.id).value == "30"
    row = db.session.execute(select(AuditLog).where(AuditLog.action == "parameter_change")
                             .order_by(AuditLog.id.desc())).scalars().first()
    assert row.comment == "default_page_size=30" and row.username == "admin"
    hosp, hh = api("ty_hosp1")
    assert hosp.put(f"/api/v1/system_parameter/{param.id}", headers=hh,
                    json={"value": "10"}).status_code == 403


def test_announcements_are_read_by_everyone_and_written_by_the_super_admin(api, ctx):
    hosp, hh = api("ty_hosp1")
    r = hosp.get("/api/v1/announcement/", headers=hh)
    assert r.status_code == 200 and r.json["count"] >= 1
    body = {"title": "接口公告", "content": "内容", "published_on": "2026-12-07", "active": True}
    assert hosp.post("/api/v1/announcement/", headers=hh, json=body).status_code == 403
    admin, ah = api("admin")
    r = admin.post("/api/v1/announcement/", headers=ah, json=body)
    assert r.status_code == 201
    pk = r.json["id"]
    assert any(a["title"] == "接口公告"
               for a in hosp.get("/api/v1/announcement/", headers=hh).json["result"])
    assert hosp.delete(f"/api/v1/announcement/{pk}", headers=hh).status_code == 403
    assert admin.delete(f"/api/v1/announcement/{pk}", headers=ah).status_code == 200
