"""体外诊断试剂报量 commands (SPEC Q2–Q5): the report rows of a project, 暂存 of the
hospital's lines, the 提交 page's details, its uploads and the summary export. Each command
owns its transaction: it commits at its end, and a refusal leaves nothing written. The
review effects (mark_reviewed, reset_review) run inside the engine's transaction."""
from sqlalchemy import exists, func, insert, literal, select
from sqlalchemy.exc import IntegrityError

from app.errors import ConflictError, InvalidError
from app.extensions import db
from app.i18n import _
from app.models.core import Organization, Region, utcnow
from app.models.ivd import (AreaReportState, HospitalReportState, IvdAreaReport,
                            IvdHospitalReport, IvdProject, IvdReportLine)
from app.scope import scope_of
from app.services import files
from app.services.attachments import AttachmentError
from app.services.audit import record
from app.services.ivd import queries, rules
from app.workflows.engine import lock


# ---- the report rows ------------------------------------------------------------------------
def own_report(project_id, org):
    """A medical institution's report for a project, created if missing; None when the
    project does not exist or `org` is not a medical institution."""
    if db.session.get(IvdProject, project_id) is None or org is None \
            or org.org_type != "medical":
        return None
    stmt = select(IvdHospitalReport).where(IvdHospitalReport.project_id == project_id,
                                           IvdHospitalReport.organization_id == org.id)
    report = db.session.execute(stmt).scalar_one_or_none()
    if report is None:
        ensure_hospital_reports(project_id, id=org.id)
        report = db.session.execute(stmt).scalar_one_or_none()
    return report


def ensure_reports_of(project_id, user):
    """Every hospital and area report of the caller's region exists (pressing 查询)."""
    kind, code = scope_of(user)
    area = {"city": {"city_code": code}, "province": {"province_code": code}}.get(kind, {})
    ensure_hospital_reports(project_id, **area)
    ensure_area_reports(project_id, area.get("province_code"))


def ensure_hospital_reports(project_id, **area):
    """Every active medical institution (of the area given as province_code= / city_code=)
    has a report row for the project: one INSERT … SELECT … WHERE NOT EXISTS."""
    H, O = IvdHospitalReport, Organization
    where = [O.org_type == "medical", O.active.is_(True),
             ~exists().where(H.project_id == project_id, H.organization_id == O.id)]
    where += [getattr(O, k) == v for k, v in area.items()]
    rows = select(literal(project_id), O.id, literal(HospitalReportState.UNSUBMITTED.value),
                  O.province_code, O.city_code, O.county_code, literal(0), literal(0),
                  literal(0)).where(*where)
    _insert_ignoring_races(insert(H).from_select(
        ["project_id", "organization_id", "state", "province_code", "city_code", "county_code",
         "last_year_total", "next_year_total", "filled_lines"], rows))


def ensure_area_reports(project_id, province_code=None):
    """A city report for every city (or 省本级) with hospitals in the project and a
    province report for every such province."""
    H, A, R = IvdHospitalReport, IvdAreaReport, Region
    for level, column in (("city", H.city_code), ("province", H.province_code)):
        codes = select(column).where(H.project_id == project_id)
        if province_code:
            codes = codes.where(H.province_code == province_code)
        rows = select(literal(project_id), R.id, literal(level),
                      literal(AreaReportState.DRAFT.value),
                      R.province_code, R.city_code).where(
            R.code.in_(codes.distinct()),
            ~exists().where(A.project_id == project_id, A.region_id == R.id))
        _insert_ignoring_races(insert(A).from_select(
            ["project_id", "region_id", "level", "state", "province_code", "city_code"], rows))


def _insert_ignoring_races(stmt):
    try:
        db.session.execute(stmt)
        db.session.commit()
    except IntegrityError:     # a concurrent request inserted the same rows first
        db.session.rollback()


# ---- 暂存 -----------------------------------------------------------------------------------
def _check_filling(report):
    lock([report])      # as 提交 does: its checks of the lines and files see this write or refuse
    refusal = rules.filling_refusal(report)
    if refusal:
        raise ConflictError(refusal)


def save_lines(report, entries, user):
    """暂存 one page: `entries` are dicts with item_id, last_year_qty, next_year_qty, in_use
    (raw form or JSON values). All rules are checked; any error → InvalidError naming the
    lines (fields by 流水号), nothing saved."""
    _check_filling(report)
    parsed = rules.parse_entries(report, entries)
    try:
        before = queries.lines_digest(report.id)
        _write_lines(report, parsed)
        rules.check_cert_conflicts(report)
        refresh_totals(report)
        if queries.lines_digest(report.id) != before:
            report.updated_at = utcnow()     # the stamped exports of older data are stale
        record(user, "update", obj=report, object_type="ivd_hospital_report",
               comment=_("暂存 %(n)s 行", n=len(parsed)))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _write_lines(report, parsed):
    L = IvdReportLine
    existing = {line.item_id: line for line in db.session.execute(select(L).where(
        L.report_id == report.id, L.item_id.in_(list(parsed)))).scalars()}
    for item_id, values in parsed.items():
        line = existing.get(item_id)
        empty = all(v is None for v in values.values())
        if line is None and not empty:
            db.session.add(L(report_id=report.id, item_id=item_id, **values))
        elif line is not None and empty:
            db.session.delete(line)
        elif line is not None:
            for key, value in values.items():
                setattr(line, key, value)
    db.session.flush()


def refresh_totals(report):
    L = IvdReportLine
    last, nxt, n = db.session.execute(select(
        func.coalesce(func.sum(L.last_year_qty), 0), func.coalesce(func.sum(L.next_year_qty), 0),
        func.count(L.id)).where(L.report_id == report.id)).one()
    report.last_year_total, report.next_year_total, report.filled_lines = int(last), int(nxt), n


# ---- 提交 page --------------------------------------------------------------------------------
def save_submission_details(report, details, user):
    """The 提交 page's 暂存: contact, phone and 增降幅说明 (`notes`: {line id: text}) of the
    lines shown, as IvdSubmissionForm parsed them (the screen and the REST API)."""
    _check_filling(report)
    report.contact = details.get("contact") or None
    report.contact_phone = details.get("contact_phone") or None
    notes = details.get("notes") or {}
    if notes:
        for line in db.session.execute(select(IvdReportLine).where(
                IvdReportLine.report_id == report.id,
                IvdReportLine.id.in_(list(notes)))).scalars():
            line.change_note = notes[line.id] or None
    record(user, "update", obj=report, object_type="ivd_hospital_report",
           comment=_("提交信息暂存"))
    db.session.commit()


def attach_file(owner, slot, upload, user):
    """One uploaded file into `slot` of a report, audited and committed; a refused file
    (type, size …) is invalid input."""
    try:
        return files.attach_and_record(owner, slot, upload, user)
    except AttachmentError as exc:
        raise InvalidError(str(exc), fields={"file": [str(exc)]}) from exc


def attach_hospital_file(report, slot, upload, user):
    """The hospital's upload on its 提交 page, only while filling is open."""
    _check_filling(report)
    return attach_file(report, slot, upload, user)


# ---- review effects (inside the engine's transaction) ------------------------------------
def mark_reviewed(report, data):
    report.reviewed_at = utcnow()
    report.review_opinion = (data.get("comment") or "").strip() or None


def reset_review(report):
    report.reviewed_at = None
    report.review_opinion = None
