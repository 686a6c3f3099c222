"""Celery for the job interface of app/services/jobs.py (issue 8, docs/production.md):

    celery -A app.celery_app worker     # runs dispatched jobs (exports, summaries, …)
    celery -A app.celery_app beat       # sends the scheduled jobs of JOB_SCHEDULE

Settings come from config.py and so from the environment (CELERY_BROKER_URL, CELERY_QUEUE,
JOB_SCHEDULE and SCHEDULE_<JOB>, DATABASE_URL, STORAGE_DIR, SECRET_KEY …), the same as the web processes'.

There is one task, `portal.run_job(name, kwargs)`: the worker looks the job up in the @job
registry, so a new job needs no Celery code; the message carries the job's name as its
"shadow" name, which the worker's log and monitors show. The worker builds the Flask app
once per process that runs tasks (each prefork child, or the solo/threads worker itself) and
runs every task in its own application context; the session is removed afterwards."""
import os
import sys

from celery import Celery, signals
from celery.schedules import crontab

TASK = "portal.run_job"

_flask_app = None


def flask_app():
    """This process's Flask app, created on first use (never in a prefork parent)."""
    global _flask_app
    if _flask_app is None:
        from app import create_app
        _flask_app = create_app()
    return _flask_app


def run_job(name, kwargs=None):
    from app.services import jobs
    with flask_app().app_context():
        return jobs.run(name, kwargs or {})


def beat_schedule(schedule):
    """{job name: "minute hour day-of-month month day-of-week"} (jobs.schedule) → beat
    entries; an empty spec leaves the job out."""
    return {name: {"task": TASK, "schedule": crontab.from_string(spec), "args": (name, {}),
                   "options": {"shadow": f"portal.{name}"}}
            for name, spec in (schedule or {}).items() if spec and spec.strip()}


def make_celery(settings):
    """A Celery app from a config mapping (config.py's names)."""
    from app.module import modules_of_settings
    from app.services.jobs import schedule
    broker = settings.get("CELERY_BROKER_URL")
    backend = settings.get("CELERY_RESULT_BACKEND") or broker
    instance_dir = settings.get("INSTANCE_DIR") or "."
    celery = Celery("portal", broker=broker, backend=backend, set_as_current=False)
    celery.conf.update(
        task_default_queue=settings.get("CELERY_QUEUE") or "portal",
        task_serializer="json", result_serializer="json", accept_content=["json"],
        timezone=settings.get("CELERY_TIMEZONE") or "Asia/Shanghai", enable_utc=True,
        beat_schedule=beat_schedule(schedule(settings, modules_of_settings(settings))),
        beat_schedule_filename=os.path.join(instance_dir, "celerybeat-schedule"),
        result_expires=24 * 3600,
        worker_prefetch_multiplier=1,       # exports are long: one at a time per process
        worker_proc_alive_timeout=60,       # a child builds the Flask app first
        broker_connection_retry_on_startup=True,
        # A web request that dispatches does not hang on a dead broker (jobs.dispatch then
        # runs the job in its own process).
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0,
                                   "interval_step": 0.5, "interval_max": 1},
    )
    # Nobody waits for a job's return value (jobs report through their rows); a caller that
    # wants it (the tests) sends with ignore_result=False.
    celery.task(name=TASK, ignore_result=True)(run_job)
    return celery


def send(app, name, kwargs):
    """Send job `name` for the Flask `app` (its CELERY_* settings); the AsyncResult."""
    key = tuple(app.config.get(k) for k in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND",
                                             "CELERY_QUEUE"))
    clients = app.extensions.setdefault("portal_celery", {})
    if key not in clients:
        clients[key] = make_celery(app.config)
    return clients[key].send_task(TASK, args=[name, kwargs], shadow=f"portal.{name}",
                                  ignore_result=True)


def _settings():
    import config
    return {k: getattr(config, k) for k in dir(config) if k.isupper()}


_SETTINGS = _settings()
if not _SETTINGS.get("CELERY_BROKER_URL") and "celery" in (sys.argv[0] or ""):   # the CLI
    raise SystemExit("CELERY_BROKER_URL is not set (e.g. redis://127.0.0.1:6379/0); without "
                     "a broker the portal runs its jobs in-process and needs no worker or beat.")

#: The app of `celery -A app.celery_app …`.
celery = make_celery(_SETTINGS)


@signals.worker_init.connect
def _build_flask_app_in_worker(sender=None, **_kwargs):
    """Solo and thread pools run tasks in the worker process itself: build the app before
    consuming (a prefork parent never does; its children do, below)."""
    from celery import concurrency
    from celery.concurrency.prefork import TaskPool as PreforkPool
    pool = concurrency.get_implementation(getattr(sender, "pool_cls", None) or "prefork")
    if not (isinstance(pool, type) and issubclass(pool, PreforkPool)):
        flask_app()


@signals.worker_process_init.connect
def _build_flask_app_in_child(**_kwargs):
    flask_app()
