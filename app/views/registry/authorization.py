"""机构维护授权 screens (SPEC M1, M2): public registration and the help page for scans that
cannot be recognised; the authorisation list (search, 新增机构, 申请授权), the PDF, the
upload of the stamped scan, and the agency's review."""
import io

from flask import abort, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import BaseView, ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access, permission_name

from app.extensions import appbuilder, db
from app.i18n import _, _l
from app.models.core import Organization
from app.models.registry import ROLE_KINDS, RegistryAuthorization
from app.security import captcha_enabled, registration_limit, require_captcha
from app.services.registry import authorization as registry_auth
from app.services.registry import commands, queries, rules
from app.views.registry.forms import RegisterForm, check, refuse_with
from app.views.registry.screens import institution_form, render_institution_form
from app.views.registry import exports
from app.views.shared.attachments import AttachmentsMixin
from app.views.shared.export import ExcelExportMixin
from app.views.shared.formatting import localtime
from app.views.shared.forms import on_refusal
from app.views.shared.mixins import Button, RegionScopedMixin, WorkflowActionsMixin
from app.workflows.registry import RegistryAuthorizationFlow


REVIEW_ROWS = ((_l("医疗机构名称"), "institution_name"), (_l("法人单位名称"), "legal_name"),
               (_l("统一社会信用代码"), "uscc"), (_l("医疗机构执业许可证登记号"), "licence_no"),
               (_l("所属医保统筹区"), "pooling_area"), (_l("行政区划"), "region"),
               (_l("详细地址"), "address"), (_l("被授权人"), "grantee_name"),
               (_l("角色类型"), "role_label"))


class RegistryRegisterView(BaseView):
    """M1: anyone opens an account and asks for a role; public, no login."""
    route_base = "/registry/register"
    default_view = "register"

    @expose("/", methods=["GET", "POST"])
    @registration_limit
    def register(self):
        if request.method == "POST":
            form = self._form(RegisterForm())
            refuse_with(form, lambda: self._register_page(form))
            require_captcha(request.form.get("captcha"))
            values = check(form, lambda v: rules.clean_registration(v) and {})
            user = commands.register(values)
            flash(_("注册成功，登录名：%(name)s。请登录后选择需要授权维护的机构，生成并上传授权文件。",
                    name=user.username), "success")
            return redirect(appbuilder.get_url_for_login)
        return self._register_page(self._form(
            RegisterForm(formdata=None, data={"role_kind": "maintainer"})))

    @staticmethod
    def _form(form):
        if not captcha_enabled():
            del form.captcha
        return form

    def _register_page(self, form):
        return self.render_template(
            "registry/register.html", title=_("医疗机构信息维护 — 注册账号"), form=form,
            submit_label=_("注册"), back_url=appbuilder.get_url_for_login)

    @expose("/help")
    def help(self):
        """附件无法识别时，如何操作？"""
        back = request.referrer or appbuilder.get_url_for_index
        return self.render_template("registry/help.html", title=_("附件无法识别时，如何操作？"),
                                    back_url=back)


