"""导出列表: the user's own background exports, with progress and download (SPEC P11)."""
import os

from flask import abort, send_file, url_for
from flask_appbuilder import ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access

from app.i18n import _l
from app.models.jobs import ExportJob
from app.services.export_jobs import export_dir
from app.views.mixins import Button, RegionScopedMixin


class ExportJobView(RegionScopedMixin, ModelView):
    route_base = "/exports"
    datamodel = SQLAInterface(ExportJob)
    list_title = _l("导出列表")
    list_template = "portal/list.html"
    base_order = ("id", "desc")
    label_columns = {"title": _l("导出名称"), "state_label": _l("状态"), "progress": _l("进度（行）"),
                     "created_at": _l("提交时间"), "finished_at": _l("完成时间"), "error": _l("错误")}
    list_columns = ["title", "state_label", "progress", "created_at", "finished_at", "error"]
    base_permissions = ["can_list", "can_download_file"]

    def row_buttons(self, items):
        return {j.id: [Button(_l("下载"), url_for("ExportJobView.download_file", pk=j.id),
                              "primary", post=False)]
                for j in items if j.state == "done" and j.file_name}

    @expose("/file/<int:pk>")
    @has_access
    def download_file(self, pk):
        row = self.scoped(pk)
        if row.state != "done" or not row.file_name:
            abort(404)
        path = os.path.join(export_dir(), row.file_name)
        if not os.path.exists(path):
            abort(404)
        return send_file(path, as_attachment=True, download_name=f"{row.title}.xlsx")
