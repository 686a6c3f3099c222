"""工伤 master data: work-injury determinations imported by an agency (SPEC W3, P12) and the
assistive-device catalogue (W4)."""
from flask import g
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select

from app.extensions import db
from app.i18n import _, _l
from app.models.core import Region
from app.models.injury import INJURY_TYPES, InjuryDetermination, InjuryDeviceItem
from app.services import validators
from app.services.injury import queries, rules
from app.services.imports import ImportColumn, RowError
from app.views.shared.export import ExcelExportMixin, ExportField
from app.views.shared.imports import ImportMixin
from app.views.shared.mixins import RegionScopedMixin


TYPE_BY_LABEL = {str(label): code for code, label in INJURY_TYPES.items()}


# Each cell's own rules are its column's parser, so that one pass names every problem of
# every row (the region, a taken number and a future date with the ID number's and the
# format's ones — issue 21 item 8); a ValueError is the row's error in that column.

def _insurance_region(code):
    region = db.session.execute(select(Region).where(Region.code == str(code).strip())
                                ).scalar()
    problem = rules.insurance_region_problem(region, g.user)
    if problem:
        raise ValueError(problem)
    return region.code


def _free_number(number):
    if db.session.execute(select(InjuryDetermination.id).where(
            InjuryDetermination.determination_no == number)).first():
        raise ValueError(_("该工伤认定编号已存在"))
    return number


def _not_future(day):
    if day > queries.local_today():
        raise ValueError(_("不能晚于今天"))
    return day


DETERMINATION_IMPORT = (
    ImportColumn("id_number", "身份证号", required=True, parse=rules.as_value_error(
        lambda v: validators.check_id_number(v, min_birth=None)), example="140105198703150013"),
    ImportColumn("person_name", "姓名", required=True, max_length=64, example="王建国"),
    ImportColumn("employer_name", "用人单位", required=True, max_length=128,
                 example="太原重型机械有限公司"),
    ImportColumn("employer_uscc", "用人单位统一社会信用代码", parse=rules.as_value_error(
        validators.check_uscc)),
    ImportColumn("injury_type", "工伤类型", required=True, type="choice",
                 choices=tuple(TYPE_BY_LABEL)),
    ImportColumn("determination_no", "工伤认定编号", required=True, max_length=40, unique=True,
                 parse=_free_number, example="晋工认〔2026〕0001号"),
    ImportColumn("injury_date", "工伤发生时间", required=True, type="date", parse=_not_future,
                 example="2025-06-18"),
    ImportColumn("region_code", "参保地区划代码", required=True, max_length=6,
                 parse=_insurance_region, example="140105"),
)
DETERMINATION_LABELS = {
    "id_number": _l("身份证号"), "person_name": _l("姓名"), "employer_name": _l("用人单位"),
    "injury_type": _l("工伤类型"), "injury_type_label": _l("工伤类型"),
    "determination_no": _l("工伤认定编号"), "injury_date": _l("工伤发生时间"),
    "region": _l("参保地"), "region.name": _l("参保地"), "employer": _l("用人单位账号机构"),
    "created_at": _l("导入时间"),
}


