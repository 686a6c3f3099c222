"""我的待办 for every role of every module (issue 18 item 10): each demo login sees the to-dos
of its roles, every count links to a page that opens, and the page behind a count shows
the records counted (IVD hospitals and reviewers, 基本公卫 units and areas, 机构信息维护
maintainers, 数据上报 reviewers)."""
import html
import re

import pytest

TODO = re.compile(r'todo-count">(\d+)</div><a href="([^"]+)">([^<]+)</a>')

DEMO_LOGINS = ["admin", "nhc", "sx_hc", "sx_agency", "sx_ybj", "ty_hc", "ty_agency", "ty_ybj",
               "yc_agency", "ty_hosp1", "ty_hosp2", "ty_hosp3", "ty_mch", "yc_hosp1",
               "yc_hosp2", "sx_hosp", "xd_county", "xd_town1", "xd_town2", "ty_employer",
               "yc_ybj", "sx_sbj", "ty_maint", "ty_maint2", "reg_demo", "yz_county", "yc_hc",
               "yh_county", "1401050008"]


def todos_of(client):
    page = client.get("/").get_data(as_text=True)
    return {label: (int(n), html.unescape(url)) for n, url, label in TODO.findall(page)}


@pytest.mark.parametrize("login", DEMO_LOGINS)
def test_every_demo_login_has_todos_whose_links_open(login_as, login):
    client = login_as(login)
    todos = todos_of(client)
    assert todos, f"{login} sees no to-do"
    for label, (_count, url) in todos.items():
        assert client.get(url).status_code == 200, (login, label, url)


@pytest.mark.parametrize("login, label, count", [
    ("ty_hosp1", "体外诊断试剂报量 · 报量未提交", 1),
    ("ty_hosp3", "体外诊断试剂报量 · 报量审核不通过", 1),
    ("ty_hosp3", "体外诊断试剂报量 · 报量未提交", 0),
    ("xd_town2", "体外诊断试剂报量 · 报量未提交", 1),        # no report row yet
    ("sx_sbj", "体外诊断试剂报量 · 本市报量待提交", 1),
    ("yc_ybj", "体外诊断试剂报量 · 本市报量待提交", 0),       # 运城市 has submitted
    ("sx_ybj", "体外诊断试剂报量 · 本省报量待提交", 1),
    ("admin", "体外诊断试剂报量 · 各省报量已提交", 0),
    ("1401050008", "基本公卫 · 不通过的机构信息", 1),
    ("xd_town1", "基本公卫 · 待上报的机构信息", 1),
    ("xd_county", "基本公卫 · 本级待确认并上报", 1),
    ("yz_county", "基本公卫 · 本级待确认并上报", 0),         # reported to 太原市
    ("ty_maint", "机构信息维护 · 待提交的人员信息", 1),
    ("ty_maint", "机构信息维护 · 审核不通过的人员信息", 0),
])
def test_the_counts_of_the_new_todos(login_as, login, label, count):
    todos = todos_of(login_as(login))
    # a sent-back to-do carries its reason after the label: 不通过的机构信息（原因：…）
    found = [v for k, v in todos.items() if k == label or k.startswith(label + "（原因：")]
    assert [n for n, _ in found] == [count], todos


@pytest.mark.parametrize("login, label, shown, hidden", [
    ("ty_ybj", "体外诊断试剂报量 · 报量待审核", "太原市妇幼保健院", "太原市第三人民医院"),
    ("sx_ybj", "体外诊断试剂报量 · 各市报量待审核", "运城市", "太原市"),
    ("xd_town1", "基本公卫 · 信息不完整的机构", "小店区北格镇张花村卫生室",
     "小店区北格镇北格村卫生室"),
    ("ty_maint", "机构信息维护 · 待提交的人员信息", "赵丽", "李明"),
    ("ty_agency", "疾病应急救助 · 待审核的上报数据（2026年上半年）", "太原市中心医院",
     "太原市第一人民医院"),
])
def test_a_count_links_to_the_records_it_counts(login_as, login, label, shown, hidden):
    client = login_as(login)
    count, url = todos_of(client)[label]
    assert count == 1
    page = client.get(url).get_data(as_text=True)
    body = page.split("<tbody", 1)[-1]
    assert shown in body and hidden not in body, url


def test_a_hospital_report_sent_back_shows_on_the_hospital_and_leaves_the_city_queue(login_as, ctx):
    """审核不通过 by 太原市医保局: the reviewer's 待审核 drops, the hospital's 审核不通过 rises."""
    from app.extensions import db
    from app.models.ivd import IvdHospitalReport
    from app.models.core import Organization
    from app.workflows.engine import apply
    from app.workflows.ivd import IvdHospitalReportFlow
    from tests.conftest import user
    reviewer = login_as("ty_ybj")
    assert todos_of(reviewer)["体外诊断试剂报量 · 报量待审核"][0] == 1
    mch = db.session.execute(db.select(Organization).where(
        Organization.name == "太原市妇幼保健院")).scalar_one()
    report = db.session.execute(db.select(IvdHospitalReport).where(
        IvdHospitalReport.organization_id == mch.id)).scalars().first()
    apply(IvdHospitalReportFlow, report, "reject", user("ty_ybj"), {"comment": "数量有误"})
    assert todos_of(reviewer)["体外诊断试剂报量 · 报量待审核"][0] == 0
    assert todos_of(login_as("ty_mch"))["体外诊断试剂报量 · 报量审核不通过"][0] == 1
