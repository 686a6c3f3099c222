"""体外诊断试剂报量 rules (SPEC Q2–Q6): project dates, hospital filling (暂存 and the three
rules), what 提交 needs, and the SQL that sums hospitals by area and by 注册证."""
import datetime as dt

from sqlalchemy import case, exists, func, insert, literal, or_, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization, Region, utcnow
from app.models.files import Attachment
from app.models.ivd import (IvdAreaReport, IvdCatalogItem, IvdHospitalReport, IvdProject,
                            IvdReportLine, IvdSummary)
from app.services.audit import record
from app.services.files import Slot
from app.workflows.engine import Refusal

MAX_QTY = 10 ** 9
NAMED_LIMIT = 20      # offending lines named in one message
HOSPITAL_SLOTS = (
    Slot("commitment", _l("承诺书（签字盖章的PDF）"), ("pdf",), required=True, multiple=False),
    Slot("demand", _l("采购需求量附件（盖章的填报数据导出PDF）"), ("pdf",), required=True,
         multiple=False))
STAMPED_SUMMARY = Slot("stamped_summary", _l("盖章的汇总数据"), ("pdf", "image"), required=True,
                       multiple=False)
CERT_SLOT_PREFIX = "cert:"


def cert_slot(cert_no):
    """是否在用仪器说明文件 of one 注册证 (slot named after it)."""
    return Slot(CERT_SLOT_PREFIX + cert_no, _l("是否在用仪器说明文件"), ("pdf", "image"),
                multiple=False)


def hospital_slot(report, name):
    """The upload slot `name` of a hospital report, or None: the two PDFs, or the
    说明文件 of a 注册证 the report marks 否."""
    if name.startswith(CERT_SLOT_PREFIX):
        cert = name[len(CERT_SLOT_PREFIX):]
        return cert_slot(cert) if cert in certs_not_in_use(report.id) else None
    return next((s for s in HOSPITAL_SLOTS if s.name == name), None)


# ---- project ------------------------------------------------------------------------------
DATE_FIELDS = (("fill_start", "填报开始日期"), ("fill_end", "填报结束日期"),
               ("city_deadline", "市级审核截止日期"), ("province_deadline", "省级审核截止日期"))


def check_project(project, before=None):
    """Dates in order, threshold a percentage, threshold frozen once the project runs.
    `before` is the stored (threshold, status) when editing. Raises ValueError(中文)."""
    for field, label in DATE_FIELDS:
        if getattr(project, field) is None:
            raise ValueError(_("请填写%(f)s", f=_(label)))
    for (a, la), (b, lb) in zip(DATE_FIELDS, DATE_FIELDS[1:]):
        if getattr(project, a) > getattr(project, b):
            raise ValueError(_("%(a)s不能晚于%(b)s", a=_(la), b=_(lb)))
    if project.year is None or not 2000 <= project.year <= 2100:
        raise ValueError(_("年度须为2000至2100之间的整数"))
    if project.threshold_pct is None or not 0 <= project.threshold_pct <= 1000:
        raise ValueError(_("需求量阈值须为0至1000之间的整数（%）"))
    if before is not None:
        threshold, status = before
        if project.threshold_pct != threshold and status in ("running", "ended"):
            raise ValueError(_("项目执行中或已结束，需求量阈值不可修改"))


