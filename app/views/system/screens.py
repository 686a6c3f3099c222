"""Platform screens: home (to-do), password, parameters, regions, organisations,
accounts, audit log, announcements (SPEC P1–P5, P9, P13)."""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, ModelView, expose
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.fieldwidgets import Select2Widget
from flask_login import logout_user
from wtforms import SelectField

from app.extensions import db
from app.i18n import _, _l
from app.models.audit import AuditLog
from app.models.core import (LEVEL_LABELS, ORG_TYPES, Announcement, Organization, Region,
                             SystemParameter, User)
from app.scope import is_superadmin, region_in_scope, scope_of
from app.security import password_problem
from app.services import accounts, audit
from app.services.parameters import validate as validate_parameter
from app.services import validators
from app.services.imports import ImportColumn, RowError
from app.services.files import Slot
from app.views.shared.attachments import AttachmentsMixin
from app.views.shared.forms import on_refusal_show
from app.views.shared.imports import ImportMixin
from app.views.shared.labels import (ChineseLabelsMixin, empty_for_none, object_type_label,
                                     state_label)
from app.views.shared.mixins import Button, RegionScopedMixin


class PasswordView(BaseView):
    """修改密码: current, new, confirm; afterwards the user logs in again (seed 001)."""
    route_base = "/password"
    default_view = "change"

    @expose("/change", methods=["GET", "POST"])
    def change(self):
        if not g.user or not g.user.is_authenticated:
            return redirect(self.appbuilder.get_url_for_login)
        error = None
        if request.method == "POST":
            f = request.form
            error = password_problem(g.user, f.get("old_password"), f.get("new_password", ""),
                                     f.get("confirm_password", ""))
            if error is None:
                accounts.change_password(g.user, f["new_password"])
                logout_user()
                flash(_("密码修改成功，请使用新密码重新登录"), "success")
                return redirect(self.appbuilder.get_url_for_login)
            flash(error, "danger")
        return self.render_template("security/password_change.html", title=_("修改密码"),
                                    forced=g.user.must_change_password)


class SystemParameterView(ChineseLabelsMixin, ModelView):
    route_base = "/system/parameters"
    search_choices = {"value_type": {"str": _l("文本"), "int": _l("整数"),
                                     "bool": _l("开关（1/0）")}}
    datamodel = SQLAInterface(SystemParameter)
    list_title = show_title = edit_title = _l("系统参数")
    label_columns = {"key": _l("参数编码"), "label": _l("参数名称"), "value": _l("参数值"),
                     "value_type": _l("类型"), "description": _l("说明"),
                     "updated_at": _l("修改时间")}
    list_columns = ["label", "value", "description", "updated_at"]
    edit_columns = ["value"]
    show_columns = ["label", "value", "value_type", "description", "updated_at"]
    base_permissions = ["can_list", "can_show", "can_edit"]

    def pre_update(self, item):
        problem = validate_parameter(item.key, item.value)
        if problem:
            raise ValueError(problem)
        item.value = item.value.strip()

    def post_update(self, item):
        audit.log(g.user, "parameter_change", obj=item, comment=f"{item.key}={item.value}")
        g.pop("_parameters", None)


class RegionTreeMixin:
    """Left-hand region tree: the path to the selected node and its children (SPEC P1)."""

    def region_tree(self):
        code = request.args.get("region")
        kind, value = scope_of(g.user)
        root_code = "000000" if kind in ("all",) else (value if kind != "org" else None)
        if root_code is None:
            return None
        selected = (db.session.execute(db.select(Region).where(Region.code == code)).scalar()
                    if code else None)
        if selected is None or not (kind == "all" or region_in_scope(selected, g.user)):
            selected = db.session.execute(db.select(Region).where(Region.code == root_code)).scalar()
        path, node = [], selected
        while node is not None:
            path.insert(0, node)
            if node.code == root_code:
                break
            node = node.parent
        children = db.session.execute(db.select(Region).where(Region.parent_id == selected.id)
                                      .order_by(Region.code)).scalars().all()
        return {"path": path, "selected": selected, "children": children}

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs["tree"] = self.region_tree()
        return super().render_template(template, **kwargs)


