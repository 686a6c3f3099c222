"""工伤 field rules (SPEC W1, W3, W4): dates, a declaration's fields and line items, a
determination and a catalogue item of the API, the insurance region and 马上注册. Each
raises InvalidError (422) with `fields` (field → messages); none of them writes."""
import datetime as dt
import re
import types
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select

from app.errors import InvalidError
from app.extensions import db
from app.i18n import _
from app.models.core import Organization, Region, User
from app.models.injury import INJURY_TYPES, InjuryDetermination, InjuryDeviceItem
from app.scope import region_in_scope
from app.security import password_problem
from app.services import validators
from app.services.injury.queries import employer_org, local_today

MAX_LINES = 50


def raise_if(errors):
    """Every collected problem at once, as one 422."""
    if errors:
        raise InvalidError(_("请检查填写的信息：%(m)s", m="；".join(
            str(m) for msgs in errors.values() for m in msgs)), fields=errors)


def insurance_region_problem(region, user):
    """Why `region` cannot be a determination's 参保地 for `user` (None when it can): a city
    or county inside the caller's scope — the same rule for the Excel import and the API."""
    if region is None or region.level not in ("city", "county"):
        return _("参保地必须是有效的市或县（区）")
    if not region_in_scope(region, user):
        return _("参保地不在本机构管辖范围内")
    return None


def as_value_error(check):
    """A validators check as an import column's parser: the import reports a ValueError
    as a row error, so a ValidationError's message is passed on as one."""
    def parse(value):
        try:
            return check(value)
        except validators.ValidationError as exc:
            raise ValueError(exc.message) from None
    return parse


# ---- dates -------------------------------------------------------------------------------------


def parse_date(raw, iso=True):
    """YYYYMMDD (the manual's format) or, when iso, YYYY-MM-DD; must be a real date."""
    text = str(raw or "").strip()
    match = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text) or \
        (re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text) if iso else None)
    if match is None:
        raise ValueError(_("日期格式应为 YYYYMMDD，如 20191107") if not iso else
                         _("日期格式应为 YYYY-MM-DD 或 YYYYMMDD"))
    try:
        return dt.date(*map(int, match.groups()))
    except ValueError:
        raise ValueError(_("“%(v)s”不是有效日期", v=text)) from None


# ---- W4 a declaration ---------------------------------------------------------------------


def clean_fields(kind, data):
    """The kind's declared fields from any caller's data → (typed values, errors): the
    command's own guard (demo loader, CLI, tests call commands.save directly). The page and
    the REST API check the same fields first with the kind's WTForms form
    (app/views/injury/forms.py), made from the same declarations with the same messages."""
    values, errors = {}, {}
    for f in kind.fields:
        raw = data.get(f.name)
        text = "" if raw is None else str(raw).strip()
        if not text:
            if f.required:
                errors[f.name] = [_("请填写%(f)s", f=f.label)]
            values[f.name] = None
            continue
        if f.type == "date":
            try:
                values[f.name] = parse_date(text)
            except ValueError as exc:
                errors[f.name] = [f"{f.label}：{exc}"]
            continue
        if f.type == "choice" and text not in f.choices:
            errors[f.name] = [_("%(f)s取值无效，可选：%(c)s", f=f.label, c="、".join(f.choices))]
            continue
        if f.max_length and len(text) > f.max_length:
            errors[f.name] = [_("%(f)s不能超过%(n)s个字", f=f.label, n=f.max_length)]
            continue
        values[f.name] = text
    return values, errors


def date_problems(kind, values, injury_date=None, today=None):
    """The kind's date rules (issue 21 item 4), field → messages: a date that may not be in
    the future or the past, nor before the 工伤发生时间, pairs in order (strictly where the
    kind says so) and periods no longer than declared."""
    today = today or local_today()
    errors = {}

    def fail(name, message):
        errors.setdefault(name, []).append(str(message))
    for f in kind.fields:
        value = values.get(f.name)
        if f.type != "date" or value is None:
            continue
        if f.not_future and value > today:
            fail(f.name, _("%(f)s不能晚于今天", f=f.label))
        if f.not_past and value < today:
            fail(f.name, _("%(f)s不能早于今天", f=f.label))
        if f.after_injury and injury_date is not None and value < injury_date:
            fail(f.name, _("%(f)s不能早于工伤发生时间（%(d)s）", f=f.label, d=injury_date))
    for earlier, later, message, *strict in kind.date_order:
        first, second = values.get(earlier), values.get(later)
        if first and second and (second <= first if strict and strict[0] else second < first):
            fail(later, message)
    for start, end, days, message in kind.max_span:
        first, second = values.get(start), values.get(end)
        if first and second and (second - first).days > days:
            fail(end, message)
    return errors


