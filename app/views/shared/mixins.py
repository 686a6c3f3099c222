"""Capabilities shared by every business view and API; no business logic here."""
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import expose
from flask_appbuilder.actions import ActionItem
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.widgets import ListWidget

from sqlalchemy import func, select
from sqlalchemy.orm import QueryableAttribute

from app.i18n import _
from app.scope import claim_for_caller, scoped_get
from app.services import audit, crud
from app.views.shared.filters import RegionNodeFilter, RegionScopeFilter
from app.views.shared.forms import FormPageMixin, audited
from app.workflows.engine import Refusal, apply, apply_batch, user_has_role


class Button(NamedTuple):
    """A row's button. A POST asks first (confirm: True → “确定要<label>吗？”, a text, or
    False); `reason` draws it disabled with why."""
    label: object
    url: str
    style: str = "default"
    post: bool = True
    confirm: object = True
    reason: object = None


def safe_next():
    """The page a button or form was used on (its hidden `next`, or `?next=`): a path of this
    site only, never another host's address."""
    target = (request.form.get("next") or request.args.get("next") or "").strip()
    parts = urlsplit(target)
    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or parts.scheme or parts.netloc):
        return None
    return target.rstrip("?")


def back_url(default):
    """Where a POST returns: the page it was sent from (its list with filters, page and
    chosen project), else the same-site referrer, else `default`."""
    referrer = request.referrer or ""
    same_site = urlsplit(referrer).netloc == request.host and referrer != request.url
    return safe_next() or (referrer if same_site else None) or default


class PortalListWidget(ListWidget):
    template = "portal/widgets/list.html"


def clamp_page_size(page_size):
    limit = current_app.config["MAX_PAGE_SIZE"]
    if not page_size or page_size < 1:
        from app.services.parameters import param
        return min(param("default_page_size"), limit)
    return min(page_size, limit)