class RegistryAuthorizationView(AttachmentsMixin, RegionScopedMixin, WorkflowActionsMixin,
                                ExcelExportMixin, ModelView):
    route_base = "/registry/authorizations"
    datamodel = SQLAInterface(RegistryAuthorization)
    workflow = RegistryAuthorizationFlow
    list_title = _l("机构维护授权")
    show_title = _l("授权详情")
    list_template = "registry/authorizations.html"
    show_template = "registry/authorization_show.html"
    label_columns = {"auth_no": _l("授权文件编号"), "institution": _l("医疗机构"),
                     "user": _l("申请人"), "role_label": _l("角色类型"),
                     "state_label": _l("状态"), "uploaded_at": _l("上传时间"),
                     "review_comment": _l("审核意见"), "created_at": _l("申请时间"),
                     "competition_label": _l("竞争申请")}
    list_columns = ["auth_no", "institution", "user", "role_label", "state_label",
                    "competition_label", "uploaded_at"]
    show_columns = ["auth_no", "institution", "user", "role_label", "state_label",
                    "competition_label", "created_at", "uploaded_at", "review_comment"]
    search_columns = ["auth_no", "state", "role_kind"]
    base_order = ("id", "desc")
    formatters_columns = {"uploaded_at": localtime, "created_at": localtime}
    base_permissions = ["can_list", "can_show", "can_apply", "can_document", "can_upload",
                        "can_export", "can_export_standard"]
    export_fields, standard_export = exports.AUTHORIZATION_FIELDS, exports.AUTHORIZATION_STANDARD
    export_title = _l("机构维护授权")
    attachment_slots = (rules.STAMPED,)
    editable_states = ()

    def can_upload(self, item, slot):
        return False        # the stamped scan goes through 授权文书上传 (recognised first)

    def show_extras(self, item):
        extras = {**super().show_extras(item), "mine": item.user_id == g.user.id}
        if item.state == "uploaded" and item.user_id != g.user.id:
            # the reviewer reads the data the document prints beside the scan
            fields, matches = registry_auth.review_data(item)
            extras["review"] = {"rows": [(label, fields[key]) for label, key in REVIEW_ROWS],
                                "matches": matches, "competitors": item.competitors}
        return extras

    def row_buttons(self, items):
        buttons = super().row_buttons(items)
        for item in items:
            row = [Button(_("详情"), url_for("RegistryAuthorizationView.show", pk=item.id),
                          "default", post=False)]
            if item.user_id == g.user.id:
                row.append(Button(_("生成授权文件并下载"), url_for(
                    "RegistryAuthorizationView.document", pk=item.id), "default", post=False))
            buttons[item.id] = row + buttons.get(item.id, [])
        return buttons

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            keyword = request.args.get("q", "").strip()
            kwargs.update(keyword=keyword,
                          results=queries.search_for(g.user, keyword) if keyword else None,
                          role_kinds=ROLE_KINDS,
                          default_role=getattr(g.user, "registry_role", None) or "maintainer",
                          may_apply=appbuilder.sm.has_access("can_apply",
                                                             "RegistryAuthorizationView"))
        return super().render_template(template, **kwargs)

    @expose("/apply", methods=["POST"])
    @has_access
    @permission_name("apply")
    def apply_for(self):
        """申请授权 for an institution found by the search."""
        org = db.session.get(Organization, request.form.get("organization_id", type=int) or 0)
        if org is None or org.org_type != "medical" or not org.active:
            abort(404)
        auth, _created = commands.apply_for_authorization(g.user, org,
                                                          request.form.get("role_kind", ""))
        flash(_("已创建授权申请（编号%(no)s），请生成授权文件并下载，加盖公章后上传。", no=auth.auth_no),
              "success")
        return redirect(url_for("RegistryAuthorizationView.show", pk=auth.id))

    @expose("/new-institution", methods=["GET", "POST"])
    @has_access
    @permission_name("apply")
    def new_institution(self):
        """新增: the institution was not found; the applicant enters it and asks to
        maintain it in one step (all or nothing)."""
        role_kind = request.values.get("role_kind") or g.user.registry_role or "maintainer"
        form = institution_form()
        if request.method == "POST":
            refuse_with(form, lambda: self._institution_page(form))
            auth = commands.add_institution_and_request(
                g.user, check(form, lambda v: rules.clean_institution(v)[1]), role_kind)
            flash(_("机构信息已新增，授权申请编号%(no)s。请生成授权文件并下载。", no=auth.auth_no),
                  "success")
            return redirect(url_for("RegistryAuthorizationView.show", pk=auth.id))
        return self._institution_page(form)

    def _institution_page(self, form):
        return render_institution_form(self, _("新增机构"), form, _("保存并申请授权"),
                                       url_for("RegistryAuthorizationView.list"))

    @expose("/document/<pk>")
    @has_access
    @permission_name("document")
    def document(self, pk):
        """生成授权文件并下载: the same record gives the same file on every click."""
        auth = self.scoped(pk)
        if auth.user_id != g.user.id:
            abort(404)
        return send_file(io.BytesIO(registry_auth.document_pdf(auth)),
                         mimetype="application/pdf", as_attachment=True,
                         download_name=registry_auth.document_name(auth))

    @expose("/upload-form/<pk>", methods=["GET", "POST"])
    @has_access
    @permission_name("upload")
    def upload_form(self, pk):
        """授权文书上传: the stamped scan (PDF or image), recognised by its QR code."""
        auth = self.scoped(pk)
        if request.method == "POST":
            # The page shows the refusal in its own box, beside the help link (no flash).
            on_refusal(lambda error: self._upload_page(auth, error.message))
            registry_auth.upload_stamped(auth, g.user, request.files.get("file"))
            flash(_("授权文书已识别并上传，等待医保经办机构审核"), "success")
            return redirect(url_for("RegistryAuthorizationView.show", pk=auth.id))
        return self._upload_page(auth, None)

    def _upload_page(self, auth, problem):
        return self.render_template("registry/upload.html", title=_("授权文书上传"),
                                    auth=auth, problem=problem, accept=rules.STAMPED.accept)

    def transition_url(self, t, pk):
        if t.name == "upload":
            return url_for("RegistryAuthorizationView.upload_form", pk=pk)
        return super().transition_url(t, pk)
