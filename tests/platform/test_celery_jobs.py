"""Jobs on Celery (issue 8 item 1) against the real Redis and a real worker process
(`celery -A app.celery_app worker --pool solo`) on the test app's database and storage.

Redis: TEST_REDIS_URL, default redis://127.0.0.1:6379/5, and a queue of its own per run, so
parallel runs do not take each other's tasks. Without Redis the module is skipped, unless
REQUIRE_REDIS=1 (CI), which makes it fail."""
import datetime as dt
import os
import socket
import subprocess
import sys
import time
import uuid

import openpyxl
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.jobs import ExportJob
from tests.conftest import user

# the Celery worker writes the test database from its own process
pytestmark = pytest.mark.writes_elsewhere

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WAIT = 60


def _require_redis():
    import redis
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except Exception as exc:                                  # noqa: BLE001
        reason = f"Redis is not reachable at {REDIS} ({exc})"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(reason + " and REQUIRE_REDIS=1", pytrace=False)
        pytest.skip(reason + "; set REQUIRE_REDIS=1 to make this a failure")


class Worker:
    def __init__(self, app):
        self.queue = f"portal-test-{uuid.uuid4().hex[:12]}"
        self.hostname = f"{self.queue}@{socket.gethostname()}"
        self.settings = {"CELERY_BROKER_URL": REDIS, "CELERY_RESULT_BACKEND": REDIS,
                         "CELERY_QUEUE": self.queue, "INSTANCE_DIR": app.config["INSTANCE_DIR"]}
        self.log_path = os.path.join(app.config["INSTANCE_DIR"], f"{self.queue}.log")
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "RATELIMIT_STORAGE_URI", "TEST_DATABASE_URL")}
        env.update(self.settings, DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
                   STORAGE_DIR=app.config["STORAGE_DIR"], SECRET_KEY=app.config["SECRET_KEY"],
                   PYTHONUNBUFFERED="1")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "app.celery_app", "worker", "--pool", "solo",
             "--without-mingle", "--without-gossip", "--without-heartbeat", "-Q", self.queue,
             "-n", self.hostname, "-l", "info"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        from app.celery_app import make_celery
        self.client = make_celery(self.settings)

    def output(self):
        self.log.flush()
        with open(self.log_path) as fh:
            return fh.read()[-4000:]

    def check_alive(self):
        assert self.process.poll() is None, "worker exited:\n" + self.output()

    def wait_ready(self):
        deadline = time.time() + WAIT
        while time.time() < deadline:
            self.check_alive()
            if self.client.control.ping(destination=[self.hostname], timeout=0.5):
                return
        raise AssertionError("worker not ready:\n" + self.output())

    def run(self, name, kwargs=None):
        """A job through the worker, waiting for its return value."""
        from app.celery_app import TASK
        result = self.client.send_task(TASK, args=[name, kwargs or {}], ignore_result=False)
        try:
            return result.get(timeout=WAIT)
        finally:
            self.check_alive()
            result.forget()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()
        import redis
        r = redis.Redis.from_url(REDIS, socket_connect_timeout=2)
        for key in r.scan_iter(match=f"*{self.queue}*"):       # the queue and its bindings
            r.delete(key)
        r.close()
        self.client.close()


@pytest.fixture(scope="module")
def worker(app):
    _require_redis()
    w = Worker(app)
    try:
        w.wait_ready()
        yield w
    finally:
        w.stop()


@pytest.fixture
def on_celery(app, worker, monkeypatch):
    """The test app dispatches to the worker's queue; running in-process is an error."""
    from app.services import jobs
    for key, value in worker.settings.items():
        if key != "INSTANCE_DIR":
            monkeypatch.setitem(app.config, key, value)
    monkeypatch.setattr(jobs, "_thread", lambda *a: pytest.fail("job ran in the web process"))
    return worker


def wait_for(app, worker, job_id):
    deadline = time.time() + WAIT
    while time.time() < deadline:
        with app.app_context():
            row = db.session.get(ExportJob, job_id)
            if row.state in ("done", "failed"):
                return row
        worker.check_alive()
        time.sleep(0.1)
    raise AssertionError("job did not finish:\n" + worker.output())


