"""报量项目配置 and its catalogue (SPEC Q2), for the super-admin."""
import datetime as dt

from flask import abort, request, url_for
from flask_appbuilder import ModelView
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select

from app.extensions import db
from app.i18n import _, _l
from app.models.ivd import IvdCatalogItem, IvdProject
from app.services.ivd import commands, rules
from app.services.imports import ImportColumn, RowError
from app.views.ivd.forms import IvdProjectQueryForm
from app.views.shared.imports import ImportMixin
from app.views.shared.mixins import Button, RegionScopedMixin

PROJECT_LABELS = {"name": _l("项目名称"), "year": _l("年度"), "fill_start": _l("填报开始日期"),
                  "fill_end": _l("填报结束日期"), "city_deadline": _l("市级审核截止日期"),
                  "province_deadline": _l("省级审核截止日期"), "threshold_pct": _l("需求量阈值（%）"),
                  "status_label": _l("状态"), "created_at": _l("创建时间")}
CATALOG_LABELS = {"project": _l("报量项目"), "serial_no": _l("流水号"), "major": _l("大项"),
                  "minor": _l("小项"), "manufacturer": _l("生产企业"), "cert_no": _l("注册证号"),
                  "product_name": _l("产品名称"), "specification": _l("规格型号")}
CATALOG_IMPORT = (
    ImportColumn("serial_no", "流水号", required=True, max_length=32, unique=True,
                 example="IVD000001"),
    ImportColumn("major", "大项", required=True, max_length=64, example="生化类"),
    ImportColumn("minor", "小项", required=True, max_length=64, example="肝功能"),
    ImportColumn("manufacturer", "生产企业", required=True, max_length=128,
                 example="示例生物科技有限公司"),
    ImportColumn("cert_no", "注册证号", required=True, max_length=64,
                 example="国械注准20173400001"),
    ImportColumn("product_name", "产品名称", required=True, max_length=128,
                 example="丙氨酸氨基转移酶测定试剂盒"),
    ImportColumn("specification", "规格型号", max_length=256, example="2×60ml"),
)


class ProjectQueryFilter(BaseFilter):
    """查询 by 项目名称 (contains), 年度 and the derived 状态 (SPEC Q2)."""
    name = "project query"

    def apply(self, query, value):
        form, P, today = IvdProjectQueryForm.from_args(request.args), self.model, dt.date.today()
        if form.name.data:
            query = query.filter(P.name.contains(form.name.data))
        if form.year_value is not None:
            query = query.filter(P.year == form.year_value)
        status = form.status.data
        if status == "not_started":
            query = query.filter(P.fill_start > today)
        elif status == "running":
            query = query.filter(P.fill_start <= today, P.province_deadline >= today)
        elif status == "ended":
            query = query.filter(P.province_deadline < today)
        return query


class IvdProjectView(RegionScopedMixin, ModelView):
    """报量项目配置: 新增, 统一配置 (threshold read-only once running), 查询."""
    route_base = "/ivd/projects"
    datamodel = SQLAInterface(IvdProject)
    list_title = _l("报量项目配置")
    add_title = _l("新增报量项目")
    edit_title = _l("统一配置")
    show_title = _l("报量项目详情")
    list_template = "ivd/projects.html"
    label_columns = PROJECT_LABELS
    list_columns = ["name", "year", "fill_start", "fill_end", "city_deadline",
                    "province_deadline", "threshold_pct", "status_label"]
    show_columns = list_columns + ["created_at"]
    add_columns = edit_columns = ["name", "year", "fill_start", "fill_end", "city_deadline",
                                  "province_deadline", "threshold_pct"]
    description_columns = {
        "fill_start": _l("医疗机构可填报的第一天"),
        "fill_end": _l("医疗机构填报的最后一天；被审核不通过的医疗机构可重新填报至市级审核截止日期"),
        "city_deadline": _l("不早于填报结束日期；市级审核与提交的最后一天"),
        "province_deadline": _l("不早于市级审核截止日期；省级审核与提交的最后一天，之后项目已结束"),
        "threshold_pct": _l("下年度采购需求量较上年度增降幅超过该百分比的，须填写增降幅说明；项目执行中或已结束后不可修改"),
    }
    base_filters = [["id", ProjectQueryFilter, None]]
    base_order = ("year", "desc")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]

    def render_template(self, template, **kwargs):
        if template == self.list_template:
            kwargs["query"] = IvdProjectQueryForm.from_args(request.args)
        return super().render_template(template, **kwargs)

    def pre_add(self, item):
        rules.check_project(item)

    def post_add(self, item):
        super().post_add(item)
        commands.ensure_hospital_reports(item.id)

    def pre_update(self, item):
        rules.check_project_change(item)

    def prefill_form(self, form, pk):
        project = self.scoped(pk)
        if rules.filling_started(project.id, project.status):
            form.threshold_pct.render_kw = {"readonly": True}

    def row_buttons(self, items):
        return {p.id: [Button(_("统一配置"), url_for("IvdProjectView.edit", pk=p.id), post=False),
                       Button(_("目录"), url_for("IvdCatalogView.list", project=p.id),
                              post=False)] for p in items}


class ChosenProjectFilter(BaseFilter):
    """Rows of the project chosen in ?project= (nothing before one is chosen)."""
    name = "chosen project"

    def apply(self, query, value):
        return query.filter(self.model.project_id == request.args.get("project", 0, type=int))


class IvdCatalogView(ImportMixin, RegionScopedMixin, ModelView):
    """A project's catalogue lines; imported from Excel, all-or-nothing (SPEC Q2, P12)."""
    route_base = "/ivd/catalog"
    datamodel = SQLAInterface(IvdCatalogItem)
    list_title = _l("报量目录")
    show_title = _l("目录详情")
    list_template = "ivd/catalog.html"
    label_columns = CATALOG_LABELS
    list_columns = ["serial_no", "major", "minor", "manufacturer", "cert_no", "product_name",
                    "specification"]
    show_columns = ["project"] + list_columns
    search_columns = ["serial_no", "major", "minor", "manufacturer", "cert_no", "product_name"]
    base_filters = [["project_id", ChosenProjectFilter, None]]
    base_order = ("serial_no", "asc")
    base_permissions = ["can_list", "can_show", "can_import_template", "can_import_upload"]
    import_columns = CATALOG_IMPORT
    import_title = _l("报量目录导入")

    def chosen_project(self):
        project = db.session.get(IvdProject, request.args.get("project", 0, type=int))
        return project or abort(404)

    def render_template(self, template, **kwargs):
        if template in (self.list_template, "portal/import.html"):
            kwargs["project"] = db.session.get(IvdProject,
                                               request.args.get("project", 0, type=int))
        return super().render_template(template, **kwargs)

    def import_check(self, rows):
        project = self.chosen_project()
        if project.status == "ended":
            return [RowError(0, "", _("项目已结束，不能导入目录"))]
        taken = set(db.session.execute(select(IvdCatalogItem.serial_no).where(
            IvdCatalogItem.project_id == project.id,
            IvdCatalogItem.serial_no.in_([r["serial_no"] for r in rows]))).scalars())
        return [RowError(r["_row"], "流水号", _("该流水号已在目录中"))
                for r in rows if r["serial_no"] in taken]

    def import_create(self, row):
        db.session.add(IvdCatalogItem(project_id=self.chosen_project().id,
                                      **{c.key: row.get(c.key) for c in CATALOG_IMPORT}))

    def import_done_url(self):
        return url_for("IvdCatalogView.list", project=self.chosen_project().id)

    def pre_add(self, item):      # lines come only from the import
        abort(404)
