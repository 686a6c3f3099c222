"""The generic create / update / delete command (SPEC P9): FAB's generic screens and REST
write through `AuditedInterface` (app/views/shared/forms.py), which flushes the row without
committing; this commits the change together with its audit row, one transaction."""
from app.extensions import db
from app.services import audit


def commit_change(user, action, item, object_type=None):
    """Audit `action` (create / update / delete) on the flushed `item` and commit both;
    rolled back and raised on failure."""
    try:
        audit.record(user, action, obj=item, object_type=object_type)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
