"""Excel export of what a list currently shows (SPEC P11): same filters, same scope,
all pages; chosen columns or a declared standard format; streamed with constant memory."""
import io
import os
import tempfile
from dataclasses import dataclass
from typing import Callable

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_filter_args

from app.extensions import db
from app.i18n import _
from app.services import audit, export_jobs  # export_jobs also registers the run_export job
from app.services.export import Column, write_xlsx
from app.services.parameters import param


@dataclass(frozen=True)
class ExportField:
    key: str                 # model attribute (a column) or a dotted relation.column
    header: object
    type: str = "text"
    fmt: Callable = None     # value → display value (labels of codes)


class ExcelExportMixin:
    export_fields = ()           # every exportable field, in order
    standard_export = ()         # keys of the declared standard format (标准格式)
    export_title = "导出"

    def export_field_map(self):
        return {f.key: f for f in self.export_fields}

    def export_query(self, fields):
        """The list's query (scope + current filters) reduced to the chosen columns."""
        get_filter_args(self._filters)
        joined = self._filters.get_joined_filters(self._base_filters)
        model = self.datamodel.obj
        query = self.datamodel.session.query(model)
        query = self.datamodel.apply_filters(query, joined)
        entities, joins = [], []
        for f in fields:
            if "." in f.key:
                rel, col = f.key.split(".", 1)
                target = getattr(model, rel).property.mapper.class_
                alias = db.aliased(target)
                if rel not in [j[0] for j in joins]:
                    joins.append((rel, alias))
                alias = dict(joins)[rel]
                entities.append(getattr(alias, col))
            else:
                entities.append(getattr(model, f.key))
        for rel, alias in joins:
            query = query.outerjoin(alias, getattr(model, rel).of_type(alias))
        return (query.with_entities(*entities).order_by(model.id)
                .execution_options(yield_per=2000))

    def export_count(self):
        get_filter_args(self._filters)
        joined = self._filters.get_joined_filters(self._base_filters)
        model = self.datamodel.obj
        query = self.datamodel.apply_filters(self.datamodel.session.query(model), joined)
        return query.with_entities(db.func.count(model.id)).order_by(None).scalar()

    @staticmethod
    def export_columns(fields):
        return [Column(f.key, str(f.header), "text" if f.fmt else f.type) for f in fields]

    def export_rows(self, fields):
        """Rows of display values; a code's label is translated once per export, not per
        cell (gettext per cell made exports 1.6× slower than bare xlsxwriter)."""
        memos = [{} if f.fmt else None for f in fields]
        labelled = [(i, f.fmt, memos[i]) for i, f in enumerate(fields) if f.fmt]
        for row in self.export_query(fields):
            if labelled:
                row = list(row)
                for i, fmt, memo in labelled:
                    v = row[i]
                    label = memo.get(v)
                    if label is None:
                        label = memo[v] = fmt(v)
                    row[i] = label
            yield row

    def stream_xlsx(self, fields, name):
        if self.export_count() > param("export_background_rows"):
            return self.export_in_background(fields, name)
        columns = self.export_columns(fields)
        fd, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(fd)
        try:
            count = write_xlsx(path, columns, self.export_rows(fields))
            audit.log(g.user, "export", object_type=self.datamodel.obj.__tablename__,
                      comment=f"{name}：{count}行")
            handle = open(path, "rb")
        finally:
            os.unlink(path)   # the open handle keeps the data until it is closed
        return send_file(handle, as_attachment=True, download_name=f"{name}.xlsx",
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    def export_in_background(self, fields, name):
        """Large exports become a job in 导出列表; the user may leave and come back."""
        query_string = "&".join(f"{k}={v}" for k, v in request.args.items(multi=True)
                                if k != "col")
        export_jobs.start_export(g.user, str(name), type(self).__name__, query_string,
                                 ",".join(f.key for f in fields),
                                 object_type=self.datamodel.obj.__tablename__)
        flash(_("数据量较大，已转为后台导出，请在“导出列表”中查看进度并下载"), "info")
        return redirect(url_for("ExportJobView.list"))

    @expose("/dossier/<pk>", methods=["GET"])
    @has_access
    def dossier(self, pk):
        """导出资料: one zip holding an xlsx of every field and every attachment under its
        original name, for archiving (SPEC P11 (c), R6)."""
        import zipfile
        from app.scope import scoped_get
        from app.services import files
        item = scoped_get(self.datamodel.obj, pk, g.user)
        fields = list(self.export_fields)
        row = next(iter(self.export_query(fields).filter(self.datamodel.obj.id == item.id)), None)
        if row is None:
            abort(404)
        values = list(row)
        labels = [(f.fmt(v) if f.fmt else v) for f, v in zip(fields, values)]
        fd, path = tempfile.mkstemp(suffix=".zip")
        os.close(fd)
        try:
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                sheet = io.BytesIO()
                write_xlsx(sheet, [Column("field", str(_("字段"))), Column("value", str(_("内容")))],
                           [[str(f.header), "" if v is None else str(v)]
                            for f, v in zip(fields, labels)])
                zf.writestr(f"{item.id}/申请信息.xlsx", sheet.getvalue())
                used = set()
                for slot_rows in files.files_of(item).values():
                    for att in slot_rows:
                        name = att.original_name
                        while name in used:
                            name = f"{att.id}_{name}"
                        used.add(name)
                        zf.write(files.path_of(att), f"{item.id}/附件/{name}")
            audit.log(g.user, "export", obj=item, comment=str(_("导出资料")))
            handle = open(path, "rb")
        finally:
            os.unlink(path)
        return send_file(handle, as_attachment=True, mimetype="application/zip",
                         download_name=f"{self.export_title}_{item.id}.zip")

    @expose("/export/", methods=["GET"])
    @has_access
    def export(self):
        """导出查询数据: tick columns (their order is the file's order), then download."""
        fields_by_key = self.export_field_map()
        chosen = [k for k in request.args.getlist("col") if k]
        if not chosen:
            return self.render_template("portal/export_choose.html", fields=self.export_fields,
                                        title=_("导出查询数据"), args=request.args,
                                        standard=self.standard_export)
        if any(k not in fields_by_key for k in chosen):
            abort(400, _("导出字段无效"))
        return self.stream_xlsx([fields_by_key[k] for k in chosen], str(self.export_title))

    @expose("/export/standard/", methods=["GET"])
    @has_access
    def export_standard(self):
        """导出查询数据（标准格式）."""
        fields_by_key = self.export_field_map()
        return self.stream_xlsx([fields_by_key[k] for k in self.standard_export],
                                f"{self.export_title}（标准格式）")
