"""基本公卫 Excel route (SPEC H7, P12): the import template of institution information and
the import (the export columns, which share its headers and labels, are the list screen's:
app/views/phs/screens.py).

Template: one column per 表2 item in its order (机构地址 as 所在乡镇（街道） + 详细地址, the
province, city and county coming from the region; 经纬度 as 经度 + 纬度); 机构类型, 主办类型
and 承担项目内容 are written as their Chinese labels (several service items separated by
“、” or “,”). The export uses the same headers and labels, so an exported file can be
edited and imported again.

What a row does — decided per row by its 机构名称:

* It names an institution within the caller's reach (a unit: the rows it fills — its own
  and its stations; a county: every institution of the county; a city or province: its
  own): that institution is **updated**, provided the caller may edit it now
  (``edit_refusal`` is None); otherwise the row is refused with the reason (e.g. the
  report has been submitted: “已上报，不能修改；如需修改请由县级申请修改”). A blank cell keeps
  the stored value (an import never clears an item; the form does that); 上级机构 may be
  left blank or repeat the current superior — it is changed by 机构隶属关系维护, not here.
* Otherwise a new institution is **created** the way 新增 does for this caller
  (``add_kind``): a county creates units — each with its organisation and account, as
  ``build_institution`` does; 所在乡镇（街道） required as on the form — or, when 上级机构
  names one of its units (an existing one or a unit created by another row of the same
  file), a station under that unit; a unit creates its stations; a city or province its
  own professional institutions. 上级机构 must be one of the caller's allowed superiors
  (blank = the natural default: the county itself, the unit itself, the city / province
  itself); a county is named by its region (“小店区”, as the list shows it) or its
  organisation name, a unit by its name. Creating is refused while the report that would
  carry the new row is no longer open (“本级已上报…，不能新增；如需新增请申请修改”).

Every value goes through ``clean_fields`` (the form's checks and messages). A name
appearing twice in the file is an error on the later row. All or nothing: ``check``
returns every error of every row (row number, column, message) and the view writes
nothing when there is one; ``create`` only writes what ``check`` resolved (a refusal
surfacing while writing rejects the whole file too, the view rolling back).

So that one upload lists every error, the reader (``imports.read_rows``) is left only the
checks that cannot wait (the 机构名称 column and value present): the other columns are
text, and the dropdown columns are checked by ``check`` (``choices_checked_later``).
"""
import re

from sqlalchemy import select

from app.errors import DomainError
from app.extensions import db
from app.i18n import _
from app.models.core import Organization
from app.models.phs import (INSTITUTION_TYPES, OPEN_STATES, SERVICE_ITEMS, SPONSOR_TYPES,
                            PhsInstitution)
from app.services import audit
from app.services.imports import ImportColumn, ImportRejected, RowError
from app.services.phs.commands import apply_values, build_institution, describe_changes
from app.services.phs.queries import report_of, superior_choices
from app.services.phs.rules import add_kind, clean_fields, edit_refusal


# The template speaks Chinese, whatever the user's language (headers are matched by text).
TYPE_LABELS = {code: str(label) for code, label in INSTITUTION_TYPES.items()}
SPONSOR_LABELS = {code: str(label) for code, label in SPONSOR_TYPES.items()}
SERVICE_LABELS = {code: str(label) for code, label in SERVICE_ITEMS.items()}
TYPE_CODES = {label: code for code, label in TYPE_LABELS.items()}
SPONSOR_CODES = {label: code for code, label in SPONSOR_LABELS.items()}
SERVICE_CODES = {label: code for code, label in SERVICE_LABELS.items()}

HEADERS = {
    "name": "机构名称", "code": "机构编码", "contact": "联系人", "phone": "联系电话",
    "township": "所在乡镇（街道）", "address_detail": "详细地址", "inst_type": "机构类型",
    "sponsor": "主办类型", "longitude": "经度", "latitude": "纬度", "superior": "上级机构",
    "services": "承担项目内容",
}
# clean_fields reports a wrong pair of coordinates under one key.
ERROR_COLUMNS = {**HEADERS, "coordinates": "经度、纬度"}

