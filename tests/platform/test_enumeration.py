"""Login names cannot be enumerated (issue 17 item 8): an unknown login name answers exactly
as an existing account does, lock-out included; a disabled account says so only to whoever
knows its password; the public registration pages check their captcha (shown with its image)
before anything looks login names up."""
import pytest
from sqlalchemy import update

from app.extensions import db
from app.models.core import SystemParameter
from tests.conftest import PASSWORD, flashes, user

WRONG = "登录名或密码错误"
LOCKED = "账号已锁定"
CAPTCHA_WRONG = "验证码错误或已过期"
TAKEN = "已被使用"


def _page_answers(client, username, attempts):
    return [flashes(client.post("/login/", data={"username": username, "password": "bad"},
                                follow_redirects=True)) for _ in range(attempts)]


def _api_answer(client, username, password="bad"):
    r = client.post("/api/v1/security/login", json={"username": username, "password": password})
    return r.status_code, r.json["message"]


def test_unknown_name_locks_out_like_an_existing_account(client):
    existing = _page_answers(client, "ty_hosp2", 6)
    unknown = _page_answers(client, "无此账号", 6)
    assert unknown == existing
    assert WRONG in existing[0] and LOCKED in existing[4] and LOCKED in existing[5]
    # The API answers the same for both, locked or not.
    assert _api_answer(client, "无此账号") == _api_answer(client, "ty_hosp2")
    assert _api_answer(client, "另一个无此账号") == _api_answer(client, "ty_hosp1") \
        == (401, WRONG)


def test_lockout_of_an_unknown_name_follows_the_parameters(client, ctx):
    db.session.execute(update(SystemParameter).where(SystemParameter.key == "lockout_threshold")
                       .values(value="2"))
    db.session.commit()
    answers = _page_answers(client, "不存在的登录名", 3)
    assert WRONG in answers[0] and LOCKED in answers[1] and "15分钟" in answers[1] \
        and LOCKED in answers[2]


def test_disabled_account_answers_like_a_wrong_password(app, login_as, client):
    admin = login_as("admin")
    with app.app_context():
        pk = user("ty_hosp1").id
    admin.post(f"/system/accounts/disable/{pk}")
    assert _page_answers(client, "ty_hosp1", 1) == _page_answers(client, "无此账号二", 1)
    assert _api_answer(client, "ty_hosp1") == _api_answer(client, "无此账号三") == (401, WRONG)
    # Whoever knows the password is told why.
    r = client.post("/login/", data={"username": "ty_hosp1", "password": PASSWORD},
                    follow_redirects=True)
    assert "账号已停用" in flashes(r)
    assert _api_answer(client, "ty_hosp1", PASSWORD) == (401, "账号已停用，请联系管理员")


@pytest.fixture
def captcha_on(app, ctx, monkeypatch):
    app.config["CAPTCHA_ENABLED"] = True
    db.session.execute(update(SystemParameter).where(SystemParameter.key == "captcha_enabled")
                       .values(value="1"))
    db.session.commit()
    monkeypatch.setattr("app.services.captcha.generate_code", lambda *a, **k: "AB3K")


INJURY_FORM = {"name": "太原市测试医院", "uscc": "", "province": "140000", "city": "140100",
               "county": "140105", "contact": "王明", "phone": "13912345678",
               "username": "ty_hosp1", "password": "Reg@2026x", "confirm": "Reg@2026x"}
REGISTRY_FORM = {"username": "ty_hosp1", "name": "信息员", "mobile": "123",
                 "password": "Reg@2026x", "confirm": "Reg@2026x", "role_kind": "maintainer"}


@pytest.mark.parametrize("url, data", [("/injury/register/", INJURY_FORM),
                                       ("/registry/register/", REGISTRY_FORM)])
@pytest.mark.parametrize("answer", ["", "ZZZZ"])
def test_registration_with_a_wrong_captcha_tells_nothing_about_names(client, captcha_on, url,
                                                                     data, answer):
    client.get("/captcha.png")
    r = client.post(url, data={**data, "captcha": answer})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and CAPTCHA_WRONG in page
    assert TAKEN not in page
    # With the right answer the taken name is reported (registration must say so).
    client.get("/captcha.png")
    page = client.post(url, data={**data, "captcha": "ab3k"}).get_data(as_text=True)
    assert TAKEN in page


def test_registry_registration_shows_the_captcha_image(client, captcha_on):
    page = client.get("/registry/register/").get_data(as_text=True)
    assert 'src="/captcha.png"' in page and 'id="captcha-img"' in page
    assert "login.js" in page and 'name="captcha"' in page