CATEGORIES = ("综合医院", "中医医院", "中西医结合医院", "民族医院", "专科医院", "康复医院", "疗养院",
              "护理院（站）", "社区卫生服务中心", "社区卫生服务站", "街道卫生院", "乡镇卫生院", "门诊部",
              "诊所", "卫生所（室）", "村卫生室", "急救中心（站）", "妇幼保健院（所、站）",
              "疾病预防控制中心", "其他")
GRADES = ("三级甲等", "三级乙等", "三级丙等", "二级甲等", "二级乙等", "二级丙等", "一级甲等", "一级乙等",
          "一级丙等", "一级未定等", "二级未定等", "三级未定等", "未定级")
ORG_LEVELS = {"省": "province", "市": "city", "县（区）": "county", "乡镇": "township", "村": "village"}
INSTITUTION_IMPORT = (
    ImportColumn("name", "单位名称", required=True, max_length=128, unique=True,
                 example="太原市示例医院"),
    ImportColumn("region_code", "所属区划代码", required=True, max_length=6, example="140105"),
    ImportColumn("level", "机构层级", required=True, type="choice", choices=tuple(ORG_LEVELS),
                 example="县（区）"),
    ImportColumn("category", "医疗机构类别", type="choice", choices=CATEGORIES, example="综合医院"),
    ImportColumn("grade", "医疗机构级别", type="choice", choices=GRADES, example="二级甲等"),
    ImportColumn("phone", "固定电话", parse=validators.check_phone, example="0351-1234567"),
    ImportColumn("address", "单位地址", max_length=256, example="太原市小店区示例路1号"),
    ImportColumn("uscc", "统一社会信用代码", parse=validators.check_uscc,
                 example="124401044553530138"),
    ImportColumn("licence_no", "执业许可证登记号", parse=validators.check_licence_number),
)


