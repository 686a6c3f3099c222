"""基本公卫 screens (SPEC H2–H6) through the browser's requests: the township fills and
上报, the county reviews and 确认并上报, city → province → national, a change request
after reporting, and every bad input of the issue on the screens."""
import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.phs import PhsChangeRequest, PhsInstitution, PhsReport
from app.services.phs import commands, queries
from app.workflows.engine import apply
from app.workflows.phs import PhsReportFlow
from tests.conftest import flashes, user
from phs_flow_support import xiaodian_settled

GOOD = {"name": "小店区北格镇张花村卫生室", "code": "PDY0000314010511A1001", "contact": "张医生",
        "phone": "13912345678", "township": "", "address_detail": "张花村1号",
        "inst_type": "village_clinic", "sponsor": "1", "longitude": "112.560000",
        "latitude": "37.730000", "services": ["01", "02", "07"]}


def inst(name):
    return db.session.execute(select(PhsInstitution).where(PhsInstitution.name == name)) \
        .scalar_one()


def report(login_or_org):
    org = user(login_or_org).organization if isinstance(login_or_org, str) else login_or_org
    return queries.report_of(org, create=False)


def text(r):
    return r.get_data(as_text=True)


def flashed(r, status=200):
    """The flashes of a (followed) response, which must have this status."""
    assert r.status_code == status, text(r)[:300]
    return flashes(r)


def unit_login(name):
    return queries.login_names([inst(name).organization_id])[inst(name).organization_id]


@pytest.mark.parametrize("login,url,expect", [
    ("xd_town1", "/phs/institutions/list/", "小店区北格镇张花村卫生室"),
    ("xd_county", "/phs/institutions/list/", "本县新增机构及账号"),
    ("xd_county", "/phs/review/", "小店区西温庄乡卫生院"),
    ("xd_county", "/phs/affiliation/", "小店区黄陵乡卫生院"),
    ("xd_county", "/phs/progress/", "小店区北格镇卫生院"),
    ("xd_county", "/phs/changes/new", "申请类型"),
    ("ty_hc", "/phs/review/", "迎泽区卫生健康局"),
    ("ty_hc", "/phs/progress/", "迎泽区郝庄镇卫生院"),
    ("sx_hc", "/phs/review/", "运城市卫生健康委员会"),
    ("sx_hc", "/phs/progress/", "盐湖区卫生健康局"),
    ("nhc", "/phs/progress/", "山西省卫生健康委员会"),
    ("yc_hc", "/phs/changes/list/", "盐湖区龙居镇卫生院"),
])
def test_screens_render_for_each_level(login_as, ctx, login, url, expect):
    r = login_as(login).get(url)
    assert r.status_code == 200, text(r)[:300]
    assert expect in text(r)


def test_county_sees_login_names_of_units_it_added(login_as, ctx):
    r = login_as("xd_county").get("/phs/institutions/list/")
    assert unit_login("小店区西温庄乡卫生院") in text(r)


def test_township_form_shows_what_is_missing_and_saves_incomplete(login_as, ctx):
    c = login_as("xd_town1")
    target = inst("小店区北格镇张花村卫生室")
    page = text(c.get(f"/phs/institutions/{target.id}/fill"))
    assert "经纬度" in page and "承担项目内容" in page and "尚缺" in page
    assert page.count('name="services"') == 15
    r = c.post(f"/phs/institutions/{target.id}/fill", data={**GOOD, "longitude": "",
                                                            "latitude": "", "services": []})
    assert r.status_code == 302
    db.session.expire_all()
    assert inst("小店区北格镇张花村卫生室").contact == "张医生"
    assert not inst("小店区北格镇张花村卫生室").is_complete


@pytest.mark.parametrize("field,value,message", [
    ("phone", "1391234567", "手机号码应为11位"),
    ("phone", "7654321", "固定电话需包含区号"),
    ("longitude", "12.5", "经纬度不在中国境内"),
    ("inst_type", "hospital_x", "请从列表中选择机构类型"),
    ("name", "", "请填写机构名称"),
])
def test_bad_items_are_refused_and_nothing_saved(login_as, ctx, field, value, message):
    c = login_as("xd_town1")
    target = inst("小店区北格镇张花村卫生室")
    before = (target.contact, target.phone)
    r = c.post(f"/phs/institutions/{target.id}/fill", data={**GOOD, field: value,
                                                            "contact": "刚输入的联系人"})
    # the same form again, 422, with what was typed and the message
    assert r.status_code == 422 and message in text(r)
    assert 'value="刚输入的联系人"' in r.get_data(as_text=True)
    db.session.expire_all()
    after = inst("小店区北格镇张花村卫生室")
    assert (after.contact, after.phone) == before


