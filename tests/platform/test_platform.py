"""Platform: regions, unit codes, parameters, login, lock-out, forced change, captcha,
CSRF, page size, JWT (SPEC P1–P5, P15)."""
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import Organization, Region
from app.models.relief import ReliefApplication
from tests.conftest import PASSWORD, user


def test_all_regions_loaded_with_nation_and_province_own_nodes(ctx):
    counts = dict(db.session.execute(select(Region.level, func.count()).group_by(Region.level)).all())
    assert counts["province"] == 34 and counts["county"] == 2846
    assert counts["city"] == 333 + 34           # plus one 省本级 per province
    own = db.session.execute(select(Region).where(Region.code == "149900")).scalar_one()
    assert own.name == "省本级" and own.parent.code == "140000" and own.is_synthetic
    county = db.session.execute(select(Region).where(Region.code == "140105")).scalar_one()
    assert (county.province_code, county.city_code, county.county_code) == ("140000", "140100", "140105")
    assert county.path == "000000/140000/140100/140105"


@pytest.mark.parametrize("code,existing,expected", [
    ("140000", ["1400000007"], "1400000008"),
    ("140200", [], "1402000001"),
    ("140181", [], "1401810001"),
])
def test_unit_code_rule(ctx, code, existing, expected):
    from app.services.accounts import next_unit_code
    region = db.session.execute(select(Region).where(Region.code == code)).scalar_one()
    for n, unit in enumerate(existing):
        db.session.add(Organization(name=f"测试{n}", org_type="medical", level="province",
                                    region=region, unit_code=unit))
    db.session.flush()
    assert next_unit_code(region) == expected
    db.session.rollback()


def test_login_wrong_password_says_so_in_chinese(client):
    r = client.post("/login/", data={"username": "ty_hosp1", "password": "nope"},
                    follow_redirects=True)
    assert "登录名或密码错误" in r.get_data(as_text=True)


def test_chinese_login_name_works(app, login_as, ctx):
    from app.services.accounts import create_user
    create_user(user("admin"), user("ty_hosp1").organization, "运城市卫健委测试", "测试",
                password="Good@Pass1", must_change=False)
    db.session.commit()
    c = login_as("运城市卫健委测试", "Good@Pass1")
    assert c.get("/").status_code == 200


def test_five_failures_lock_the_account_for_web_and_api(app, client, ctx):
    for _ in range(5):
        client.post("/login/", data={"username": "ty_hosp2", "password": "bad"})
    r = client.post("/login/", data={"username": "ty_hosp2", "password": PASSWORD},
                    follow_redirects=True)
    assert "账号已锁定" in r.get_data(as_text=True)
    r = client.post("/api/v1/security/login",
                    json={"username": "ty_hosp2", "password": PASSWORD, "provider": "db"})
    assert r.status_code == 401 and "锁定" in r.json["message"]
    db.session.expire_all()
    assert user("ty_hosp2").locked_until > dt.datetime.utcnow() + dt.timedelta(minutes=14)
    actions = db.session.execute(select(AuditLog.action).where(
        AuditLog.username == "ty_hosp2")).scalars().all()
    assert actions.count("login_failed") >= 6 and "login_locked" in actions


def test_lockout_threshold_is_a_live_parameter(app, client, login_as, ctx):
    admin = login_as("admin")
    from app.models.core import SystemParameter
    pid = db.session.execute(select(SystemParameter.id).where(
        SystemParameter.key == "lockout_threshold")).scalar()
    admin.post(f"/system/parameters/edit/{pid}", data={"value": "2"})
    for _ in range(2):
        client.post("/login/", data={"username": "yc_hosp1", "password": "bad"})
    r = client.post("/login/", data={"username": "yc_hosp1", "password": PASSWORD},
                    follow_redirects=True)
    assert "锁定" in r.get_data(as_text=True)


def test_invalid_parameter_value_is_refused(login_as, ctx):
    from app.models.core import SystemParameter
    admin = login_as("admin")
    pid = db.session.execute(select(SystemParameter.id).where(
        SystemParameter.key == "lockout_threshold")).scalar()
    r = admin.post(f"/system/parameters/edit/{pid}", data={"value": "abc"}, follow_redirects=True)
    assert "正整数" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(SystemParameter, pid).value == "5"


