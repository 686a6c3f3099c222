"""马上注册 of a designated work-injury hospital and client-certificate login (SPEC W1)."""
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import Organization, Region, User
from app.services.validators import _uscc_check_char
from tests.conftest import flashes, user

URL = "/injury/register/"
GOOD_PASSWORD = "Reg@2026x"


def uscc(serial):
    body = f"12140100MB{serial:07d}"
    return body + _uscc_check_char(body)


def form(**overrides):
    data = {"name": "太原市工伤康复医院", "uscc": uscc(1), "province": "140000",
            "city": "140100", "county": "140105", "contact": "王明",
            "phone": "13912345678", "username": "太原工伤康复医院",
            "password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD}
    data.update(overrides)
    return data


def counts():
    return (db.session.execute(select(func.count(Organization.id))).scalar(),
            db.session.execute(select(func.count(User.id))).scalar())


def refused(client, expected, **overrides):
    """Posts a registration that must fail with `expected` shown (422, the form again);
    nothing is created."""
    before = counts()
    r = client.post(URL, data=form(**overrides))
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and expected in page, flashes(r)
    assert counts() == before
    return page


def account(username):
    return db.session.execute(select(User).where(User.username == username)).scalar()


# The page --------------------------------------------------------------------------------------

def test_login_page_links_to_registration(client):
    page = client.get("/login/").get_data(as_text=True)
    assert "马上注册" in page and f'href="{URL}"' in page


def test_registration_page_is_public(client, ctx):
    r = client.get(URL)
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    for text in ("单位名称", "统一社会信用代码", "所属区划", "联系人", "联系电话", "登录名",
                 "确认密码", "开通医疗机构网上服务", '<option value="140000"', "csrf_token"):
        assert text in page
    assert "验证码" not in page    # switched off in tests


def test_region_endpoint_returns_children(client):
    provinces = client.get("/regions/children").json["regions"]
    assert {"code": "140000", "name": "山西省", "level": "province", "leaf": False} in provinces
    cities = {r["code"]: r for r in client.get("/regions/children?parent=140000").json["regions"]}
    assert cities["140100"]["name"] == "太原市" and "149900" in cities    # 省本级 included
    counties = {r["code"]: r for r in client.get("/regions/children?parent=140100").json["regions"]}
    assert counties["140105"]["leaf"] is True
    assert client.get("/regions/children?parent=999999").status_code == 404
    assert client.get("/regions/children?parent=abc").status_code == 404


# Success ---------------------------------------------------------------------------------------

def test_registration_creates_institution_and_account_that_can_log_in(client, ctx):
    before = counts()
    r = client.post(URL, data=form())
    assert r.status_code == 302 and r.headers["Location"].endswith(URL + "done")
    r = client.get(URL + "done")
    done = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "太原工伤康复医院" in done and "立即登录" in done and 'href="/login/"' in done
    assert counts() == (before[0] + 1, before[1] + 1)
    u = account("太原工伤康复医院")
    org = u.organization
    assert (org.name, org.org_type, org.level, org.region.code, org.uscc, org.phone) == (
        "太原市工伤康复医院", "medical", "county", "140105", uscc(1), "13912345678")
    assert org.unit_code.startswith("140105") and len(org.unit_code) == 10
    assert (org.province_code, org.city_code, org.county_code) == ("140000", "140100", "140105")
    assert {r.name for r in u.roles} == {"P 基础", "W 医疗机构"}
    assert (u.first_name, u.mobile, u.user_type, u.must_change_password) == (
        "王明", "13912345678", "medical", False)
    assert u.county_code == "140105"
    audit = db.session.execute(select(AuditLog).where(AuditLog.action == "register")).scalar()
    assert audit.user_id == u.id and audit.object_id == org.id and "太原市工伤康复医院" in audit.comment

    r = client.post("/login/", data={"username": "太原工伤康复医院", "password": GOOD_PASSWORD},
                    follow_redirects=True)
    assert r.status_code == 200 and "密码错误" not in flashes(r)
    assert client.get("/login/").status_code == 302     # logged in: the login page sends home


def test_done_page_without_registration_goes_back_to_the_form(client):
    r = client.get(URL + "done")
    assert r.status_code == 302 and r.headers["Location"].endswith(URL)


@pytest.mark.parametrize("province, city, county, level, prefix", [
    ("140000", "140100", "", "city", "140100"),      # 市直属
    ("140000", "149900", "", "city", "140000"),      # 省本级: the province's own sequence
    ("110000", "110101", "", "county", "110101"),    # a municipality's district, no city level
])
def test_registration_at_city_or_county_without_third_level(client, ctx, province, city,
                                                           county, level, prefix):
    r = client.post(URL, data=form(province=province, city=city, county=county,
                                   phone="0351-1234567"))
    assert r.status_code == 302, flashes(r)
    u = account("太原工伤康复医院")
    assert u.organization.level == level and u.organization.unit_code.startswith(prefix)
    assert u.organization.phone == "0351-1234567" and u.mobile is None


def test_existing_institution_without_account_is_reused(client, ctx):
    region = db.session.execute(select(Region).where(Region.code == "140105")).scalar()
    org = Organization(name="小店区工伤定点医院", org_type="medical", level="county",
                       region=region, unit_code="1401059901", uscc=uscc(7))
    org.copy_scope_from(region)
    db.session.add(org)
    db.session.commit()
    org_id, before = org.id, counts()
    r = client.post(URL, data=form(uscc=uscc(7).lower()))
    assert r.status_code == 302, flashes(r)
    assert counts() == (before[0], before[1] + 1)
    u = account("太原工伤康复医院")
    assert u.organization_id == org_id and u.organization.phone == "13912345678"


# Refusals --------------------------------------------------------------------------------------

def test_uscc_with_wrong_check_character_is_refused(client, ctx):
    good = uscc(1)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    page = refused(client, "统一社会信用代码校验位错误", uscc=bad)
    assert "has-error" in page and 'value="太原市工伤康复医院"' in page   # the form comes back


def test_uscc_already_registered_is_refused(client, ctx):
    assert client.post(URL, data=form()).status_code == 302
    refused(client, "该统一社会信用代码已注册，请直接登录", username="另一个登录名",
            name="另一家医院")


def test_login_name_taken_is_refused(client, ctx):
    refused(client, "登录名“ty_hosp1”已被使用", username="ty_hosp1")


@pytest.mark.parametrize("password, confirm, message", [
    ("abc12345", "abc12345", "密码至少8位"),
    ("Ab@1", "Ab@1", "密码至少8位"),
    (GOOD_PASSWORD, GOOD_PASSWORD + "y", "两次输入的密码不一致"),
])
def test_weak_or_unconfirmed_password_is_refused(client, ctx, password, confirm, message):
    refused(client, message, password=password, confirm=confirm)


def test_every_problem_is_shown_at_once(client, ctx):
    page = refused(client, "注册未完成", name="", uscc="", province="", city="", county="",
                   contact="", phone="12345", username="", password="", confirm="")
    for message in ("请填写单位名称", "统一社会信用代码不能为空", "请选择所属区划", "请填写联系人",
                    "联系电话格式无效", "请填写登录名", "密码至少8位"):
        assert message in page, message


def test_region_must_be_consistent(client, ctx):
    refused(client, "请选择所属区划", county="140202")          # a county of another city
    refused(client, "请选择所属区划", city="", county="")        # province only


def test_missing_csrf_token_is_refused(app, client, ctx):
    app.config["WTF_CSRF_ENABLED"] = True
    before = counts()
    r = client.post(URL, data=form())
    assert r.status_code == 400 and "CSRF" in r.get_data(as_text=True)
    assert counts() == before
    r = client.get(URL)
    assert r.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.get_data(as_text=True)).group(1)
    assert client.post(URL, data=form(csrf_token=token)).status_code == 302


