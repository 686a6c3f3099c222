"""Background export jobs and the per-user 导出列表 (SPEC P11)."""
from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, Integer, String, Text

from app.i18n import _l
from app.models.core import utcnow

JOB_STATE_LABELS = {"pending": _l("排队中"), "running": _l("导出中"), "done": _l("已完成"),
                    "failed": _l("失败")}


class ExportJob(Model):
    __tablename__ = "export_job"
    __scope_owner_column__ = "user_id"    # an export belongs to the user who asked for it
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, nullable=False, index=True)
    title = Column(String(128), nullable=False)
    view_name = Column(String(64), nullable=False)
    query_string = Column(Text, nullable=False, default="")
    columns = Column(Text, nullable=False)           # comma-separated export field keys
    state = Column(String(10), nullable=False, default="pending")
    rows_total = Column(Integer)
    rows_written = Column(Integer, nullable=False, default=0)
    file_name = Column(String(64))
    error = Column(Text)
    created_at = Column(DateTime, default=utcnow, nullable=False)
    finished_at = Column(DateTime)

    @property
    def state_label(self):
        return JOB_STATE_LABELS.get(self.state, self.state)

    @property
    def progress(self):
        if self.rows_total:
            return f"{self.rows_written}/{self.rows_total}"
        return str(self.rows_written or 0)
