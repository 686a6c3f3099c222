"""工伤 look-ups and figures (SPEC W2–W5): a person's determinations, the employer of a
determination, the device catalogue search, a declaration's lines and materials, the
hospital's drafts and the hall's figures. Nothing here writes."""
import datetime as dt
import re

from sqlalchemy import func, or_, select

from app.errors import InvalidError
from app.extensions import db
from app.i18n import _
from app.models.core import Organization
from app.models.injury import (DeclarationState as S, InjuryDeclaration, InjuryDetermination,
                               InjuryDeviceItem)
from app.scope import region_scope, scoped_get
from app.services import clock, files, validators
from app.workflows.injury import KINDS


def find_determinations(user, id_number):
    """(ID number normalised, determinations of that person in the caller's scope). A bad
    ID number raises InvalidError on `id_number`; none found is an empty list."""
    try:
        number = validators.check_id_number(id_number, min_birth=None)
    except validators.ValidationError as exc:
        raise InvalidError(exc.message, fields={"id_number": [exc.message]}) from None
    rows = db.session.execute(
        select(InjuryDetermination).where(region_scope(InjuryDetermination, user),
                                          InjuryDetermination.id_number == number)
        .order_by(InjuryDetermination.injury_date.desc(), InjuryDetermination.id.desc())
    ).scalars().all()
    return number, rows


def determination_for(user, pk):
    return scoped_get(InjuryDetermination, pk, user)


def employer_org(name, uscc=None):
    """The employer organisation with an account in the portal, by USCC, else by exact name;
    None when the employer is not in the portal (its review then times out, SPEC W6)."""
    cond = Organization.name == name
    if uscc:
        cond = or_(Organization.uscc == uscc, cond)
    return db.session.execute(select(Organization).where(
        Organization.org_type == "employer", cond).order_by(
        (Organization.uscc == uscc).desc() if uscc else Organization.id, Organization.id)
        .limit(1)).scalar()


def determination_has_declarations(determination):
    return db.session.execute(select(InjuryDeclaration.id).where(
        InjuryDeclaration.determination_id == determination.id).limit(1)).first() is not None


def lines_as_rows(declaration):
    return [{"item": ln.item.code, "name": ln.item.name, "quantity": ln.quantity,
             "price": str(ln.price), "configured_on": ln.configured_on.strftime("%Y%m%d"),
             "usage_years": ln.usage_years} for ln in declaration.lines]


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


def drafts(user):
    """我的待提交业务: the hospital's drafts, by kind, newest first."""
    return db.session.execute(
        select(InjuryDeclaration).where(
            InjuryDeclaration.organization_id == user.organization_id,
            InjuryDeclaration.state == S.DRAFT.value)
        .order_by(InjuryDeclaration.kind, InjuryDeclaration.id.desc())).scalars().all()


def material_status(items):
    """{declaration id: (present slots, missing required slots)} in one query."""
    by_owner = files.files_of_many(items)
    status = {}
    for item in items:
        present = {a.slot for a in by_owner.get(item.id, [])}
        missing = [s for s in KINDS[item.kind].slots if s.required and s.name not in present]
        status[item.id] = (present, missing)
    return status


def local_today():
    """Today in Asia/Shanghai, on the business clock."""
    return (clock.now() + dt.timedelta(hours=8)).date()


def month_problem(month):
    """Why `month` is not a 提交年月 (YYYY-MM), None when it is."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", (month or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        return _("提交年月格式应为 YYYY-MM")
    return None


def month_bounds(month):
    """'2026-11' → [start, end) as naive UTC datetimes of Asia/Shanghai's month; a bad
    month is an InvalidError on `month`."""
    problem = month_problem(month)
    if problem:
        raise InvalidError(problem, fields={"month": [problem]})
    year, mon = (int(part) for part in month.strip().split("-"))
    start = dt.datetime(year, mon, 1)
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1)
    shift = dt.timedelta(hours=8)
    return start - shift, end - shift


def hall_summary(user):
    """The hall's figures (SPEC W2): drafts, this month's submissions by kind, the latest
    review results — three small queries on the hospital's own rows."""
    org_id = user.organization_id
    drafts_count = db.session.execute(select(func.count()).select_from(InjuryDeclaration).where(
        InjuryDeclaration.organization_id == org_id,
        InjuryDeclaration.state == S.DRAFT.value)).scalar()
    month_label = local_today().strftime("%Y-%m")
    start, end = month_bounds(month_label)
    month = dict(db.session.execute(
        select(InjuryDeclaration.kind, func.count()).where(
            InjuryDeclaration.organization_id == org_id,
            InjuryDeclaration.submitted_at >= start, InjuryDeclaration.submitted_at < end)
        .group_by(InjuryDeclaration.kind)).all())
    results = db.session.execute(
        select(InjuryDeclaration).where(
            InjuryDeclaration.organization_id == org_id,
            InjuryDeclaration.state.in_((S.APPROVED.value, S.REJECTED.value)))
        .order_by(func.coalesce(InjuryDeclaration.agency_reviewed_at,
                                InjuryDeclaration.employer_reviewed_at).desc(),
                  InjuryDeclaration.id.desc()).limit(5)).scalars().all()
    return {"drafts": drafts_count, "month": month, "month_total": sum(month.values()),
            "month_label": month_label, "results": results}