def _int(raw, label, low, high):
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValueError(_("%(f)s必须是整数", f=label)) from None
    if not low <= value <= high:
        raise ValueError(_("%(f)s必须在%(a)s到%(b)s之间", f=label, a=low, b=high))
    return value


def _price(raw):
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(_("单价必须是金额")) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")) \
            or value > Decimal("10000000"):
        raise ValueError(_("单价必须是不小于0且最多两位小数的金额"))
    return value


def _configured_on(raw):
    text = str(raw or "").strip()
    if not text:
        raise ValueError(_("请填写配置日期"))
    return parse_date(text, iso=False)


def lines_shape_problem(rows):
    """Why a posted line list is not a list of at most MAX_LINES rows (None when it is)."""
    if not isinstance(rows, list):
        return _("辅助器具明细格式错误")
    if len(rows) > MAX_LINES:
        return _("辅助器具明细最多%(n)s行", n=MAX_LINES)
    return None


def clean_lines(rows):
    """Line items [{item (id or code), quantity, price, configured_on (YYYYMMDD),
    usage_years}] → typed dicts; errors name the row (第N行), all under `lines`."""
    problem = lines_shape_problem(rows)
    if problem:
        raise InvalidError(problem, fields={"lines": [problem]})
    keys = {str(r.get("item") or "").strip() for r in rows if isinstance(r, dict)}
    by_code, by_id = {}, {}
    if keys:
        ids = [int(k) for k in keys if k.isdigit()]
        for item in db.session.execute(select(InjuryDeviceItem).where(
                or_(InjuryDeviceItem.code.in_(keys), InjuryDeviceItem.id.in_(ids)))).scalars():
            by_code[item.code], by_id[str(item.id)] = item, item
    items = {**by_id, **by_code}      # a product code wins over a database id
    lines, errors = [], []
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            errors.append(_("第%(n)s行：格式错误", n=n))
            continue
        item = items.get(str(row.get("item") or "").strip())
        try:
            if item is None or not item.active:
                raise ValueError(_("请从辅助器具目录中选择产品"))
            lines.append({
                "item": item,
                "quantity": _int(row.get("quantity"), _("数量"), 1, 999),
                "price": _price(row.get("price") if str(row.get("price") or "").strip()
                                else item.price),
                "configured_on": _configured_on(row.get("configured_on")),
                "usage_years": _int(row.get("usage_years") or item.usage_years, _("使用年限"),
                                    1, 50)})
        except ValueError as exc:
            errors.append(_("第%(n)s行：%(m)s", n=n, m=exc))
    if errors:
        raise InvalidError("；".join(str(e) for e in errors),
                           fields={"lines": [str(e) for e in errors]})
    return lines


def line_errors(kind, lines):
    """The problems of a declaration's posted lines ({"lines": [第N行 …]}), or {}: shown
    together with the form's own problems."""
    if not kind.has_lines or lines is None:
        return {}
    try:
        clean_lines(lines)
    except InvalidError as exc:
        return dict(exc.fields or {"lines": [exc.message]})
    return {}


def clean_declaration(kind, data, lines, injury_date=None):
    """(typed values, typed lines or None) of a declaration; every problem of the fields,
    their dates (against the determination's `injury_date`) and the lines in one 422."""
    values, errors = clean_fields(kind, data)
    for name, messages in date_problems(kind, values, injury_date).items():
        errors.setdefault(name, []).extend(messages)
    cleaned_lines = None
    if kind.has_lines and lines is not None:
        try:
            cleaned_lines = clean_lines(lines)
        except InvalidError as exc:     # gathered with the fields' problems, raised below
            errors.update(exc.fields or {"lines": [exc.message]})
    raise_if(errors)
    return values, cleaned_lines


# ---- the API's master data --------------------------------------------------------------------

DETERMINATION_FIELDS = ["id_number", "person_name", "employer_name", "employer_id",
                        "injury_type", "determination_no", "injury_date", "region_id"]
DEVICE_FIELDS = ["code", "name", "category", "specification", "price", "usage_years",
                 "active"]


