"""工伤 look-ups and figures (SPEC W2–W5): a person's determinations, the employer of a
determination, the device catalogue search, a declaration's lines and materials, the
hospital's drafts and the hall's figures. Nothing here writes."""
import datetime as dt
import re

from sqlalchemy import func, or_, select

from app.errors import ForbiddenError, InvalidError
from app.extensions import db
from app.i18n import _
from app.models.core import Organization
from app.models.injury import (DeclarationState as S, HospitalState as H, InjuryDeclaration,
                               InjuryDetermination, InjuryDeviceItem, InjuryHospital)
from app.scope import region_scope, scoped_get
from app.services import clock, files, validators
from app.workflows.injury import KINDS


def designation(user):
    """The 定点医疗机构 vetting of the caller's organisation (None: not registered by
    马上注册, i.e. set up by an administrator)."""
    org_id = getattr(user, "organization_id", None)
    if not org_id:
        return None
    return db.session.execute(select(InjuryHospital).where(
        InjuryHospital.organization_id == org_id)).scalar()


def designation_problem(user):
    """Why the caller's hospital may not look people up nor declare yet (None when it may):
    a self-registered hospital waits for its agency's 审核通过 (issue 21 item 1)."""
    row = designation(user)
    if row is None or row.state == H.APPROVED.value:
        return None
    if row.state == H.REJECTED.value:
        return _("本机构的定点医疗机构资格审核不通过（原因：%(r)s），不能查询工伤人员信息和申报业务，"
                 "请联系所属经办机构", r=row.reason or "")
    return _("本机构的定点医疗机构资格正在等待所属经办机构审核，审核通过后才能查询工伤人员信息和申报业务")


def require_designated(user):
    problem = designation_problem(user)
    if problem:
        raise ForbiddenError(problem)


def find_determinations(user, id_number):
    """(ID number normalised, determinations of that person in the caller's scope). A bad
    ID number raises InvalidError on `id_number`; none found is an empty list."""
    require_designated(user)
    if isinstance(id_number, str):
        id_number = "".join(id_number.split())     # pasted as 1401 0519 …
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
    require_designated(user)
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


def open_draft(organization_id, kind, determination_id):
    """The hospital's unsubmitted declaration of `kind` for that determination, if any:
    one draft per person, determination and kind (issue 21 item 2)."""
    return db.session.execute(select(InjuryDeclaration).where(
        InjuryDeclaration.organization_id == organization_id,
        InjuryDeclaration.kind == kind,
        InjuryDeclaration.determination_id == determination_id,
        InjuryDeclaration.state == S.DRAFT.value).order_by(InjuryDeclaration.id)
        .limit(1)).scalar()


def redeclarations(declaration):
    """The declarations made again from `declaration` (重新申报), deleted ones left out."""
    return db.session.execute(select(InjuryDeclaration).where(
        InjuryDeclaration.resubmitted_from_id == declaration.id,
        InjuryDeclaration.state != S.DELETED.value).order_by(InjuryDeclaration.id)
    ).scalars().all()


def declaring_hospitals(user):
    """(id, name) of the hospitals whose submitted declarations the caller sees: the
    reviewers' 医疗机构 filter."""
    return db.session.execute(
        select(Organization.id, Organization.name).distinct()
        .join(InjuryDeclaration, InjuryDeclaration.organization_id == Organization.id)
        .where(region_scope(InjuryDeclaration, user),
               InjuryDeclaration.state.not_in((S.DRAFT.value, S.DELETED.value)))
        .order_by(Organization.name)).all()


def lines_as_rows(declaration):
    return [{"item": ln.item.code, "name": ln.item.name, "quantity": ln.quantity,
             "price": str(ln.price), "configured_on": ln.configured_on.strftime("%Y%m%d"),
             "usage_years": ln.usage_years} for ln in declaration.lines]


def device_search(text, limit=20):
    """Fuzzy catalogue search on any part of the code, the name, the specification or the
    category (拐杖 → 腋拐, 肘拐) (SPEC W4, issue 21 item 7) → (at most `limit` items, whether
    more match)."""
    text = (text or "").strip()
    stmt = select(InjuryDeviceItem).where(InjuryDeviceItem.active.is_(True))
    if text:
        pattern = "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"
        stmt = stmt.where(or_(InjuryDeviceItem.code.ilike(pattern),
                              InjuryDeviceItem.name.ilike(pattern),
                              InjuryDeviceItem.specification.ilike(pattern),
                              InjuryDeviceItem.category.ilike(pattern)))
    rows = db.session.execute(stmt.order_by(InjuryDeviceItem.code).limit(limit + 1)
                              ).scalars().all()
    return rows[:limit], len(rows) > limit


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
    return {"designation": designation(user), "drafts": drafts_count, "month": month, "month_total": sum(month.values()),
            "month_label": month_label, "results": results}
