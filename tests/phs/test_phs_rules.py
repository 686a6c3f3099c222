"""基本公卫 rules and commands through the services (SPEC H1–H4): what “complete” means and
when 上报 is allowed, the checks on each data item, scope, the county's 新增 (a unit with its
account) and 机构隶属关系维护, all or nothing."""

import pytest
from sqlalchemy import func, select
from werkzeug.exceptions import NotFound
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import Organization, User
from app.models.phs import DATA_ITEMS, PhsInstitution
from app.scope import scoped_get, scoped_query
from app.services import accounts
from app.services.parameters import param
from app.services.phs import commands, queries, rules
from app.services.phs.rules import UNIT
from app.workflows.engine import Refusal, apply
from app.workflows.phs import PhsReportFlow
from tests.conftest import user
from phs_flow_support import (GOOD, count, fire, inst, org_of, refused, report, role_names,
                              unit_account)


# ---- completeness -------------------------------------------------------------------------------


@pytest.mark.parametrize("item,blank", [
    ("name", {"name": None}), ("code", {"code": None}), ("contact", {"contact": None}),
    ("phone", {"phone": None}), ("address", {"address_detail": None}),
    ("inst_type", {"inst_type": None}), ("sponsor", {"sponsor": None}),
    ("coordinates", {"longitude": None}), ("coordinates", {"latitude": None}),
    ("superior", {"superior_org_id": None}), ("services", {"services": None}),
])
def test_missing_items_names_each_missing_item(ctx, item, blank):
    row = inst("小店区北格镇北格村卫生室")
    assert queries.missing_items(row) == []
    with db.session.no_autoflush:
        for name, value in blank.items():
            setattr(row, name, value)
        assert queries.missing_items(row) == [str(DATA_ITEMS[item])]
    db.session.rollback()


def test_saving_an_incomplete_item_marks_the_institution_incomplete(ctx):
    row = inst("小店区北格镇北格村卫生室")
    assert row.is_complete
    commands.save(row, {"services": []}, user("xd_town1"))
    db.session.expire_all()
    assert not inst("小店区北格镇北格村卫生室").is_complete


def test_submit_refused_listing_every_incomplete_institution(ctx):
    town1 = user("xd_town1")
    commands.save(inst("小店区北格镇卫生院"), {"contact": ""}, town1)      # the unit itself too
    target = report(town1.organization, create=True)
    audits = count(AuditLog)
    exc = refused(PhsReportFlow, target, "submit", "xd_town1")
    assert "小店区北格镇卫生院：缺联系人" in exc.message
    assert "小店区北格镇张花村卫生室：缺经纬度、承担项目内容" in exc.message
    assert "北格村卫生室" not in exc.message                     # complete: not listed
    assert report(town1.organization).state == "draft"
    assert report(town1.organization).reviewer_org_id is None
    assert count(AuditLog) == audits


def test_submit_succeeds_once_everything_is_complete(ctx):
    town1 = user("xd_town1")
    commands.save(inst("小店区北格镇张花村卫生室"), GOOD, town1)
    fire(PhsReportFlow, report(town1.organization, create=True), "submit", town1)
    mine = report(town1.organization)
    assert mine.state == "submitted" and mine.reviewer_org_id == org_of("xd_county").id
    assert mine.state_label == "已上报"


def test_a_reported_unit_can_no_longer_edit(ctx):
    xwz = unit_account("小店区西温庄乡卫生院")                       # 已上报
    with pytest.raises(Refusal) as exc:
        commands.save(inst("小店区西温庄乡西温庄村卫生室"), {"contact": "别人"}, xwz)
    assert "已上报" in exc.value.message
    db.session.expire_all()
    assert inst("小店区西温庄乡西温庄村卫生室").contact == "联系人21"


# ---- the checks on each data item (clean_fields) -----------------------------------------------