class OrganizationView(ImportMixin, RegionTreeMixin, RegionScopedMixin, ModelView):
    """医疗机构管理: create under a region node, unit code automatic, 生成账户 (SPEC R2)."""
    route_base = "/system/organizations"
    datamodel = SQLAInterface(Organization)
    list_title = _l("医疗机构管理")
    add_title = _l("新增医疗机构")
    edit_title = _l("修改医疗机构")
    show_title = _l("机构详情")
    list_template = "core/tree_list.html"
    search_choices = {"level": LEVEL_LABELS, "org_type": ORG_TYPES}
    label_columns = {"name": _l("单位名称"), "unit_code": _l("单位编码"),
                     "org_type_label": _l("组织机构类别"), "org_type": _l("组织机构类别"),
                     "level": _l("机构层级"),
                     "region": _l("所属区域"), "category": _l("医疗机构类别"),
                     "grade": _l("医疗机构级别"), "phone": _l("固定电话"),
                     "address": _l("单位地址"), "uscc": _l("统一社会信用代码"),
                     "licence_no": _l("执业许可证登记号"), "national_code": _l("国家编码"),
                     "active": _l("启用")}
    list_columns = ["unit_code", "name", "org_type_label", "region", "category", "grade",
                    "phone"]
    show_columns = ["unit_code", "name", "org_type_label", "level", "region", "category",
                    "grade", "phone", "address", "uscc", "licence_no", "national_code"]
    add_columns = ["name", "level", "category", "grade", "phone", "address", "uscc",
                   "licence_no"]
    edit_columns = ["name", "category", "grade", "phone", "address", "uscc", "licence_no"]
    search_columns = ["name", "unit_code", "org_type", "category"]
    base_order = ("unit_code", "asc")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit", "can_generate_account",
                        "can_import_template", "can_import_upload"]
    add_form_extra_fields = edit_form_extra_fields = {
        "level": SelectField(_l("机构层级"), choices=[(v, k) for k, v in ORG_LEVELS.items()],
                             widget=Select2Widget()),
        # Optional lists: an empty choice is allowed, anything else is checked in check_org.
        "category": SelectField(_l("医疗机构类别"), choices=[("", "")] + [(c, c) for c in CATEGORIES],
                                widget=Select2Widget(), validate_choice=False),
        "grade": SelectField(_l("医疗机构级别"), choices=[("", "")] + [(c, c) for c in GRADES],
                             widget=Select2Widget(), validate_choice=False),
    }
    import_columns = INSTITUTION_IMPORT
    import_title = _l("医疗机构导入")

    def import_check(self, rows):
        problems = []
        codes = {r["region_code"] for r in rows}
        regions = {r.code: r for r in db.session.execute(
            db.select(Region).where(Region.code.in_(codes))).scalars()}
        names = {r["name"] for r in rows}
        taken = set(db.session.execute(db.select(Organization.name).where(
            Organization.name.in_(names))).scalars())
        for row in rows:
            region = regions.get(row["region_code"])
            if region is None or region.level == "nation":
                problems.append(RowError(row["_row"], "所属区划代码", _("区划代码不存在")))
            elif not region_in_scope(region, g.user):
                problems.append(RowError(row["_row"], "所属区划代码", _("该区划不在您的管辖范围内")))
            if row["name"] in taken:
                problems.append(RowError(row["_row"], "单位名称", _("机构已存在")))
        return problems

    def import_create(self, row):
        region = db.session.execute(db.select(Region).where(
            Region.code == row["region_code"])).scalar_one()
        org = Organization(name=row["name"], org_type="medical", level=ORG_LEVELS[row["level"]],
                           region=region, unit_code=accounts.next_unit_code(region),
                           category=row.get("category"), grade=row.get("grade"),
                           phone=row.get("phone"), address=row.get("address"),
                           uscc=row.get("uscc"), licence_no=row.get("licence_no"))
        org.province_code, org.city_code, org.county_code = (
            region.province_code, region.city_code, region.county_code)
        db.session.add(org)
        db.session.flush()   # the next row's unit code counts this one

    @staticmethod
    def check_org(item):
        item.category, item.grade = item.category or None, item.grade or None
        if item.category not in (None,) + CATEGORIES or item.grade not in (None,) + GRADES:
            raise ValueError(_("医疗机构类别或级别不在可选范围内"))
        if item.level not in ORG_LEVELS.values():
            raise ValueError(_("请选择机构层级"))
        for field, check in (("phone", validators.check_phone), ("uscc", validators.check_uscc),
                             ("licence_no", validators.check_licence_number)):
            if getattr(item, field):
                try:
                    setattr(item, field, check(getattr(item, field)))
                except validators.ValidationError as exc:
                    raise ValueError(exc.message)

    def pre_update(self, item):
        self.check_org(item)

    def pre_add(self, item):
        self.check_org(item)
        code = request.args.get("region") or request.form.get("region")
        region = db.session.execute(db.select(Region).where(Region.code == code)).scalar() \
            if code else None
        if region is None or region.level == "nation" or not region_in_scope(region, g.user):
            raise ValueError(_("请先在左侧行政区划树上选中所属区域，再点击新增"))
        item.region = region
        item.org_type = "medical"
        item.level = item.level or region.level
        item.province_code, item.city_code, item.county_code = (
            region.province_code, region.city_code, region.county_code)
        item.unit_code = accounts.next_unit_code(region)
        if not accounts.may_create_account(g.user, item):
            raise ValueError(_("您没有在该区域创建医疗机构的权限"))

    def row_buttons(self, items):
        if getattr(g.user.organization, "org_type", None) != "agency":
            return {}
        return {o.id: [Button(_("生成账户"), url_for("OrganizationView.generate_account",
                                                   pk=o.id), "primary")]
                for o in items if o.org_type == "medical"}

    @expose("/generate_account/<pk>", methods=["POST"])
    @has_access
    def generate_account(self, pk):
        org = self.scoped(pk)
        if org.org_type != "medical" or g.user.organization is None \
                or g.user.organization.org_type != "agency":
            flash(_("只有经办机构用户可以为医疗机构生成账户"), "danger")
        else:
            user, message = accounts.generate_account(g.user, org)
            flash(message, "success" if user else "info")
        return redirect(request.referrer or url_for("OrganizationView.list"))