def test_disabled_account_cannot_log_in_nor_use_the_api(app, login_as, client, ctx):
    admin = login_as("admin")
    hosp = user("ty_hosp1")
    _, headers = _token(client, "ty_hosp1")
    admin.post(f"/system/accounts/disable/{hosp.id}")
    r = client.post("/login/", data={"username": "ty_hosp1", "password": PASSWORD},
                    follow_redirects=True)
    assert "账号已停用" in r.get_data(as_text=True)
    assert client.get("/api/v1/relief_application/", headers=headers).status_code == 401
    admin.post(f"/system/accounts/enable/{hosp.id}")
    assert client.post("/login/", data={"username": "ty_hosp1", "password": PASSWORD}).status_code == 302


def _token(client, username, password=PASSWORD):
    r = client.post("/api/v1/security/login",
                    json={"username": username, "password": password, "provider": "db"})
    return r, {"Authorization": "Bearer " + (r.json or {}).get("access_token", "")}


def test_reset_forces_a_change_before_anything_else(app, login_as, client):
    agency = login_as("ty_agency")
    with app.app_context():
        hosp_id = user("ty_hosp1").id
    r = agency.post(f"/system/accounts/reset_password/{hosp_id}", follow_redirects=True)
    assert "重置" in r.get_data(as_text=True)
    initial = "Init@2026"
    r = client.post("/login/", data={"username": "ty_hosp1", "password": initial})
    assert r.headers["Location"].endswith("/password/change")
    r = client.get("/relief/applications/list/")
    assert r.status_code == 302 and "/password/change" in r.headers["Location"]
    # API: login answers 403 with the code; other calls refused until changed.
    r, headers = _token(client, "ty_hosp1", initial)
    assert r.status_code == 403 and r.json["code"] == "password_change_required"
    assert client.get("/api/v1/relief_application/", headers=headers).status_code == 403
    # Rules: new ≠ current, confirmation, complexity.
    for new, confirm, message in [(initial, initial, "不能和当前密码相同"),
                                  ("Abcdef1!x", "Abcdef1!y", "不一致"),
                                  ("abcdefgh", "abcdefgh", "至少")]:
        r = client.post("/password/change", data={"old_password": initial, "new_password": new,
                                                  "confirm_password": confirm})
        assert message in r.get_data(as_text=True)
    r = client.post("/password/change", data={"old_password": initial,
                                              "new_password": "New@Pass2026",
                                              "confirm_password": "New@Pass2026"})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.get("/relief/applications/list/").status_code == 302   # logged out
    assert client.post("/login/", data={"username": "ty_hosp1",
                                        "password": "New@Pass2026"}).status_code == 302


def test_api_password_change_then_login(app, client, ctx):
    hosp = user("ty_hosp2")
    app.appbuilder.sm.reset_to_initial(hosp, user("admin"))
    db.session.commit()
    r, headers = _token(client, "ty_hosp2", "Init@2026")
    assert r.status_code == 403
    r = client.post("/api/v1/me/password", headers=headers,
                    json={"old_password": "Init@2026", "new_password": "short"})
    assert r.status_code == 422
    r = client.post("/api/v1/me/password", headers=headers,
                    json={"old_password": "Init@2026", "new_password": "Api@Pass2026"})
    assert r.status_code == 200
    assert _token(client, "ty_hosp2", "Api@Pass2026")[0].status_code == 200


def test_forged_and_expired_jwt_are_refused(app, client):
    import jwt
    forged = jwt.encode({"sub": "1", "type": "access", "fresh": True}, "wrong-key", "HS256")
    r = client.get("/api/v1/relief_application/", headers={"Authorization": "Bearer " + forged})
    assert r.status_code in (401, 422)
    from flask_jwt_extended import create_access_token
    with app.app_context():
        expired = create_access_token(identity="1", expires_delta=dt.timedelta(seconds=-10))
    r = client.get("/api/v1/relief_application/", headers={"Authorization": "Bearer " + expired})
    assert r.status_code == 401


