"""The background export job: rebuilds the list's query for the user who asked and
streams it to a file in the storage directory, reporting progress as it goes."""
import datetime as dt
import os
import uuid

from flask import current_app, g
from sqlalchemy import update

from app.extensions import appbuilder, db
from app.models.core import User, utcnow
from app.models.jobs import ExportJob
from app.services.export import write_xlsx
from app.services.jobs import job

PROGRESS_EVERY = 5000


def export_dir():
    path = os.path.join(current_app.config["STORAGE_DIR"], "exports")
    os.makedirs(path, exist_ok=True)
    return path


def _set(job_id, **values):
    """Progress goes through its own connection: the export's cursor stays open."""
    with db.engine.begin() as conn:
        conn.execute(update(ExportJob).where(ExportJob.id == job_id).values(**values))


def start(user, title, job_name, query_string="", columns="-"):
    """Queue a background file job for `user`; it appears in 导出列表 at once."""
    from app.services.jobs import dispatch
    row = ExportJob(user_id=user.id, title=title, view_name=job_name,
                    query_string=query_string, columns=columns, state="pending")
    db.session.add(row)
    db.session.commit()
    dispatch(job_name, job_id=row.id)
    return row


def start_export(user, title, view_name, query_string, columns, object_type):
    """A list's large export (导出查询数据) as a background job of `user`: the job row and
    its audit row committed together, then the run_export job dispatched."""
    from app.services.audit import record
    from app.services.jobs import dispatch
    try:
        row = ExportJob(user_id=user.id, title=title, view_name=view_name,
                        query_string=query_string, columns=columns)
        db.session.add(row)
        record(user, "export", object_type=object_type, comment=f"{title}：后台导出")
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    dispatch("run_export", job_id=row.id)
    return row


def run_file_job(job_id, ext, produce):
    """Run `produce(path, progress, total)` as the job's user, inside a request context
    carrying the job's query string; state, progress and failures go to the job row.
    `produce` returns the number of rows written."""
    row = db.session.get(ExportJob, job_id)
    user = db.session.get(User, row.user_id)
    name = f"{uuid.uuid4().hex}.{ext}"
    _set(job_id, state="running")
    try:
        with current_app.test_request_context("/?" + row.query_string):
            g.user = user

            def counted(rows):
                for n, r in enumerate(rows, 1):
                    if n % PROGRESS_EVERY == 0:
                        _set(job_id, rows_written=n)
                    yield r

            def total(n):
                _set(job_id, rows_total=n)

            written = produce(os.path.join(export_dir(), name), counted, total)
        _set(job_id, state="done", rows_written=written, file_name=name, finished_at=utcnow())
    except Exception as exc:   # the user sees the failure in 导出列表
        db.session.rollback()
        _set(job_id, state="failed", error=str(exc)[:500], finished_at=utcnow())


@job
def run_export(job_id):
    """A list's export (the view named in the job) as xlsx."""
    row = db.session.get(ExportJob, job_id)
    view = next(v for v in appbuilder.baseviews if type(v).__name__ == row.view_name)
    fields_by_key = view.export_field_map()
    fields = [fields_by_key[k] for k in row.columns.split(",")]

    def produce(path, counted, total):
        total(view.export_count())
        return write_xlsx(path, view.export_columns(fields), counted(view.export_rows(fields)))

    run_file_job(job_id, "xlsx", produce)


def cleanup(days=7):
    """Delete export files older than `days` (scheduled clean-up, P16)."""
    cutoff = utcnow() - dt.timedelta(days=days)
    old = db.session.execute(db.select(ExportJob).where(ExportJob.finished_at < cutoff,
                                                        ExportJob.file_name.is_not(None))).scalars()
    removed = 0
    for item in old:
        path = os.path.join(export_dir(), item.file_name)
        if os.path.exists(path):
            os.remove(path)
        item.file_name = None
        removed += 1
    db.session.commit()
    return removed