def _text(errors, data, name, label, max_length, required=True):
    raw = data.get(name)
    text = "" if raw is None else str(raw).strip()
    if not text:
        if required:
            errors[name] = [_("请填写%(f)s", f=label)]
        return None
    if len(text) > max_length:
        errors[name] = [_("%(f)s不能超过%(n)s个字", f=label, n=max_length)]
        return None
    return text


def _region(data, user, errors):
    code = str(data.get("region_code") or "").strip()
    if code:
        region = db.session.execute(select(Region).where(Region.code == code)).scalar()
    else:
        try:
            region = db.session.get(Region, int(data.get("region_id")))
        except (TypeError, ValueError):
            region = None
    problem = insurance_region_problem(region, user)
    if problem:
        errors["region_id"] = [problem]
        return None
    return region


def _employer(data, errors, creating):
    """An employer with an account in the portal, by id; on create, when no id is given,
    the employer organisation of exactly that name (as the Excel import links it)."""
    raw = data.get("employer_id")
    if raw in (None, ""):
        name = str(data.get("employer_name") or "").strip()
        if not creating or not name:
            return None
        return employer_org(name)
    try:
        org = db.session.get(Organization, int(raw))
    except (TypeError, ValueError):
        org = None
    if org is None or org.org_type != "employer":
        errors["employer_id"] = [_("用人单位不存在或不是用人单位类型的机构")]
        return None
    return org


def clean_determination(data, user, current=None):
    """Body → column values; a PUT body carries only what changes."""
    if current is not None:
        merged = {name: getattr(current, name) for name in DETERMINATION_FIELDS}
        merged.update(data)
        data = merged
    errors, values = {}, {}
    try:
        values["id_number"] = validators.check_id_number(data.get("id_number"),
                                                         min_birth=None)
    except validators.ValidationError as exc:
        errors["id_number"] = [exc.message]
    values["person_name"] = _text(errors, data, "person_name", _("姓名"), 64)
    employer = _employer(data, errors, creating=current is None)
    values["employer_id"] = employer.id if employer is not None else None
    values["employer_name"] = _text(errors, data, "employer_name", _("用人单位"), 128,
                                    required=employer is None) or getattr(employer, "name", None)
    injury_type = str(data.get("injury_type") or "").strip()
    if injury_type not in INJURY_TYPES:
        errors["injury_type"] = [_("%(f)s取值无效，可选：%(c)s", f=_("工伤类型"),
                                   c="、".join(INJURY_TYPES))]
    values["injury_type"] = injury_type
    number = _text(errors, data, "determination_no", _("工伤认定编号"), 40)
    if number and db.session.execute(select(InjuryDetermination.id).where(
            InjuryDetermination.determination_no == number,
            InjuryDetermination.id != getattr(current, "id", -1))).first():
        errors["determination_no"] = [_("该工伤认定编号已存在")]
    values["determination_no"] = number
    raw_date = data.get("injury_date")
    try:
        values["injury_date"] = raw_date if isinstance(raw_date, dt.date) \
            else parse_date(raw_date)
        if values["injury_date"] > local_today():
            errors["injury_date"] = [_("工伤发生时间不能晚于今天")]
    except ValueError as exc:
        errors["injury_date"] = [f"{_('工伤发生时间')}：{exc}"]
    values["region"] = _region(data, user, errors)
    raise_if(errors)
    return values


def clean_device(data, current=None):
    if current is not None:
        merged = {name: getattr(current, name) for name in DEVICE_FIELDS}
        merged.update(data)
        data = merged
    errors, values = {}, {}
    values["code"] = _text(errors, data, "code", _("产品编码"), 20)
    if values["code"] and db.session.execute(select(InjuryDeviceItem.id).where(
            InjuryDeviceItem.code == values["code"],
            InjuryDeviceItem.id != getattr(current, "id", -1))).first():
        errors["code"] = [_("该产品编码已存在")]
    values["name"] = _text(errors, data, "name", _("产品名称"), 128)
    values["category"] = _text(errors, data, "category", _("类别"), 32)
    values["specification"] = _text(errors, data, "specification", _("规格型号"), 128,
                                    required=False)
    try:
        price = Decimal(str(data.get("price")).strip())
        if not price.is_finite() or price < 0 or price != price.quantize(Decimal("0.01")):
            raise InvalidOperation
        values["price"] = price
    except (InvalidOperation, ValueError):
        errors["price"] = [_("单价必须是不小于0且最多两位小数的金额")]
    try:
        values["usage_years"] = int(str(data.get("usage_years")).strip())
        if not 1 <= values["usage_years"] <= 50:
            raise ValueError
    except ValueError:
        errors["usage_years"] = [_("使用年限必须是1到50之间的整数")]
    active = data.get("active", True)
    if not isinstance(active, bool):
        errors["active"] = [_("在用必须是 true 或 false")]
    values["active"] = active
    raise_if(errors)
    return values


