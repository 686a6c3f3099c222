"""体外诊断试剂报量 look-ups and figures (SPEC Q3–Q6): a report's lines by rule, the
area reports, what is not yet approved below an area, and the SQL that sums hospitals by
area and by 注册证. Nothing here writes."""
import hashlib

from sqlalchemy import case, func, select

from app.extensions import db
from app.models.core import Organization, Region
from app.models.files import Attachment
from app.models.ivd import (HospitalReportState, IvdAreaReport, IvdCatalogItem,
                            IvdHospitalReport, IvdReportLine, IvdSummary)

H_ = HospitalReportState
EXEMPT = H_.EXEMPT.value
# The figures (医疗机构数量, 历史采购量, 采购需求量) count hospitals 审核通过 / 已提交 / 未提交
# only; 无需上报 and 审核不通过 are left out (manual 省级审核 注2, SPEC Q5). Every page, PDF
# and CSV of figures sums over these states.
COUNTED_STATES = (H_.APPROVED.value, H_.SUBMITTED.value, H_.UNSUBMITTED.value)
COUNTED = IvdHospitalReport.state.in_(COUNTED_STATES)
REPORTING = IvdHospitalReport.state != EXEMPT        # hospitals that have to report


def area_report(project_id, region_code):
    A, R = IvdAreaReport, Region
    return db.session.execute(select(A).join(R, A.region_id == R.id).where(
        A.project_id == project_id, R.code == region_code)).scalar_one_or_none()


def cert_conflicts(report_id):
    """Rule 3: {注册证: [流水号…]} where one 注册证 has both 是 and 否 in one report."""
    L, I = IvdReportLine, IvdCatalogItem
    certs = select(I.cert_no).join(L, L.item_id == I.id).where(
        L.report_id == report_id, L.in_use.is_not(None)).group_by(I.cert_no).having(
        func.count(func.distinct(L.in_use)) > 1)
    rows = db.session.execute(select(I.cert_no, I.serial_no).join(L, L.item_id == I.id).where(
        L.report_id == report_id, L.in_use.is_not(None), I.cert_no.in_(certs))
        .order_by(I.cert_no, I.serial_no)).all()
    out = {}
    for cert, serial in rows:
        out.setdefault(cert, []).append(serial)
    return out


def beyond_threshold(report):
    """Lines whose demand differs from last year by more than the threshold (an empty
    quantity counts as 0; any demand after a year of none is beyond any threshold)."""
    L = IvdReportLine
    last, nxt = func.coalesce(L.last_year_qty, 0), func.coalesce(L.next_year_qty, 0)
    return select(L).where(
        L.report_id == report.id,
        func.abs(nxt - last) * 100 > report.project.threshold_pct * last)


def certs_not_in_use(report_id):
    L, I = IvdReportLine, IvdCatalogItem
    return list(db.session.execute(select(I.cert_no).join(L, L.item_id == I.id).where(
        L.report_id == report_id, L.in_use.is_(False)).distinct().order_by(I.cert_no))
        .scalars())


# ---- sums ---------------------------------------------------------------------------------
def report_sums(reports):
    """{area report id: figures} of area reports of any level (a city's figures by its
    city code, a province's by its province code), one GROUP BY per level."""
    out = {}
    for project_id, level in {(r.project_id, r.level) for r in reports}:
        same = [r for r in reports if (r.project_id, r.level) == (project_id, level)]
        sums = area_sums(project_id, f"{level}_code", [r.region.code for r in same])
        out.update({r.id: sums.get(r.region.code, (0, 0, 0)) for r in same})
    return out


def area_sums(project_id, group_column, codes=None):
    """{area code: (医疗机构数量, 历史采购量, 采购需求量)} from the summary table (one row per
    county and state, kept with the hospital reports), for the areas `codes` (None: all)."""
    S = IvdSummary
    column = getattr(S, group_column)
    stmt = (select(column, func.sum(S.hospitals), func.sum(S.last_year_total),
                   func.sum(S.next_year_total))
            .where(S.project_id == project_id, S.state.in_(COUNTED_STATES)).group_by(column))
    if codes is not None:
        stmt = stmt.where(column.in_(list(codes)))
    return {code: (int(n), int(last or 0), int(nxt or 0))
            for code, n, last, nxt in db.session.execute(stmt) if n}


def hospitals_not_approved(project_id, city_code):
    """In unit-code order (region by region), the same on every database."""
    H = IvdHospitalReport
    return db.session.execute(select(H).join(Organization, Organization.id == H.organization_id)
                              .where(H.project_id == project_id, H.city_code == city_code,
                                     H.state.not_in(("approved", "exempt")))
                              .order_by(Organization.unit_code, H.id)).scalars().all()


