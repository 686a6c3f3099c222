"""Writing and reading the audit trail (SPEC P9)."""
from flask import has_request_context, request

from app.extensions import db
from app.models.audit import AuditLog


def client_ip():
    if has_request_context():
        return request.remote_addr
    return None


def record(user, action, obj=None, object_type=None, transition=None, from_state=None,
           to_state=None, comment=None, username=None):
    """Add an audit row to the current transaction (the caller commits)."""
    org = getattr(user, "organization", None) if user is not None else None
    username = username or getattr(user, "username", None)
    row = AuditLog(   # a login name typed at the login form may be longer than any account's
        user_id=getattr(user, "id", None), username=username[:128] if username else None,
        organization_id=getattr(org, "id", None), organization_name=getattr(org, "name", None),
        action=action, object_type=object_type or (obj.__tablename__ if obj is not None else None),
        object_id=getattr(obj, "id", None), transition=transition, from_state=from_state,
        to_state=to_state, comment=comment, ip=client_ip())
    scope_source = obj if obj is not None and hasattr(obj, "province_code") else org
    if scope_source is not None:
        row.copy_scope_from(scope_source)
    db.session.add(row)
    return row


def log(user, action, obj=None, object_type=None, comment=None):
    """A command of its own: one audit row (an export, a download …) committed; rolled back
    and raised on failure."""
    try:
        row = record(user, action, obj=obj, object_type=object_type, comment=comment)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return row


def history(object_type, object_id):
    return db.session.execute(
        db.select(AuditLog).where(AuditLog.object_type == object_type,
                                  AuditLog.object_id == object_id)
        .order_by(AuditLog.id)).scalars().all()
