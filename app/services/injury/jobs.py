"""工伤's scheduled job (SPEC W6), run by Celery beat or `flask portal run-jobs`."""
from app.services.jobs import job


@job
def injury_approve_overdue():
    """超时自动通过 of work-injury declarations the employer left past the deadline."""
    from app.services.injury import approve_overdue
    return approve_overdue()