def test_captcha_when_enabled(app, client, ctx, monkeypatch):
    from app.models.core import SystemParameter
    app.config["CAPTCHA_ENABLED"] = True
    db.session.execute(db.update(SystemParameter).where(SystemParameter.key == "captcha_enabled")
                       .values(value="1"))
    db.session.commit()
    monkeypatch.setattr("app.services.captcha.generate_code", lambda *a, **k: "AB3K")
    r = client.get(URL)
    assert r.status_code == 200 and "验证码" in r.get_data(as_text=True)
    assert client.get("/captcha.png").status_code == 200
    refused(client, "验证码错误或已过期", captcha="ZZZZ")
    refused(client, "验证码错误或已过期", captcha="AB3K")   # a captcha answers once
    assert client.get("/captcha.png").status_code == 200
    assert client.post(URL, data=form(captcha="ab3k")).status_code == 302


# Client-certificate login ----------------------------------------------------------------------

SUBJECT = "CN=太原市第一人民医院,OU=工伤,O=太原市第一人民医院,C=CN"
TRUSTED = {"REMOTE_ADDR": "127.0.0.1"}


@pytest.fixture
def cert_user(app, ctx):
    u = user("ty_hosp1")
    u.cert_subject = SUBJECT
    db.session.commit()
    yield u.id
    db.session.rollback()
    db.session.execute(db.update(User).where(User.cert_subject.isnot(None))
                       .values(cert_subject=None))
    db.session.commit()


@pytest.fixture
def cert_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "CLIENT_CERT_HEADER", "X-SSL-Client-S-DN")
    monkeypatch.setitem(app.config, "CLIENT_CERT_TRUSTED_PROXIES", ("127.0.0.1", "10.1.0.0/16"))


def logged_in(client, subject=SUBJECT, addr=TRUSTED):
    r = client.get("/login/", headers={"X-SSL-Client-S-DN": subject}, environ_base=addr)
    return r.status_code == 302


def test_certificate_header_ignored_by_default(app, client, cert_user):
    assert app.config["CLIENT_CERT_HEADER"] is None
    assert not logged_in(client)


def test_certificate_of_known_subject_from_trusted_proxy_logs_in(client, cert_user, cert_on):
    assert logged_in(client)
    assert client.get("/login/").status_code == 302          # the session stays logged in
    row = db.session.execute(select(AuditLog).where(AuditLog.action == "login",
                                                    AuditLog.user_id == cert_user)
                             .order_by(AuditLog.id.desc())).scalars().first()
    assert row.comment == "证书登录"
    assert logged_in(client.application.test_client(), addr={"REMOTE_ADDR": "10.1.2.3"})


def test_certificate_header_from_untrusted_address_ignored(client, cert_user, cert_on):
    assert not logged_in(client, addr={"REMOTE_ADDR": "192.168.5.9"})
    # Behind ProxyFix, a forged X-Forwarded-For: 127.0.0.1 does not make the peer trusted.
    assert not logged_in(client, addr={"REMOTE_ADDR": "127.0.0.1", "werkzeug.proxy_fix.orig":
                                       {"REMOTE_ADDR": "192.168.5.9"}})


def test_unknown_certificate_subject_ignored(client, cert_user, cert_on):
    assert not logged_in(client, subject="CN=某某医院,C=CN")
    assert not logged_in(client, subject="")


def test_certificate_of_disabled_account_ignored(client, cert_user, cert_on):
    db.session.execute(db.update(User).where(User.id == cert_user).values(active=False))
    db.session.commit()
    assert not logged_in(client)