COLUMNS = (
    ImportColumn("name", HEADERS["name"], required=True, example="小店区北格镇南庄村卫生室"),
    ImportColumn("code", HEADERS["code"], example="PDY6000914010511A1001"),
    ImportColumn("contact", HEADERS["contact"], example="张医生"),
    ImportColumn("phone", HEADERS["phone"], example="0351-7612345 或 13912345678"),
    ImportColumn("township", HEADERS["township"], example="北格镇"),
    ImportColumn("address_detail", HEADERS["address_detail"], example="南庄村1号"),
    ImportColumn("inst_type", HEADERS["inst_type"], type="choice",
                 choices=tuple(TYPE_LABELS.values()), choices_checked_later=True,
                 example="村卫生室"),
    ImportColumn("sponsor", HEADERS["sponsor"], type="choice",
                 choices=tuple(SPONSOR_LABELS.values()), choices_checked_later=True,
                 example="政府办"),
    ImportColumn("longitude", HEADERS["longitude"], example="112.561234"),
    ImportColumn("latitude", HEADERS["latitude"], example="37.731234"),
    ImportColumn("superior", HEADERS["superior"],
                 example="小店区北格镇卫生院（留空：县级新增为本县，基层机构新增为本机构）"),
    ImportColumn("services", HEADERS["services"],
                 example="居民健康档案管理、健康教育、预防接种（用“、”分隔）"),
)


_SEPARATORS = re.compile(r"[、,，;；\s]+")


def _data(row):
    """The row's non-blank cells as clean_fields reads them (labels → codes; an unknown
    label is passed on as typed, for clean_fields to name it)."""
    data = {"name": row["name"]}
    for key in ("code", "contact", "phone", "township", "address_detail", "longitude",
                "latitude"):
        if row.get(key) is not None:
            data[key] = row[key]
    if row.get("inst_type") is not None:
        data["inst_type"] = TYPE_CODES.get(row["inst_type"], row["inst_type"])
    if row.get("sponsor") is not None:
        data["sponsor"] = SPONSOR_CODES.get(row["sponsor"], row["sponsor"])
    if row.get("services") is not None:
        data["services"] = [SERVICE_CODES.get(p, p)
                            for p in _SEPARATORS.split(row["services"]) if p]
    return data


def _names_of(org, unit_names):
    """How a superior may be written: its organisation name; a county, city or province
    also by its region (“小店区”); a unit also by its institution's current name."""
    names = {org.name}
    if org.org_type == "health_commission" and org.region is not None:
        names.add(org.region.name)
    if org.id in unit_names:
        names.add(unit_names[org.id])
    return names


def _reach(user, kind):
    """The live institutions a row's name is looked up in."""
    mine = user.organization
    if mine is None:
        return []
    query = select(PhsInstitution).where(PhsInstitution.deleted.is_(False))
    if kind == "unit":      # a county: everything in the county (its units are editable)
        query = query.where(PhsInstitution.county_code == mine.county_code)
    else:
        query = query.where(PhsInstitution.organization_id == mine.id)
    return db.session.execute(query.order_by(PhsInstitution.id)).scalars().all()


def _closed(org):
    report = report_of(org, create=False)
    return report if report is not None and report.state not in OPEN_STATES else None