class AuditedCrudMixin:
    """Every add / edit / delete through FAB's generic screens or REST leaves an audit row
    (SPEC P9), committed with the change in one transaction; the workflow engine audits its
    own transitions."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.datamodel = audited(self.datamodel)

    def _audit(self, action, item):
        crud.commit_change(g.user, action, item, object_type=self.datamodel.obj.__tablename__)

    def post_add(self, item):
        super().post_add(item)
        self._audit("create", item)

    def post_update(self, item):
        super().post_update(item)
        self._audit("update", item)

    def post_delete(self, item):
        super().post_delete(item)
        self._audit("delete", item)


class RegionScopedMixin(FormPageMixin, AuditedCrudMixin):
    """Every list, show, edit, delete, action and download goes through the scope; a
    row outside it is 404 (FAB's own action paths load by bare pk, so they are replaced)."""

    list_template = "portal/list.html"
    show_template = "portal/show.html"
    list_widget = PortalListWidget

    def __init__(self, *args, **kwargs):
        self.base_filters = ([["id", RegionScopeFilter, None], ["id", RegionNodeFilter, None]]
                             + list(self.base_filters or []))
        super().__init__(*args, **kwargs)

    def scoped(self, pk):
        return scoped_get(self.datamodel.obj, pk, g.user)

    def get_redirect(self):
        """FAB's history pops back past the list (to the home page); a form or button
        that says where it came from goes back there."""
        return safe_next() or super().get_redirect()

    def row_editable(self, item):
        """Whether the row gets the edit and delete icons (the workflow's editable states)."""
        parent = getattr(super(), "row_editable", None)
        return parent(item) if parent else True

    def render_template(self, template, **kwargs):
        kwargs.setdefault("view", self)
        kwargs.setdefault("view_name", type(self).__name__)
        return super().render_template(template, **kwargs)

    def show_extras(self, item):
        parent = getattr(super(), "show_extras", None)
        return parent(item) if parent else {}

    @expose("/show/<pk>", methods=["GET"])
    @has_access
    def show(self, pk):
        item = self.scoped(pk)
        widgets = self._get_show_widget(pk, item)
        self.update_redirect()
        return self.render_template(self.show_template, pk=item.id, title=self.show_title,
                                    widgets=widgets, related_views=self._related_views,
                                    extras=self.show_extras(item))

    @expose("/download/<string:filename>")
    def download(self, filename):
        abort(404)   # FAB's file column download is not scoped; attachments have their own

    def _get_list_widget(self, filters, actions=None, order_column="", order_direction="",
                         page=None, page_size=None, widgets=None, **kwargs):
        widgets = widgets or {}
        actions = actions or self.actions
        page_size = clamp_page_size(page_size)   # None: the system parameter 默认每页条数
        if not order_column and self.base_order:
            order_column, order_direction = self.base_order
        count, lst = self.list_page(filters, order_column, order_direction, page or 0,
                                    page_size)
        pks = [item.id for item in lst]
        widgets["list"] = self.list_widget(
            label_columns=self.label_columns, include_columns=self.list_columns,
            value_columns=self.datamodel.get_values(lst, self.list_columns),
            order_columns=self.order_columns, formatters_columns=self.formatters_columns,
            page=page, page_size=page_size, count=count, pks=pks, actions=actions,
            filters=filters, modelview_name=self.__class__.__name__,
            row_buttons=self.row_buttons(lst), view=self,
            editable_pks={item.id for item in lst if self.row_editable(item)}, **kwargs)
        return widgets

    def list_page(self, filters, order_column, order_direction, page, page_size):
        """Count and one page in two plain queries: the scope and the user's filters as
        WHERE, no count-over-subquery and no per-call filter conversion (FAB's generic
        path costs ~4 ms of Python per list, measured by `make bench`)."""
        model = self.datamodel.obj
        stmt = filters.apply_all(self._base_filters.apply_all(select(model)))
        session = self.datamodel.session
        count = session.execute(stmt.with_only_columns(func.count())
                                .select_from(model).order_by(None)).scalar()
        column = getattr(model, order_column, None) if order_column in self.order_columns \
            or (order_column, order_direction) == tuple(self.base_order or ()) else None
        if not isinstance(column, QueryableAttribute):   # e.g. a property such as state_label
            column = model.id
        ordering = column.desc() if order_direction == "desc" else column.asc()
        items = session.execute(stmt.order_by(ordering, model.id.desc()).limit(page_size)
                                .offset(page * page_size)).scalars().all()
        return count, items

    def row_buttons(self, items):
        parent = getattr(super(), "row_buttons", None)
        return parent(items) if parent else {}

    @expose("/action/<string:name>/<pk>", methods=["POST"])
    def action(self, name, pk):
        item = self.scoped(pk)
        act = self.actions.get(name) or abort(404)
        if not self.appbuilder.sm.has_access(name, self.class_permission_name):
            abort(403)
        return act.func(item)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        name = request.form.get("action", "")
        act = self.actions.get(name) or abort(404)
        if not self.appbuilder.sm.has_access(name, self.class_permission_name):
            abort(403)
        return act.func([self.scoped(pk) for pk in request.form.getlist("rowid")])

    def pre_add(self, item):
        claim_for_caller(item, g.user)


class EditableStatesMixin:
    """Edit (and delete) only in the workflow's editable states; shared by views and APIs."""
    workflow = None
    editable_states = ()

    def row_editable(self, item):
        return item.state in self.editable_states

    def _check_editable(self, item):
        if item.state not in self.editable_states:
            raise Refusal(_("当前状态为“%(state)s”，不能修改或删除",
                            state=self.workflow.state_label(item.state)))

    def pre_update(self, item):
        self._check_editable(item)
        super().pre_update(item)


class WorkflowActionsMixin(EditableStatesMixin):
    """Turns the declared transitions of `workflow` into row buttons, show-page
    buttons and bulk actions; every one goes through the engine."""
    batch_transitions = None      # None: every batch transition; a view may offer fewer

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ["can_fire", "can_transition_form"] + list(self.workflow.transitions):
            if isinstance(self.base_permissions, set):
                self.base_permissions.add(name)
            elif name not in self.base_permissions:
                self.base_permissions.append(name)
        for t in self.workflow.transitions.values():
            if t.batch and (self.batch_transitions is None or t.name in self.batch_transitions):
                self.actions[t.name] = ActionItem(
                    t.name, t.label, _("确定要%(action)s所选记录吗？", action=t.label),
                    "fa-check", True, False, self._batch_func(t.name))

    def _batch_func(self, name):
        def run(items):
            done = apply_batch(self.workflow, [i.id for i in items], name, g.user,
                               request.form.to_dict())
            flash(_("已%(action)s%(n)s条记录", action=self.workflow.get(name).label,
                    n=len(done)), "success")
            return redirect(back_url(self._list_url()))
        run.__name__ = name
        return run

    def row_buttons(self, items):
        return {item.id: [Button(t.label, self.transition_url(t, item.id), t.style,
                                 not (t.form or t.comment_required))
                          for t in self.workflow.available(item, g.user, guards=False)]
                for item in items}

    def transition_url(self, t, pk):
        """A transition with a page of its own (a review form, an opinion) is opened with
        `next`: the page it is opened from, where the form returns after firing."""
        view = self.__class__.__name__
        back = request.full_path.rstrip("?") if request.method == "GET" else None
        if t.form:
            return url_for(f"{view}.{t.form}", pk=pk, next=back)
        if t.comment_required:
            return url_for(f"{view}.transition_form", name=t.name, pk=pk, next=back)
        return url_for(f"{view}.fire", name=t.name, pk=pk)

    def _list_url(self):
        return url_for(f"{self.__class__.__name__}.list")

    @expose("/transition/<string:name>/<pk>", methods=["GET"])
    @has_access
    def transition_form(self, name, pk):
        """A transition that needs an opinion (退回, 不通过) asks for it first."""
        item = self.scoped(pk)
        t = self.workflow.transitions.get(name) or abort(404)
        return self.render_template("portal/transition_form.html", item=item, t=t,
                                    title=str(t.label), back=safe_next() or self._list_url(),
                                    action=url_for(f"{type(self).__name__}.fire", name=name,
                                                   pk=item.id))

    @expose("/transition/<string:name>/<pk>", methods=["POST"])
    @has_access
    def fire(self, name, pk):
        data = {k: v for k, v in {**request.args.to_dict(), **request.form.to_dict()}.items()
                if k != "next"}
        obj = apply(self.workflow, self.scoped(pk), name, g.user, data)
        flash(_("%(action)s成功，当前状态：%(state)s", action=self.workflow.get(name).label,
                state=self.workflow.state_label(obj.state)), "success")
        return redirect(back_url(self._list_url()))

    def pre_delete(self, item):
        self._check_editable(item)
        super().pre_delete(item)

    def transition_choices(self, item):
        """(offered, blocked) for a detail page: the transitions `g.user` may fire now, and
        those of the user's role and the row's state that a guard refuses, with its reason
        (提交 without its attachments says which). Role refusals (403) stay hidden."""
        flow, offered, blocked = self.workflow, [], []
        for t in flow.transitions.values():
            if (t.system or not user_has_role(g.user, t.roles_for(flow))
                    or getattr(item, flow.state_field) not in t.source):
                continue
            refusal = t.refusal(item, g.user, flow)
            if refusal is None:
                offered.append(t)
            elif refusal.status != 403:
                blocked.append((t, refusal.message))
        return offered, blocked

    def show_extras(self, item):
        parent = getattr(super(), "show_extras", None)
        offered, blocked = self.transition_choices(item)
        return {**(parent(item) if parent else {}), "transitions": offered, "blocked": blocked,
                "history": audit.history(self.workflow.object_type, item.id),
                "state_label": self.workflow.state_label,
                "transition_label": lambda name: (self.workflow.transitions[name].label
                                                  if name in self.workflow.transitions else name)}
