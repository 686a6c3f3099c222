"""The job interface (app/services/jobs.py): in-process threads without a broker, Celery
with one (the real worker is in test_celery_jobs.py), JSON-only arguments, the scheduled jobs
and their beat schedule, and the export list's reloading while a job runs."""
import datetime as dt
import logging
import os
import threading

import pytest
from flask import has_app_context

from app.extensions import db
from app.services import jobs
from app.services.jobs import dispatch, job
from tests.conftest import user

CALLS = []


@job
def sample_record(value, items=None):
    from flask import current_app
    CALLS.append({"value": value, "items": items, "context": has_app_context(),
                  "thread": threading.current_thread().name,
                  "storage": current_app.config["STORAGE_DIR"]})
    return value


@job
def sample_fail():
    raise RuntimeError("故意失败")


@pytest.fixture(autouse=True)
def _calls(monkeypatch):
    # Alembic's fileConfig (the test schema is built by the migrations) disables the loggers
    # that existed then; a served app never runs it.
    monkeypatch.setattr(jobs.log, "disabled", False)
    CALLS.clear()
    yield
    CALLS.clear()


def test_without_a_broker_a_job_runs_on_a_thread_with_its_own_context(app, ctx):
    assert not app.config["CELERY_BROKER_URL"]          # the embedded default
    handle = dispatch("sample_record", value=3, items=("a", "b"))
    assert isinstance(handle, threading.Thread)
    handle.join(10)
    assert CALLS == [{"value": 3, "items": ["a", "b"], "context": True,   # JSON round trip
                      "thread": "job-sample_record", "storage": app.config["STORAGE_DIR"]}]


def test_only_json_arguments_and_known_names(ctx):
    with pytest.raises(TypeError):
        dispatch("sample_record", value=dt.date(2026, 1, 1))
    with pytest.raises(LookupError):
        dispatch("no_such_job")
    assert CALLS == []


def test_a_failing_job_is_logged_not_raised(ctx, caplog):
    with caplog.at_level(logging.ERROR, logger="app.services.jobs"):
        dispatch("sample_fail").join(10)
    assert "job sample_fail failed" in caplog.text and "故意失败" in caplog.text


def test_with_a_broker_dispatch_sends_a_celery_task(app, ctx, monkeypatch):
    import app.celery_app as celery_app
    sent = []
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setattr(celery_app, "send", lambda a, name, kwargs: sent.append(
        (a, name, kwargs)) or "async-result")
    monkeypatch.setattr(jobs, "_thread", lambda *a: pytest.fail("ran in-process"))
    assert dispatch("sample_record", value=[1, 2]) == "async-result"
    assert sent == [(app, "sample_record", {"value": [1, 2]})] and CALLS == []


def test_an_unreachable_broker_falls_back_to_the_thread(app, ctx, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.config, "CELERY_QUEUE", "portal-test-unreachable")
    with caplog.at_level(logging.ERROR, logger="app.services.jobs"):
        handle = dispatch("sample_record", value=5)
    assert isinstance(handle, threading.Thread)
    handle.join(10)
    assert CALLS[0]["value"] == 5 and "broker unreachable" in caplog.text