@pytest.mark.parametrize("changes,field,message", [
    ({"phone": "7654321"}, "phone", "固定电话需包含区号，如 0351-1234567"),
    ({"phone": "1391234567"}, "phone", "手机号码应为11位（当前10位）"),
    ({"longitude": "12.5"}, "coordinates", "经纬度不在中国境内"),
    ({"longitude": "-73.0", "latitude": "-40.7"}, "coordinates", "经纬度不在中国境内"),
    ({"longitude": "37.73", "latitude": "112.56"}, "coordinates", "经度和纬度是否填反了"),
    ({"latitude": ""}, "coordinates", "经度和纬度需同时填写"),
    ({"longitude": ""}, "coordinates", "经度和纬度需同时填写"),
    ({"inst_type": "hospital_x"}, "inst_type", "请从列表中选择机构类型"),
    ({"sponsor": "9"}, "sponsor", "主办类型只能是政府办、社会办或私人办"),
    ({"services": ["01", "99"]}, "services", "未知的服务项目：99"),
    ({"name": ""}, "name", "请填写机构名称"),
    ({"code": "编码1"}, "code", "机构编码只能包含字母、数字和“-”"),
])
def test_clean_fields_refuses_each_bad_item_with_a_chinese_message(ctx, changes, field,
                                                                   message):
    values, errors = rules.clean_fields({**GOOD, **changes})
    assert list(errors) == [field]
    assert any(message in str(m) for m in errors[field]), errors


@pytest.mark.parametrize("phone,stored", [("0351-7654321", "0351-7654321"),
                                          ("13912345678", "13912345678")])
def test_clean_fields_accepts_landline_with_area_code_and_mobile(ctx, phone, stored):
    values, errors = rules.clean_fields({**GOOD, "phone": phone})
    assert errors == {} and values["phone"] == stored
    assert values["services"] == "01,02,07"


def test_a_bad_item_saves_nothing(ctx):
    row = inst("小店区北格镇张花村卫生室")
    with pytest.raises(Refusal) as exc:
        commands.save(row, {**GOOD, "phone": "7654321"}, user("xd_town1"))
    assert exc.value.status == 422 and "固定电话需包含区号" in exc.value.message
    db.session.expire_all()
    row = inst("小店区北格镇张花村卫生室")
    assert (row.contact, row.phone, row.longitude) == ("联系人03", "0351-7600003", None)


# ---- scope --------------------------------------------------------------------------------------


def test_township_cannot_load_another_townships_village_clinic(ctx):
    town1 = user("xd_town1")
    assert scoped_get(PhsInstitution, inst("小店区北格镇张花村卫生室").id, town1).tier == "station"
    with pytest.raises(NotFound):
        scoped_get(PhsInstitution, inst("小店区西温庄乡西温庄村卫生室").id, town1)
    other = report(inst("小店区西温庄乡卫生院").organization)
    with pytest.raises(NotFound):
        apply(PhsReportFlow, other.id, "withdraw", town1)
    db.session.expire_all()
    assert report(inst("小店区西温庄乡卫生院").organization).state == "submitted"


def test_county_sees_its_county_only(ctx):
    xd = user("xd_county")
    seen = db.session.execute(scoped_query(PhsInstitution, xd)).scalars().all()
    assert {r.county_code for r in seen} == {"140105"} and len(seen) == 11
    with pytest.raises(NotFound):
        scoped_get(PhsInstitution, inst("迎泽区郝庄镇卫生院").id, xd)
    with pytest.raises(NotFound):             # nor review another county's unit
        apply(PhsReportFlow, report(inst("迎泽区郝庄镇卫生院").organization).id, "reject", xd,
              {"comment": "x"})


# ---- 新增 and 机构隶属关系维护 (the county) -----------------------------------------------