class _Checker:
    def __init__(self, user):
        self.user = user
        self.mine = user.organization
        self.kind = add_kind(user)
        self.by_name = {}
        for inst in _reach(user, self.kind):
            self.by_name.setdefault(inst.name, []).append(inst)
        self.unit_names = {i.organization_id: i.name for insts in self.by_name.values()
                           for i in insts if i.tier == "unit"}
        if self.kind == "unit":
            self.choices = superior_choices(self.mine)
        elif self.kind is not None:
            self.choices = [self.mine]
        else:
            self.choices = []
        self.mine_closed = _closed(self.mine) if self.mine is not None else None
        self.new_units = {}     # name → row creating a unit (county), for stations below it

    def plan_units(self, rows):
        """A county's rows that create units, known before any row is checked: a station
        may name a unit created by any other row of the file."""
        if self.kind == "unit":
            self.new_units = {row["name"]: row for row in rows
                              if row["name"] not in self.by_name
                              and self.superior_org(row.get("superior")) is self.mine}

    def superior_org(self, text):
        """The allowed superior organisation a cell names (blank: the caller's own)."""
        if text is None:
            return self.mine
        for org in self.choices:
            if text in _names_of(org, self.unit_names):
                return org
        return None

    def superior(self, text):
        """… or the row of the file that creates the unit the cell names."""
        return self.superior_org(text) or self.new_units.get(text)

    def allowed(self):
        return "、".join([_superior_name(org, self.unit_names) for org in self.choices]
                        + list(self.new_units))

    def check_row(self, row):
        n, errors = row["_row"], []

        def error(column, message):
            errors.append(RowError(n, column, str(message)))

        matches = self.by_name.get(row["name"], [])
        editable = [i for i in matches if edit_refusal(i, self.user) is None]
        values, field_errors = clean_fields(_data(row), partial=True)
        if len(editable) > 1:
            error(HEADERS["name"], _("有%(n)s个同名机构，无法确定要修改哪一个，请在页面上修改",
                                     n=len(editable)))
        elif editable:
            inst = editable[0]
            current = inst.superior_org
            if row.get("superior") is not None and (
                    current is None or row["superior"] not in _names_of(current,
                                                                        self.unit_names)):
                error(HEADERS["superior"], _("导入不能修改上级机构（当前为“%(s)s”）",
                                             s=inst.superior_label))
            row["_plan"] = ("update", inst)
        elif matches:
            error(HEADERS["name"], edit_refusal(matches[0], self.user).message)
        else:
            self.plan_new(row, values, error)
        for field, messages in field_errors.items():
            for message in messages:
                error(ERROR_COLUMNS.get(field, ""), message)
        row["_values"] = values
        return errors

    def plan_new(self, row, values, error):
        if self.kind is None:
            error(HEADERS["name"], _("您没有新增机构的权限"))
            return
        if self.mine_closed is not None:
            error(HEADERS["name"], _("本级已上报（%(s)s），不能新增；如需新增请申请修改",
                                     s=self.mine_closed.state_label))
            return
        superior = self.superior(row.get("superior"))
        if superior is None:
            error(HEADERS["superior"], _("上级机构应为：%(c)s", c=self.allowed()))
            return
        if self.kind != "unit":
            row["_plan"] = (self.kind, None)
            return
        if superior is self.mine:
            if not values.get("township"):
                error(HEADERS["township"], _("请填写所在乡镇（街道）"))
            row["_plan"] = ("unit", None)
            return
        if isinstance(superior, Organization):
            closed = _closed(superior)
            if closed is not None:
                error(HEADERS["superior"], _("“%(n)s”已上报（%(s)s），不能新增其下属机构",
                                             n=superior.name, s=closed.state_label))
                return
        row["_plan"] = ("station", superior)


def _superior_name(org, unit_names):
    if org.org_type == "health_commission" and org.region is not None:
        return org.region.name
    return unit_names.get(org.id, org.name)


def check(rows, user):
    """Every error of every row → [RowError]; resolves each row's plan for ``create``."""
    first_of = {}
    for row in rows:
        first_of.setdefault(row["name"], row["_row"])
    checker, errors = _Checker(user), []
    checker.plan_units([row for row in rows if first_of[row["name"]] == row["_row"]])
    for row in rows:
        first = first_of[row["name"]]
        if first != row["_row"]:
            errors.append(RowError(row["_row"], HEADERS["name"],
                                   str(_("与第 %(r)s 行重复", r=first))))
            continue
        errors += checker.check_row(row)
    return errors


def create(row, user):
    """Write one checked row (no commit: the view commits the whole file)."""
    try:
        _write(row, user)
    except ImportRejected:
        raise
    except (DomainError, ValueError) as exc:
        raise ImportRejected([RowError(row["_row"], "", getattr(exc, "message", None)
                                       or str(exc))]) from None


def _write(row, user):
    if row.get("_inst") is not None:     # a new unit already written for a station below it
        return row["_inst"]
    kind, target = row["_plan"]
    values = dict(row["_values"])
    if kind == "update":
        changes = apply_values(target, values)
        if changes:
            audit.record(user, "update", obj=target,
                         comment=_("Excel导入：%(c)s", c=describe_changes(changes)))
        inst = target
    else:
        superior = target
        if isinstance(target, dict):      # a unit created by another row of the file
            superior = db.session.get(Organization, _write(target, user).organization_id)
        inst = build_institution(user, kind, values, superior=superior)
    row["_inst"] = inst
    return inst
