"""REST side of the mechanisms (SPEC §X): scope, validation → 422, transitions,
batch, history and export on every business ModelRestApi."""
import functools
import logging

from flask import g, request
from flask_appbuilder.api import expose, protect
from flask_appbuilder.security.decorators import permission_name
from werkzeug.exceptions import BadRequest, HTTPException

from app.errors import DomainError
from app.extensions import db
from app.i18n import _
from app.scope import claim_for_caller, scoped_get
from app.services import audit
from app.views.shared.filters import RegionScopeFilter
from app.views.shared.mixins import AuditedCrudMixin, EditableStatesMixin
from app.workflows.engine import Refusal, apply, apply_batch


def safe(f):
    """FAB's @safe for the portal's own endpoints: a domain error or an HTTP error (404 …)
    reaches the application's handlers (JSON with its status) instead of FAB's 500."""
    @functools.wraps(f)
    def wraps(self, *args, **kwargs):
        try:
            return f(self, *args, **kwargs)
        except BadRequest as exc:
            return self.response_400(message=str(exc))
        except (DomainError, HTTPException):
            raise
        except Exception as exc:
            logging.getLogger(__name__).exception(exc)
            return self.response_500(message=_("系统内部错误"))
    return wraps


def json_body():
    """The request's JSON object; anything else is a 400 refusal."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Refusal(_("请求体必须是 JSON 对象"), status=400)
    return data


def loaded(model, ids):
    """{id: row} for the ids of a list page, in one query (the label pass of pre_get_list)."""
    if not ids:
        return {}
    return {o.id: o for o in db.session.execute(
        db.select(model).where(model.id.in_(list(ids)))).unique().scalars()}


def history_rows(object_type, object_id):
    """An object's audit trail as the history endpoints answer it."""
    return [{"at": r.created_at.isoformat(), "user": r.username,
             "organization": r.organization_name, "action": r.action,
             "transition": r.transition, "from": r.from_state, "to": r.to_state,
             "comment": r.comment} for r in audit.history(object_type, object_id)]


class ChineseResponsesMixin:
    """FAB's own refusals of a REST call (no permission, no such row, bad arguments) in
    Chinese, like every refusal of the portal; a message given by the caller is kept."""

    def response_400(self, message=None):
        return self.response(400, message=message or _("请求参数不正确"))

    def response_401(self):
        return self.response(401, message=_("请先登录"))

    def response_403(self):
        return self.response(403, message=_("您没有此操作的权限"))

    def response_404(self):
        return self.response(404, message=_("记录不存在或不在您的管辖范围内"))

    def response_422(self, message=None):
        return self.response(422, message=message or _("提交的数据无法处理"))

    def response_500(self, message=None):
        return self.response(500, message=message or _("系统内部错误"))


class RestWritesMixin(ChineseResponsesMixin):
    """FAB's POST / PUT / DELETE of a ModelRestApi under the portal's error contract."""

    # FAB's own post / put / delete are wrapped in its @safe, which turns any exception into
    # a 500: the same endpoints under the portal's @safe, so a domain error raised by a rule
    # (pre_add, a resource's own post_headless …) reaches the one handler.
    @expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def post(self):
        return self.post_headless()

    @expose("/<pk>", methods=["PUT"])
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        return self.put_headless(pk)

    @expose("/<pk>", methods=["DELETE"])
    @protect()
    @safe
    @permission_name("delete")
    def delete(self, pk):
        return self.delete_headless(pk)


class ScopedApiMixin(RestWritesMixin, AuditedCrudMixin):
    allow_browser_login = False

    def __init__(self, *args, **kwargs):
        self.base_filters = [["id", RegionScopeFilter, None]] + list(self.base_filters or [])
        super().__init__(*args, **kwargs)

    def pre_add(self, item):
        claim_for_caller(item, g.user)


def _cell_type(attr):
    import datetime as dt
    from decimal import Decimal
    try:
        kind = attr.type.python_type
    except (AttributeError, NotImplementedError):
        return "text"
    from app.services.clock import is_wall_clock     # a UTC stamp is written in local time
    stamp = "datetime" if is_wall_clock(attr) else "timestamp"
    return {int: "int", Decimal: "money", bool: "bool", dt.datetime: stamp,
            dt.date: "date"}.get(kind, "text")


class ExportApiMixin:
    """GET /api/v1/<resource>/export?columns=a,b&q=(filters:!(…)) → xlsx of what the same
    list call would return (scope + filters), every page, streamed (SPEC §X, P11)."""

    @expose("/export", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def export(self):
        import os
        import tempfile

        import prison
        from flask import send_file

        from app.services.export import Column, write_xlsx
        try:
            rison = prison.loads(request.args.get("q", "()") or "()")
            joined = self._handle_filters_args(rison if isinstance(rison, dict) else {})
        except Exception:
            return self.response_400(message=_("查询参数 q 格式错误"))
        columns = [c for c in request.args.get("columns", "").split(",") if c] \
            or list(self.list_columns)
        unknown = [c for c in columns if c not in self.list_columns]
        if unknown:
            return self.response_400(message=_("不能导出的字段：%(c)s", c=", ".join(unknown)))
        model = self.datamodel.obj
        query = (self.datamodel.apply_filters(self.datamodel.session.query(model), joined)
                 .with_entities(*[getattr(model, c) for c in columns]).order_by(model.id)
                 .execution_options(yield_per=2000))
        fd, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(fd)
        try:
            count = write_xlsx(path, [Column(c, c, _cell_type(getattr(model, c)))
                                      for c in columns], query)
            audit.log(g.user, "export", object_type=model.__tablename__, comment=f"API：{count}行")
            handle = open(path, "rb")
        finally:
            os.unlink(path)
        return send_file(handle, as_attachment=True, download_name=f"{self.resource_name}.xlsx")


class WorkflowApiMixin(EditableStatesMixin):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.base_permissions is not None and "can_transition" not in self.base_permissions:
            self.base_permissions = list(self.base_permissions) + ["can_transition"]

    @expose("/<int:pk>/history", methods=["GET"])
    @protect()
    @safe
    @permission_name("get")
    def history(self, pk):
        item = scoped_get(self.datamodel.obj, pk, g.user)
        return self.response(200, result=history_rows(self.workflow.object_type, item.id))

    @expose("/<int:pk>/<string:name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def transition(self, pk, name):
        obj = apply(self.workflow, pk, name, g.user, self._payload())
        return self.response(200, id=obj.id, state=obj.state)

    @expose("/batch/<string:name>", methods=["POST"])
    @protect()
    @safe
    @permission_name("transition")
    def batch(self, name):
        data = self._payload()
        ids = data.pop("ids", None)
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
            return self.response(422, message=_("ids 必须是记录编号列表"))
        objs = apply_batch(self.workflow, ids, name, g.user, data)
        return self.response(200, ids=[o.id for o in objs], state=objs[0].state)

    @staticmethod
    def _payload():
        data = request.get_json(silent=True)
        return {k: (v if isinstance(v, list) else "" if v is None else str(v))
                for k, v in data.items()} if isinstance(data, dict) else {}
