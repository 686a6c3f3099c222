"""Attachments of records: named slots, storing, listing, the required-slot guard (SPEC P10)."""
from dataclasses import dataclass

from flask import current_app

from app.extensions import db
from app.i18n import _
from app.models.files import Attachment
from app.services import attachments as storage
from app.services.parameters import param


@dataclass(frozen=True)
class Slot:
    name: str
    label: object
    kinds: tuple            # attachment kinds: archive / pdf / image
    required: bool = False
    multiple: bool = True

    @property
    def accept(self):
        exts = [e for k in self.kinds for e in storage.KINDS[k]]
        return ",".join("." + e for e in exts)


def owner_type(obj):
    return obj.__tablename__


def files_of(obj):
    rows = db.session.execute(
        db.select(Attachment).where(Attachment.owner_type == owner_type(obj),
                                    Attachment.owner_id == obj.id)
        .order_by(Attachment.id)).scalars().all()
    by_slot = {}
    for row in rows:
        by_slot.setdefault(row.slot, []).append(row)
    return by_slot


def files_of_many(objs):
    """{owner id: [attachments]} for several records of one type, in one query."""
    if not objs:
        return {}
    rows = db.session.execute(
        db.select(Attachment).where(Attachment.owner_type == owner_type(objs[0]),
                                    Attachment.owner_id.in_([o.id for o in objs]))
        .order_by(Attachment.id)).scalars()
    out = {}
    for row in rows:
        out.setdefault(row.owner_id, []).append(row)
    return out


def missing_slots(obj, slots):
    present = set(db.session.execute(
        db.select(Attachment.slot).where(Attachment.owner_type == owner_type(obj),
                                         Attachment.owner_id == obj.id)).scalars())
    return [s for s in slots if s.required and s.name not in present]


def required_attachments(slots):
    """Guard factory: refuses while a required slot is empty, naming the slot."""
    def guard(obj, user):
        missing = missing_slots(obj, slots)
        if missing:
            return _("请上传附件：%(slots)s", slots="、".join(str(s.label) for s in missing))
        return None
    guard.__name__ = "required_attachments"
    guard.queries = True
    return guard


def attach(obj, slot, upload, user):
    """Store an uploaded werkzeug FileStorage in `slot` of `obj`; caller commits.
    Raises storage.AttachmentError with a Chinese message."""
    if upload is None or not upload.filename:
        raise storage.AttachmentError(_("请选择要上传的文件"))
    stored = storage.store(upload.stream, upload.filename, slot.kinds,
                           param("upload_max_mb") * 1024 * 1024,
                           current_app.config["STORAGE_DIR"])
    if not slot.multiple:
        for old in files_of(obj).get(slot.name, []):
            db.session.delete(old)
    row = Attachment(owner_type=owner_type(obj), owner_id=obj.id, slot=slot.name,
                     original_name=stored.original_name, stored_name=stored.stored_name,
                     thumb_name=stored.thumb_name, kind=stored.kind, ext=stored.ext,
                     size=stored.size, sha256=stored.sha256,
                     content_type=stored.content_type, uploaded_by_id=user.id)
    db.session.add(row)
    return row


def attach_and_record(obj, slot, upload, user):
    """Upload from a screen or the API: store, audit (上传附件) and commit."""
    return attach_all_and_record(obj, slot, [upload], user)[0]


def attach_all_and_record(obj, slot, uploads, user):
    """Several files into one slot, all or nothing, each audited; a command: committed, or
    on the first bad file (AttachmentError: 422 on `file`) rolled back and raised."""
    from app.services.audit import record
    rows = []
    try:
        for upload in uploads:
            row = attach(obj, slot, upload, user)
            db.session.flush()
            record(user, "upload", obj=obj, comment=row.original_name)
            rows.append(row)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return rows


def path_of(row):
    return storage.open_stored(current_app.config["STORAGE_DIR"], row.stored_name)
