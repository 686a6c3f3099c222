"""The platform's tables; each module's own are imported with its declaration
(app/modules.py), before the schema or a migration is built."""
from app.models import audit, core, files, jobs, reporting  # noqa: F401