def test_celery_client_follows_the_app_settings(app, monkeypatch):
    from app.celery_app import TASK, make_celery
    monkeypatch.setitem(app.config, "CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    monkeypatch.setitem(app.config, "CELERY_QUEUE", "portal-x")
    client = make_celery(app.config)
    assert client.conf.task_default_queue == "portal-x"
    assert client.conf.accept_content == ["json"] and client.conf.task_serializer == "json"
    assert client.conf.result_backend == "redis://127.0.0.1:6379/15"
    assert TASK in client.tasks


def test_beat_schedules_the_three_scheduled_jobs():
    from celery.schedules import crontab
    from app.celery_app import TASK, beat_schedule, celery
    schedule = celery.conf.beat_schedule
    assert set(schedule) == {"export_cleanup", "injury_approve_overdue",
                             "registry_sync_agreements"}
    for name, entry in schedule.items():
        assert entry["task"] == TASK and entry["args"] == (name, {})
        assert jobs.get(name).__name__ == name
        assert isinstance(entry["schedule"], crontab)
    assert schedule["injury_approve_overdue"]["schedule"] == crontab(minute="*/10")
    assert schedule["export_cleanup"]["schedule"] == crontab(minute="30", hour="2")
    assert celery.conf.timezone == "Asia/Shanghai"
    # Configurable; an empty spec leaves a job out.
    assert set(beat_schedule({"export_cleanup": "0 3 * * 0", "injury_approve_overdue": ""})) \
        == {"export_cleanup"}


def test_schedule_defaults_come_from_the_modules_and_settings_and_environment_override(
        app, monkeypatch):
    from app.module import modules
    with app.app_context():
        found = jobs.schedule({}, modules())
        assert found == {"export_cleanup": "30 2 * * *", "injury_approve_overdue": "*/10 * * * *",
                         "registry_sync_agreements": "5 * * * *"}
        monkeypatch.setenv("SCHEDULE_REGISTRY_SYNC_AGREEMENTS", "")
        found = jobs.schedule({"JOB_SCHEDULE": {"export_cleanup": "0 4 * * *"}}, modules())
        assert found["export_cleanup"] == "0 4 * * *"
        assert found["registry_sync_agreements"] == ""


def test_export_cleanup_removes_old_files_only(app, ctx):
    from app.models.core import utcnow
    from app.models.jobs import ExportJob
    from app.services import scheduled
    from app.services.export_jobs import export_dir
    rows = []
    for age in (30, 1):
        name = f"cleanup-test-{age}.xlsx"
        with open(os.path.join(export_dir(), name), "wb") as fh:
            fh.write(b"x")
        rows.append(ExportJob(user_id=user("ty_agency").id, title="t", view_name="v", columns="-",
                              state="done", file_name=name,
                              finished_at=utcnow() - dt.timedelta(days=age)))
    db.session.add_all(rows)
    db.session.commit()
    assert scheduled.export_cleanup() >= 1
    old, new = (db.session.get(ExportJob, r.id) for r in rows)
    assert old.file_name is None and not os.path.exists(
        os.path.join(export_dir(), "cleanup-test-30.xlsx"))
    assert new.file_name and os.path.exists(os.path.join(export_dir(), new.file_name))


def test_run_jobs_command_runs_the_scheduled_jobs(app):
    out = app.test_cli_runner().invoke(args=["portal", "run-jobs"]).output
    assert "export files removed: " in out and "injury_approve_overdue: " in out
    assert "registry_sync_agreements: {'published': " in out


def test_export_list_reloads_while_a_job_runs(app, login_as):
    from app.models.jobs import ExportJob
    c = login_as("ty_agency")
    assert "export_jobs.js" not in c.get("/exports/list/").get_data(as_text=True)
    with app.app_context():
        row = ExportJob(user_id=user("ty_agency").id, title="大导出", view_name="v", columns="-",
                        state="running", rows_total=20000, rows_written=5000)
        db.session.add(row)
        db.session.commit()
        pk = row.id
    page = c.get("/exports/list/").get_data(as_text=True)
    assert "export_jobs.js" in page and "自动刷新" in page and "5000/20000" in page
    # Somebody else's running job does not make my page reload.
    assert "export_jobs.js" not in login_as("yc_agency").get("/exports/list/").get_data(
        as_text=True)
    with app.app_context():
        db.session.execute(db.update(ExportJob).where(ExportJob.id == pk).values(state="done"))
        db.session.commit()
    assert "export_jobs.js" not in c.get("/exports/list/").get_data(as_text=True)
    assert c.get("/static/export_jobs.js").status_code == 200