def cities_not_approved(project_id, province_code):
    """Cities (and 省本级) with hospitals to report whose city report is not 审核通过."""
    H, A, R = IvdHospitalReport, IvdAreaReport, Region
    cities = select(H.city_code).where(H.project_id == project_id,
                                       H.province_code == province_code, REPORTING).distinct()
    approved = select(R.code).join(A, A.region_id == R.id).where(
        A.project_id == project_id, A.state == "approved")
    return db.session.execute(select(R).where(R.code.in_(cities), R.code.not_in(approved))
                              .order_by(R.code)).scalars().all()


def cert_summary(project_id, *where):
    """Rows per 注册证 over the counted hospitals' lines (for the PDFs): 注册证, 生产企业,
    产品名称, hospitals, lines, Σ上年度, Σ下年度, min / max of 是否有在用仪器 (1 / 0)."""
    H, L, I = IvdHospitalReport, IvdReportLine, IvdCatalogItem
    return (select(I.cert_no, func.min(I.manufacturer), func.min(I.product_name),
                   func.count(func.distinct(H.id)), func.count(L.id),
                   func.coalesce(func.sum(L.last_year_qty), 0),
                   func.coalesce(func.sum(L.next_year_qty), 0),
                   func.min(case((L.in_use.is_(True), 1), (L.in_use.is_(False), 0))),
                   func.max(case((L.in_use.is_(True), 1), (L.in_use.is_(False), 0))))
            .select_from(L).join(H, L.report_id == H.id).join(I, L.item_id == I.id)
            .where(H.project_id == project_id, COUNTED, *where)
            .group_by(I.cert_no).order_by(I.cert_no))


def national_rows(project_id):
    """省份, 大项, 小项, 生产企业, 注册证, 上年度, 下年度, streamed. The lines are summed per
    (province, catalogue line) first and the text columns joined after: grouping every
    line by six text columns spilled to disk (bench: ~10× slower on PostgreSQL)."""
    H, L, I, R = IvdHospitalReport, IvdReportLine, IvdCatalogItem, Region
    per_item = (select(H.province_code.label("province_code"), L.item_id.label("item_id"),
                       func.sum(L.last_year_qty).label("last"),
                       func.sum(L.next_year_qty).label("next"))
                .select_from(L).join(H, L.report_id == H.id)
                .where(H.project_id == project_id, COUNTED)
                .group_by(H.province_code, L.item_id).subquery())
    return (select(R.name, I.major, I.minor, I.manufacturer, I.cert_no,
                   func.coalesce(func.sum(per_item.c.last), 0),
                   func.coalesce(func.sum(per_item.c.next), 0))
            .select_from(per_item).join(I, I.id == per_item.c.item_id)
            .join(R, R.code == per_item.c.province_code)
            .group_by(R.code, R.name, I.major, I.minor, I.manufacturer, I.cert_no)
            .order_by(R.code, I.major, I.minor, I.manufacturer, I.cert_no))


# ---- what a stamped document was exported from ------------------------------------------------
def _digest(rows):
    """A short code of the figures a PDF prints (数据校验码): equal figures, equal code."""
    text = "\n".join("|".join("" if v is None else str(v) for v in row) for row in rows)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12].upper()


def lines_digest(report_id):
    """The 数据校验码 of a hospital's lines (printed on its 填报数据导出)."""
    L, I = IvdReportLine, IvdCatalogItem
    return _digest(db.session.execute(select(I.serial_no, L.last_year_qty, L.next_year_qty,
                                             L.in_use).join(L, L.item_id == I.id)
                                      .where(L.report_id == report_id).order_by(I.serial_no)))


def province_digest(project_id, province_code):
    """The 数据校验码 of a province's summary by 注册证 and its figures (its 汇总 PDF)."""
    rows = list(db.session.execute(cert_summary(
        project_id, IvdHospitalReport.province_code == province_code)))
    rows.append(area_sums(project_id, "province_code", [province_code]).get(province_code))
    return _digest(rows)


def province_changed_at(project_id, province_code):
    """When the province's figures last moved: a hospital's lines, or a city's review."""
    H, A = IvdHospitalReport, IvdAreaReport
    return max([t for t in (
        db.session.execute(select(func.max(H.updated_at)).where(
            H.project_id == project_id, H.province_code == province_code)).scalar(),
        db.session.execute(select(func.max(A.reviewed_at)).where(
            A.project_id == project_id, A.province_code == province_code,
            A.level == "city")).scalar()) if t is not None], default=None)


def stamped_summary_stale(area):
    """Whether the province's newest stamped summary predates its figures' last move."""
    uploaded = db.session.execute(select(func.max(Attachment.created_at)).where(
        Attachment.owner_type == "ivd_area_report", Attachment.owner_id == area.id,
        Attachment.slot == "stamped_summary")).scalar()
    changed = province_changed_at(area.project_id, area.region.code)
    return uploaded is not None and changed is not None and uploaded < changed