def test_a_refused_form_shows_each_message_beside_its_field_with_what_was_typed(login_as, ctx):
    c = login_as("xd_town1")
    target = inst("小店区北格镇张花村卫生室")
    r = c.post(f"/phs/institutions/{target.id}/fill",
               data={**GOOD, "phone": "7654321", "contact": "王五"})
    assert r.status_code == 422
    page = text(r)
    assert 'value="7654321"' in page and 'value="王五"' in page
    phone = re.search(r'<div class="form-group has-error">.*?</div>\s*</div>', page,
                      re.S).group(0)
    assert 'name="phone"' in phone and '<span class="help-block">固定电话需包含区号' in phone
    assert "请检查填写的信息" in flashes(r)


def test_a_refused_affiliation_keeps_what_was_chosen(login_as, ctx):
    c = login_as("xd_county")
    town1 = user("xd_town1").organization          # a unit: the superior of a station
    r = c.post("/phs/affiliation/", data={"superior": str(town1.id)})
    assert r.status_code == 422
    assert "请至少选择一个机构" in text(r)
    assert re.search(rf'<option selected value="{town1.id}">', text(r))


def test_a_refused_button_flashes_the_message_and_goes_back(login_as, ctx):
    c = login_as("xd_town1")
    back = "http://localhost/phs/institutions/list/"
    r = c.post("/phs/institutions/report/withdraw", headers={"Referer": back})
    assert r.status_code == 302 and r.headers["Location"] == back
    r = c.get(r.headers["Location"])
    assert r.status_code == 200 and "当前状态为“待上报”，不能撤回" in flashes(r)
    assert report("xd_town1").state == "draft"


def test_report_refused_while_a_station_is_incomplete_then_allowed(login_as, ctx):
    c = login_as("xd_town1")
    r = c.post("/phs/institutions/report/submit", follow_redirects=True)
    assert "张花村卫生室：缺经纬度、承担项目内容" in flashes(r)
    assert report("xd_town1").state == "draft"
    target = inst("小店区北格镇张花村卫生室")
    assert c.post(f"/phs/institutions/{target.id}/fill", data=GOOD).status_code == 302
    r = c.post("/phs/institutions/report/submit", follow_redirects=True)
    assert "上报成功" in flashes(r)
    db.session.expire_all()
    assert report("xd_town1").state == "submitted"
    # reported: the unit's rows are locked
    r = c.post(f"/phs/institutions/{target.id}/fill", data={**GOOD, "contact": "别人"})
    assert "已上报" in text(r)


def test_village_clinic_of_another_township_is_404(login_as, ctx):
    other = inst("小店区西温庄乡西温庄村卫生室")
    c = login_as("xd_town1")
    assert c.get(f"/phs/institutions/{other.id}/fill").status_code == 404
    assert c.post(f"/phs/institutions/{other.id}/fill", data=GOOD).status_code == 404
    assert c.get(f"/phs/institutions/show/{other.id}").status_code == 404
    db.session.expire_all()
    assert inst("小店区西温庄乡西温庄村卫生室").contact != "张医生"


def test_township_adds_a_village_clinic(login_as, ctx):
    c = login_as("xd_town1")
    r = c.post("/phs/institutions/new", data={**GOOD, "name": "小店区北格镇新村卫生室"})
    assert r.status_code == 302
    added = inst("小店区北格镇新村卫生室")
    assert added.tier == "station" and added.is_complete
    assert added.organization_id == user("xd_town1").organization_id
    assert added.superior_label == "小店区北格镇卫生院"


def test_county_adds_a_unit_with_its_account(login_as, ctx):
    c = login_as("xd_county")
    r = c.post("/phs/institutions/new", data={"name": "小店区新镇卫生院", "township": "新镇",
                                              "services": []}, follow_redirects=True)
    login = re.search(r"登录名：(\d+)", flashes(r)).group(1)
    added = inst("小店区新镇卫生院")
    assert added.tier == "unit" and added.superior_label == "小店区"
    account = user(login)
    assert account.must_change_password and "H 基层机构" in {x.name for x in account.roles}
    assert login in text(c.get("/phs/institutions/list/"))


def test_county_add_needs_name_and_township(login_as, ctx):
    c = login_as("xd_county")
    count = db.session.scalar(select(func.count(PhsInstitution.id)))
    r = c.post("/phs/institutions/new", data={"name": "小店区无乡镇卫生院", "services": []})
    assert "请填写所在乡镇" in text(r)
    assert db.session.scalar(select(func.count(PhsInstitution.id))) == count


