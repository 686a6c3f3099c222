"""体外诊断试剂报量 rules (SPEC Q2–Q4): project dates, the upload slots, the filling window,
the three line rules of 暂存 and what 提交 still needs. Rules read and raise (InvalidError
422 with the fields, ConflictError 409); they never commit."""
import datetime as dt

from sqlalchemy import func, or_, select

from app.errors import InvalidError
from app.extensions import db
from app.i18n import _, _l
from app.models.files import Attachment
from app.models.ivd import (HospitalReportState, IvdCatalogItem, IvdHospitalReport, IvdProject,
                            IvdReportLine)
from app.services.files import Slot
from app.services.ivd.queries import beyond_threshold, cert_conflicts, certs_not_in_use

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


def _invalid(field, message):
    return InvalidError(message, fields={field: [message]})


def check_project(project):
    """项目名称 given, dates in order, 年度 and threshold in range. Raises InvalidError(中文)
    naming the field."""
    project.name = (project.name or "").strip()
    if not project.name:
        raise _invalid("name", _("请填写项目名称"))
    with db.session.no_autoflush:
        taken = db.session.execute(select(IvdProject.id).where(
            IvdProject.name == project.name, IvdProject.id != (project.id or 0))).first()
    if taken:
        raise _invalid("name", _("项目名称“%(n)s”已存在", n=project.name))
    for field, label in DATE_FIELDS:
        if getattr(project, field) is None:
            raise _invalid(field, _("请填写%(f)s", f=_(label)))
    for (a, la), (b, lb) in zip(DATE_FIELDS, DATE_FIELDS[1:]):
        if getattr(project, a) > getattr(project, b):
            raise _invalid(a, _("%(a)s不能晚于%(b)s", a=_(la), b=_(lb)))
    if project.year is None or not 2000 <= project.year <= 2100:
        raise _invalid("year", _("年度须为2000至2100之间的整数"))
    if project.threshold_pct is None or not 0 <= project.threshold_pct <= 1000:
        raise _invalid("threshold_pct", _("需求量阈值须为0至1000之间的整数（%）"))


def filling_started(project_id, stored_status):
    """Filling has started once the stored dates made the project run, or any hospital
    has reported something (whatever the dates say later)."""
    if stored_status != "not_started":
        return True
    H = IvdHospitalReport
    return db.session.execute(select(H.id).where(H.project_id == project_id, or_(
        H.filled_lines > 0, H.state != HospitalReportState.UNSUBMITTED.value)).limit(1)
        ).first() is not None


def check_project_change(project, today=None):
    """check_project for 统一配置, against the stored values (read without flushing the
    pending change): the threshold is frozen once filling has started; dates may not
    un-start a started project nor reopen an ended one."""
    check_project(project)
    today = today or dt.date.today()
    with db.session.no_autoflush:
        threshold, start, end = db.session.execute(select(
            IvdProject.threshold_pct, IvdProject.fill_start, IvdProject.province_deadline)
            .where(IvdProject.id == project.id)).one()
    before = IvdProject(fill_start=start, province_deadline=end).status_on(today)
    after = project.status_on(today)
    started = filling_started(project.id, before)
    if project.threshold_pct != threshold and started:
        raise _invalid("threshold_pct", _("项目已开始填报（执行中或已结束），需求量阈值不可修改"))
    if started and after == "not_started":
        raise _invalid("fill_start", _("项目已开始填报，填报开始日期不能改到今天之后"))
    if before == "ended" and after != "ended":
        raise _invalid("province_deadline",
                       _("项目已结束，不能通过修改日期重新开放（省级审核截止日期须早于今天）"))


# ---- windows ------------------------------------------------------------------------------
def filling_refusal(report, today=None):
    """Filling is open from 填报开始 to 填报结束; a report sent back (审核不通过) may be
    refilled until the city review deadline."""
    today = today or dt.date.today()
    p = report.project
    H = HospitalReportState
    end = p.city_deadline if report.state == H.REJECTED else p.fill_end
    if today < p.fill_start:
        return _("填报尚未开始（%(d)s 开始）", d=p.fill_start)
    if today > end:
        return _("填报已截止（截止日期 %(d)s）", d=end)
    if report.state not in (H.UNSUBMITTED, H.REJECTED):
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
        raise InvalidError(_("%(action)s失败，以下流水号有误：%(rows)s%(tail)s，未做任何修改",
                             action=action, rows="；".join(parts), tail=tail),
                           fields=self.by_serial)


def line_rules(errors, serial, last, nxt, in_use):
    """Rules 1 and 2 of one line (rule 3 spans the 注册证: queries.cert_conflicts)."""
    if (last is not None or nxt is not None) and in_use is None:
        errors.add(serial, _("填写了采购数量，须选择“是否有在用仪器”"))
    if last is not None and last > 0 and in_use is False:
        errors.add(serial, _("上年度采购总数量大于0，“是否有在用仪器”不能为“否”"))


def catalogue_items(report, ids):
    """The project's catalogue lines `ids` (posted ids, in their order); InvalidError when an
    id is not a number or not a line of the report's project."""
    try:
        ids = [int(i) for i in ids]
    except (TypeError, ValueError):
        raise InvalidError(_("目录行编号无效"))
    items = {i.id: i for i in db.session.execute(select(IvdCatalogItem).where(
        IvdCatalogItem.project_id == report.project_id,
        IvdCatalogItem.id.in_(ids))).scalars()}
    if len(items) != len(set(ids)):
        raise InvalidError(_("目录行不属于该项目"))
    return [items[i] for i in dict.fromkeys(ids)]


def parse_entries(report, entries):
    """{item_id: {last_year_qty, next_year_qty, in_use}} of the posted lines, each checked
    against rules 1 and 2; the line ids must be the project's. Raises InvalidError."""
    ids = [e.get("item_id") for e in entries]
    items = {i.id: i for i in catalogue_items(report, ids)}
    ids = [int(i) for i in ids]
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
        line_rules(errors, serial, values["last_year_qty"], values["next_year_qty"],
                   values["in_use"])
        parsed[item_id] = values
    errors.raise_if_any(_("暂存"))
    return parsed


def check_cert_conflicts(report):
    """Rule 3 over the whole report (after the page's lines are flushed)."""
    errors = LineErrors()
    for cert, serials in cert_conflicts(report.id).items():
        for serial in serials:
            errors.add(serial, _("注册证 %(c)s 下各流水号的“是否有在用仪器”须相同", c=cert))
    errors.raise_if_any(_("暂存"))


# ---- 提交 -----------------------------------------------------------------------------------
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
    uploaded = uploaded_at(report)
    present = set(uploaded)
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
    for slot in stale_slots(report, uploaded):
        problems.append(_("上传%(s)s后填报数据已修改，请重新导出填报数据，签字盖章后重新上传",
                          s=slot.label))
    return problems


def uploaded_at(report):
    """{slot: when its newest file was uploaded} of a hospital report."""
    return dict(db.session.execute(select(Attachment.slot, func.max(Attachment.created_at))
                                   .where(Attachment.owner_type == "ivd_hospital_report",
                                          Attachment.owner_id == report.id)
                                   .group_by(Attachment.slot)).all())


def stale_slots(report, uploaded=None):
    """The stamped documents (承诺书, 采购需求量附件) uploaded before the lines last changed:
    they no longer certify the figures (a resubmission after 审核不通过 asks for new ones)."""
    uploaded = uploaded_at(report) if uploaded is None else uploaded
    changed = report.updated_at
    return [s for s in HOSPITAL_SLOTS
            if changed is not None and s.name in uploaded and uploaded[s.name] < changed]
