"""Import every domain so that Model.metadata knows every table."""
from app.models import audit, core, files, injury, ivd, jobs, phs, registry, reporting, relief  # noqa: F401
