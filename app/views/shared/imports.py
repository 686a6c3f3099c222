"""Excel import of master data (SPEC P12): template download, upload, every row
validated, the whole file rejected with a per-row error list — nothing partial written."""
import io

from flask import flash, g, redirect, request, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access

from app.i18n import _
from app.services.imports import (ImportRejected, RowError, import_rows, read_rows,
                                  write_template)


class ImportMixin:
    import_columns = ()
    import_title = "导入"

    def import_check(self, rows):
        """View-specific checks that need the database → list of RowError."""
        return []

    def import_create(self, row):
        raise NotImplementedError

    def import_done_url(self):
        return url_for(f"{type(self).__name__}.list")

    @expose("/import/template", methods=["GET"])
    @has_access
    def import_template(self):
        buf = io.BytesIO()
        write_template(buf, self.import_columns)
        buf.seek(0)
        return send_file(buf, as_attachment=True, download_name=f"{self.import_title}模板.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    @expose("/import/", methods=["GET", "POST"])
    @has_access
    def import_upload(self):
        errors = []
        if request.method == "POST":
            upload = request.files.get("file")
            try:
                if upload is None or not upload.filename:
                    raise ImportRejected([RowError(0, "", _("请选择要导入的 Excel 文件"))])
                rows = read_rows(upload.stream, self.import_columns)
                import_rows(g.user, rows, self.import_check, self.import_create,
                            object_type=self.datamodel.obj.__tablename__,
                            comment=f"{self.import_title}：{len(rows)}行")
                flash(_("导入成功，共 %(n)s 条", n=len(rows)), "success")
                return redirect(self.import_done_url())
            except ImportRejected as exc:   # the page lists every row's error, not only the flash
                errors = exc.errors
                flash(exc.message, "danger")
        return self.render_template("portal/import.html", title=self.import_title,
                                    errors=errors)
