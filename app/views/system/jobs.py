"""导出列表: the user's own background exports, with progress and download (SPEC P11).
While one of them is pending or running the page reloads itself (app/static/export_jobs.js)."""
import datetime as dt
import os

from flask import abort, g, send_file, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.api import ModelRestApi, expose as api_expose, protect
from app.views.shared.api import safe
from flask_appbuilder.security.decorators import permission_name
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access

from app.extensions import db
from app.i18n import _l
from app.models.core import utcnow
from app.models.jobs import JOB_STATE_LABELS, ExportJob
from app.services.export_jobs import export_dir
from app.views.shared.api import ScopedApiMixin
from app.views.shared.mixins import Button, RegionScopedMixin


def job_file(row):
    """The finished file of a job row, or 404."""
    if row.state != "done" or not row.file_name:
        abort(404)
    path = os.path.join(export_dir(), row.file_name)
    if not os.path.exists(path):
        abort(404)
    return send_file(path, as_attachment=True,
                     download_name=row.title + os.path.splitext(row.file_name)[1])


class ExportJobView(RegionScopedMixin, ModelView):
    route_base = "/exports"
    datamodel = SQLAInterface(ExportJob)
    list_title = _l("导出列表")
    list_template = "portal/export_jobs.html"
    search_choices = {"state": JOB_STATE_LABELS}
    refresh_seconds = 5
    base_order = ("id", "desc")
    label_columns = {"title": _l("导出名称"), "state_label": _l("状态"), "progress": _l("进度（行）"),
                     "created_at": _l("提交时间"), "finished_at": _l("完成时间"), "error": _l("错误")}
    list_columns = ["title", "state_label", "progress", "created_at", "finished_at", "error"]
    base_permissions = ["can_list", "can_download_file"]

    def row_buttons(self, items):
        return {j.id: [Button(_l("下载"), url_for("ExportJobView.download_file", pk=j.id),
                              "primary", post=False)]
                for j in items if j.state == "done" and j.file_name}

    def render_template(self, template, **kwargs):
        if template == self.list_template and self.has_active_job():
            kwargs["refresh_seconds"] = self.refresh_seconds
        return super().render_template(template, **kwargs)

    @staticmethod
    def has_active_job():
        """A job of the user still pending or running (one left behind by a stopped worker
        stops the reloading after a day)."""
        return db.session.execute(db.select(ExportJob.id).where(
            ExportJob.user_id == g.user.id, ExportJob.state.in_(("pending", "running")),
            ExportJob.created_at >= utcnow() - dt.timedelta(days=1)).limit(1)).first() is not None

    @expose("/file/<int:pk>")
    @has_access
    def download_file(self, pk):
        return job_file(self.scoped(pk))


class ExportJobApi(ScopedApiMixin, ModelRestApi):
    """export_job: the caller's own jobs (progress) and GET /<pk>/file when done."""
    resource_name = "export_job"
    datamodel = SQLAInterface(ExportJob)
    list_columns = show_columns = ["id", "title", "state", "rows_total", "rows_written",
                                   "error", "created_at", "finished_at"]
    base_order = ("id", "desc")
    base_permissions = ["can_get", "can_info"]

    @api_expose("/<int:pk>/file", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def file(self, pk):
        from app.scope import scoped_get
        return job_file(scoped_get(ExportJob, pk, g.user))