class InjuryDeterminationView(ImportMixin, RegionScopedMixin, ExcelExportMixin, ModelView):
    """工伤认定信息: imported from Excel by the agency; all-or-nothing (SPEC W3, P12)."""
    route_base = "/injury/determinations"
    datamodel = SQLAInterface(InjuryDetermination)
    list_title = _l("工伤认定信息")
    show_title = _l("工伤认定信息详情")
    list_template = "injury/determinations.html"
    label_columns = DETERMINATION_LABELS
    list_columns = ["person_name", "id_number", "determination_no", "injury_type_label",
                    "injury_date", "employer_name", "region.name"]
    show_columns = ["person_name", "id_number", "determination_no", "injury_type_label",
                    "injury_date", "employer_name", "employer", "region", "created_at"]
    search_columns = ["person_name", "id_number", "determination_no", "employer_name",
                      "injury_date"]
    order_columns = ["injury_date", "person_name"]
    base_order = ("id", "desc")
    base_permissions = ["can_list", "can_show", "can_import_template", "can_import_upload",
                        "can_export", "can_export_standard"]
    import_columns = DETERMINATION_IMPORT
    import_title = _l("工伤认定信息导入")
    export_fields = (
        ExportField("person_name", DETERMINATION_LABELS["person_name"]),
        ExportField("id_number", DETERMINATION_LABELS["id_number"]),
        ExportField("determination_no", DETERMINATION_LABELS["determination_no"]),
        ExportField("injury_type", DETERMINATION_LABELS["injury_type"],
                    fmt=lambda v: str(INJURY_TYPES.get(v, v or ""))),
        ExportField("injury_date", DETERMINATION_LABELS["injury_date"], "date"),
        ExportField("employer_name", DETERMINATION_LABELS["employer_name"]),
        ExportField("region.name", DETERMINATION_LABELS["region"]),
    )
    standard_export = tuple(f.key for f in export_fields)
    export_title = _l("工伤认定信息")

    def import_check(self, rows):
        """Every cell was checked as it was read (the columns' parsers); the regions of
        the rows are loaded once for import_create."""
        codes = {r["region_code"] for r in rows}
        self._regions = {r.code: r for r in db.session.execute(
            select(Region).where(Region.code.in_(codes))).scalars()}
        return []

    def import_create(self, row):
        region = self._regions[row["region_code"]]
        item = InjuryDetermination(
            id_number=row["id_number"], person_name=row["person_name"],
            employer_name=row["employer_name"], injury_type=TYPE_BY_LABEL[row["injury_type"]],
            determination_no=row["determination_no"], injury_date=row["injury_date"],
            region_id=region.id)
        employer = queries.employer_org(row["employer_name"], row.get("employer_uscc"))
        item.employer_id = employer.id if employer is not None else None
        item.copy_scope_from(region)
        db.session.add(item)


DEVICE_IMPORT = (
    ImportColumn("code", "产品编码", required=True, max_length=20, unique=True, example="FZ0001"),
    ImportColumn("name", "产品名称", required=True, max_length=128, example="小腿假肢"),
    ImportColumn("category", "类别", required=True, max_length=32, example="假肢"),
    ImportColumn("specification", "规格型号", max_length=128, example="碳纤维储能脚"),
    ImportColumn("price", "单价", required=True, type="decimal", example="12800.00"),
    ImportColumn("usage_years", "使用年限", required=True, type="int", example="3"),
)


class InjuryDeviceItemView(ImportMixin, RegionScopedMixin, ModelView):
    """辅助器具目录: everyone reads it; the super-admin maintains it by Excel import
    (an existing 产品编码 is updated)."""
    route_base = "/injury/devices"
    datamodel = SQLAInterface(InjuryDeviceItem)
    list_title = _l("辅助器具目录")
    show_title = _l("辅助器具详情")
    list_template = "injury/devices.html"
    label_columns = {"code": _l("产品编码"), "name": _l("产品名称"), "category": _l("类别"),
                     "specification": _l("规格型号"), "price": _l("单价（元）"),
                     "usage_years": _l("使用年限"), "active": _l("在用")}
    list_columns = ["code", "name", "category", "specification", "price", "usage_years"]
    show_columns = list_columns + ["active"]
    search_columns = ["code", "name", "category", "specification"]
    order_columns = ["code", "name", "price"]
    base_order = ("code", "asc")
    base_permissions = ["can_list", "can_show", "can_import_template", "can_import_upload"]
    import_columns = DEVICE_IMPORT
    import_title = _l("辅助器具目录导入")

    def import_check(self, rows):
        return [RowError(r["_row"], "单价", _("不能为负数")) for r in rows if r["price"] < 0] + \
            [RowError(r["_row"], "使用年限", _("应在1到50之间")) for r in rows
             if not 1 <= r["usage_years"] <= 50]

    def import_create(self, row):
        item = db.session.execute(select(InjuryDeviceItem).where(
            InjuryDeviceItem.code == row["code"])).scalar_one_or_none()
        if item is None:
            item = InjuryDeviceItem(code=row["code"])
            db.session.add(item)
        for key in ("name", "category", "specification", "price", "usage_years"):
            setattr(item, key, row.get(key))
        item.active = True
