"""Attachment upload on a record's page and scoped download (SPEC P10)."""
from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access, permission_name

from app.extensions import db
from app.i18n import _
from app.models.files import Attachment
from app.scope import scoped_get
from app.services import attachments as storage
from app.services import files

# owner_type → model, filled by the views that carry attachments
OWNER_MODELS = {}


class AttachmentsMixin:
    attachment_slots = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        OWNER_MODELS[self.datamodel.obj.__tablename__] = self.datamodel.obj

    def can_upload(self, item, slot):
        """Institution slots while editable; review slots by the reviewer."""
        if slot.name == "review_proof":
            return item.state == "submitted" and item.reviewer_org_id == g.user.organization_id
        return (item.state in self.editable_states
                and item.organization_id == g.user.organization_id)

    def show_extras(self, item):
        parent = getattr(super(), "show_extras", None)
        extras = parent(item) if parent else {}
        present = files.files_of(item)
        extras["attachments"] = [{
            "label": s.label, "required": s.required, "files": present.get(s.name, []),
            "accept": s.accept, "capture": "image" in s.kinds,
            "can_upload": self.can_upload(item, s),
            "upload_url": url_for(f"{self.__class__.__name__}.upload", pk=item.id, slot=s.name),
        } for s in self.attachment_slots]
        return extras

    @expose("/upload/<pk>/<slot>", methods=["POST"])
    @has_access
    def upload(self, pk, slot):
        item = self.scoped(pk)
        slot_def = next((s for s in self.attachment_slots if s.name == slot), None)
        if slot_def is None:
            abort(404)
        if not self.can_upload(item, slot_def):
            flash(_("当前状态不能上传附件"), "danger")
        else:   # a refused file (AttachmentError, 422) is flashed by the error handler
            row = files.attach_and_record(item, slot_def, request.files.get("file"), g.user)
            flash(_("上传成功：%(name)s", name=row.original_name), "success")
        return redirect(request.referrer or url_for(f"{self.__class__.__name__}.show", pk=pk))


def openers(model):
    """(permission, view name) pairs that open a record of `model`: the show page of every
    screen and the GET of every REST resource built on it."""
    from flask_appbuilder.api import BaseApi
    found = set()
    for view in current_app.appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if datamodel is not None and datamodel.obj is model:
            found.add(("can_get" if isinstance(view, BaseApi) else "can_show",
                       view.class_permission_name))
    return found


def may_open(model):
    """The caller may open records of this kind somewhere (module permission); the scope
    is checked on the record itself."""
    if getattr(model, "__scope_public__", False):
        return True
    sm = current_app.appbuilder.sm
    return any(sm.has_access(permission, name) for permission, name in openers(model))


class AttachmentView(BaseView):
    """Download: allowed exactly when the caller may open the owning record on a screen or
    the API — the module's permission and the record's scope; otherwise 404. An image is
    also shown in the page: its thumbnail (lists) and the picture itself (detail pages),
    under the same check."""
    route_base = "/attachments"
    default_view = "download"

    @staticmethod
    def permitted(pk):
        row = db.session.get(Attachment, pk)
        model = OWNER_MODELS.get(row.owner_type) if row is not None else None
        if model is None or not may_open(model):
            abort(404)
        scoped_get(model, row.owner_id, g.user)
        return row

    @staticmethod
    def send(name, **kwargs):
        try:
            path = storage.open_stored(current_app.config["STORAGE_DIR"], name)
        except (FileNotFoundError, ValueError):
            abort(404)
        return send_file(path, **kwargs)

    @expose("/<int:pk>")
    @has_access
    def download(self, pk):
        row = self.permitted(pk)
        return self.send(row.stored_name, as_attachment=True, download_name=row.original_name,
                         mimetype=row.content_type or "application/octet-stream")

    @expose("/<int:pk>/thumbnail")
    @has_access
    @permission_name("download")
    def thumbnail(self, pk):
        row = self.permitted(pk)
        if row.kind != "image" or not row.thumb_name:
            abort(404)
        return self.send(row.thumb_name, mimetype="image/jpeg")

    @expose("/<int:pk>/preview")
    @has_access
    @permission_name("download")
    def preview(self, pk):
        """The picture itself, shown in the browser (never an attachment of another kind,
        whose content the browser might run)."""
        row = self.permitted(pk)
        if row.kind != "image":
            abort(404)
        return self.send(row.stored_name, mimetype=row.content_type,
                         download_name=row.original_name)