# ---- W1 马上注册 ----------------------------------------------------------------------------

# The unit may sit in a city (or 省本级) or in a county/district (SPEC W1).
REGISTRABLE_LEVELS = ("city", "county")
REGISTRATION_FIELDS = ("name", "uscc", "province", "city", "county", "contact", "phone",
                       "username", "password", "confirm", "captcha")
ERROR_ORDER = ("name", "uscc", "region", "contact", "phone", "username", "password", "confirm",
               "captcha", "form")
LIMITS = {"name": 128, "contact": 64, "username": 64}
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def region_by_code(code):
    if not code:
        return None
    return db.session.execute(db.select(Region).where(Region.code == code)).scalar()


def registration_values(form):
    """The submitted registration form, trimmed (the passwords as typed)."""
    data = {k: (form.get(k) or "").strip() for k in REGISTRATION_FIELDS}
    data["password"], data["confirm"] = form.get("password") or "", form.get("confirm") or ""
    return data


class Registration:
    """One submitted form: every field checked, every problem kept (field → Chinese
    message); `check` raises them all at once as one 422. The form's own input checks
    (required, length, no spaces: app/views/injury/forms.py RegistrationForm) come in as
    `input_errors` and are shown together with these."""

    def __init__(self, form, input_errors=None):
        self.data = registration_values(form)
        self.password, self.confirm = self.data["password"], self.data["confirm"]
        self.errors = dict(input_errors or {})
        self.region = self.existing_org = None

    def fail(self, field, message):
        self.errors.setdefault(field, message)

    def check(self, captcha_failed=False):
        d = self.data
        if captcha_failed:
            self.fail("captcha", _("验证码错误或已过期"))
        for field, check in (("uscc", validators.check_uscc), ("phone", validators.check_phone)):
            try:
                d[field] = check(d[field])
            except validators.ValidationError as exc:
                self.fail(field, exc.message)
        self.check_region()
        self.check_password()
        if "uscc" not in self.errors:
            self.check_uscc_free()
        if d["username"] and "username" not in self.errors and db.session.execute(
                db.select(User.id).where(User.username == d["username"])).first():
            self.fail("username", _("登录名“%(name)s”已被使用，请换一个", name=d["username"]))
        self.refuse_if_any()

    def refuse_if_any(self):
        self.errors = {k: self.errors[k] for k in ERROR_ORDER if k in self.errors}
        if self.errors:
            raise InvalidError(_("注册未完成，请按提示修改：%(m)s",
                                 m="；".join(str(m) for m in self.errors.values())),
                               fields=dict(self.errors))

    def check_region(self):
        d = self.data
        region = region_by_code(d["county"] or d["city"])
        if region is None or region.level not in REGISTRABLE_LEVELS \
                or region.province_code != d["province"] \
                or (d["county"] and region.parent.code != d["city"]):
            self.fail("region", _("请选择所属区划（省、市，有县区的选择到县区）"))
            return
        self.region = region

    def check_password(self):
        # Same rule as changing one's own password; nobody has a current password here.
        nobody = types.SimpleNamespace(password=None)
        problem = password_problem(nobody, None, self.password)
        if problem:
            self.fail("password", problem)
        elif self.password != self.confirm:
            self.fail("confirm", _("两次输入的密码不一致"))

    def check_uscc_free(self):
        """A medical institution with this USCC that has an account is registered; one
        without (imported by an agency) is reused."""
        orgs = db.session.execute(
            db.select(Organization).where(Organization.org_type == "medical",
                                          func.upper(Organization.uscc) == self.data["uscc"])
            .order_by(Organization.id)).scalars().all()
        ids = [o.id for o in orgs]
        if ids and db.session.execute(
                db.select(User.id).where(User.organization_id.in_(ids))).first():
            self.fail("uscc", _("该统一社会信用代码已注册，请直接登录"))
            return
        active = [o for o in orgs if o.active]
        if orgs and not active:
            self.fail("uscc", _("该统一社会信用代码对应的医疗机构已停用，请联系所属经办机构"))
        self.existing_org = active[0] if active else None
