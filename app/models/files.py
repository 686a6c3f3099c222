"""Attachments of any record (SPEC P10); the bytes live in the storage directory."""
from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, Index, Integer, String

from app.models.core import utcnow


class Attachment(Model):
    __tablename__ = "attachment"
    id = Column(Integer, primary_key=True)
    owner_type = Column(String(40), nullable=False)
    owner_id = Column(Integer, nullable=False)
    slot = Column(String(80), nullable=False)     # ivd: "cert:" + 注册证号
    original_name = Column(String(200), nullable=False)
    stored_name = Column(String(64), nullable=False, unique=True)
    thumb_name = Column(String(80))
    kind = Column(String(10), nullable=False)
    ext = Column(String(8), nullable=False)
    size = Column(Integer, nullable=False)
    sha256 = Column(String(64), nullable=False)
    content_type = Column(String(64))
    uploaded_by_id = Column(Integer)
    created_at = Column(DateTime, default=utcnow, nullable=False)


Index("ix_attachment_owner", Attachment.owner_type, Attachment.owner_id, Attachment.slot)
