"""The scheduled jobs (SPEC P16, W6, M6) as @job functions: `celery -A app.celery_app beat`
sends them on the crontab of JOB_SCHEDULE (config.py), `flask portal run-jobs` calls them
directly (cron without Celery). Each returns a JSON-able summary."""
from flask import current_app

from app.services.jobs import job


@job
def export_cleanup(days=None):
    """Delete export files older than `days` (default EXPORT_KEEP_DAYS); returns how many."""
    from app.services.export_jobs import cleanup
    if days is None:
        days = current_app.config.get("EXPORT_KEEP_DAYS", 7)
    return cleanup(days)


@job
def injury_approve_overdue():
    """超时自动通过 of work-injury declarations the employer left past the deadline."""
    from app.services.injury import approve_overdue
    return approve_overdue()


@job
def registry_sync_agreements():
    """入库: confirmed designated-service agreements into the designated list."""
    from app.services.registry_agreements import sync_agreements
    published, withdrawn = sync_agreements()
    return {"published": published, "withdrawn": withdrawn}
