"""基本公卫 rules (SPEC H1–H4): the roles, the ten data items and the checks on each, who
fills which institution and when, what 新增 adds for a caller. Rules read, never write or
commit; a refusal is a domain error (app/errors.py) naming each bad field."""
import re

from app.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from app.i18n import _
from app.models.phs import (DATA_ITEMS, INSTITUTION_TYPES, OPEN_STATES, SERVICE_ITEMS,
                            SPONSOR_TYPES)
from app.scope import is_superadmin
from app.services import validators
from app.services.phs.queries import namesakes, report_of

NATIONAL, PROVINCE, CITY, COUNTY, UNIT = "H 国家", "H 省级", "H 市级", "H 县级", "H 基层机构"
# Institution types a county adds as units (manual: 社区卫生服务中心、乡镇卫生院 and 县级专业技术
# 机构; an independent 社区卫生服务站 hangs under the county too).
PUBLIC_HEALTH_TYPES = ("cdc", "supervision", "disease_prevention")
EDITABLE_FIELDS = ("name", "code", "contact", "phone", "township", "address_detail",
                   "inst_type", "sponsor", "longitude", "latitude", "services")
# 表2 item 5: the address is precise to the house number (门牌号).
HOUSE_NUMBER = re.compile(r"[0-9０-９零〇一二三四五六七八九十百千]+\s*[号號]")
LIMITS = {"name": 128, "code": 32, "contact": 32, "township": 64, "address_detail": 128}


# ---- who fills what, and when ------------------------------------------------------------------
def has_role(user, name):
    return any(r.name == name for r in (getattr(user, "roles", None) or []))


def add_kind(user):
    """What 新增 adds for this user: a county adds units (with accounts), a unit its
    stations, a city or province its own professional institutions."""
    if has_role(user, COUNTY) and user.organization.level == "county":
        return "unit"
    if has_role(user, UNIT):
        return "station"
    if (has_role(user, CITY) or has_role(user, PROVINCE)) and \
            user.organization.level in ("city", "province"):
        return "area"
    return None


def add_refusal(user):
    """Why `user` may not use 新增 now (None when allowed)."""
    if add_kind(user) is None:
        return ForbiddenError(_("您没有新增机构的权限"))
    report = report_of(user.organization, create=False)
    if report is not None and report.state not in OPEN_STATES:
        return ConflictError(_("本级已上报（%(s)s），不能新增；如需新增请申请修改",
                               s=report.state_label))
    return None


def edit_refusal(inst, user):
    """Why `user` may not change `inst` now (None when allowed)."""
    if inst.deleted:
        return NotFoundError(_("该机构已删除"))
    owner = inst.organization_id == user.organization_id
    county_of_unit = (inst.tier == "unit" and has_role(user, COUNTY)
                      and inst.superior_org_id == user.organization_id)
    if not (owner or county_of_unit or is_superadmin(user)):
        return ForbiddenError(_("只能修改本机构填报的机构信息"))
    report = report_of(inst.organization, create=False)    # the report carrying it
    if report is not None and report.state not in OPEN_STATES:
        return ConflictError(_("“%(name)s”的信息已上报（%(s)s），不能修改；如需修改请由县级申请修改",
                               name=inst.organization.name, s=report.state_label))
    county = inst.superior_org if inst.tier == "unit" else None
    if county is not None and county_of_unit:
        mine = report_of(county, create=False)
        if mine is not None and mine.state not in OPEN_STATES:
            return ConflictError(_("本县已确认并上报，不能修改；如需修改请申请修改"))
    return None


def duplicate_errors(county_code, values, exclude_id=None):
    """{field: [message]} when the county already has an institution of this name or code
    (a unit added twice blocks the county: it gets an account and a report)."""
    name, code = values.get("name"), values.get("code")
    if not county_code or not (name or code):
        return {}
    errors = {}
    for found in namesakes(county_code, name, code, exclude_id):
        if name and found.name == name:
            errors["name"] = [_("本县已有“%(n)s”，请勿重复新增；已建机构请在机构隶属关系维护中选择其上级机构",
                                n=name)]
        elif code and getattr(found, "code", None) == code:
            errors["code"] = [_("机构编码“%(c)s”已由本县的“%(n)s”使用", c=code, n=found.name)]
    return errors


