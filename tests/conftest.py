"""Fixtures on the demo data of SPEC §Y, on SQLite or on TEST_DATABASE_URL (PostgreSQL).

The schema, regions and demo data are built once per session and kept as the baseline.
Every statement that writes a table is noticed (any engine of this process); after each test
the tables written are compared with the baseline and put back row by row — no list of
tables to keep up to date. A test whose writes happen in another process (a Celery worker,
a second web process) is marked `writes_elsewhere`: every table is compared."""
import io
import os
import re
import tempfile
import zipfile

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, event, insert, select, text, update
from sqlalchemy.engine import Engine

from app import create_app
from app.extensions import db

PASSWORD = "Demo@2026"
WRITE = re.compile(r'^\s*(INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.I)
TOUCHED = {}         # table name → "insert" (rows only added) or "change", since the restore


@event.listens_for(Engine, "before_cursor_execute")
def _notice_writes(conn, cursor, statement, parameters, context, executemany):
    found = WRITE.match(statement)
    if found:
        kind = "insert" if found.group(1).upper().startswith("INSERT") else "change"
        name = found.group(2).lower()
        if TOUCHED.get(name) != "change":
            TOUCHED[name] = kind


def pytest_configure(config):
    config.addinivalue_line("markers", "writes_elsewhere: another process writes the test "
                                       "database; every table is put back afterwards")


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
        db.session.commit()
        with db.engine.connect() as connection:
            application.config["_BASELINE"] = Baseline(connection)
    yield application


class Baseline:
    """Every table's rows after the demo load, keyed by primary key, in dependency order."""

    def __init__(self, connection):
        from flask_appbuilder import Model
        self.tables = [t for t in Model.metadata.sorted_tables if t.primary_key.columns]
        self.rows = {t.name: self.read(connection, t) for t in self.tables}
        # the largest key of a table with one integer key (rows added later have larger ones)
        self.top = {t.name: max((k[0] for k in self.rows[t.name]), default=0)
                    for t in self.tables if len(t.primary_key.columns) == 1
                    and t.primary_key.columns[0].type.python_type is int}

    @staticmethod
    def key(table, row):
        return tuple(row[c.name] for c in table.primary_key.columns)

    def read(self, connection, table):
        return {self.key(table, r): dict(r) for r in connection.execute(select(table)).mappings()}

    def restore(self, connection, touched):
        """The tables touched put back: changed rows updated (parents first), added rows
        deleted (dependents first), removed rows inserted again (parents first). A table that
        only had rows added and has one integer key loses the rows past its baseline's
        largest key, without being read."""
        tables = [t for t in self.tables if t.name in touched]
        quick = {t.name for t in tables
                 if touched[t.name] == "insert" and self.top.get(t.name) is not None}
        current = {t.name: self.read(connection, t) for t in tables if t.name not in quick}
        for table in tables:
            if table.name in current:
                now = current[table.name]
                for key, row in self.rows[table.name].items():
                    if key in now and now[key] != row:
                        connection.execute(update(table).where(*self.match(table, key))
                                           .values(row))
        for table in reversed(tables):
            if table.name in quick:
                column = table.primary_key.columns[0]
                connection.execute(delete(table).where(column > self.top[table.name]))
                continue
            extra = [key for key in current[table.name] if key not in self.rows[table.name]]
            if extra and len(table.primary_key.columns) == 1:   # one statement: rows that
                column = table.primary_key.columns[0]           # point at each other go too
                connection.execute(delete(table).where(column.in_([k[0] for k in extra])))
            else:
                for key in extra:
                    connection.execute(delete(table).where(*self.match(table, key)))
        for table in tables:
            if table.name in current:
                missing = [row for key, row in self.rows[table.name].items()
                           if key not in current[table.name]]
                if missing:
                    connection.execute(insert(table), missing)

    @staticmethod
    def match(table, key):
        return [c == v for c, v in zip(table.primary_key.columns, key)]


@pytest.fixture(autouse=True)
def _restore(app, request):
    TOUCHED.clear()
    yield
    with app.app_context():
        db.session.rollback()
        db.session.remove()
        baseline = app.config["_BASELINE"]
        touched = ({t.name: "change" for t in baseline.tables}
                   if request.node.get_closest_marker("writes_elsewhere") else dict(TOUCHED))
        if touched:
            from app.summaries import SUMMARIES
            kept_by_triggers = {s.table: "change" for s in SUMMARIES}
            with db.engine.begin() as connection:
                # the records first (their triggers move the summaries), then the summaries
                baseline.restore(connection, {k: v for k, v in touched.items()
                                              if k not in kept_by_triggers})
                baseline.restore(connection, kept_by_triggers)
    TOUCHED.clear()
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
