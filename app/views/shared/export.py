"""Excel export of what a list currently shows (SPEC P11): same filters, same scope,
all pages; chosen columns or a declared standard format; streamed with constant memory."""
import io
import os
import tempfile
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlencode

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_filter_args

from app.extensions import db
from app.i18n import _
from app.services import audit, export_jobs  # export_jobs also registers the run_export job
from app.services.export import Column, cell_text, write_xlsx
from app.services.parameters import param
from app.views.shared.formatting import time_formatter, wall_clock_text


PLAIN_LISTS = ("portal/list.html", "appbuilder/general/model/list.html")


def list_args():
    """The list's own arguments (filters, order) of an export request, without the chooser's."""
    return [(k, v) for k, v in request.args.items(multi=True) if k not in ("col", "chosen")]


def labelled(mapping):
    """An ExportField's fmt showing a code's label (state, type …) instead of the code."""
    return lambda v: "" if v is None else str(mapping.get(v, v))


@dataclass(frozen=True)
class ExportField:
    key: str                 # model attribute (a column) or a dotted relation(.relation).column
    header: object
    type: str = "text"       # a date-time column's type is read from the model (export_columns)
    fmt: Callable = None     # value → display value (labels of codes)


class ExcelExportMixin:
    export_fields = ()           # every exportable field, in order
    standard_export = ()         # keys of the declared standard format (标准格式)
    export_title = "导出"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.list_template in PLAIN_LISTS:     # a list of its own includes the buttons
            self.list_template = "portal/export_list.html"

    def export_field_map(self):
        return {f.key: f for f in self.export_fields}

    def export_query(self, fields):
        """The list's query (scope + current filters) reduced to the chosen columns."""
        get_filter_args(self._filters)
        joined = self._filters.get_joined_filters(self._base_filters)
        model = self.datamodel.obj
        query = self.datamodel.session.query(model)
        query = self.datamodel.apply_filters(query, joined)
        aliases = {}             # "institution.organization" → its aliased model, joined once

        def joined_to(path):
            if path not in aliases:
                parent, _dot, rel = path.rpartition(".")
                owner = joined_to(parent) if parent else model
                attr = getattr(owner, rel)
                aliases[path] = db.aliased(attr.property.mapper.class_)
                nonlocal query
                query = query.outerjoin(aliases[path], attr.of_type(aliases[path]))
            return aliases[path]

        entities = []
        for f in fields:
            path, _dot, col = f.key.rpartition(".")
            entities.append(getattr(joined_to(path) if path else model, col))
        return (query.with_entities(*entities).order_by(model.id)
                .execution_options(yield_per=2000))

    def export_count(self):
        get_filter_args(self._filters)
        joined = self._filters.get_joined_filters(self._base_filters)
        model = self.datamodel.obj
        query = self.datamodel.apply_filters(self.datamodel.session.query(model), joined)
        return query.with_entities(db.func.count(model.id)).order_by(None).scalar()

    def export_column_type(self, field):
        """A labelled field is text; a date-time column is a UTC "timestamp" shown in local
        time, or a "datetime" as typed (a wall-clock column), whatever the field declared."""
        if field.fmt:
            return "text"
        shown = time_formatter(self.datamodel.obj, field.key)
        if shown is None:
            return field.type
        return "datetime" if shown is wall_clock_text else "timestamp"

    def export_columns(self, fields):
        return [Column(f.key, str(f.header), self.export_column_type(f)) for f in fields]

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
        query_string = urlencode(list_args())
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
        values = [cell_text(c.type, f.fmt(v) if f.fmt else v)
                  for f, c, v in zip(fields, self.export_columns(fields), row)]
        fd, path = tempfile.mkstemp(suffix=".zip")
        os.close(fd)
        try:
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
                sheet = io.BytesIO()
                write_xlsx(sheet, [Column("field", str(_("字段"))), Column("value", str(_("内容")))],
                           [[str(f.header), v] for f, v in zip(fields, values)])
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
        """导出查询数据: tick columns (the file's columns are in the order the page shows,
        the order they were ticked unless moved), then download; nothing ticked → the page
        again with a message."""
        fields_by_key = self.export_field_map()
        chosen = [k for k in request.args.getlist("col") if k]
        if any(k not in fields_by_key for k in chosen):
            abort(400, _("导出字段无效"))
        if chosen:
            return self.stream_xlsx([fields_by_key[k] for k in chosen], str(self.export_title))
        sent = bool(request.args.get("chosen"))      # the chooser's form came back empty
        return self.export_chooser(chosen if sent else list(fields_by_key),
                                   _("请至少勾选一个要导出的字段") if sent else None)

    def export_chooser(self, ticked, problem=None):
        """The column chooser: the ticked fields first in their order, then the others."""
        rest = [f for f in self.export_fields if f.key not in ticked]
        rows = [(self.export_field_map()[k], True) for k in ticked] + [(f, False) for f in rest]
        args = list_args()
        back = url_for(f"{type(self).__name__}.list") + (f"?{urlencode(args)}" if args else "")
        page = self.render_template("portal/export_choose.html", rows=rows, problem=problem,
                                    title=_("导出查询数据"), args=args, back=back)
        return (page, 422) if problem else page

    @expose("/export/standard/", methods=["GET"])
    @has_access
    def export_standard(self):
        """导出查询数据（标准格式）."""
        fields_by_key = self.export_field_map()
        return self.stream_xlsx([fields_by_key[k] for k in self.standard_export],
                                f"{self.export_title}（标准格式）")
