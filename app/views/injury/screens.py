"""工伤定点医疗机构服务, the hospital's screens (SPEC W2–W5): the service hall, person lookup
and the five declaration forms with 保存 / 采集电子材料 / 重置, and 我的待提交业务."""
from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app.extensions import db
from app.i18n import _
from app.models.files import Attachment
from app.models.injury import DECLARATION_KINDS, InjuryDeclaration
from app.scope import scoped_get
from app.services import audit, files, injury
from app.services.attachments import AttachmentError
from app.views.shared.attachments import OWNER_MODELS
from app.views.system.home import latest_announcements
from app.workflows.engine import Refusal, apply_batch
from app.workflows.injury import EDITABLE_STATES, KINDS, DeclarationFlow

OWNER_MODELS[InjuryDeclaration.__tablename__] = InjuryDeclaration


class ApproveOverdueFirst:
    """Declarations left with the employer past the deadline are approved by the system
    before any screen or API call of this module reads them (SPEC W6: "and lazily when
    read")."""

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)

        @blueprint.before_request
        def approve_overdue():
            injury.approve_overdue()
        return blueprint


def own_draft(pk):
    """A declaration of the caller's hospital that may still be edited (404 otherwise:
    another hospital's row; 409-like message for a submitted one)."""
    item = scoped_get(InjuryDeclaration, pk, g.user)
    if item.organization_id != g.user.organization_id:
        abort(404)
    return item


def material_status(items):
    """{declaration id: (present slots, missing required slots)} in one query."""
    by_owner = files.files_of_many(items)
    status = {}
    for item in items:
        present = {a.slot for a in by_owner.get(item.id, [])}
        missing = [s for s in KINDS[item.kind].slots if s.required and s.name not in present]
        status[item.id] = (present, missing)
    return status


class InjuryHallView(ApproveOverdueFirst, BaseView):
    """定点医疗机构网上服务大厅 (SPEC W2): the ten areas of the manual's home page."""
    route_base = "/injury/hall"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        announcements = latest_announcements(8)
        return self.render_template("injury/hall.html", title=_("定点医疗机构网上服务大厅"),
                                    summary=injury.hall_summary(g.user), kinds=DECLARATION_KINDS,
                                    announcements=announcements,
                                    attachments=files.files_of_many(announcements))