def test_export_runs_on_the_worker_and_is_downloadable(app, login_as, on_celery):
    from app.models.core import SystemParameter
    with app.app_context():
        db.session.execute(db.update(SystemParameter).where(
            SystemParameter.key == "export_background_rows").values(value="1"))
        db.session.commit()
    c = login_as("ty_agency")
    r = c.get("/relief/review/export/standard/", follow_redirects=True)
    assert "后台导出" in r.get_data(as_text=True)
    with app.app_context():
        job_id = db.session.execute(select(ExportJob.id).order_by(ExportJob.id.desc())).scalar()
    row = wait_for(app, on_celery, job_id)
    assert row.state == "done", row.error
    assert row.rows_written == row.rows_total and row.rows_total >= 1
    page = c.get("/exports/list/").get_data(as_text=True)
    assert "已完成" in page and f"/exports/file/{job_id}" in page
    assert "export_jobs.js" not in page                   # nothing left to wait for
    r = c.get(f"/exports/file/{job_id}")
    assert r.status_code == 200
    import io
    assert openpyxl.load_workbook(io.BytesIO(r.data)).active.max_row == row.rows_total + 1
    assert login_as("yc_agency").get(f"/exports/file/{job_id}").status_code == 404


def test_a_failing_job_ends_failed_with_its_error(app, ctx, on_celery):
    from app.services.export_jobs import start
    row = start(user("ty_hosp1"), "省级汇总", "ivd_province_pdf", "project=0&province=140000")
    row = wait_for(app, on_celery, row.id)
    assert row.state == "failed" and row.error == "该区域不在您的管辖范围内"
    assert row.file_name is None and row.finished_at is not None


def test_an_unknown_job_fails_on_the_worker(worker):
    with pytest.raises(LookupError):
        worker.run("no_such_job")


def test_the_scheduled_jobs_run_on_the_worker(app, ctx, worker, login_as):
    from app.celery_app import celery
    from app.models.core import utcnow
    from app.models.injury import InjuryDeclaration
    from app.models.registry import RegistryAgreement
    from app.services.export_jobs import export_dir
    from tests.injury.injury_support import declaration, determination, submitted
    schedule = celery.conf.beat_schedule              # what `celery -A app.celery_app beat` sends
    assert set(schedule) == {"export_cleanup", "injury_approve_overdue",
                             "registry_sync_agreements"}

    # 超时自动通过: a declaration whose employer deadline has passed.
    pk = submitted(login_as("ty_hosp1"), determination())
    # 导出清理: an export finished 30 days ago loses its file.
    name = f"{uuid.uuid4().hex}.xlsx"
    with open(os.path.join(export_dir(), name), "wb") as fh:
        fh.write(b"x")
    old = ExportJob(user_id=user("ty_agency").id, title="旧导出", view_name="v", columns="-",
                    state="done", file_name=name, finished_at=utcnow() - dt.timedelta(days=30))
    db.session.add(old)
    db.session.execute(db.update(InjuryDeclaration).where(InjuryDeclaration.id == pk).values(
        employer_due_at=utcnow() - dt.timedelta(minutes=1)))
    # 入库: a confirmed agreement not yet published.
    agreement = db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.state == "confirmed").limit(1)).scalar_one()
    agreement.synced_at = None
    db.session.commit()

    results = {}
    for job_name, entry in schedule.items():
        results[job_name] = worker.run(*entry["args"])
    db.session.expire_all()
    assert results["export_cleanup"] >= 1
    assert db.session.get(ExportJob, old.id).file_name is None
    assert not os.path.exists(os.path.join(export_dir(), name))
    assert results["injury_approve_overdue"] >= 1
    item = declaration(pk)
    assert item.state == "agency_review" and item.employer_auto_approved
    assert results["registry_sync_agreements"]["published"] >= 1
    assert db.session.get(RegistryAgreement, agreement.id).synced_at is not None