def test_captcha_required_when_enabled(app, client, monkeypatch):
    app.config["CAPTCHA_ENABLED"] = True
    from app.services import captcha
    monkeypatch.setattr(captcha, "generate_code", lambda length=4: "ABCD")
    r = client.get("/captcha.png")
    assert r.status_code == 200 and r.data[:4] == b"\x89PNG"
    r = client.post("/login/", data={"username": "ty_hosp1", "password": PASSWORD,
                                     "captcha": "WXYZ"}, follow_redirects=True)
    assert "验证码错误" in r.get_data(as_text=True)
    client.get("/captcha.png")
    r = client.post("/login/", data={"username": "ty_hosp1", "password": PASSWORD,
                                     "captcha": "abcd"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/")


def test_captcha_can_be_switched_off_by_parameter(app, client, ctx):
    app.config["CAPTCHA_ENABLED"] = True
    page = client.get("/login/").get_data(as_text=True)
    assert "captcha" in page
    from app.models.core import SystemParameter
    db.session.execute(db.update(SystemParameter).where(SystemParameter.key == "captcha_enabled")
                       .values(value="0"))
    db.session.commit()
    assert "captcha-img" not in client.get("/login/").get_data(as_text=True)


def test_post_without_csrf_token_is_refused(app, login_as, ctx):
    c = login_as("ty_hosp1")
    app.config["WTF_CSRF_ENABLED"] = True
    from app.models.relief import ReliefApplication
    before = db.session.execute(select(func.count()).select_from(ReliefApplication)).scalar()
    r = c.post("/relief/applications/add", data={"category": "unidentified"})
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(ReliefApplication)).scalar() == before


@pytest.mark.parametrize("psize", ["-1", "100000"])
def test_page_size_is_capped(login_as, psize):
    c = login_as("ty_agency")
    r = c.get(f"/system/accounts/list/?psize_AccountView={psize}")
    assert r.status_code == 200
    assert r.get_data(as_text=True).count('name="rowid"') <= 100


def test_lists_show_the_default_page_size_parameter(app, login_as):
    """默认每页条数 (system parameter, 20) decides a list's page when the URL does not."""
    from app.models.core import SystemParameter
    from tests.conftest import make_application
    with app.app_context():
        for _ in range(7):
            make_application()
        n = db.session.execute(select(func.count()).select_from(ReliefApplication).where(
            ReliefApplication.organization_id == user("ty_hosp1").organization_id,
            ReliefApplication.state != "deleted")).scalar()
    c = login_as("ty_hosp1")
    page = c.get("/relief/applications/list/").get_data(as_text=True)
    assert page.count('name="rowid"') == min(n, 20)
    with app.app_context():
        db.session.execute(update(SystemParameter).where(SystemParameter.key == "default_page_size")
                           .values(value="5"))
        db.session.commit()
    page = c.get("/relief/applications/list/").get_data(as_text=True)
    assert page.count('name="rowid"') == 5
    page = c.get("/relief/applications/list/?psize_ReliefApplicationView=8").get_data(as_text=True)
    assert page.count('name="rowid"') == 8


def test_page_size_garbage_is_a_400(login_as):
    r = login_as("ty_agency").get("/system/accounts/list/?psize_AccountView=abc")
    assert r.status_code == 400 and "请求参数有误" in r.get_data(as_text=True)


def test_idle_session_times_out(app, login_as):
    c = login_as("ty_hosp1")
    with c.session_transaction() as s:
        s["last_seen"] = s["last_seen"] - 31 * 60
    r = c.get("/relief/applications/list/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_english_catalogue_is_complete():
    import os
    from babel.messages.pofile import read_po
    path = os.path.join(os.path.dirname(__file__), "..", "..", "translations", "en", "LC_MESSAGES",
                        "messages.po")
    with open(path, "rb") as fh:
        catalog = read_po(fh)
    missing = [m.id for m in catalog if m.id and not m.string]
    assert missing == [], f"untranslated: {missing[:5]}"
    # and every string of the code and the templates is in it (a new Chinese text without
    # its English is the English user's page in Chinese)
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    with open(os.path.join(root, "babel.cfg")) as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.string}
    absent = sorted({(msg if isinstance(msg, str) else msg[0])
                     for _, _, msg, _, _ in extract_from_dir(root, method_map, options_map)
                     if msg} - known)
    assert absent == [], f"not in the English catalogue: {absent[:5]}"
