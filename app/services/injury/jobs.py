"""工伤's scheduled job (SPEC W6), run by Celery beat or `flask portal run-jobs`."""
from app.services.injury.commands import approve_overdue
from app.services.jobs import job


@job
def injury_approve_overdue():
    """超时自动通过 of work-injury declarations the employer left past the deadline."""
    return approve_overdue()
