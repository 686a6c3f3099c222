"""工伤 rules the screens and the API share (SPEC W3–W8): person lookup, validating and
saving a declaration with its line items, 重新申报, the employer timeout and the hall."""
import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, or_, select

from app.extensions import db
from app.i18n import _
from app.models.injury import (InjuryDeclaration, InjuryDetermination, InjuryDeviceItem,
                               InjuryDeviceLine)
from app.scope import region_scope, scoped_get
from app.services import audit, clock, validators
from app.workflows.engine import Refusal, apply_system
from app.workflows.injury import EDITABLE_STATES, KINDS, DeclarationFlow

MAX_LINES = 50
COPIED = ("id_number", "person_name", "employer_name", "employer_id", "injury_type",
          "determination_no", "injury_date")


# ---- W3 person lookup -------------------------------------------------------------------


def find_determinations(user, id_number):
    """(ID number normalised, determinations of that person in the caller's scope). A bad
    ID number raises Refusal 422; none found is an empty list (the caller says so)."""
    try:
        number = validators.check_id_number(id_number, min_birth=None)
    except validators.ValidationError as exc:
        raise Refusal(exc.message, status=422, fields={"id_number": [exc.message]})
    rows = db.session.execute(
        select(InjuryDetermination).where(region_scope(InjuryDetermination, user),
                                          InjuryDetermination.id_number == number)
        .order_by(InjuryDetermination.injury_date.desc(), InjuryDetermination.id.desc())
    ).scalars().all()
    return number, rows


def employer_org(name, uscc=None):
    """The employer organisation with an account in the portal, by USCC, else by exact name;
    None when the employer is not in the portal (its review then times out, SPEC W6)."""
    from app.models.core import Organization
    cond = Organization.name == name
    if uscc:
        cond = or_(Organization.uscc == uscc, cond)
    return db.session.execute(select(Organization).where(
        Organization.org_type == "employer", cond).order_by(
        (Organization.uscc == uscc).desc() if uscc else Organization.id, Organization.id)
        .limit(1)).scalar()


def insurance_region_problem(region, user):
    """Why `region` cannot be a determination's 参保地 for `user` (None when it can): a city
    or county inside the caller's scope — the same rule for the Excel import and the API."""
    from app.scope import region_in_scope
    if region is None or region.level not in ("city", "county"):
        return _("参保地必须是有效的市或县（区）")
    if not region_in_scope(region, user):
        return _("参保地不在本机构管辖范围内")
    return None


def local_today():
    """Today in Asia/Shanghai, on the business clock."""
    return (clock.now() + dt.timedelta(hours=8)).date()


# ---- W4 validating a declaration ----------------------------------------------------------


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


def clean_fields(kind, data):
    """The kind's declared fields from form/JSON data → typed values; every problem is
    collected and raised at once as one 422."""
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
    for earlier, later, message in kind.date_order:
        if values.get(earlier) and values.get(later) and values[later] < values[earlier]:
            errors.setdefault(later, []).append(str(message))
    return values, errors


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


def clean_lines(rows):
    """Line items [{item (id or code), quantity, price, configured_on (YYYYMMDD),
    usage_years}] → typed dicts; errors name the row (第N行)."""
    if not isinstance(rows, list):
        raise Refusal(_("辅助器具明细格式错误"), status=422)
    if len(rows) > MAX_LINES:
        raise Refusal(_("辅助器具明细最多%(n)s行", n=MAX_LINES), status=422)
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
        raise Refusal("；".join(str(e) for e in errors), status=422,
                      fields={"lines": [str(e) for e in errors]})
    return lines


def _configured_on(raw):
    text = str(raw or "").strip()
    if not text:
        raise ValueError(_("请填写配置日期"))
    return parse_date(text, iso=False)


# ---- saving -------------------------------------------------------------------------------


def determination_for(user, pk):
    return scoped_get(InjuryDetermination, pk, user)


def fill_from_determination(declaration, determination):
    declaration.determination_id = determination.id
    declaration.determination = determination
    for name in COPIED:
        setattr(declaration, name, getattr(determination, name))
    declaration.copy_scope_from(determination)


def save(user, kind_code, data, lines=None, declaration=None):
    """保存: create or update a draft from validated data; nothing is written when any
    field or line is wrong (422 naming each). `data` carries `determination` (id)."""
    kind = KINDS.get(kind_code)
    if kind is None:
        raise Refusal(_("未知的申报类型"), status=422)
    if declaration is not None and declaration.state not in EDITABLE_STATES:
        raise Refusal(_("当前状态为“%(s)s”，不能修改", s=declaration.state_label))
    det_id = data.get("determination") or (declaration.determination_id if declaration else None)
    if not det_id:
        raise Refusal(_("请选择工伤认定信息"), status=422,
                      fields={"determination": [_("必选")]})
    determination = determination_for(user, det_id)
    values, errors = clean_fields(kind, data)
    cleaned_lines = None
    if kind.has_lines and lines is not None:
        try:
            cleaned_lines = clean_lines(lines)
        except Refusal as exc:
            errors.update(exc.fields or {"lines": [exc.message]})
    if errors:
        raise Refusal(_("请检查填写的信息：%(m)s", m="；".join(
            str(m) for msgs in errors.values() for m in msgs)), status=422, fields=errors)
    creating = declaration is None
    if creating:
        declaration = InjuryDeclaration(kind=kind.code, state="draft",
                                        organization_id=user.organization_id)
        db.session.add(declaration)
    fill_from_determination(declaration, determination)
    for name, value in values.items():
        setattr(declaration, name, value)
    if cleaned_lines is not None:
        declaration.lines = [InjuryDeviceLine(item_id=ln["item"].id, item=ln["item"],
                                              quantity=ln["quantity"], price=ln["price"],
                                              configured_on=ln["configured_on"],
                                              usage_years=ln["usage_years"])
                             for ln in cleaned_lines]
    db.session.flush()
    audit.record(user, "create" if creating else "update", obj=declaration)
    db.session.commit()
    return declaration


