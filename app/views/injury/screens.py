"""工伤定点医疗机构服务, the hospital's screens (SPEC W2–W5): the service hall, person lookup
and the five declaration forms with 保存 / 采集电子材料 / 重置, and 我的待提交业务."""
from flask import abort, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access

from app.i18n import _
from app.models.injury import DECLARATION_KINDS, InjuryDeclaration
from app.scope import scoped_get
from app.services import files
from app.services.injury import commands, queries
from app.views.injury.forms import DECLARATION_FORMS, LookupForm, posted_lines
from app.views.shared.attachments import OWNER_MODELS
from app.views.shared.forms import on_refusal, on_refusal_show
from app.views.system.home import latest_announcements
from app.workflows.engine import apply_batch
from app.workflows.injury import EDITABLE_STATES, KINDS, InjuryDeclarationFlow

OWNER_MODELS[InjuryDeclaration.__tablename__] = InjuryDeclaration


class ApproveOverdueFirst:
    """Declarations left with the employer past the deadline are approved by the system
    before any screen or API call of this module reads them (SPEC W6: "and lazily when
    read")."""

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)

        @blueprint.before_request
        def approve_overdue():
            commands.approve_overdue()
        return blueprint


class DesignatedHospitalsOnly:
    """The person lookup, the declaration forms and 我的待提交业务 are refused (403, with the
    reason) to a hospital whose 马上注册 the agency has not approved yet (issue 21 item 1)."""

    def create_blueprint(self, appbuilder, *args, **kwargs):
        blueprint = super().create_blueprint(appbuilder, *args, **kwargs)

        @blueprint.before_request
        def designated_only():
            if getattr(g, "user", None) is not None:
                queries.require_designated(g.user)
        return blueprint


def own_draft(pk):
    """A declaration of the caller's hospital that may still be edited (404 otherwise:
    another hospital's row; 409-like message for a submitted one)."""
    item = scoped_get(InjuryDeclaration, pk, g.user)
    if item.organization_id != g.user.organization_id:
        abort(404)
    return item


class InjuryHallView(ApproveOverdueFirst, BaseView):
    """定点医疗机构网上服务大厅 (SPEC W2): the ten areas of the manual's home page."""
    route_base = "/injury/hall"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        announcements = latest_announcements(8)
        return self.render_template("injury/hall.html", title=_("定点医疗机构网上服务大厅"),
                                    summary=queries.hall_summary(g.user), kinds=DECLARATION_KINDS,
                                    announcements=announcements,
                                    attachments=files.files_of_many(announcements))


