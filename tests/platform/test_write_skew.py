"""Write skew between records (issue 17 item 2): a guard that reads other rows — every
hospital approved before the city submits and the city report open before a hospital is
reviewed again; every city approved before the province submits; every unit 通过 before the
county 确认并上报; the inputs of a 汇总 — must hold when the two transitions fire at the same
instant. Each pair runs in two threads (an app context each) released by one barrier, ROUNDS
times, the rows put back between rounds: never do both succeed, the loser is refused with 409,
and what the guard protects holds after every round. On PostgreSQL the two transactions
really overlap; SQLite has one writer at a time."""
import datetime as dt
import threading
from decimal import Decimal

from sqlalchemy import select, update

from app.demo.ivd import demo_pdf
from app.extensions import db
from app.models.ivd import IvdAreaReport, IvdHospitalReport, IvdProject, IvdReportLine
from app.models.phs import PhsReport
from app.models.relief import ReliefReport, ReliefReportTask
from app.services import files
from app.services.ivd import commands as ivd_commands, queries as ivd_queries
from app.services.ivd import rules as ivd_rules
from app.services.phs import queries as phs_queries
from app.workflows import engine
from app.workflows.engine import Refusal
from app.workflows.ivd import IvdAreaReportFlow, IvdHospitalReportFlow
from app.workflows.phs import PhsReportFlow
from app.workflows.relief import ReliefReportFlow
from tests.conftest import user
from tests.phs.phs_flow_support import report as phs_report
from tests.phs.phs_flow_support import xiaodian_reported, xiaodian_units_ready

ROUNDS = 10