def lines_as_rows(declaration):
    return [{"item": ln.item.code, "name": ln.item.name, "quantity": ln.quantity,
             "price": str(ln.price), "configured_on": ln.configured_on.strftime("%Y%m%d"),
             "usage_years": ln.usage_years} for ln in declaration.lines]


def resubmit(user, original):
    """重新申报: a new draft pre-filled from a rejected declaration and linked to it; an
    open draft already made from it is returned instead of a second one. Materials are
    collected again (the rejection is usually about them)."""
    if original.organization_id != getattr(user, "organization_id", None):
        raise Refusal(_("只有申报的医疗机构可以重新申报"), status=403)
    if original.state != "rejected":
        raise Refusal(_("只有未通过的申报可以重新申报"))
    existing = db.session.execute(select(InjuryDeclaration).where(
        InjuryDeclaration.resubmitted_from_id == original.id,
        InjuryDeclaration.state == "draft")).scalars().first()
    if existing is not None:
        return existing
    copy = InjuryDeclaration(kind=original.kind, state="draft",
                             organization_id=original.organization_id,
                             resubmitted_from_id=original.id)
    fill_from_determination(copy, original.determination)
    for f in KINDS[original.kind].fields:
        setattr(copy, f.name, getattr(original, f.name))
    copy.lines = [InjuryDeviceLine(item_id=ln.item_id, quantity=ln.quantity, price=ln.price,
                                   configured_on=ln.configured_on, usage_years=ln.usage_years)
                  for ln in original.lines]
    db.session.add(copy)
    db.session.flush()
    audit.record(user, "create", obj=copy, comment=_("重新申报，原申报 #%(id)s", id=original.id))
    db.session.commit()
    return copy


# ---- W6 employer timeout ------------------------------------------------------------------


def approve_overdue(now=None, limit=1000):
    """超时自动通过: every declaration still with the employer past its deadline goes to the
    agency, each through the engine (audited as 系统, 超时自动通过). Run by `flask injury
    auto-approve`, the scheduled jobs, and before declarations are read."""
    now = now or clock.now()
    ids = db.session.execute(
        select(InjuryDeclaration.id).where(InjuryDeclaration.state == "employer_review",
                                           InjuryDeclaration.employer_due_at <= now)
        .order_by(InjuryDeclaration.id).limit(limit)).scalars().all()
    done = 0
    for pk in ids:
        declaration = db.session.get(InjuryDeclaration, pk)
        try:
            apply_system(DeclarationFlow, declaration, "auto_approve", comment=_("超时自动通过"))
            done += 1
        except Refusal:       # the employer acted a moment ago: nothing to do
            db.session.rollback()
    return done


# ---- W2 hall, W5 pending --------------------------------------------------------------------


def device_search(text, limit=20):
    """Fuzzy catalogue search on any part of the code or the name (SPEC W4)."""
    text = (text or "").strip()
    stmt = select(InjuryDeviceItem).where(InjuryDeviceItem.active.is_(True))
    if text:
        pattern = "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(or_(InjuryDeviceItem.code.ilike(pattern),
                              InjuryDeviceItem.name.ilike(pattern),
                              InjuryDeviceItem.specification.ilike(pattern)))
    return db.session.execute(stmt.order_by(InjuryDeviceItem.code).limit(limit)).scalars().all()


def device_names(codes):
    codes = [str(c) for c in codes if c]
    if not codes:
        return {}
    return dict(db.session.execute(select(InjuryDeviceItem.code, InjuryDeviceItem.name)
                                   .where(InjuryDeviceItem.code.in_(codes))).all())


def month_bounds(month):
    """'2026-11' → [start, end) as naive UTC datetimes of Asia/Shanghai's month."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", (month or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(_("提交年月格式应为 YYYY-MM"))
    year, mon = int(match.group(1)), int(match.group(2))
    start = dt.datetime(year, mon, 1)
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1)
    shift = dt.timedelta(hours=8)
    return start - shift, end - shift


def hall_summary(user):
    """The hall's figures (SPEC W2): drafts, this month's submissions by kind, the latest
    review results — three small queries on the hospital's own rows."""
    org_id = user.organization_id
    drafts = db.session.execute(select(func.count()).select_from(InjuryDeclaration).where(
        InjuryDeclaration.organization_id == org_id, InjuryDeclaration.state == "draft")).scalar()
    month_label = local_today().strftime("%Y-%m")
    start, end = month_bounds(month_label)
    month = dict(db.session.execute(
        select(InjuryDeclaration.kind, func.count()).where(
            InjuryDeclaration.organization_id == org_id,
            InjuryDeclaration.submitted_at >= start, InjuryDeclaration.submitted_at < end)
        .group_by(InjuryDeclaration.kind)).all())
    results = db.session.execute(
        select(InjuryDeclaration).where(InjuryDeclaration.organization_id == org_id,
                                        InjuryDeclaration.state.in_(("approved", "rejected")))
        .order_by(func.coalesce(InjuryDeclaration.agency_reviewed_at,
                                InjuryDeclaration.employer_reviewed_at).desc(),
                  InjuryDeclaration.id.desc()).limit(5)).scalars().all()
    return {"drafts": drafts, "month": month, "month_total": sum(month.values()),
            "month_label": month_label, "results": results}