class AccountView(RegionTreeMixin, RegionScopedMixin, ModelView):
    """用户管理 (seed 001): 查询, 添加 by 用户类型 and region (SPEC P4, Q1), 编辑 with an
    immutable login name, 授权, 停用/启用, 重置密码."""
    route_base = "/system/accounts"
    datamodel = SQLAInterface(User)
    list_title = _l("账号管理")
    show_title = _l("账号详情")
    edit_title = _l("修改账号")
    list_template = "core/tree_list.html"
    label_columns = {"username": _l("登录名"), "first_name": _l("姓名"), "mobile": _l("手机号码"),
                     "email": _l("邮箱"), "organization": _l("所属机构"),
                     "user_type_label": _l("用户类型"), "active": _l("启用"),
                     "last_login": _l("最后登录"), "must_change_password": _l("须修改密码"),
                     "roles": _l("角色")}
    list_columns = ["username", "first_name", "organization", "user_type_label", "mobile",
                    "active"]
    show_columns = ["username", "first_name", "organization", "user_type_label", "mobile",
                    "email", "active", "must_change_password", "last_login", "roles"]
    edit_columns = ["first_name", "mobile", "email"]
    search_columns = ["username", "first_name", "mobile", "active"]
    base_order = ("id", "asc")
    base_permissions = ["can_list", "can_show", "can_edit", "can_create_account",
                        "can_reset_password", "can_disable", "can_enable", "can_roles"]
    # 用户类型 → the form field naming its organisation (SPEC Q1).
    KIND_FIELDS = {"insurance_bureau": "region_code", "medical": "institution",
                   "other": "organization_id"}
    KIND_LABELS = {"insurance_bureau": _l("医保机构"), "medical": _l("医疗机构"),
                   "other": _l("其他机构")}

    def pre_update(self, item):
        if not accounts.may_manage_account(g.user, item):
            raise ValueError(_("您没有管理该账号的权限"))
        item.mobile = accounts.clean_mobile(item.mobile)

    def _managed(self, pk):
        """The account behind pk when the caller may manage it, else None with a message
        (outside the caller's scope it is 404, SPEC P7)."""
        user = self.scoped(pk)
        if accounts.may_manage_account(g.user, user):
            return user
        flash(_("您没有管理该账号的权限"), "danger")
        return None

    @expose("/edit/<pk>", methods=["GET", "POST"])
    @has_access
    def edit(self, pk):
        if self._managed(pk) is None:
            return redirect(url_for("AccountView.list"))
        return super().edit(pk)

    def create_choices(self):
        """What the create form offers the caller, per 用户类型; a type with nothing to
        offer is left out."""
        choices = {"insurance_bureau": accounts.bureau_regions(g.user),
                   "medical": accounts.institution_suggestions(g.user),
                   "other": accounts.creatable_orgs(g.user)}
        kinds = [k for k in accounts.ACCOUNT_KINDS if choices[k]
                 or (k == "medical" and accounts.may_create_institution_accounts(g.user))]
        return choices, kinds

    @expose("/create", methods=["GET", "POST"])
    @has_access
    def create_account(self):
        if request.method == "POST":
            f = request.form
            kind = f.get("user_type") if f.get("user_type") in self.KIND_FIELDS else "other"
            on_refusal_show(self._create_page)
            user = accounts.create_account(g.user, kind, f.get(self.KIND_FIELDS[kind]),
                                           f.get("username"), f.get("first_name"),
                                           f.get("mobile"), f.get("email"))
            flash(_("账号已创建：%(name)s，密码为系统初始密码，首次登录须修改",
                    name=user.username), "success")
            return redirect(url_for("AccountView.list"))
        return self._create_page({})

    def _create_page(self, errors):
        """The create form with what was typed and each message beside its field."""
        choices, kinds = self.create_choices()
        return self.render_template("core/account_create.html", title=_("新增账号"),
                                    choices=choices, kinds=kinds, kind_labels=self.KIND_LABELS,
                                    form=request.form, errors=errors)

    @expose("/roles/<pk>", methods=["GET", "POST"])
    @has_access
    def roles(self, pk):
        """授权: tick the roles the account holds, among those the caller may grant."""
        user = self._managed(pk)
        if user is None:
            return redirect(url_for("AccountView.list"))
        if request.method == "POST":
            ticked = request.form.getlist("role_id")
            on_refusal_show(lambda fields: self._roles_page(user, ticked))
            accounts.save_roles(g.user, user, ticked)
            flash(_("授权已保存：%(name)s", name=user.username), "success")
            return redirect(url_for("AccountView.list"))
        return self._roles_page(user)

    def _roles_page(self, user, ticked=None):
        """The 授权 form; `ticked`: the role ids as posted (a refused form keeps them)."""
        return self.render_template("core/account_roles.html", title=_("授权"), item=user,
                                    grantable=accounts.grantable_roles(g.user),
                                    base_role=accounts.BASE_ROLE, ticked=ticked)

    def _manage(self, pk, action):
        user = self._managed(pk)
        if user is None:
            return redirect(url_for("AccountView.list"))
        flash(accounts.manage_account(g.user, user, action), "success")
        return redirect(request.referrer or url_for("AccountView.list"))

    @expose("/reset_password/<pk>", methods=["POST"])
    @has_access
    def reset_password(self, pk):
        return self._manage(pk, "reset_password")

    @expose("/disable/<pk>", methods=["POST"])
    @has_access
    def disable(self, pk):
        return self._manage(pk, "disable")

    @expose("/enable/<pk>", methods=["POST"])
    @has_access
    def enable(self, pk):
        return self._manage(pk, "enable")

    def row_buttons(self, items):
        return {u.id: [Button(_("授权"), url_for("AccountView.roles", pk=u.id), "info",
                              post=False),
                       Button(_("重置密码"), url_for("AccountView.reset_password", pk=u.id)),
                       Button(_("停用"), url_for("AccountView.disable", pk=u.id), "warning")
                       if u.active else
                       Button(_("启用"), url_for("AccountView.enable", pk=u.id), "success")]
                for u in items if accounts.may_manage_account(g.user, u)}


