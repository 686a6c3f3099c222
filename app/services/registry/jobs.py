"""机构信息维护's scheduled job (SPEC M6), run by Celery beat or `flask portal run-jobs`."""
from app.services.jobs import job


@job
def registry_sync_agreements():
    """入库: confirmed designated-service agreements into the designated list."""
    from app.services.registry.agreements import sync_agreements
    published, withdrawn = sync_agreements()
    return {"published": published, "withdrawn": withdrawn}