def check_project_change(project):
    """check_project for an edit: the threshold rule uses the stored values (the status
    the project had before this edit), read without flushing the pending change."""
    with db.session.no_autoflush:
        threshold, start, end = db.session.execute(select(
            IvdProject.threshold_pct, IvdProject.fill_start, IvdProject.province_deadline)
            .where(IvdProject.id == project.id)).one()
    stored = IvdProject(fill_start=start, province_deadline=end)
    check_project(project, before=(threshold, stored.status))


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
    from app.scope import scope_of
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
    rows = select(literal(project_id), O.id, literal("unsubmitted"), O.province_code,
                  O.city_code, O.county_code, literal(0), literal(0), literal(0)).where(*where)
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
        rows = select(literal(project_id), R.id, literal(level), literal("draft"),
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


def area_report(project_id, region_code):
    A, R = IvdAreaReport, Region
    return db.session.execute(select(A).join(R, A.region_id == R.id).where(
        A.project_id == project_id, R.code == region_code)).scalar_one_or_none()


# ---- windows ------------------------------------------------------------------------------
def filling_refusal(report, today=None):
    """Filling is open from 填报开始 to 填报结束; a report sent back (审核不通过) may be
    refilled until the city review deadline."""
    today = today or dt.date.today()
    p = report.project
    end = p.city_deadline if report.state == "rejected" else p.fill_end
    if today < p.fill_start:
        return _("填报尚未开始（%(d)s 开始）", d=p.fill_start)
    if today > end:
        return _("填报已截止（截止日期 %(d)s）", d=end)
    if report.state not in ("unsubmitted", "rejected"):
        return _("当前状态为“%(s)s”，不能修改填报数据", s=report.state_label)
    return None


# ---- 暂存 -----------------------------------------------------------------------------------
def parse_quantity(raw):
    """'' → None; a non-negative integer → int; anything else → ValueError(中文)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise ValueError(_("须为不小于0的整数"))
    try:
        value = int(str(raw).strip()) if not isinstance(raw, int) else raw
    except ValueError:
        raise ValueError(_("须为不小于0的整数"))
    if value < 0 or value > MAX_QTY:
        raise ValueError(_("须为不小于0的整数"))
    return value


def parse_in_use(raw):
    if raw in (None, "") or (isinstance(raw, str) and not raw.strip()):
        return None
    if raw is True or str(raw).strip() in ("1", "true", "是", "yes"):
        return True
    if raw is False or str(raw).strip() in ("0", "false", "否", "no"):
        return False
    raise ValueError(_("“是否有在用仪器”只能选“是”或“否”"))


class LineErrors:
    """Errors per catalogue line, named by 流水号, for the message and the form."""

    def __init__(self):
        self.by_serial = {}

    def add(self, serial, message):
        self.by_serial.setdefault(serial, []).append(str(message))

    def raise_if_any(self, action):
        if not self.by_serial:
            return
        parts = [f"{s}：{'；'.join(m)}" for s, m in list(self.by_serial.items())[:NAMED_LIMIT]]
        more = len(self.by_serial) - NAMED_LIMIT
        tail = _("等 %(n)s 行", n=len(self.by_serial)) if more > 0 else ""
        raise Refusal(_("%(action)s失败，以下流水号有误：%(rows)s%(tail)s，未做任何修改",
                        action=action, rows="；".join(parts), tail=tail),
                      status=422, fields=self.by_serial)


def _line_rules(errors, serial, last, nxt, in_use):
    if (last is not None or nxt is not None) and in_use is None:
        errors.add(serial, _("填写了采购数量，须选择“是否有在用仪器”"))
    if last is not None and last > 0 and in_use is False:
        errors.add(serial, _("上年度采购总数量大于0，“是否有在用仪器”不能为“否”"))


def save_lines(report, entries, user):
    """暂存 one page: `entries` are dicts with item_id, last_year_qty, next_year_qty, in_use
    (raw form or JSON values). All rules are checked; any error → Refusal, nothing saved."""
    refusal = filling_refusal(report)
    if refusal:
        raise Refusal(refusal)
    ids = []
    for e in entries:
        try:
            ids.append(int(e.get("item_id")))
        except (TypeError, ValueError):
            raise Refusal(_("目录行编号无效"), status=422)
    items = {i.id: i for i in db.session.execute(select(IvdCatalogItem).where(
        IvdCatalogItem.project_id == report.project_id,
        IvdCatalogItem.id.in_(ids))).scalars()}
    if len(items) != len(set(ids)):
        raise Refusal(_("目录行不属于该项目"), status=422)
    errors, parsed = LineErrors(), {}
    for e, item_id in zip(entries, ids):
        serial = items[item_id].serial_no
        values = {}
        for key, parse, label in (("last_year_qty", parse_quantity, _("上年度采购总数量")),
                                  ("next_year_qty", parse_quantity, _("下年度采购需求量")),
                                  ("in_use", parse_in_use, None)):
            try:
                values[key] = parse(e.get(key))
            except ValueError as exc:
                errors.add(serial, f"{label}{exc}" if label else exc)
                values[key] = None
        _line_rules(errors, serial, values["last_year_qty"], values["next_year_qty"],
                    values["in_use"])
        parsed[item_id] = values
    errors.raise_if_any(_("暂存"))
    try:
        _write_lines(report, parsed)
        conflicts = cert_conflicts(report.id)
        for cert, serials in conflicts.items():
            for serial in serials:
                errors.add(serial, _("注册证 %(c)s 下各流水号的“是否有在用仪器”须相同", c=cert))
        errors.raise_if_any(_("暂存"))
        refresh_totals(report)
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


def refresh_totals(report):
    L = IvdReportLine
    last, nxt, n = db.session.execute(select(
        func.coalesce(func.sum(L.last_year_qty), 0), func.coalesce(func.sum(L.next_year_qty), 0),
        func.count(L.id)).where(L.report_id == report.id)).one()
    report.last_year_total, report.next_year_total, report.filled_lines = int(last), int(nxt), n
    report.updated_at = utcnow()


# ---- 提交 -----------------------------------------------------------------------------------
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


def save_submission_details(report, form, user):
    """The 提交 page's 暂存: contact, phone and 增降幅说明 of the lines shown."""
    from app.services import validators
    refusal = filling_refusal(report)
    if refusal:
        raise Refusal(refusal)
    report.contact = (form.get("contact") or "").strip()[:32] or None
    phone = (form.get("contact_phone") or "").strip()
    if phone:
        try:
            phone = validators.check_phone(phone)
        except validators.ValidationError as exc:
            raise Refusal(exc.message, status=422, fields={"contact_phone": [exc.message]})
    report.contact_phone = phone or None
    notes = {int(k[5:]): v.strip() for k, v in form.items()
             if k.startswith("note_") and k[5:].isdigit()}
    if notes:
        for line in db.session.execute(select(IvdReportLine).where(
                IvdReportLine.report_id == report.id,
                IvdReportLine.id.in_(list(notes)))).scalars():
            line.change_note = notes[line.id][:1000] or None
    record(user, "update", obj=report, object_type="ivd_hospital_report",
           comment=_("提交信息暂存"))
    db.session.commit()


def submission_problems(report):
    """Everything 提交 still needs, in the manual's words (empty when ready)."""
    problems = []
    L = IvdReportLine
    if not report.filled_lines:
        problems.append(_("尚未填报任何数据"))
    broken = db.session.execute(select(IvdCatalogItem.serial_no).join(
        L, L.item_id == IvdCatalogItem.id).where(L.report_id == report.id, or_(
            (L.in_use.is_(None) & or_(L.last_year_qty.is_not(None), L.next_year_qty.is_not(None))),
            (L.in_use.is_(False) & (L.last_year_qty > 0)))).order_by(IvdCatalogItem.serial_no)
        ).scalars().all()
    broken += [s for serials in cert_conflicts(report.id).values() for s in serials]
    if broken:
        problems.append(_("以下流水号不符合填报规则，请修改后暂存：%(s)s",
                          s="、".join(broken[:NAMED_LIMIT])))
    if not report.contact or not report.contact_phone:
        problems.append(_("请填写联系人和联系方式"))
    present = set(db.session.execute(select(Attachment.slot).where(
        Attachment.owner_type == "ivd_hospital_report",
        Attachment.owner_id == report.id)).scalars())
    missing_certs = [c for c in certs_not_in_use(report.id)
                     if CERT_SLOT_PREFIX + c not in present]
    if missing_certs:
        problems.append(_("请上传以下注册证的是否在用仪器说明文件：%(c)s",
                          c="、".join(missing_certs[:NAMED_LIMIT])))
    unexplained = db.session.execute(beyond_threshold(report).where(
        or_(L.change_note.is_(None), L.change_note == ""))).scalars().all()
    if unexplained:
        problems.append(_("以下流水号需求量增降幅超过阈值，请填写增降幅说明：%(s)s",
                          s="、".join(line.item.serial_no for line in unexplained[:NAMED_LIMIT])))
    for slot in HOSPITAL_SLOTS:
        if slot.name not in present:
            problems.append(_("请上传%(s)s", s=slot.label))
    return problems


# ---- sums ---------------------------------------------------------------------------------
EXEMPT = "exempt"                                   # 无需上报 is excluded from every sum
COUNTED = IvdHospitalReport.state != EXEMPT


def area_sums(project_id, group_column, codes=None):
    """{area code: (医疗机构数量, 历史采购量, 采购需求量)} from the summary table (one row per
    county and state, kept with the hospital reports), for the areas `codes` (None: all)."""
    S = IvdSummary
    column = getattr(S, group_column)
    stmt = (select(column, func.sum(S.hospitals), func.sum(S.last_year_total),
                   func.sum(S.next_year_total))
            .where(S.project_id == project_id, S.state != EXEMPT).group_by(column))
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
                                       H.province_code == province_code, COUNTED).distinct()
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


def mark_reviewed(report, data):
    report.reviewed_at = utcnow()
    report.review_opinion = (data.get("comment") or "").strip() or None


def reset_review(report):
    report.reviewed_at = None
    report.review_opinion = None