def _race(app, sides):
    """sides: [(login, fire(actor))], each run in its own thread and app context, all
    released at once. Returns each side's outcome: "ok", a refusal's status, or an error."""
    barrier = threading.Barrier(len(sides))
    outcomes = [None] * len(sides)

    def work(i, login, fire):
        with app.app_context():
            actor = user(login)
            db.session.commit()              # nothing open while waiting at the barrier
            barrier.wait(timeout=30)
            try:
                fire(actor)
                outcomes[i] = "ok"
            except Refusal as exc:
                outcomes[i] = exc.status
            except Exception as exc:         # noqa: BLE001 — reported by the assertion
                outcomes[i] = f"{type(exc).__name__}: {exc}"
            finally:
                db.session.rollback()
                db.session.remove()

    threads = [threading.Thread(target=work, args=(i, *side)) for i, side in enumerate(sides)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return outcomes


def _rounds(app, reset, sides, broken, exclusive=(0, 1)):
    """ROUNDS races, `reset()` before each. After each: only 409 refusals, the sides named in
    `exclusive` (that no order of the two lets both through) not both done, and `broken()`
    (what the guard protects) says nothing."""
    for n in range(ROUNDS):
        with engine.state_writes():
            reset()
        db.session.commit()
        outcomes = _race(app, sides)
        db.session.expire_all()
        assert all(o in ("ok", 409) for o in outcomes), (n, outcomes)
        assert not exclusive or [outcomes[i] for i in exclusive].count("ok") < 2, (n, outcomes)
        assert broken() is None, (n, outcomes, broken())
        db.session.rollback()


def _put(model, ids, **values):
    db.session.execute(update(model).where(model.id.in_(list(ids))).values(**values)
                       .execution_options(synchronize_session=False))


def _fire(flow, pk, name, data=None):
    return lambda actor: engine.apply(flow, pk, name, actor, dict(data or {}))


# ---- 体外诊断试剂报量 ------------------------------------------------------------------------------
def _running_project():
    today = dt.date.today()
    return db.session.execute(select(IvdProject.id).where(
        IvdProject.fill_start <= today, IvdProject.fill_end >= today)
        .order_by(IvdProject.id)).scalars().first()


def _hospitals(project_id, **where):
    H = IvdHospitalReport
    return db.session.execute(select(H).where(
        H.project_id == project_id, *[getattr(H, k) == v for k, v in where.items()])
        .order_by(H.id)).scalars().all()


def test_city_submit_and_a_hospital_unreview_at_once_one_wins(app, ctx):
    """The issue's case: 太原's report made submittable, then 提交 of the city and 审核撤回 of
    太原市第二人民医院 at the same instant."""
    pid = _running_project()
    city = ivd_queries.area_report(pid, "140100")
    counted = [h.id for h in _hospitals(pid, city_code="140100") if h.state != "exempt"]
    target = next(h.id for h in _hospitals(pid, city_code="140100")
                  if h.organization_id == user("ty_hosp2").organization_id)

    def reset():
        _put(IvdHospitalReport, counted, state="approved")
        _put(IvdAreaReport, [city.id], state="draft")

    def broken():
        if db.session.get(IvdAreaReport, city.id).state != "submitted":
            return None
        waiting = ivd_queries.hospitals_not_approved(pid, "140100")
        return [f"{h.organization.name} {h.state}" for h in waiting] or None

    _rounds(app, reset, [("ty_ybj", _fire(IvdAreaReportFlow, city.id, "submit")),
                         ("ty_ybj", _fire(IvdHospitalReportFlow, target, "unreview"))], broken)


def test_the_same_race_through_the_rest_api(app, ctx, api):
    """The outside test's requests as sent: POST …/ivd_area_report/<city>/submit and
    POST …/ivd_hospital_report/<hospital>/unreview by ty_ybj at the same instant."""
    pid = _running_project()
    city = ivd_queries.area_report(pid, "140100")
    counted = [h.id for h in _hospitals(pid, city_code="140100") if h.state != "exempt"]
    target = next(h.id for h in _hospitals(pid, city_code="140100")
                  if h.organization_id == user("ty_hosp2").organization_id)
    client, headers = api("ty_ybj")

    def post(path):
        def fire(_actor):
            r = client.post(path, headers=headers, json={})
            if r.status_code != 200:
                raise Refusal(r.json.get("message", ""), status=r.status_code)
        return fire

    def reset():
        _put(IvdHospitalReport, counted, state="approved")
        _put(IvdAreaReport, [city.id], state="draft")

    def broken():
        if db.session.get(IvdAreaReport, city.id).state != "submitted":
            return None
        waiting = ivd_queries.hospitals_not_approved(pid, "140100")
        return [f"{h.organization.name} {h.state}" for h in waiting] or None

    _rounds(app, reset, [("ty_ybj", post(f"/api/v1/ivd_area_report/{city.id}/submit")),
                         ("ty_ybj", post(f"/api/v1/ivd_hospital_report/{target}/unreview"))],
            broken)


def test_province_submit_and_a_city_unreview_at_once_one_wins(app, ctx):
    pid = _running_project()
    province = ivd_queries.area_report(pid, "140000")
    files.attach(province, ivd_rules.STAMPED_SUMMARY, demo_pdf("盖章汇总"), user("sx_ybj"))
    cities = db.session.execute(select(IvdAreaReport.id).where(
        IvdAreaReport.project_id == pid, IvdAreaReport.province_code == "140000",
        IvdAreaReport.level == "city")).scalars().all()
    taiyuan = ivd_queries.area_report(pid, "140100").id
    db.session.commit()

    def reset():
        _put(IvdAreaReport, cities, state="approved")
        _put(IvdAreaReport, [province.id], state="draft")

    def broken():
        if db.session.get(IvdAreaReport, province.id).state != "submitted":
            return None
        return [r.name for r in ivd_queries.cities_not_approved(pid, "140000")] or None

    _rounds(app, reset, [("sx_ybj", _fire(IvdAreaReportFlow, province.id, "submit")),
                         ("sx_ybj", _fire(IvdAreaReportFlow, taiyuan, "unreview"))], broken)


def test_hospital_submit_and_its_own_stash_at_once_one_wins(app, ctx):
    """提交 checks the lines (a change beyond the threshold needs its 增降幅说明); 暂存 needs
    the report not submitted. A line changed beyond the threshold while the report is being
    submitted must not end up in a submitted report."""
    pid = _running_project()
    report = next(h for h in _hospitals(pid, city_code="140100")
                  if h.organization_id == user("ty_mch").organization_id)
    line = db.session.execute(select(IvdReportLine).where(
        IvdReportLine.report_id == report.id, IvdReportLine.in_use.is_(True),
        IvdReportLine.last_year_qty > 0, IvdReportLine.change_note.is_(None))
        .order_by(IvdReportLine.id)).scalars().first()
    was = line.next_year_qty
    beyond = [{"item_id": line.item_id, "last_year_qty": line.last_year_qty,
               "next_year_qty": line.last_year_qty * 5, "in_use": "1"}]

    def reset():
        _put(IvdReportLine, [line.id], next_year_qty=was)
        _put(IvdHospitalReport, [report.id], state="unsubmitted")

    def broken():
        mine = db.session.get(IvdHospitalReport, report.id)
        if mine.state != "submitted":
            return None
        return [str(p) for p in ivd_rules.submission_problems(mine)] or None

    def stash(actor):
        ivd_commands.save_lines(db.session.get(IvdHospitalReport, report.id), beyond, actor)

    _rounds(app, reset, [("ty_mch", _fire(IvdHospitalReportFlow, report.id, "submit")),
                         ("ty_mch", stash)], broken)


# ---- 基本公卫 ------------------------------------------------------------------------------------
def test_county_confirm_and_a_unit_sent_back_at_once_one_wins(app, ctx):
    """确认并上报 needs every unit 通过; the county's 不通过 of a unit needs it not yet
    confirmed."""
    xiaodian_units_ready()
    county = phs_report("xd_county", create=True)
    db.session.commit()
    units = [r.id for r in phs_queries.reports_of_orgs(
        county.task_id, phs_queries.subordinates_of(county.organization))]

    def reset():
        _put(PhsReport, units, state="approved", aggregate_id=None)
        _put(PhsReport, [county.id], state="draft", aggregated_at=None, submitted_at=None)

    def broken():
        if db.session.get(PhsReport, county.id).state != "submitted":
            return None
        return [r.id for r in map(lambda pk: db.session.get(PhsReport, pk), units)
                if r.state != "approved"] or None

    _rounds(app, reset, [
        ("xd_county", _fire(PhsReportFlow, county.id, "confirm")),
        ("xd_county", _fire(PhsReportFlow, units[0], "reject", {"comment": "经纬度有误"}))],
        broken)


def test_city_confirm_and_a_county_sent_back_at_once_one_wins(app, ctx):
    """The city's 确认并上报 needs every county reported; its 退回 of a county needs the
    city's report not yet confirmed."""
    xiaodian_reported()
    counties = [phs_report(login).id for login in ("xd_county", "yz_county")]
    city = phs_report("ty_hc", create=True)
    db.session.commit()

    def reset():
        _put(PhsReport, counties, state="approved", aggregate_id=None)
        _put(PhsReport, [city.id], state="draft", aggregated_at=None, submitted_at=None)

    def broken():
        if db.session.get(PhsReport, city.id).state != "submitted":
            return None
        return [pk for pk in counties
                if db.session.get(PhsReport, pk).state not in ("submitted", "approved")] or None

    _rounds(app, reset, [
        ("ty_hc", _fire(PhsReportFlow, city.id, "confirm")),
        ("ty_hc", _fire(PhsReportFlow, counties[1], "send_back", {"comment": "再核实"}))],
        broken)


# ---- 疾病应急救助 数据上报 ---------------------------------------------------------------------------
def _relief_report(task_id, login, reviewer, state, n):
    org = user(login).organization
    row = ReliefReport(task_id=task_id, organization_id=org.id, state=state, kind="unit",
                       reviewer_org_id=reviewer.id, apps_total=n,
                       amount_requested=Decimal(f"{n}.25"))
    row.copy_scope_from(org)
    db.session.add(row)
    db.session.flush()
    return row.id


def test_aggregate_a_child_sent_back_and_a_late_approval_at_once(app, ctx):
    """数据汇总 sums the approved reports below; 退回 of one of them needs it not aggregated;
    a report approved meanwhile is either summed and linked, or neither. Any two may succeed
    (退回 first, then 汇总 without it): what must hold is the aggregate."""
    task = ReliefReportTask(name="并发汇总", period_start=dt.date(2025, 1, 1),
                            period_end=dt.date(2025, 12, 31))
    db.session.add(task)
    db.session.flush()
    agency = user("ty_agency").organization
    first, second = (_relief_report(task.id, login, agency, "approved", n)
                     for login, n in (("ty_hosp1", 3), ("ty_hosp2", 5)))
    late = _relief_report(task.id, "ty_mch", agency, "submitted", 7)
    task_id = task.id
    db.session.commit()

    def reset():
        _put(ReliefReport, [first, second], state="approved", aggregate_id=None)
        _put(ReliefReport, [late], state="submitted", aggregate_id=None)
        mine = ReliefReportFlow.own_report(task_id, agency.id)
        if mine is not None:
            _put(ReliefReport, [mine.id], state="draft", aggregated_at=None)

    def broken():
        mine = ReliefReportFlow.own_report(task_id, agency.id)
        if mine is None or mine.aggregated_at is None:
            return None
        kids = ReliefReportFlow.children(mine)
        if any(k.state != "approved" for k in kids):
            return [(k.id, k.state) for k in kids]
        summed = (sum(k.apps_total for k in kids), sum(k.amount_requested for k in kids))
        if (mine.apps_total, mine.amount_requested) != summed:
            return f"汇总 {mine.apps_total}/{mine.amount_requested} ≠ {summed}"
        return None

    def aggregate(actor):
        ReliefReportFlow.aggregate(db.session.get(ReliefReportTask, task_id), actor)

    _rounds(app, reset, [
        ("ty_agency", aggregate),
        ("ty_agency", _fire(ReliefReportFlow, first, "send_back", {"comment": "请核对"})),
        ("ty_agency", _fire(ReliefReportFlow, late, "approve"))], broken, exclusive=())


# ---- 疾病应急救助 attachments ------------------------------------------------------------------
def test_submit_and_removing_its_required_file_at_once_one_wins(app, ctx):
    """提交 checks the required files; removing one locks the application first and asks
    again, so the application never goes out without its 病案首页."""
    from app.demo import demo_zip
    from app.models.files import Attachment
    from app.models.relief import ReliefApplication
    from app.services import files as file_service
    from app.services.relief import commands as relief_commands
    from app.workflows.relief import SLOTS, ReliefApplicationFlow
    from tests.conftest import make_application
    pk = make_application(patient_name="并发附件")
    first = SLOTS[0]

    def current_file():
        return db.session.execute(select(Attachment).where(
            Attachment.owner_type == ReliefApplication.__tablename__,
            Attachment.owner_id == pk, Attachment.slot == first.name)).scalars().first()

    def reset():
        _put(ReliefApplication, [pk], state="draft")
        if current_file() is None:
            file_service.attach(db.session.get(ReliefApplication, pk), first,
                                demo_zip(first.name), user("ty_hosp1"))

    def remove(actor):
        item = db.session.get(ReliefApplication, pk)
        relief_commands.remove_file(actor, item, current_file(),
                                    lambda application: application.state == "draft")

    def broken():
        item = db.session.get(ReliefApplication, pk)
        if item.state == "submitted" and current_file() is None:
            return "submitted without its 病案首页"
        return None

    _rounds(app, reset, [("ty_hosp1", _fire(ReliefApplicationFlow, pk, "submit")),
                         ("ty_hosp1", remove)], broken)