def test_affiliation_attaches_existing_institutions(login_as, ctx):
    c = login_as("xd_county")
    town2 = user("xd_town2").organization
    county = user("xd_county").organization
    box = f'name="org" type="checkbox" value="{town2.id}"'
    assert box in text(c.get("/phs/affiliation/"))
    r = c.post("/phs/affiliation/", data={"org": [str(town2.id)], "superior": str(county.id)})
    assert r.status_code == 302
    row = db.session.execute(select(PhsInstitution).where(
        PhsInstitution.source_org_id == town2.id)).scalar_one()
    assert row.tier == "unit" and row.superior_org_id == county.id
    assert "H 基层机构" in {x.name for x in user("xd_town2").roles}
    assert box not in text(c.get("/phs/affiliation/"))


def test_affiliation_with_an_org_of_another_county_changes_nothing(login_as, ctx):
    c = login_as("xd_county")
    other = user("ty_hosp2").organization          # 140106, not 小店区
    town2 = user("xd_town2").organization
    county = user("xd_county").organization
    r = c.post("/phs/affiliation/", data={"org": [str(town2.id), str(other.id)],
                                          "superior": str(county.id)})
    assert r.status_code == 404
    assert db.session.execute(select(PhsInstitution).where(
        PhsInstitution.source_org_id == town2.id)).first() is None


def _remaining_units_report():
    """北格镇 completes its clinic and 刘家堡 re-reports, as their users would."""
    town1 = user("xd_town1")
    target = inst("小店区北格镇张花村卫生室")
    commands.save(target, GOOD, town1)
    apply(PhsReportFlow, queries.report_of(town1.organization), "submit", town1)
    ljb = user(unit_login("小店区刘家堡乡卫生院"))
    apply(PhsReportFlow, queries.report_of(ljb.organization), "submit", ljb)


def test_county_reviews_and_confirms_only_when_every_unit_passed(login_as, ctx):
    xiaodian_settled()
    c = login_as("xd_county")
    r = c.post("/phs/institutions/report/confirm", follow_redirects=True)
    assert "尚未审核通过" in flashed(r) and "小店区西温庄乡卫生院（已上报）" in flashed(r)
    assert report("xd_county").state == "draft"
    _remaining_units_report()
    subs = [report(o) for o in queries.subordinates_of(user("xd_county").organization)]
    waiting = [str(s.id) for s in subs if s.state == "submitted"]
    r = c.post("/phs/review/batch/reject", data={"rowid": waiting, "comment": ""},
               follow_redirects=True)
    assert "请填写不通过意见" in flashed(r)
    r = c.post("/phs/review/batch/approve", data={"rowid": waiting}, follow_redirects=True)
    assert "已通过" in flashed(r)
    r = c.post("/phs/institutions/report/confirm", follow_redirects=True)
    assert "确认并上报成功" in flashed(r)
    db.session.expire_all()
    assert report("xd_county").state == "submitted"
    # after 确认并上报 the units' reviews are frozen
    r = c.post("/phs/review/batch/reject", data={"only": waiting[0], "comment": "再看看"},
               follow_redirects=True)
    assert "本县已确认并上报（已上报），不能再审核" in flashed(r)


def test_city_returns_a_county_with_a_reason(login_as, ctx):
    c = login_as("ty_hc")
    yz = report("yz_county")
    r = c.post("/phs/review/batch/send_back", data={"rowid": [str(yz.id)], "comment": ""},
               follow_redirects=True)
    assert "请填写退回意见" in flashes(r)
    r = c.post("/phs/review/batch/send_back", data={"rowid": [str(yz.id)],
                                                   "comment": "郝庄镇经纬度有误"},
               follow_redirects=True)
    assert "已退回" in flashes(r)
    db.session.expire_all()
    assert report("yz_county").state == "returned"
    assert "郝庄镇经纬度有误" in text(login_as("yz_county").get("/phs/review/"))


def test_city_cannot_confirm_while_a_county_has_not_reported(login_as, ctx):
    r = login_as("ty_hc").post("/phs/institutions/report/confirm", follow_redirects=True)
    assert "小店区卫生健康局（未上报）" in flashes(r)


def test_other_city_report_is_404_for_review(login_as, ctx):
    yc = report("yc_hc")
    r = login_as("ty_hc").post("/phs/review/batch/accept", data={"rowid": [str(yc.id)]})
    assert r.status_code == 404


