"""体外诊断试剂报量's 我的待办 (SPEC P13): a hospital's report still 未提交 or 审核不通过 in a
project open for filling; a city's (省本级's) hospitals 待审核 and its own report 待提交; a
province's cities 待审核 and its own report 待提交; the provinces awaiting the super-admin.
Hospitals are counted on the summary table (one row per county and state), areas on their
few rows; each count links to the list of that project filtered by the state."""
import datetime as dt

from flask import url_for
from sqlalchemy import func

from app.extensions import db
from app.i18n import _
from app.models.core import Region
from app.models.ivd import (AreaReportState, HospitalReportState, IvdAreaReport,
                            IvdHospitalReport, IvdProject, IvdSummary)
from app.scope import is_superadmin, scope_of
from app.workflows.engine import user_has_role
from app.workflows.ivd import HOSPITAL, OPEN, REVIEWER

H, A = HospitalReportState, AreaReportState
OWN_OPEN = tuple(s.value for s in OPEN)       # an area's report still to submit


def _projects(until):
    """Projects under way today: from 填报开始 to the deadline named by `until`."""
    today = dt.date.today()
    return db.session.execute(db.select(IvdProject).where(
        IvdProject.fill_start <= today, until(IvdProject) >= today)
        .order_by(IvdProject.year, IvdProject.id)).scalars().all()


def _label(text, project, projects):
    """The project's name is added only when several are under way."""
    return f"{text}（{project.name}）" if len(projects) > 1 else text


def _row(label, count, endpoint, **args):
    state = args.pop("state", None)
    url = url_for(endpoint, **args) + (f"&_flt_0_state={state}" if state else "")
    return {"label": label, "count": count, "url": url}


def hospital_todos(user):
    """The hospital's own report: 未提交 while filling is open, 审核不通过 until the city
    deadline (rules.filling_refusal); no report row yet reads as 未提交."""
    org_id = user.organization_id
    projects = _projects(lambda p: p.city_deadline)
    if not org_id or not projects:
        return []
    states = dict(db.session.execute(db.select(IvdHospitalReport.project_id,
                                               IvdHospitalReport.state).where(
        IvdHospitalReport.organization_id == org_id,
        IvdHospitalReport.project_id.in_([p.id for p in projects]))).all())
    today, rows = dt.date.today(), []
    for p in projects:
        state = states.get(p.id, H.UNSUBMITTED.value)
        if state == H.EXEMPT.value:
            continue
        url = url_for("IvdFillView.fill", project_id=p.id)
        rows += [{"label": _label(_("报量未提交"), p, projects), "url": url,
                  "count": int(state == H.UNSUBMITTED.value and today <= p.fill_end)},
                 {"label": _label(_("报量审核不通过"), p, projects), "url": url,
                  "count": int(state == H.REJECTED.value)}]
    return rows


def _hospitals_submitted(project, city_code):
    S = IvdSummary
    return int(db.session.execute(db.select(func.coalesce(func.sum(S.hospitals), 0)).where(
        S.project_id == project.id, S.city_code == city_code,
        S.state == H.SUBMITTED.value)).scalar())


def _areas(project, level, **where):
    """{state: areas} of one level of a project, e.g. the cities of a province."""
    R = IvdAreaReport
    stmt = db.select(R.state, func.count(R.id)).join(Region, Region.id == R.region_id).where(
        R.project_id == project.id, R.level == level)
    for column, value in where.items():
        stmt = stmt.where(getattr(Region, column) == value)
    return dict(db.session.execute(stmt.group_by(R.state)).all())


def _own_open(project, level, code):
    """1 when the area's own report is still 待提交 or 审核不通过 (no row yet: 待提交)."""
    states = _areas(project, level, code=code)
    return int(not states or any(s in OWN_OPEN for s in states))


def reviewer_todos(user):
    kind, code = scope_of(user)
    projects = _projects(lambda p: p.province_deadline)
    rows = []
    for p in projects:
        if kind == "city":
            entry = dict(endpoint="IvdHospitalReviewView.list", project=p.id)
            rows += [_row(_label(_("报量待审核"), p, projects),
                          _hospitals_submitted(p, code), state=H.SUBMITTED.value, **entry),
                     _row(_label(_("本市报量待提交"), p, projects),
                          _own_open(p, "city", code), **entry)]
        elif kind == "province":
            entry = dict(endpoint="IvdAreaReviewView.list", project=p.id)
            cities = _areas(p, "city", province_code=code)
            rows += [_row(_label(_("各市报量待审核"), p, projects),
                          cities.get(A.SUBMITTED.value, 0), state=A.SUBMITTED.value, **entry),
                     _row(_label(_("本省报量待提交"), p, projects),
                          _own_open(p, "province", code), **entry)]
        elif kind == "all":
            provinces = _areas(p, "province")
            rows.append(_row(_label(_("各省报量已提交"), p, projects),
                             provinces.get(A.SUBMITTED.value, 0),
                             endpoint="IvdNationalView.list", project=p.id,
                             state=A.SUBMITTED.value))
    return rows


def todos(user):
    rows = []
    if user_has_role(user, {HOSPITAL}):
        rows += hospital_todos(user)
    if user_has_role(user, {REVIEWER}) or is_superadmin(user):
        rows += reviewer_todos(user)
    return rows
