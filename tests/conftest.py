"""Fixtures on the demo data of SPEC §Y, on SQLite or on TEST_DATABASE_URL (PostgreSQL).

The schema, regions and demo data are built once per session; after every test the rows
it added are removed and the demo accounts and parameters are put back, so tests do not
depend on each other."""
import io
import os
import re
import tempfile
import zipfile

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text, update

from app import create_app
from app.extensions import db

PASSWORD = "Demo@2026"
TRIMMED = ["designated_institution", "registry_staff", "registry_cert_change",
           "registry_agreement", "registry_authorization", "registry_institution",
           "phs_change_request", "phs_report", "phs_institution", "phs_round",
           "ab_user_role", "attachment", "injury_device_line", "injury_declaration",
           "injury_determination", "injury_device_item", "audit_log", "export_job", "ivd_report_line",
           "ivd_area_report", "ivd_hospital_report", "ivd_catalog_item", "ivd_project",
           "relief_evaluation",
           "relief_performance", "relief_report", "relief_report_task", "relief_application",
           "relief_prepayment", "ab_user", "organization"]


# Demo rows that tests change in place (states, filled items): every column is put back.
RESTORED = ["organization", "phs_round", "phs_institution", "phs_report", "phs_change_request",
            "ab_user", "registry_institution", "registry_authorization", "registry_agreement",
            "registry_staff", "designated_institution", "registry_code_counter"]


def _database_url(tmpdir):
    url = os.environ.get("TEST_DATABASE_URL")
    return url or "sqlite:///" + os.path.join(tmpdir, "test.db")


class FreshClient(FlaskClient):
    """A test that holds an app context shares it with the requests it makes; give every
    request what production gives it: no per-request cache, nothing stale in the session."""

    def open(self, *args, **kwargs):
        from flask import g, has_app_context
        if has_app_context():
            db.session.rollback()
            db.session.expire_all()
            for key in ("_parameters", "user", "_login_user", "_scope"):
                g.pop(key, None)
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session")
def app():
    tmpdir = tempfile.mkdtemp(prefix="portal-test-")
    application = create_app({
        "SQLALCHEMY_DATABASE_URI": _database_url(tmpdir), "TESTING": True,
        "CAPTCHA_ENABLED": False, "WTF_CSRF_ENABLED": False, "INSTANCE_DIR": tmpdir,
        "STORAGE_DIR": os.path.join(tmpdir, "storage"), "SECRET_KEY": "test-secret-key-of-at-least-32-bytes!",
    })
    os.makedirs(application.config["STORAGE_DIR"], exist_ok=True)
    application.test_client_class = FreshClient
    with application.app_context():
        from flask_appbuilder import Model
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            Model.metadata.drop_all(db.engine)
            with db.engine.begin() as conn:
                conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        from app.cli import init_schema
        from app.demo import load_demo
        from app.regions import load_regions
        init_schema()
        load_regions()
        load_demo()
        application.config["_BASELINE"] = _baseline()
    yield application


def _baseline():
    ids = {}
    for table in TRIMMED + ["relief_recovery"]:
        col = "id"
        ids[table] = db.session.execute(text(f"SELECT max({col}) FROM {table}")).scalar() or 0
    from app.models.core import User
    users = {u.id: (u.password, u.active, u.first_name, u.mobile)
             for u in db.session.execute(select(User)).scalars()}
    rows = {table: [dict(r) for r in db.session.execute(text(f"SELECT * FROM {table}"))
                    .mappings()] for table in RESTORED}
    return {"ids": ids, "users": users, "rows": rows}


def _restore_rows(rows):
    # The national-code counter has no id: it is put back whole (M5 tests read its numbers).
    db.session.execute(text("DELETE FROM registry_code_counter"))
    for row in rows["registry_code_counter"]:
        db.session.execute(text("INSERT INTO registry_code_counter (region_code, last_seq) "
                                "VALUES (:region_code, :last_seq)"), row)
    for table, saved in rows.items():
        if table == "registry_code_counter":
            continue
        for row in saved:
            columns = [c for c in row if c != "id"]
            db.session.execute(text(f"UPDATE {table} SET " + ", ".join(
                f"{c} = :{c}" for c in columns) + " WHERE id = :id"), row)


