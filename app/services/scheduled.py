"""The platform's scheduled job (SPEC P16) as a @job function; modules declare theirs
(Module.schedule, in their services' jobs.py). `celery -A app.celery_app beat` sends them on
their crontab (jobs.schedule), `flask portal run-jobs` calls them directly (cron without
Celery). Each returns a JSON-able summary."""
from flask import current_app

from app.services.jobs import job


@job
def export_cleanup(days=None):
    """Delete export files older than `days` (default EXPORT_KEEP_DAYS); returns how many."""
    from app.services.export_jobs import cleanup
    if days is None:
        days = current_app.config.get("EXPORT_KEEP_DAYS", 7)
    return cleanup(days)