class InjuryDeclareView(ApproveOverdueFirst, BaseView):
    """工伤保险业务: ID number → business menu → declaration form (SPEC W3, W4)."""
    route_base = "/injury/declare"
    default_view = "lookup"

    @expose("/")
    @has_access
    def lookup(self):
        id_number = request.args.get("id_number", "").strip()
        found, number = None, ""
        if id_number:
            try:
                number, found = injury.find_determinations(g.user, id_number)
                if not found:
                    flash(_("未查询到身份证号 %(n)s 的工伤认定信息，请核对身份证号或联系经办机构",
                            n=number), "warning")
                elif len(found) > 1:
                    flash(_("查询到该人员有%(n)s条工伤认定信息，请选择对应的工伤认定信息后办理业务",
                            n=len(found)), "info")
            except Refusal as exc:
                flash(exc.message, "danger")
        elif "id_number" in request.args:
            flash(_("请输入人员身份证号"), "warning")
        return self.render_template("injury/lookup.html", title=_("工伤保险业务"),
                                    id_number=id_number, found=found, kinds=KINDS,
                                    chosen_kind=request.args.get("kind", ""))

    @expose("/new/<kind>", methods=["GET", "POST"])
    @has_access
    def new(self, kind):
        if kind not in KINDS:
            abort(404)
        if request.method == "POST":
            return self._save(kind, None)
        det_id = request.args.get("determination", "")
        if not det_id:
            flash(_("请先选择工伤认定信息"), "warning")
            return redirect(url_for("InjuryDeclareView.lookup", kind=kind))
        determination = injury.determination_for(g.user, det_id)
        return self._form(kind, None, determination, {}, [])

    @expose("/edit/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        item = own_draft(pk)
        if item.state not in EDITABLE_STATES:
            flash(_("当前状态为“%(s)s”，不能修改", s=item.state_label), "warning")
            return redirect(url_for("InjuryDeclarationView.show", pk=item.id))
        if request.method == "POST":
            return self._save(item.kind, item)
        values = {f.name: _as_text(getattr(item, f.name)) for f in KINDS[item.kind].fields}
        return self._form(item.kind, item, item.determination, values,
                          injury.lines_as_rows(item))

    def _save(self, kind, item):
        data = request.form.to_dict()
        lines = _posted_lines(request.form) if KINDS[kind].has_lines else None
        try:
            saved = injury.save(g.user, kind, data, lines, item)
        except Refusal as exc:
            db.session.rollback()
            if exc.status == 404:
                abort(404)
            flash(exc.message, "danger")
            det = item.determination if item is not None and not data.get("determination") \
                else injury.determination_for(g.user, data.get("determination"))
            return self._form(kind, item, det, data, lines or [], exc.fields), 422
        flash(_("保存成功。请点击【采集电子材料】上传电子材料，再到“我的待提交业务”提交"), "success")
        return redirect(url_for("InjuryDeclareView.edit", pk=saved.id))

    def _form(self, kind, item, determination, values, lines, errors=None):
        _number, others = injury.find_determinations(g.user, determination.id_number)
        names = injury.device_names([ln.get("item") for ln in lines if not ln.get("name")])
        lines = [{**ln, "name": ln.get("name") or names.get(str(ln.get("item")), "")}
                 for ln in lines]
        return self.render_template(
            "injury/form.html", title=KINDS[kind].label, kind=KINDS[kind], item=item,
            determination=determination, determinations=others, values=values, lines=lines,
            errors=errors or {})

    @expose("/devices", methods=["GET"])
    @has_access
    def devices(self):
        """放大镜 of the device column: fuzzy search on any part of the code or name."""
        return jsonify([{"code": d.code, "name": d.name, "category": d.category,
                         "specification": d.specification or "", "price": str(d.price),
                         "usage_years": d.usage_years}
                        for d in injury.device_search(request.args.get("q", ""))])

    # ---- 采集电子材料 ---------------------------------------------------------------------
    @expose("/materials/<int:pk>", methods=["GET"])
    @has_access
    def materials(self, pk):
        item = scoped_get(InjuryDeclaration, pk, g.user)
        present = files.files_of(item)
        editable = item.state in EDITABLE_STATES and item.organization_id == g.user.organization_id
        return self.render_template("injury/materials.html", title=_("采集电子材料"), item=item,
                                    slots=KINDS[item.kind].slots, present=present,
                                    editable=editable)

    @expose("/materials/<int:pk>/<slot>", methods=["POST"])
    @has_access
    def upload(self, pk, slot):
        item = own_draft(pk)
        slot_def = next((s for s in KINDS[item.kind].slots if s.name == slot), None) or abort(404)
        if item.state not in EDITABLE_STATES:
            flash(_("已提交的申报不能修改电子材料"), "danger")
            return redirect(url_for("InjuryDeclareView.materials", pk=pk))
        uploads = [f for f in request.files.getlist("file") if f and f.filename]
        if not uploads:
            flash(_("请选择要上传的图片"), "warning")
        try:
            files.attach_all_and_record(item, slot_def, uploads, g.user)
            if uploads:
                flash(_("已上传%(n)s张图片：%(slot)s", n=len(uploads), slot=slot_def.label),
                      "success")
        except AttachmentError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
        return redirect(url_for("InjuryDeclareView.materials", pk=pk))

    @expose("/materials/<int:pk>/remove/<int:attachment_id>", methods=["POST"])
    @has_access
    def remove_material(self, pk, attachment_id):
        item = own_draft(pk)
        row = db.session.get(Attachment, attachment_id)
        if row is None or row.owner_type != item.__tablename__ or row.owner_id != item.id:
            abort(404)
        if item.state not in EDITABLE_STATES:
            flash(_("已提交的申报不能修改电子材料"), "danger")
        else:
            db.session.delete(row)
            audit.record(g.user, "update", obj=item, comment=_("删除电子材料：%(n)s",
                                                               n=row.original_name))
            db.session.commit()
            flash(_("已删除：%(n)s", n=row.original_name), "success")
        return redirect(url_for("InjuryDeclareView.materials", pk=pk))


class InjuryPendingView(ApproveOverdueFirst, BaseView):
    """我的待提交业务 (SPEC W5): drafts grouped by kind; 删除 and 提交 of ticked rows."""
    route_base = "/injury/pending"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        items = db.session.execute(
            select(InjuryDeclaration).where(
                InjuryDeclaration.organization_id == g.user.organization_id,
                InjuryDeclaration.state == "draft")
            .order_by(InjuryDeclaration.kind, InjuryDeclaration.id.desc())).scalars().all()
        groups = [(KINDS[code], [i for i in items if i.kind == code]) for code in KINDS]
        return self.render_template("injury/pending.html", title=_("我的待提交业务"),
                                    groups=[(k, rows) for k, rows in groups if rows],
                                    status=material_status(items))

    @expose("/batch/<name>", methods=["POST"])
    @has_access
    def batch(self, name):
        if name not in ("submit", "delete"):
            abort(404)
        ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
        try:
            done = apply_batch(DeclarationFlow, ids, name, g.user)
            flash(_("已%(action)s%(n)s条业务", action=DeclarationFlow.get(name).label,
                    n=len(done)), "success")
        except Refusal as exc:
            if exc.status == 404:
                abort(404)
            flash(exc.message, "danger")
        return redirect(url_for("InjuryPendingView.index"))


def _as_text(value):
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _posted_lines(form):
    """The line-item table's columns come as parallel lists; blank rows are skipped."""
    columns = ("item", "quantity", "price", "configured_on", "usage_years")
    values = {c: form.getlist(f"line_{c}") for c in columns}
    count = max((len(v) for v in values.values()), default=0)
    rows = []
    for n in range(count):
        row = {c: (values[c][n] if n < len(values[c]) else "") for c in columns}
        if any(str(v).strip() for v in row.values()):
            rows.append(row)
    return rows