@pytest.fixture(autouse=True)
def _restore(app):
    yield
    with app.app_context():
        db.session.rollback()
        base = app.config["_BASELINE"]
        ids = base["ids"]
        db.session.execute(text("DELETE FROM relief_recovery_application WHERE recovery_id > :m"),
                           {"m": ids["relief_recovery"]})
        db.session.execute(text("DELETE FROM relief_recovery WHERE id > :m"),
                           {"m": ids["relief_recovery"]})
        db.session.execute(text("UPDATE relief_report SET aggregate_id = NULL "
                                "WHERE aggregate_id > :m"), {"m": ids["relief_report"]})
        _restore_rows(base["rows"])
        db.session.execute(text("UPDATE phs_report SET aggregate_id = NULL "
                                "WHERE id > :m"), {"m": ids["phs_report"]})
        for table in TRIMMED:
            db.session.execute(text(f"DELETE FROM {table} WHERE id > :m"),
                               {"m": base["ids"][table]})
        from app.models.core import SystemParameter, User
        for uid, (pw, active, name, mobile) in base["users"].items():
            db.session.execute(update(User).where(User.id == uid).values(
                password=pw, active=active, first_name=name, mobile=mobile, locked_until=None,
                fail_login_count=0, must_change_password=False))
        from app.services.parameters import PARAMETERS
        for key, (_l, _t, default, _d) in PARAMETERS.items():
            db.session.execute(update(SystemParameter).where(SystemParameter.key == key)
                               .values(value=default))
        db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = False
    app.config["CAPTCHA_ENABLED"] = False


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login_as(app):
    """login_as("ty_hosp1") → a logged-in test client."""
    def _login(username, password=PASSWORD):
        c = app.test_client()
        r = c.post("/login/", data={"username": username, "password": password})
        assert r.status_code == 302, r.data[:500]
        return c
    return _login


@pytest.fixture
def api(app):
    """api("ty_hosp1") → (client, headers with a JWT)."""
    def _api(username, password=PASSWORD):
        c = app.test_client()
        r = c.post("/api/v1/security/login",
                   json={"username": username, "password": password, "provider": "db"})
        assert r.status_code == 200, r.json
        return c, {"Authorization": "Bearer " + r.json["access_token"]}
    return _api


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def user(username):
    from app.models.core import User
    return db.session.execute(select(User).where(User.username == username)).scalar_one()


def flashes(response):
    return " ".join(re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', response.get_data(as_text=True), re.S))


def zip_upload(name="材料.zip"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "x")
    buf.seek(0)
    return (buf, name)


def png_bytes():
    from PIL import Image
    buf = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buf, "PNG")
    return buf.getvalue()


APPLICATION_FORM = {
    "category": "unable_to_pay", "patient_name": "张三", "gender": "1",
    "id_number": "310115199003071239", "age": "", "household_address": "山西省太原市",
    "nationality": "中国", "phone": "13812345678", "relief_place": "急诊科",
    "start_at": "2026-05-01 08:00:00", "end_at": "2026-05-03 08:00:00",
    "disease": "急性心肌梗死", "other_disease": "", "emergency_cost": "100.00",
    "medical_cost": "1000.10", "living_cost": "200.20", "requested_amount": "1200.30",
}


def make_application(org_login="ty_hosp1", with_files=True, **overrides):
    """An application created through the model plus its required archives; returns id."""
    import datetime as dt
    from decimal import Decimal
    from app.demo import demo_zip
    from app.models.relief import ReliefApplication
    from app.services import files
    from app.workflows.relief import SLOTS
    u = user(org_login)
    org = u.organization
    values = dict(organization=org, category="unable_to_pay", patient_name="李四", gender="2",
                  id_number="532502200002290040", relief_place="急诊", disease="休克",
                  start_at=dt.datetime(2026, 6, 1), end_at=dt.datetime(2026, 6, 2),
                  emergency_cost=Decimal("10"), medical_cost=Decimal("100.25"),
                  living_cost=Decimal("0.75"), requested_amount=Decimal("101.00"),
                  state="draft")
    values.update(overrides)
    item = ReliefApplication(**values)
    item.copy_scope_from(org)
    db.session.add(item)
    db.session.flush()
    if with_files:
        for slot in SLOTS[:2]:
            files.attach(item, slot, demo_zip(str(slot.name)), u)
    db.session.commit()
    return item.id
