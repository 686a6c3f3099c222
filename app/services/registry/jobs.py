"""机构信息维护's scheduled job (SPEC M6), run by Celery beat or `flask portal run-jobs`."""
from app.services.jobs import job
from app.services.registry.commands import sync_agreements


@job
def registry_sync_agreements():
    """入库: confirmed designated-service agreements into the designated list."""
    published, withdrawn = sync_agreements()
    return {"published": published, "withdrawn": withdrawn}