def test_whole_chain_in_the_browser(login_as, ctx):
    """Township → county → city → province → national, each by its own screens."""
    town = login_as("xd_town1")
    target = inst("小店区北格镇张花村卫生室")
    assert town.post(f"/phs/institutions/{target.id}/fill", data=GOOD).status_code == 302
    assert "上报成功" in flashed(town.post("/phs/institutions/report/submit",
                                          follow_redirects=True))
    ljb = login_as(unit_login("小店区刘家堡乡卫生院"))
    own = inst("小店区刘家堡乡卫生院")
    assert ljb.post(f"/phs/institutions/{own.id}/fill",
                    data={**GOOD, "name": own.name, "inst_type": "township_hospital",
                          "code": own.code,     # a code is the county's once (issue 22 item 1)
                          "township": "刘家堡乡", "longitude": "112.600000"}).status_code == 302
    assert "上报成功" in flashed(ljb.post("/phs/institutions/report/submit",
                                         follow_redirects=True))
    county = login_as("xd_county")
    xiaodian_settled()
    waiting = [str(r.id) for r in (report(o) for o in queries.subordinates_of(
        user("xd_county").organization)) if r.state == "submitted"]
    assert county.post("/phs/review/batch/approve", data={"rowid": waiting}).status_code == 302
    assert "确认并上报成功" in flashed(county.post("/phs/institutions/report/confirm",
                                               follow_redirects=True))
    city = login_as("ty_hc")
    assert "确认并上报成功" in flashed(city.post("/phs/institutions/report/confirm",
                                             follow_redirects=True))
    db.session.expire_all()
    assert report("xd_county").state == "approved"       # confirmed by the city on the way
    province = login_as("sx_hc")
    assert "确认并上报成功" in flashed(province.post("/phs/institutions/report/confirm",
                                                 follow_redirects=True))
    nation = login_as("nhc")
    sx = report("sx_hc")
    r = nation.post("/phs/review/batch/accept", data={"only": str(sx.id)}, follow_redirects=True)
    assert "已确认" in flashed(r)
    db.session.expire_all()
    assert report("sx_hc").state == "approved"
    r = nation.get("/phs/progress/")
    assert r.status_code == 200
    tree = text(r)
    assert "山西省卫生健康委员会" in tree and "已确认" in tree


def test_change_request_after_reporting_forwarded_and_approved(login_as, ctx):
    """The demo request of 盐湖区 waits at 运城市, whose data is already with the province."""
    change = db.session.execute(select(PhsChangeRequest)).scalars().first()
    yc = login_as("yc_hc")
    r = yc.get(f"/phs/changes/show/{change.id}")
    assert r.status_code == 200
    page = text(r)
    assert "0359-2612345" in page and "逐级上报" in page
    r = yc.post(f"/phs/changes/transition/approve/{change.id}", follow_redirects=True)
    assert "需逐级上报至山西省卫生健康委员会" in flashed(r)
    assert yc.post(f"/phs/changes/transition/forward/{change.id}").status_code == 302
    sx = login_as("sx_hc")
    r = sx.get("/phs/review/")
    assert r.status_code == 200 and "1 条申请修改待本级审核" in text(r)
    r = sx.post(f"/phs/changes/transition/approve/{change.id}", follow_redirects=True)
    assert "审核通过成功" in flashed(r)
    db.session.expire_all()
    merged = inst("盐湖区龙居镇卫生院")
    assert merged.phone == "0359-2612345" and merged.contact == "李红"


def test_county_makes_a_change_request_only_after_reporting(login_as, ctx):
    r = login_as("xd_county").post("/phs/changes/new", data={
        "kind": "delete", "institution": str(inst("小店区营盘社区卫生服务站").id),
        "reason": "已撤并"}, follow_redirects=True)
    assert "尚未确认并上报" in flashes(r)


@pytest.mark.parametrize("form,message", [
    ({"kind": "add", "institution": "INST", "name": "x"}, "新增类申请不能选择已有机构"),
    ({"kind": "modify"}, "修改类申请需选择要修改的机构"),
    ({"kind": "modify", "institution": "INST", "loaded": "INST"},
     "修改类申请需填写要修改的内容"),
    ({"kind": "delete", "institution": "INST", "phone": "0359-1111111"},
     "删除类申请不需填写机构信息"),
    ({"kind": "", "institution": "INST"}, "请选择申请类型"),
])
def test_change_request_kind_must_fit_content(login_as, ctx, form, message):
    target = inst("盐湖区龙居镇卫生院")
    form = {k: (str(target.id) if v == "INST" else v) for k, v in form.items()}
    count = db.session.scalar(select(func.count(PhsChangeRequest.id)))
    r = login_as("yh_county").post("/phs/changes/new", data={**form, "reason": "核实无误"})
    assert r.status_code == 422 and message in text(r)
    assert "核实无误" in text(r)                     # what was typed is shown again
    assert db.session.scalar(select(func.count(PhsChangeRequest.id))) == count