# ---- the ten data items -------------------------------------------------------------------------
def _text(data, name):
    value = data.get(name)
    return value.strip() if isinstance(value, str) else (None if value is None else str(value))


def clean_fields(data, partial=False):
    """The editable data items from a form or JSON body → (values, {field: [message]}).
    Empty is allowed (保存 any time); what is given must be valid. `partial` keeps only
    the keys present (a change request or a REST PUT names what it changes)."""
    values, errors = {}, {}
    present = (lambda n: n in data) if partial else (lambda n: True)
    for name, limit in LIMITS.items():
        if present(name):
            value = _text(data, name) or None
            if value and len(value) > limit:
                errors[name] = [_("%(f)s不能超过%(n)s个字", f=item_label(name), n=limit)]
            values[name] = value
    detail = values.get("address_detail")
    if detail and "address_detail" not in errors and not HOUSE_NUMBER.search(detail):
        errors["address_detail"] = [_("详细地址需精确到门牌号，如“张花村1号”“迎泽大街100号”")]
    if present("name") and not values.get("name"):
        errors["name"] = [_("请填写机构名称")]
    code = values.get("code")
    if code and not (code.isascii() and code.replace("-", "").isalnum()):
        errors["code"] = [_("机构编码只能包含字母、数字和“-”")]
    if present("phone"):
        phone = _text(data, "phone")
        try:
            values["phone"] = validators.check_phone(phone) if phone else None
        except validators.ValidationError as exc:
            errors["phone"] = [exc.message]
    if present("inst_type"):
        values["inst_type"] = _text(data, "inst_type") or None
        if values["inst_type"] and values["inst_type"] not in INSTITUTION_TYPES:
            errors["inst_type"] = [_("请从列表中选择机构类型")]
    if present("sponsor"):
        values["sponsor"] = _text(data, "sponsor") or None
        if values["sponsor"] and values["sponsor"] not in SPONSOR_TYPES:
            errors["sponsor"] = [_("主办类型只能是政府办、社会办或私人办")]
    if present("longitude") or present("latitude"):
        _coordinates(data, values, errors)
    if present("services"):
        _services(data, values, errors)
    return values, errors


CODED = {"inst_type": INSTITUTION_TYPES, "sponsor": SPONSOR_TYPES}


def value_text(name, value):
    """A data item's value as a person reads it (the label of a code, the service items by
    name): what the screens, the API's comparison and the audit comments show."""
    if value in (None, "", []):
        return None
    if name == "services":
        codes = value if isinstance(value, (list, tuple)) else str(value).split(",")
        return "、".join(str(SERVICE_ITEMS.get(c, c)) for c in codes if c)
    if name in CODED:
        return str(CODED[name].get(value, value))
    if name in ("longitude", "latitude") and isinstance(value, float):
        return f"{value:.6f}"
    return value


def item_label(name):
    extra = {"township": _("所在乡镇（街道）"), "address_detail": _("详细地址"),
             "longitude": _("经度"), "latitude": _("纬度")}
    return extra.get(name) or DATA_ITEMS.get(name, name)


def _coordinates(data, values, errors):
    lng, lat = _text(data, "longitude"), _text(data, "latitude")
    if not lng and not lat:
        values["longitude"] = values["latitude"] = None
        return
    if not lng or not lat:
        errors["coordinates"] = [_("经度和纬度需同时填写")]
        return
    try:
        values["longitude"], values["latitude"] = validators.check_coordinates(lng, lat)
    except validators.ValidationError as exc:
        errors["coordinates"] = [exc.message]


def _services(data, values, errors):
    raw = data.get("services")
    if raw is None:
        codes = []
    elif isinstance(raw, str):
        codes = [c.strip() for c in raw.replace("，", ",").split(",") if c.strip()]
    elif isinstance(raw, (list, tuple)):
        codes = [str(c).strip() for c in raw if str(c).strip()]
    else:
        errors["services"] = [_("承担项目内容格式无效")]
        return
    unknown = [c for c in codes if c not in SERVICE_ITEMS]
    if unknown:
        errors["services"] = [_("未知的服务项目：%(c)s", c="、".join(unknown))]
        return
    values["services"] = ",".join(c for c in SERVICE_ITEMS if c in codes) or None


def fail(errors):
    raise InvalidError(_("请检查填写的信息：%(m)s", m="；".join(
        str(m) for msgs in errors.values() for m in msgs)), fields=errors)
