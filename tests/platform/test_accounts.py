"""用户管理 (SPEC Q1, P3, P4): 查询, 添加 by 用户类型, 编辑, 授权, 停用/启用, 重置密码."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import Organization, Region, User
from app.scope import scope_of
from tests.conftest import PASSWORD, flashes, user

NEW_PASSWORD = "Neu@2026x"


def _org(name):
    return db.session.execute(select(Organization).where(Organization.name == name)).scalar()


def _user(app, username):
    with app.app_context():
        u = db.session.execute(select(User).where(User.username == username)).scalar()
        return None if u is None else {"id": u.id, "org": u.organization.name if u.organization
                                       else None, "type": u.user_type, "name": u.first_name,
                                       "mobile": u.mobile, "email": u.email,
                                       "roles": {r.name for r in u.roles},
                                       "must_change": u.must_change_password}


def _create(client, **data):
    return client.post("/system/accounts/create", data=data, follow_redirects=True)


def _new_account(client, username="太原医保测试", region_code="140100"):
    r = _create(client, user_type="insurance_bureau", region_code=region_code,
                username=username, first_name="测试员")
    assert "账号已创建" in flashes(r), flashes(r)
    return username


def _role_ids(app, *names):
    with app.app_context():
        sm = app.appbuilder.sm
        return [str(sm.find_role(n).id) for n in names]


# 查询 ----------------------------------------------------------------------------------------

def test_list_and_search(login_as):
    c = login_as("sx_ybj")
    page = c.get("/system/accounts/list/").get_data(as_text=True)
    assert "ty_ybj" in page and "yc_hosp1" in page and "授权" in page
    page = c.get("/system/accounts/list/?_flt_0_username=ty_").get_data(as_text=True)
    assert "ty_ybj" in page and "yc_hosp1" not in page


# 添加 ----------------------------------------------------------------------------------------

def test_create_page_offers_user_types(login_as):
    page = login_as("sx_ybj").get("/system/accounts/create").get_data(as_text=True)
    for text in ("医保机构", "医疗机构", 'value="140100"', 'value="149900"',
                 '<option value="太原市第一人民医院">', "用户名", "手机"):
        assert text in page, text
    assert 'value="140000"' not in page      # not its own province
    admin_page = login_as("admin").get("/system/accounts/create").get_data(as_text=True)
    assert 'value="140000"' in admin_page and 'value="140100"' not in admin_page
    agency_page = login_as("ty_agency").get("/system/accounts/create").get_data(as_text=True)
    assert 'name="region_code"' not in agency_page    # no 医保机构 for an agency


def test_bureau_account_finds_the_existing_bureau(app, login_as):
    c = login_as("sx_ybj")
    _new_account(c, "太原医保二号", "140100")
    u = _user(app, "太原医保二号")
    assert u["org"] == "太原市医疗保障局" and u["type"] == "insurance_bureau"
    assert u["must_change"] and u["roles"] >= {"R 卫健委"}
    with app.app_context():
        assert len(db.session.execute(select(Organization).where(
            Organization.org_type == "insurance_bureau",
            Organization.city_code == "140100")).scalars().all()) == 1


@pytest.mark.parametrize("code,name,level", [("140200", "大同市医保局", "city"),
                                             ("140300", "阳泉市医保局", "city")])
def test_bureau_account_creates_the_missing_bureau(app, login_as, code, name, level):
    c = login_as("sx_ybj")
    _new_account(c, "新医保账号", code)
    assert _user(app, "新医保账号")["org"] == name
    with app.app_context():
        org = _org(name)
        region = db.session.execute(select(Region).where(Region.code == code)).scalar_one()
        assert (org.org_type, org.level, org.region_id) == ("insurance_bureau", level, region.id)
        assert (org.province_code, org.city_code) == ("140000", code)
        assert len(org.unit_code) == 10 and org.unit_code.startswith(region.unit_code_prefix)
        assert db.session.execute(select(AuditLog).where(
            AuditLog.object_type == "organization", AuditLog.object_id == org.id)).scalar()


def test_province_own_account_is_scoped_like_a_city(app, login_as):
    _new_account(login_as("sx_ybj"), "省本级医保", "149900")
    with app.app_context():
        u = user("省本级医保")
        assert (u.province_code, u.city_code) == ("140000", "149900")
        assert scope_of(u) == ("city", "149900")


def test_bureau_region_outside_the_callers_choice_is_refused(app, login_as):
    c = login_as("ty_ybj")
    r = _create(c, user_type="insurance_bureau", region_code="140800", username="越权医保")
    assert "请选择您有权创建医保机构账号的区划" in flashes(r)
    r = _create(login_as("sx_ybj"), user_type="insurance_bureau", region_code="140000",
                username="越权医保")
    assert "请选择您有权创建医保机构账号的区划" in flashes(r)
    assert _user(app, "越权医保") is None
    with app.app_context():
        assert _org("运城市医保局") is None


def test_medical_account_by_institution_name(app, login_as):
    c = login_as("ty_ybj")
    r = _create(c, user_type="medical", institution=" 太原市中心医院 ", username="中心医院报量",
                first_name="李医生", mobile="138 1234 5678")
    assert "账号已创建" in flashes(r)
    u = _user(app, "中心医院报量")
    assert u["org"] == "太原市中心医院" and u["type"] == "medical"
    assert u["mobile"] == "13812345678" and u["roles"] >= {"R 医疗机构"}


def test_medical_institution_not_found_nothing_created(app, login_as):
    c = login_as("ty_ybj")
    r = _create(c, user_type="medical", institution="不存在的医院", username="无机构用户")
    assert "未找到医疗机构“不存在的医院”，请联系技术人员导入医疗机构信息后再创建用户" in flashes(r)
    # An institution of another city is not found either (scope), nor a partial name.
    for name in ("运城市中心医院", "太原市"):
        r = _create(c, user_type="medical", institution=name, username="无机构用户")
        assert "未找到医疗机构" in flashes(r)
    r = _create(c, user_type="medical", institution="", username="无机构用户")
    assert "请输入所属医疗机构名称" in flashes(r)
    assert _user(app, "无机构用户") is None


def test_other_organisation_select_still_works(app, login_as):
    with app.app_context():
        org_id = _org("太原市疾病应急救助经办机构").id
    r = _create(login_as("ty_hc"), user_type="other", organization_id=org_id,
                username="经办三号")
    assert "账号已创建" in flashes(r)
    assert _user(app, "经办三号")["org"] == "太原市疾病应急救助经办机构"


@pytest.mark.parametrize("data,message", [
    ({"username": "ty_ybj"}, "登录名“ty_ybj”已存在"),
    ({"username": "  "}, "请填写登录名"),
    ({"username": "坏手机", "mobile": "1381234567"}, "手机号码应为11位"),
    ({"username": "坏手机", "mobile": "12812345678"}, "手机号码应以13至19开头"),
    ({"username": "坏手机", "mobile": "abc"}, "手机号码只能包含数字"),
    ({"username": "重复邮箱", "email": "ty_ybj@users.invalid"}, "已被其他账号使用"),
])
def test_bad_input_creates_nothing(app, login_as, data, message):
    with app.app_context():
        before = (db.session.execute(select(db.func.count(User.id))).scalar(),
                  db.session.execute(select(db.func.count(Organization.id))).scalar())
    r = _create(login_as("sx_ybj"), user_type="insurance_bureau", region_code="140800", **data)
    assert message in flashes(r)
    assert 'value="140800" selected' in r.get_data(as_text=True)   # the form keeps its input
    with app.app_context():
        after = (db.session.execute(select(db.func.count(User.id))).scalar(),
                 db.session.execute(select(db.func.count(Organization.id))).scalar())
    assert after == before   # not even the 运城市医保局 the account would have needed


def test_taken_login_name_redraws_the_form_422_with_what_was_typed(app, login_as):
    """A refused hand-written form (issue 16): the one error handler rolls back and draws the
    form again, status 422, every typed value kept and the message beside 用户名."""
    r = login_as("sx_ybj").post("/system/accounts/create", data={
        "user_type": "insurance_bureau", "region_code": "140800", "username": "ty_ybj",
        "first_name": "重名测试员", "mobile": "13812345678", "email": "chongming@example.com"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "登录名“ty_ybj”已存在" in flashes(r)
    assert 'name="username" value="ty_ybj"' in page
    assert 'value="重名测试员"' in page and 'value="13812345678"' in page
    assert 'value="chongming@example.com"' in page and 'value="140800" selected' in page
    assert '<p class="help-block">登录名“ty_ybj”已存在</p>' in page   # beside its field
    assert _user(app, "重名测试员") is None
    with app.app_context():
        assert _org("运城市医保局") is None   # the 医保局 it would have created is rolled back


def test_institution_users_cannot_create_accounts(login_as):
    r = login_as("ty_hosp1").get("/system/accounts/create")
    assert r.status_code in (302, 403)


# 编辑 ----------------------------------------------------------------------------------------

def test_edit_keeps_the_login_name(app, login_as):
    c = login_as("sx_ybj")
    _new_account(c, "编辑测试")
    pk = _user(app, "编辑测试")["id"]
    form = c.get(f"/system/accounts/edit/{pk}").get_data(as_text=True)
    assert 'name="first_name"' in form and 'name="mobile"' in form
    assert 'name="username"' not in form
    c.post(f"/system/accounts/edit/{pk}", data={"username": "改过的名字", "first_name": "新姓名",
                                                "mobile": "13912345678",
                                                "email": "new@example.com"})
    u = _user(app, "编辑测试")
    assert (u["name"], u["mobile"], u["email"]) == ("新姓名", "13912345678", "new@example.com")
    assert _user(app, "改过的名字") is None


def test_edit_rejects_a_bad_mobile(app, login_as):
    c = login_as("sx_ybj")
    _new_account(c, "编辑手机")
    pk = _user(app, "编辑手机")["id"]
    r = c.post(f"/system/accounts/edit/{pk}", data={"first_name": "改名", "mobile": "123",
                                                    "email": "x@example.com"},
               follow_redirects=True)
    assert "手机号码应为11位" in flashes(r)
    u = _user(app, "编辑手机")
    assert (u["name"], u["mobile"]) == ("测试员", None)


def test_edit_refused_outside_the_callers_accounts(app, login_as):
    c = login_as("ty_ybj")
    yc = _user(app, "yc_hosp1")
    assert c.get(f"/system/accounts/edit/{yc['id']}").status_code == 404
    assert c.post(f"/system/accounts/edit/{yc['id']}",
                  data={"first_name": "越权", "mobile": ""}).status_code == 404
    agency = _user(app, "ty_agency")   # in the city, but not an account a 医保局 manages
    r = c.post(f"/system/accounts/edit/{agency['id']}", data={"first_name": "越权"},
               follow_redirects=True)
    assert "您没有管理该账号的权限" in flashes(r)
    assert _user(app, "yc_hosp1")["name"] == yc["name"]
    assert _user(app, "ty_agency")["name"] == agency["name"]


# 授权 ----------------------------------------------------------------------------------------

def test_authorise_page_lists_grantable_roles(app, login_as):
    c = login_as("sx_ybj")
    _new_account(c, "授权页面")
    page = c.get(f"/system/accounts/roles/{_user(app, '授权页面')['id']}").get_data(as_text=True)
    assert "R 卫健委" in page and 'name="csrf_token"' in page and "确认" in page
    assert "Admin" not in page and "R 经办机构" not in page   # only roles sx_ybj holds
    admin_page = login_as("admin").get(
        f"/system/accounts/roles/{_user(app, '授权页面')['id']}").get_data(as_text=True)
    assert "Admin" in admin_page and "R 经办机构" in admin_page


def test_authorise_saves_the_ticked_roles_and_audits(app, login_as):
    c = login_as("admin")
    _new_account(c, "授权测试", "140000")
    pk = _user(app, "授权测试")["id"]
    r = c.post(f"/system/accounts/roles/{pk}",
               data={"role_id": _role_ids(app, "R 经办机构", "R 医疗机构")}, follow_redirects=True)
    assert "授权已保存" in flashes(r)
    assert _user(app, "授权测试")["roles"] == {"R 经办机构", "R 医疗机构", "P 基础"}
    c.post(f"/system/accounts/roles/{pk}", data={})
    assert _user(app, "授权测试")["roles"] == {"P 基础"}   # the base role always stays
    with app.app_context():
        rows = db.session.execute(select(AuditLog).where(
            AuditLog.action == "user_roles", AuditLog.object_id == pk)
            .order_by(AuditLog.id)).scalars().all()
        assert len(rows) == 2 and rows[0].username == "admin"
        assert "R 经办机构" in rows[0].comment and "R 医疗机构" in rows[0].comment


def test_authorise_keeps_roles_the_actor_may_not_grant(app, login_as):
    c = login_as("sx_ybj")
    _new_account(c, "保留角色")
    pk = _user(app, "保留角色")["id"]
    login_as("admin").post(f"/system/accounts/roles/{pk}",
                           data={"role_id": _role_ids(app, "R 卫健委", "R 经办机构")})
    c.post(f"/system/accounts/roles/{pk}", data={})   # sx_ybj unticks what it may grant
    assert _user(app, "保留角色")["roles"] == {"R 经办机构", "P 基础"}


def test_authorise_refuses_roles_the_actor_may_not_grant(app, login_as):
    c = login_as("sx_ybj")
    _new_account(c, "越权授权")
    pk = _user(app, "越权授权")["id"]
    before = _user(app, "越权授权")["roles"]
    for role in ("Admin", "R 经办机构"):
        r = c.post(f"/system/accounts/roles/{pk}", data={"role_id": _role_ids(app, role)},
                   follow_redirects=True)
        assert r.status_code == 422
        assert "所选角色中有您无权授予的角色" in flashes(r)
    assert _user(app, "越权授权")["roles"] == before
    # the refused form keeps what was ticked
    wanted = _role_ids(app, "R 卫健委", "R 经办机构")
    r = c.post(f"/system/accounts/roles/{pk}", data={"role_id": wanted})
    assert r.status_code == 422
    assert f'name="role_id" value="{wanted[0]}" checked' in r.get_data(as_text=True)


def test_authorise_refused_outside_the_callers_accounts(app, login_as):
    c = login_as("ty_ybj")
    yc = _user(app, "yc_hosp1")
    data = {"role_id": _role_ids(app, "R 卫健委")}
    assert c.get(f"/system/accounts/roles/{yc['id']}").status_code == 404
    assert c.post(f"/system/accounts/roles/{yc['id']}", data=data).status_code == 404
    agency = _user(app, "ty_agency")
    r = c.post(f"/system/accounts/roles/{agency['id']}", data=data, follow_redirects=True)
    assert "您没有管理该账号的权限" in flashes(r)
    r = c.post(f"/system/accounts/roles/{_user(app, 'ty_ybj')['id']}", data=data,
               follow_redirects=True)
    assert "您没有管理该账号的权限" in flashes(r)   # not even one's own account
    assert _user(app, "yc_hosp1")["roles"] == yc["roles"]
    assert _user(app, "ty_agency")["roles"] == agency["roles"]
    with app.app_context():
        assert db.session.execute(select(AuditLog).where(
            AuditLog.action == "user_roles")).first() is None


# 停用/启用, 重置密码 ---------------------------------------------------------------------------

def test_disable_and_enable(app, login_as):
    c = login_as("sx_ybj")
    _new_account(c, "停用测试")
    pk = _user(app, "停用测试")["id"]
    with app.app_context():
        db.session.execute(db.update(User).where(User.id == pk).values(
            must_change_password=False))
        app.appbuilder.sm.set_password(db.session.get(User, pk), PASSWORD)
        db.session.commit()
    assert "账号已停用" in flashes(c.post(f"/system/accounts/disable/{pk}",
                                          follow_redirects=True))
    r = app.test_client().post("/login/", data={"username": "停用测试", "password": PASSWORD},
                               follow_redirects=True)
    assert "账号已停用" in flashes(r)
    assert "账号已启用" in flashes(c.post(f"/system/accounts/enable/{pk}",
                                          follow_redirects=True))
    login_as("停用测试")


def test_reset_then_forced_change_then_login_again(app, login_as):
    hosp = _user(app, "ty_hosp1")
    r = login_as("ty_ybj").post(f"/system/accounts/reset_password/{hosp['id']}",
                                follow_redirects=True)
    assert "密码已重置为系统初始密码" in flashes(r)
    with app.app_context():
        from app.services.parameters import param
        initial = param("initial_password")
    assert app.test_client().post("/login/", data={"username": "ty_hosp1",
                                                   "password": PASSWORD}).headers.get(
        "Location", "").endswith("/login/")   # the old password no longer works
    c = app.test_client()
    r = c.post("/login/", data={"username": "ty_hosp1", "password": initial})
    assert r.headers["Location"].endswith("/password/change")
    r = c.get("/system/accounts/list/")   # nothing else is reachable before the change
    assert r.status_code == 302 and r.headers["Location"].endswith("/password/change")
    r = c.post("/password/change", data={"old_password": initial, "new_password": NEW_PASSWORD,
                                         "confirm_password": NEW_PASSWORD})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    r = c.get("/")   # logged out
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert _user(app, "ty_hosp1")["must_change"] is False
    c2 = login_as("ty_hosp1", NEW_PASSWORD)
    assert c2.get("/").status_code == 200
