"""One small job interface (DESIGN §1): run in-process on a thread by default; a broker
backend (Celery) can replace `dispatch` without changing callers."""
import threading

from flask import current_app

JOBS = {}


def job(func):
    """Register a job by name; jobs take only JSON-able arguments."""
    JOBS[func.__name__] = func
    return func


def dispatch(name, **kwargs):
    app = current_app._get_current_object()

    def run():
        with app.app_context():
            try:
                JOBS[name](**kwargs)
            finally:
                from app.extensions import db
                db.session.remove()

    thread = threading.Thread(target=run, name=f"job-{name}", daemon=True)
    thread.start()
    return thread