class AuditLogView(ChineseLabelsMixin, ModelView):
    route_base = "/system/audit"
    datamodel = SQLAInterface(AuditLog)
    list_title = _l("审计日志")
    label_columns = {"created_at": _l("时间"), "username": _l("用户"),
                     "organization_name": _l("机构"), "action_label": _l("操作"),
                     "action": _l("操作"), "object_type": _l("对象类型"),
                     "object_id": _l("对象编号"), "from_state": _l("原状态"),
                     "to_state": _l("新状态"), "comment": _l("说明"), "ip": _l("IP地址")}
    list_columns = ["created_at", "username", "organization_name", "action_label",
                    "object_type", "object_id", "from_state", "to_state", "comment", "ip"]
    search_columns = ["username", "action", "object_type", "object_id", "created_at"]
    show_columns = list_columns
    formatters_columns = {"object_type": object_type_label, "from_state": state_label,
                          "to_state": state_label, "comment": empty_for_none,
                          "ip": empty_for_none, "organization_name": empty_for_none,
                          "object_id": empty_for_none, "username": empty_for_none}
    base_order = ("id", "desc")
    base_permissions = ["can_list", "can_show"]

    def choices(self):
        from app.models.audit import AUDIT_ACTIONS
        from app.module import modules
        actions = {**AUDIT_ACTIONS, **{k: v for m in modules() for k, v in m.audit_actions.items()}}
        return {"action": actions}

    # append-only: FAB's action routes (delete …) do not exist here
    @expose("/action/<string:name>/<pk>", methods=["GET", "POST"])
    def action(self, name, pk):
        abort(404)

    @expose("/action_post", methods=["POST"])
    def action_post(self):
        abort(404)


ANNOUNCEMENT_FILES = Slot("files", _l("附件"), ("pdf", "image", "archive"))


class AnnouncementView(RegionScopedMixin, AttachmentsMixin, ModelView):
    """通知公告 with downloadable attachments, managed by the super-admin (SPEC P13)."""
    route_base = "/system/announcements"
    attachment_slots = (ANNOUNCEMENT_FILES,)

    def can_upload(self, item, slot):
        return is_superadmin(g.user)

    datamodel = SQLAInterface(Announcement)
    list_title = _l("通知公告")
    label_columns = {"title": _l("标题"), "content": _l("内容"), "published_on": _l("发布日期"),
                     "active": _l("发布")}
    list_columns = ["title", "published_on", "active"]
    add_columns = edit_columns = ["title", "content", "published_on", "active"]
    base_order = ("published_on", "desc")
