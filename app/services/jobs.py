"""One small job interface (DESIGN §1, issue 8): `@job` registers a function by name and
`dispatch(name, **kwargs)` runs it in the background.

* No broker configured (the embedded default, `make run`): on a thread of this process, in
  an application context of its own.
* CELERY_BROKER_URL set: as the Celery task `portal.run_job` (app/celery_app.py), executed
  by `celery -A app.celery_app worker`; should the broker be unreachable the job still runs,
  here, on a thread.

Either way a job takes only JSON-able keyword arguments (they are checked by a JSON round
trip on both paths), works on the database and STORAGE_DIR, and reports through its own rows
(e.g. ExportJob), never through a return value the caller waits for."""
import json
import logging
import os
import threading

from flask import current_app

log = logging.getLogger(__name__)

JOBS = {}

# The platform's modules holding @job functions; each module declares its own
# (Module.job_modules). They are imported when a name is not yet registered (a worker or beat
# need not have imported them).
PLATFORM_JOB_MODULES = ("app.services.export_jobs", "app.services.scheduled")
PLATFORM_SCHEDULE = {"export_cleanup": "30 2 * * *"}      # daily 02:30, China time


def job_modules(modules):
    return PLATFORM_JOB_MODULES + tuple(m for module in modules for m in module.job_modules)


def schedule(settings, modules):
    """{job name: crontab "minute hour day-of-month month day-of-week"} of the scheduled jobs:
    the platform's and each module's defaults, then JOB_SCHEDULE of the settings, then the
    environment's SCHEDULE_<JOB NAME> (e.g. SCHEDULE_EXPORT_CLEANUP); empty: not scheduled."""
    found = dict(PLATFORM_SCHEDULE)
    for module in modules:
        found.update(module.schedule)
    found.update(settings.get("JOB_SCHEDULE") or {})
    for name in found:
        found[name] = os.environ.get(f"SCHEDULE_{name.upper()}", found[name])
    return found


def job(func):
    """Register a job by name; jobs take only JSON-able arguments."""
    JOBS[func.__name__] = func
    return func


def get(name):
    if name not in JOBS:
        import importlib
        from app.module import modules
        for module in job_modules(modules()):
            importlib.import_module(module)
    try:
        return JOBS[name]
    except KeyError:
        raise LookupError(f"unknown job {name!r}") from None


def run(name, kwargs):
    """Run a job in the current application context, the session removed afterwards (the
    same on the thread and on a Celery worker)."""
    from app.extensions import db
    try:
        return get(name)(**kwargs)
    finally:
        db.session.remove()


def uses_celery(app=None):
    return bool((app or current_app).config.get("CELERY_BROKER_URL"))


def dispatch(name, **kwargs):
    """Start job `name` in the background; returns the thread or the Celery AsyncResult."""
    get(name)                                       # unknown names fail here, in the caller
    kwargs = json.loads(json.dumps(kwargs))         # TypeError for anything not JSON-able
    app = current_app._get_current_object()
    if uses_celery(app):
        from kombu.exceptions import OperationalError
        from app.celery_app import send
        try:
            return send(app, name, kwargs)
        except OperationalError:
            log.exception("broker unreachable, job %s runs in this process", name)
    return _thread(app, name, kwargs)


def _thread(app, name, kwargs):
    def target():
        with app.app_context():
            try:
                run(name, kwargs)
            except Exception:
                log.exception("job %s failed", name)

    thread = threading.Thread(target=target, name=f"job-{name}", daemon=True)
    thread.start()
    return thread