def test_progress_tree_counts(login_as, ctx):
    page = text(login_as("xd_county").get("/phs/progress/"))
    # 小店区: 6 units + 5 stations, the 张花村 clinic incomplete; 北格镇卫生院: 2 of 3
    assert "机构 10/11 完整" in page and "机构 2/3 完整" in page


def test_unit_cannot_open_county_screens(login_as, ctx):
    c = login_as("xd_town1")
    for url in ("/phs/review/", "/phs/affiliation/", "/phs/changes/new"):
        assert c.get(url).status_code in (302, 403)


def test_report_state_survives_only_its_own_org(login_as, ctx):
    assert db.session.scalar(select(func.count(PhsReport.id)).where(
        PhsReport.organization_id == user("xd_town1").organization_id)) <= 1


def test_province_tree_stops_at_counties_and_opens_one(login_as, ctx):
    c = login_as("sx_hc")
    page = text(c.get("/phs/progress/"))
    assert "小店区卫生健康局" in page and "小店区北格镇卫生院" not in page
    assert "机构 10/11 完整" in page                     # 小店区's units rolled up
    assert "/phs/progress/?county=140105" in page
    page = text(c.get("/phs/progress/?county=140105"))
    assert "小店区北格镇卫生院" in page and "迎泽区郝庄镇卫生院" not in page
    assert login_as("ty_hc").get("/phs/progress/?county=140802").status_code == 404
    assert c.get("/phs/progress/?county=abc").status_code == 404


def test_map_picker_only_when_a_tile_server_is_configured(app, login_as, ctx):
    c = login_as("xd_town1")
    target = inst("小店区北格镇张花村卫生室")
    page = text(c.get(f"/phs/institutions/{target.id}/fill"))
    assert 'id="phs-map"' not in page and "请直接填写经纬度" in page
    app.config["PHS_MAP_TILE_URL"] = "http://tiles.test/{z}/{x}/{y}.png"
    try:
        page = text(c.get(f"/phs/institutions/{target.id}/fill"))
    finally:
        app.config["PHS_MAP_TILE_URL"] = None
    assert 'data-tiles="http://tiles.test/{z}/{x}/{y}.png"' in page and "phs_form.js" in page


def test_township_removes_its_clinic_but_not_its_unit_or_anothers(login_as, ctx):
    c = login_as("xd_town1")
    mine = inst("小店区北格镇张花村卫生室")
    r = c.post(f"/phs/institutions/{mine.id}/remove", follow_redirects=True)
    assert "已删除" in flashes(r)
    db.session.expire_all()
    assert inst("小店区北格镇张花村卫生室").deleted           # kept, marked
    assert "小店区北格镇张花村卫生室" not in text(c.get("/phs/institutions/list/"))
    own = inst("小店区北格镇卫生院")
    r = c.post(f"/phs/institutions/{own.id}/remove", follow_redirects=True)
    assert "基层机构只能由县级在确认并上报前删除" in flashes(r)
    other = inst("小店区西温庄乡西温庄村卫生室")
    assert c.post(f"/phs/institutions/{other.id}/remove").status_code == 404


def test_home_counts_what_awaits_each_level(login_as, ctx):
    page = text(login_as("xd_county").get("/"))
    assert "待审核的机构信息" in page
    assert re.search(r">1</div><a [^>]*>基本公卫 · 待审核的机构信息", page)   # 西温庄乡卫生院
    page = text(login_as("yc_hc").get("/"))
    assert re.search(r">1</div><a [^>]*>基本公卫 · 待审核的申请修改", page)
    assert "待审核的机构信息" not in text(login_as("xd_town1").get("/"))


def test_standard_export_has_the_ten_items(login_as, ctx):
    r = login_as("xd_town1").get("/phs/institutions/export/standard/")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["机构名称", "机构编码", "联系人", "联系电话"]
    names = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert names == {"小店区北格镇卫生院", "小店区北格镇北格村卫生室", "小店区北格镇张花村卫生室"}


def test_a_change_request_shows_labels_not_codes(ctx):
    from app.views.phs.review import shown
    assert str(shown("inst_type", "village_clinic")) == "村卫生室"
    assert str(shown("sponsor", "1")) == "政府办"
    assert shown("services", "01,07") == "居民健康档案管理、高血压健康管理"
    assert shown("phone", "0359-2612345") == "0359-2612345" and shown("code", "") is None