def test_county_adds_a_unit_with_its_organisation_and_account(ctx):
    xd = user("xd_county")
    added = commands.add_institution(xd, {"name": "小店区新镇卫生院", "township": "新镇"})
    org = db.session.get(Organization, added.organization_id)
    assert org.name == "小店区新镇卫生院" and org.county_code == "140105"
    assert (added.tier, added.superior_org_id, added.source_org_id) == ("unit", xd.organization_id,
                                                                        org.id)
    account = db.session.execute(select(User).where(User.organization_id == org.id)).scalar_one()
    assert account.username == org.unit_code
    assert queries.login_names([org.id]) == {org.id: org.unit_code}
    assert check_password_hash(account.password, param("initial_password"))
    assert account.must_change_password
    assert UNIT in role_names(account)
    assert org.id in [o.id for o in queries.subordinates_of(xd.organization)]
    assert not added.is_complete                      # the unit fills the rest itself


def test_county_add_needs_a_township_and_creates_nothing_without(ctx):
    before = (count(PhsInstitution), count(Organization), count(User))
    with pytest.raises(Refusal) as exc:
        commands.add_institution(user("xd_county"), {"name": "小店区无乡镇卫生院"})
    assert exc.value.status == 422 and "请填写所在乡镇" in exc.value.message
    assert (count(PhsInstitution), count(Organization), count(User)) == before


@pytest.mark.parametrize("other", ["unknown", "ty_hosp2"])
def test_attach_existing_is_all_or_nothing(ctx, other):
    town2 = org_of("xd_town2")
    other_id = 999999 if other == "unknown" else org_of(other).id     # or another county's
    with pytest.raises(Refusal) as exc:
        commands.attach_existing(user("xd_county"), [town2.id, other_id], org_of("xd_county").id)
    assert exc.value.status == 404
    db.session.expire_all()
    assert db.session.execute(select(PhsInstitution).where(
        PhsInstitution.source_org_id == town2.id)).first() is None
    assert UNIT not in role_names(user("xd_town2"))


def test_attach_existing_under_the_county_makes_units_and_gives_their_accounts_the_role(ctx):
    county = org_of("xd_county")
    hosp = org_of("ty_hosp1")                   # two accounts: ty_hosp1 and ty_maint
    made = commands.attach_existing(user("xd_county"), [org_of("xd_town2").id, hosp.id], county.id)
    assert [(m.tier, m.superior_org_id) for m in made] == [("unit", county.id)] * 2
    for login in ("xd_town2", "ty_hosp1", "ty_maint"):
        assert UNIT in role_names(user(login)), login
    assert made[0].organization_id == org_of("xd_town2").id
    # What is left unattached is the registry demo's clinic of 小店区, not the two above.
    assert [o.name for o in queries.unattached_orgs(county)] == ["太原康宁口腔诊所"]
    assert {o.id for o in queries.subordinates_of(county)} >= {org_of("xd_town2").id, hosp.id}


def test_attach_existing_under_a_unit_makes_a_station(ctx):
    town1 = org_of("xd_town1")
    [row] = commands.attach_existing(user("xd_county"), [org_of("ty_hosp1").id], town1.id)
    assert (row.tier, row.organization_id, row.superior_org_id) == ("station", town1.id,
                                                                    town1.id)
    assert row.source_org_id == org_of("ty_hosp1").id
    assert UNIT not in role_names(user("ty_hosp1"))
    assert scoped_get(PhsInstitution, row.id, user("xd_town1")).id == row.id


def test_renaming_a_unit_renames_its_account_organisation(ctx):
    town1 = user("xd_town1")
    own = queries.unit_institution(town1.organization)
    commands.save(own, {"name": "小店区北格镇中心卫生院"}, town1)
    db.session.expire_all()
    assert user("xd_town1").organization.name == "小店区北格镇中心卫生院"


def test_county_add_refused_cleanly_when_the_generated_login_is_taken(ctx):
    county = user("xd_county")
    taken = accounts.next_unit_code(county.organization.region)    # the login it would get
    accounts.create_user(None, user("ty_hosp1").organization, taken, "同名账号")
    db.session.commit()
    orgs = db.session.scalar(select(func.count(Organization.id)))
    with pytest.raises(Refusal) as exc:
        commands.add_institution(county, {"name": "小店区重名卫生院", "township": "重名乡"})
    assert exc.value.status == 422 and taken in exc.value.message
    assert db.session.scalar(select(func.count(Organization.id))) == orgs
