"""Summary tables (issue 8 item 3): kept in the same transaction as every change, equal to a
recount after random operations, `flask check-summaries` finds and fixes a difference,
and the screens that read them (救助数据统计, 我的待办) show the records' figures."""
import random
from decimal import Decimal

from sqlalchemy import func, select, text, update

from app.extensions import db
from app.models.relief import ReliefApplication, ReliefSummary
from app.summaries import differences
from app.workflows import engine
from app.workflows.engine import Refusal
from app.workflows.relief import ReliefApplicationFlow
from tests.conftest import make_application, user


def _differences():
    db.session.commit()
    with db.engine.connect() as conn:
        return differences(conn)


def test_random_operations_leave_every_summary_equal_to_a_recount(app, ctx):
    rng = random.Random(20261125)
    hosp, agency = user("ty_hosp1"), user("ty_agency")
    pks = [make_application(with_files=True) for _ in range(6)]
    moves = [("submit", hosp, {}), ("withdraw", hosp, {}), ("approve", agency, {"poverty": "1"}),
             ("send_back", agency, {"comment": "补充材料"}), ("delete", hosp, {}),
             ("reject", agency, {"comment": "不符合"}),
             ("disburse", agency, {"disbursed_amount": "50.00"})]
    for _ in range(60):
        name, actor, data = rng.choice(moves)
        try:
            engine.apply(ReliefApplicationFlow, rng.choice(pks), name, actor, dict(data))
        except Refusal:
            db.session.rollback()
    # ORM edits of measured and key columns, a Core bulk update and a Core delete.
    item = db.session.get(ReliefApplication, pks[0])
    item.requested_amount = Decimal("88.80")
    db.session.commit()
    item.category = "unidentified"        # a key column alone
    db.session.commit()
    db.session.execute(update(ReliefApplication).where(ReliefApplication.id == pks[1])
                       .values(county_code="140106", city_code="140100"))
    db.session.execute(text("DELETE FROM attachment WHERE owner_type = 'relief_application' "
                            "AND owner_id = :i"), {"i": pks[2]})
    db.session.execute(text("DELETE FROM relief_application WHERE id = :i"), {"i": pks[2]})
    assert _differences() == []
    # Something did move: more than one state among the rows.
    states = set(db.session.execute(select(ReliefApplication.state).where(
        ReliefApplication.id.in_(pks))).scalars())
    assert len(states) > 1, states


def test_check_summaries_reports_a_difference_and_fix_repairs_it(app, ctx):
    db.session.execute(update(ReliefSummary).where(ReliefSummary.state == "draft")
                       .values(n=ReliefSummary.n + 5))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["check-summaries"])
    assert result.exit_code == 1 and "relief_summary" in result.output, result.output
    result = runner.invoke(args=["check-summaries", "--fix"])
    assert result.exit_code == 0 and "summary differences: 0" in result.output, result.output
    assert _differences() == []


def _record_counts(where):
    A = ReliefApplication
    return dict(db.session.execute(select(A.state, func.count()).where(where)
                                   .group_by(A.state)).all())


def test_statistics_screen_shows_the_records_figures_by_area(app, ctx, login_as):
    pk = make_application()
    engine.apply(ReliefApplicationFlow, pk, "submit", user("ty_hosp1"))
    A = ReliefApplication
    shanxi = _record_counts(A.province_code == "140000")
    page = login_as("nhc").get("/relief/statistics/").get_data(as_text=True)
    assert "山西省" in page and "救助数据统计" in page
    row = page.split("山西省</a>")[1].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
    states = ("draft", "submitted", "returned", "approved", "rejected", "disbursed")
    assert [int(c) for c in cells[:6]] == [shanxi.get(s, 0) for s in states]
    assert int(cells[6]) == sum(shanxi.get(s, 0) for s in states)
    # Drill down: 山西省 → its cities; 太原 → counties; a county → institutions.
    page = login_as("nhc").get("/relief/statistics/?area=140000").get_data(as_text=True)
    assert "太原市" in page and "运城市" in page
    page = login_as("nhc").get("/relief/statistics/?area=140100").get_data(as_text=True)
    assert "小店区" in page and 'href="/relief/statistics/?area=140000"' in page   # 返回上一级
    page = login_as("ty_agency").get("/relief/statistics/").get_data(as_text=True)
    assert "小店区" in page or "迎泽区" in page
    # Outside the caller's scope, or not an area: 404.
    assert login_as("ty_agency").get("/relief/statistics/?area=140800").status_code == 404
    assert login_as("ty_agency").get("/relief/statistics/?area=zzz").status_code == 404
    page = login_as("ty_hosp1").get("/relief/statistics/").get_data(as_text=True)
    assert "太原市第一人民医院" in page and "太原市中心医院" not in page


def _todo(page, label):
    """The count on the home page's card `label`, e.g. 疾病应急救助 · 待提交."""
    import re
    found = re.search(r'todo-count">(\d+)</div><a href="[^"]*">' + re.escape(label), page)
    assert found, label
    return int(found.group(1))


def test_home_counts_follow_the_records(app, ctx, login_as):
    A = ReliefApplication
    hosp, agency = user("ty_hosp1"), user("ty_agency")
    pk = make_application()
    drafts = _record_counts(A.organization_id == hosp.organization_id).get("draft", 0)
    assert drafts >= 1
    page = login_as("ty_hosp1").get("/").get_data(as_text=True)
    assert _todo(page, "疾病应急救助 · 待提交") == drafts
    waiting = _record_counts(A.reviewer_org_id == agency.organization_id).get("submitted", 0)
    page = login_as("ty_agency").get("/").get_data(as_text=True)
    assert _todo(page, "疾病应急救助 · 待审核") == waiting
    engine.apply(ReliefApplicationFlow, pk, "submit", hosp)
    assert _todo(login_as("ty_hosp1").get("/").get_data(as_text=True),
                 "疾病应急救助 · 待提交") == drafts - 1
    assert _todo(login_as("ty_agency").get("/").get_data(as_text=True),
                 "疾病应急救助 · 待审核") == waiting + 1
    assert _differences() == []


def test_every_summary_has_its_triggers_after_the_migrations(app, ctx):
    from app.summaries import SUMMARIES
    if db.engine.dialect.name == "postgresql":
        names = set(db.session.execute(text(
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")).scalars())
        wanted = {f"trg_{s.table}_{k}" for s in SUMMARIES for k in ("write", "upd")}
    else:
        names = set(db.session.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
        wanted = {f"trg_{s.table}_{k}" for s in SUMMARIES for k in ("ins", "del", "upd")}
    assert {s.table for s in SUMMARIES} == {"relief_summary", "ivd_summary", "phs_progress"}
    assert wanted <= names, wanted - names