class InjuryDeclareView(DesignatedHospitalsOnly, ApproveOverdueFirst, BaseView):
    """工伤保险业务: ID number → business menu → declaration form (SPEC W3, W4)."""
    route_base = "/injury/declare"
    default_view = "lookup"

    @expose("/")
    @has_access
    def lookup(self):
        form = LookupForm(formdata=request.args)
        id_number = form.id_number.data or ""
        found = None
        if id_number:
            on_refusal_show(lambda fields: self._lookup_page(form, None, fields))
            number, found = queries.find_determinations(g.user, id_number)
            if not found:
                flash(_("未查询到身份证号 %(n)s 的工伤认定信息，请核对身份证号或联系经办机构",
                        n=number), "warning")
            elif len(found) > 1:
                flash(_("查询到该人员有%(n)s条工伤认定信息，请选择对应的工伤认定信息后办理业务",
                        n=len(found)), "info")
        elif "id_number" in request.args:
            flash(_("请输入人员身份证号"), "warning")
        return self._lookup_page(form, found, {})

    def _lookup_page(self, form, found, errors):
        for name, messages in errors.items():
            if name in form:
                form[name].errors = list(messages)
        return self.render_template("injury/lookup.html", title=_("工伤保险业务"),
                                    form=form, found=found, kinds=KINDS,
                                    chosen_kind=form.kind.data or "")

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
        determination = queries.determination_for(g.user, det_id)
        draft = queries.open_draft(g.user.organization_id, kind, determination.id)
        if draft is not None:       # one draft per person, determination and kind
            flash(_("该人员的这条工伤认定信息已有未提交的%(kind)s（#%(id)s），已为您打开，可修改后保存",
                    kind=KINDS[kind].label, id=draft.id), "info")
            return redirect(url_for("InjuryDeclareView.edit", pk=draft.id))
        form = DECLARATION_FORMS[kind](formdata=None, data={"determination": str(determination.id)})
        return self._form(kind, None, determination, form, [])

    @expose("/edit/<int:pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        item = own_draft(pk)
        if item.state not in EDITABLE_STATES:
            flash(_("当前状态为“%(s)s”，不能修改", s=item.state_label), "warning")
            return redirect(url_for("InjuryDeclarationView.show", pk=item.id))
        if request.method == "POST":
            return self._save(item.kind, item)
        form = DECLARATION_FORMS[item.kind](formdata=None, obj=item)
        form.determination.data = str(item.determination_id)
        return self._form(item.kind, item, item.determination, form,
                          queries.lines_as_rows(item))

    def _save(self, kind, item):
        """The form validated (input), then 保存 (the rules: dates in order, the lines …);
        a refusal draws the same page again with what was typed, each message beside its
        field, 422."""
        form = DECLARATION_FORMS[kind]()
        lines = posted_lines(request.form) if KINDS[kind].has_lines else None
        # The page drawn again shows the chosen determination: one outside the caller's
        # scope is a 404 before anything is saved.
        det = item.determination if item is not None and not form.determination.data \
            else queries.determination_for(g.user, form.determination.data)

        def redraw(fields):
            for name, messages in fields.items():
                if name in form and not form[name].errors:
                    form[name].errors = [str(m) for m in messages]
            return self._form(kind, item, det, form, lines or [], fields)
        on_refusal_show(redraw)
        form.refuse_if_invalid(lines)
        saved = commands.save(g.user, kind, form.values(), lines, item)
        flash(_("保存成功。请点击【采集电子材料】上传电子材料，再到“我的待提交业务”提交"), "success")
        return redirect(url_for("InjuryDeclareView.edit", pk=saved.id))

    def _form(self, kind, item, determination, form, lines, errors=None):
        _number, others = queries.find_determinations(g.user, determination.id_number)
        form.choose_among(others)
        names = queries.device_names([ln.get("item") for ln in lines if not ln.get("name")])
        lines = [{**ln, "name": ln.get("name") or names.get(str(ln.get("item")), "")}
                 for ln in lines]
        return self.render_template(
            "injury/form.html", title=KINDS[kind].label, kind=KINDS[kind], item=item,
            determination=determination, form=form, lines=lines, errors=errors or {})

    @expose("/devices", methods=["GET"])
    @has_access
    def devices(self):
        """放大镜 of the device column: fuzzy search on any part of the code, name or
        category; says when more match than are shown."""
        rows, more = queries.device_search(request.args.get("q", ""))
        return jsonify({"items": [{"code": d.code, "name": d.name, "category": d.category,
                                   "specification": d.specification or "",
                                   "price": str(d.price), "usage_years": d.usage_years}
                                  for d in rows],
                        "more": more,
                        "message": _("仅显示前%(n)s条匹配的产品，请输入更多文字缩小范围", n=len(rows))
                        if more else ""})

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
        uploads = [f for f in request.files.getlist("file") if f and f.filename]
        if not uploads:
            flash(_("请选择要上传的图片"), "warning")
        else:
            commands.attach_materials(g.user, item, slot_def, uploads)
            flash(_("已上传%(n)s张图片：%(slot)s", n=len(uploads), slot=slot_def.label),
                  "success")
        return redirect(url_for("InjuryDeclareView.materials", pk=pk))

    @expose("/materials/<int:pk>/remove/<int:attachment_id>", methods=["POST"])
    @has_access
    def remove_material(self, pk, attachment_id):
        name = commands.remove_material(g.user, own_draft(pk), attachment_id)
        flash(_("已删除：%(n)s", n=name), "success")
        return redirect(url_for("InjuryDeclareView.materials", pk=pk))


class InjuryPendingView(DesignatedHospitalsOnly, ApproveOverdueFirst, BaseView):
    """我的待提交业务 (SPEC W5): drafts grouped by kind; 删除 and 提交 of ticked rows."""
    route_base = "/injury/pending"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        return self._page(())

    def _page(self, ticked):
        items = queries.drafts(g.user)
        groups = [(KINDS[code], [i for i in items if i.kind == code]) for code in KINDS]
        return self.render_template("injury/pending.html", title=_("我的待提交业务"),
                                    groups=[(k, rows) for k, rows in groups if rows],
                                    status=queries.material_status(items), ticked=set(ticked))

    @expose("/batch/<name>", methods=["POST"])
    @has_access
    def batch(self, name):
        if name not in ("submit", "delete"):
            abort(404)
        ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]

        def refused(error):         # the page again, the same rows still ticked
            flash(error.message, "danger")
            return self._page(ids)
        on_refusal(refused)
        done = apply_batch(InjuryDeclarationFlow, ids, name, g.user)
        flash(_("已%(action)s%(n)s条业务", action=InjuryDeclarationFlow.get(name).label,
                n=len(done)), "success")
        return redirect(url_for("InjuryPendingView.index"))

