"""Login rate limiting per client address (issue 8 item 2): the login page's POST and the JWT
login share one counter; a refusal is 429 with a Chinese message (a flash on the page, JSON on
the API). The test app is exempt unless LOGIN_RATE_LIMIT_IN_TESTS is set; every test here uses
its own client address, so counters of other tests or runs never meet."""
import uuid

import pytest

from tests.conftest import PASSWORD, flashes

MESSAGE = "登录尝试过于频繁，请稍后再试"


@pytest.fixture
def limited(app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT_IN_TESTS", True)
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")

    def client():
        return from_address(app, "10.%d.%d.%d" % tuple(uuid.uuid4().bytes[:3]))
    return client


def from_address(app, address):
    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c


def test_login_page_is_limited_per_address(limited):
    c = limited()
    for _ in range(3):
        r = c.post("/login/", data={"username": "ty_hosp1", "password": "wrong"})
        assert r.status_code == 302
    assert c.get("/login/").status_code == 200      # showing the page does not count
    r = c.post("/login/", data={"username": "ty_hosp1", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert MESSAGE in flashes(r) and 'name="login"' in r.get_data(as_text=True)
    # Another address is not affected, and logs in.
    assert limited().post("/login/", data={"username": "ty_hosp1",
                                           "password": PASSWORD}).status_code == 302


def test_api_login_is_limited_and_answers_json(limited):
    c = limited()
    for _ in range(3):
        r = c.post("/api/v1/security/login", json={"username": "ty_hosp1", "password": "x"})
        assert r.status_code == 401
    r = c.post("/api/v1/security/login", json={"username": "ty_hosp1", "password": PASSWORD})
    assert r.status_code == 429
    assert r.json == {"message": MESSAGE, "code": "rate_limited"}


def test_page_and_api_share_the_counter(limited):
    c = limited()
    c.post("/login/", data={"username": "ty_hosp1", "password": "wrong"})
    c.post("/api/v1/security/login", json={"username": "ty_hosp1", "password": "x"})
    c.post("/login/", data={"username": "ty_hosp1", "password": "wrong"})
    assert c.post("/api/v1/security/login",
                  json={"username": "ty_hosp1", "password": PASSWORD}).status_code == 429


def test_empty_limit_switches_it_off(limited, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "")
    c = limited()
    for _ in range(5):
        assert c.post("/login/", data={"username": "ty_hosp1", "password": "x"}).status_code == 302


def test_test_app_is_exempt_by_default(app):
    assert app.config["RATELIMIT_ENABLED"] and app.config["LOGIN_RATE_LIMIT"]
    c = from_address(app, "10.255.0.%d" % (uuid.uuid4().int % 250))
    for _ in range(12):
        assert c.post("/login/", data={"username": "nobody", "password": "x"}).status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_address_counts(limited, app, monkeypatch):
    proxy = "10.%d.%d.%d" % tuple(uuid.uuid4().bytes[:3])
    monkeypatch.setitem(app.config, "RATELIMIT_TRUSTED_PROXIES", (proxy,))
    c = from_address(app, proxy)
    n = uuid.uuid4().int % 250 + 1
    first, second = f"192.0.2.{n}", f"198.18.0.{n}"

    def attempt(forwarded):
        return c.post("/login/", data={"username": "ty_hosp1", "password": "wrong"},
                      headers={"X-Forwarded-For": forwarded}).status_code
    # A client-sent X-Forwarded-For on the left does not give it a new counter.
    assert [attempt(f"198.51.100.{n}, {first}") for n in range(4)] == [302, 302, 302, 429]
    assert attempt(second) == 302                                  # another client
    # From an untrusted peer the header is ignored: the peer's own address counts.
    other = limited()
    assert [other.post("/login/", data={"username": "x", "password": "y"},
                       headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
            for n in range(4)] == [302, 302, 302, 429]


def test_storage_follows_the_environment():
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    def storage(**env):
        base = {k: v for k, v in os.environ.items()
                if k not in ("REDIS_URL", "RATELIMIT_STORAGE_URI")}
        return subprocess.run([sys.executable, "-c", "import config; print("
                               "config.RATELIMIT_STORAGE_URI, config.RATELIMIT_ENABLED)"],
                              cwd=root, env={**base, **env}, capture_output=True, text=True,
                              check=True).stdout.split()
    assert storage() == ["memory://", "True"]
    assert storage(REDIS_URL="redis://r:6379/0") == ["redis://r:6379/0", "True"]
    assert storage(REDIS_URL="redis://r:6379/0", RATELIMIT_STORAGE_URI="memcached://m:11211") \
        == ["memcached://m:11211", "True"]
