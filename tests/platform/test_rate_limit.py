"""Login rate limiting (issue 8 item 2, issue 18 item 11): the login page's POST and the JWT
login share two counters, one per client address and one per login name; a refusal is 429 with
a Chinese message (a flash on the page, JSON on the API). The public registration pages are
limited per address (issue 17 item 8). The test app is exempt unless RATE_LIMITS_IN_TESTS is
set; every test here uses its own client address, so counters of other tests never meet.

Without Redis the counters are rows of rate_limit_counter (portal-db://,
app/services/rate_limit_storage.py), shared by every process on the database: a second process
counts with the first, windows expire, concurrent hits are counted exactly. Every test here
leaves the table empty."""
import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from sqlalchemy import column, delete, insert, select, table, update

from app.extensions import db, limiter
from app.models.core import RateLimitCounter
from app.services import rate_limit_storage
from app.services.rate_limit_storage import DatabaseStorage
from tests.conftest import PASSWORD, flashes

# a second web process counts logins in the test database
pytestmark = pytest.mark.writes_elsewhere

MESSAGE = "登录尝试过于频繁，请稍后再试"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COUNTERS = RateLimitCounter.__table__


@pytest.fixture(autouse=True)
def _empty_counters(app):
    yield
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(delete(COUNTERS))


@pytest.fixture
def limited(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMITS_IN_TESTS", True)
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT_ADDRESS", "3 per minute")

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
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT_ADDRESS", "")
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT_ACCOUNT", "")
    c = limited()
    for _ in range(5):
        assert c.post("/login/", data={"username": "ty_hosp1", "password": "x"}).status_code == 302


def test_test_app_is_exempt_by_default(app):
    assert app.config["RATELIMIT_ENABLED"] and app.config["LOGIN_RATE_LIMIT_ADDRESS"] \
        and app.config["LOGIN_RATE_LIMIT_ACCOUNT"] and app.config["REGISTER_RATE_LIMIT"]
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


def _random_address():
    return "10.%d.%d.%d" % tuple(uuid.uuid4().bytes[:3])


def test_one_account_is_limited_across_addresses(limited, app, monkeypatch):
    """Guessing one account's password from many addresses meets the per-account counter;
    other accounts from the same addresses are not affected."""
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT_ADDRESS", "100 per minute")
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT_ACCOUNT", "3 per minute")
    clients = [limited() for _ in range(4)]
    codes = [c.post("/login/", data={"username": "ty_hosp2", "password": "wrong"}).status_code
             for c in clients[:2]]
    codes.append(clients[2].post("/api/v1/security/login",
                                 json={"username": "ty_hosp2", "password": "x"}).status_code)
    assert codes == [302, 302, 401]
    r = clients[3].post("/login/", data={"username": "ty_hosp2", "password": PASSWORD})
    assert r.status_code == 429 and MESSAGE in flashes(r) and int(r.headers["Retry-After"]) >= 1
    r = clients[3].post("/api/v1/security/login", json={"username": " ty_hosp2 ", "password": "x"})
    assert r.status_code == 429 and r.json["code"] == "rate_limited"
    assert clients[3].post("/login/", data={"username": "ty_hosp1",
                                            "password": PASSWORD}).status_code == 302


def test_an_office_behind_one_address_logs_in_at_the_start_of_the_day(app, monkeypatch):
    """With the default limits, a hospital or bureau behind one NAT address: every colleague
    logs in (some twice, one mistyping) within the minute without a 429."""
    from app.models.core import User
    monkeypatch.setitem(app.config, "RATE_LIMITS_IN_TESTS", True)
    with app.app_context():
        names = db.session.execute(select(User.username).where(
            User.active.is_(True), User.must_change_password.is_(False))
            .order_by(User.id)).scalars().all()
    office = from_address(app, _random_address())
    codes = []
    for name in names[:30] * 2:
        codes.append(office.post("/login/", data={"username": name, "password": PASSWORD},
                                 follow_redirects=False).status_code)
        office.get("/logout/")
    codes.append(office.post("/login/", data={"username": names[0],
                                              "password": "typo"}).status_code)
    assert len(names) >= 20 and 429 not in codes and set(codes) == {302}


def _register_posts(app, address, urls):
    c = from_address(app, address)
    return [c.post(url, data={"username": "限流测试"}).status_code for url in urls]


def test_registration_pages_are_limited_per_address(limited, app, monkeypatch):
    monkeypatch.setitem(app.config, "REGISTER_RATE_LIMIT", "2 per minute")
    address = _random_address()
    c = from_address(app, address)
    assert c.get("/injury/register/").status_code == 200        # showing it does not count
    assert _register_posts(app, address, ["/injury/register/", "/registry/register/"]) \
        == [422, 422]
    r = c.post("/registry/register/", data={"username": "限流测试"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "注册尝试过于频繁，请稍后再试" in r.get_data(as_text=True)
    assert c.post("/injury/register/", data={}).status_code == 429      # one counter for both
    assert c.get("/injury/register/").status_code == 200
    assert _register_posts(app, _random_address(), ["/injury/register/"]) == [422]


def _environment(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RATELIMIT_STORAGE_URI")}
    return {**base, **env}


def test_storage_follows_the_environment():
    def storage(**env):
        return subprocess.run([sys.executable, "-c", "import config; print("
                               "config.RATELIMIT_STORAGE_URI, config.RATELIMIT_ENABLED)"],
                              cwd=ROOT, env=_environment(**env), capture_output=True, text=True,
                              check=True).stdout.split()
    assert storage() == ["portal-db://", "True"]
    assert storage(REDIS_URL="redis://r:6379/0") == ["redis://r:6379/0", "True"]
    assert storage(REDIS_URL="redis://r:6379/0", RATELIMIT_STORAGE_URI="memcached://m:11211") \
        == ["memcached://m:11211", "True"]


# --- counters in the database (portal-db://) ---

@pytest.fixture
def in_database(app):
    """The session app counts in the database unless the environment chose another storage."""
    if app.config["RATELIMIT_STORAGE_URI"] != "portal-db://":
        pytest.skip("RATELIMIT_STORAGE_URI / REDIS_URL set: the test app counts elsewhere")
    assert isinstance(limiter.storage, DatabaseStorage)


def _rows(app, address):
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(select(COUNTERS.c.key, COUNTERS.c.count).where(
            COUNTERS.c.key.contains(f"/{address}/"))).all()


def test_default_storage_is_the_database(app, in_database):
    from limits.storage import storage_from_string
    assert isinstance(storage_from_string("portal-db://"), DatabaseStorage)
    assert limiter.limiter.storage is limiter.storage    # not the in-memory fallback


# A second web process ("worker") on the same database: its own interpreter, its own app.
WORKER = """
import json, sys
from app import create_app

config, address, attempts = json.loads(sys.argv[1])
c = create_app(config).test_client()
c.environ_base["REMOTE_ADDR"] = address
print(json.dumps([c.post("/login/", data={"username": "nobody", "password": "x"}).status_code
                  for _ in range(attempts)]))
"""


def _other_worker(app, address, attempts):
    config = {k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "INSTANCE_DIR",
                                         "STORAGE_DIR", "LOGIN_RATE_LIMIT_ADDRESS",
                                         "LOGIN_RATE_LIMIT_ACCOUNT")}
    config.update(TESTING=True, CAPTCHA_ENABLED=False, WTF_CSRF_ENABLED=False,
                  RATE_LIMITS_IN_TESTS=True, RATELIMIT_STORAGE_URI="portal-db://")
    out = subprocess.run([sys.executable, "-c", WORKER, json.dumps([config, address, attempts])],
                         cwd=ROOT, env=_environment(), capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_workers_share_the_counter(limited, app, in_database):
    c = limited()
    address = c.environ_base["REMOTE_ADDR"]
    attempt = lambda: c.post("/login/", data={"username": "nobody", "password": "x"}).status_code  # noqa: E731
    assert [attempt(), attempt()] == [302, 302]
    assert _other_worker(app, address, 2) == [302, 429]        # 3 per minute, together
    assert attempt() == 429
    assert [n for _key, n in _rows(app, address)] == [5]
    # Another address in the other worker is not affected.
    assert _other_worker(app, limited().environ_base["REMOTE_ADDR"], 1) == [302]


def test_the_window_expires(limited, app, in_database):
    c = limited()
    address = c.environ_base["REMOTE_ADDR"]
    codes = [c.post("/api/v1/security/login", json={"username": "nobody", "password": "x"})
             .status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    with app.app_context(), db.engine.begin() as conn:    # the minute is over
        conn.execute(update(COUNTERS).where(COUNTERS.c.key.contains(f"/{address}/"))
                     .values(expires_at=time.time() - 1))
    assert c.post("/api/v1/security/login",
                  json={"username": "nobody", "password": "x"}).status_code == 401
    assert [n for _key, n in _rows(app, address)] == [1]      # a new window in the same row


def test_storage_operations(ctx):
    s, now = DatabaseStorage(), time.time()
    assert s.check()
    assert (s.get("k"), s.incr("k", 60), s.incr("k", 60, amount=2), s.get("k")) == (0, 1, 3, 3)
    assert now + 59 < s.get_expiry("k") <= time.time() + 60
    s.incr("other", 60)
    s.clear("k")
    assert s.get("k") == 0 and s.get("other") == 1
    assert now - 1 < s.get_expiry("k") <= time.time()         # no window: now
    with db.engine.begin() as conn:
        conn.execute(insert(COUNTERS).values(key="old", count=7, expires_at=now - 5))
    assert s.get("old") == 0 and s.get_expiry("old") <= time.time()     # expired: absent
    assert s.incr("old", 30) == 1 and s.get_expiry("old") > now + 29
    long_key = "LIMITER/" + "x" * 400
    assert s.incr(long_key, 60) == 1 and s.incr(long_key, 60) == 2 and s.get(long_key) == 2
    assert s.reset() == 3 and s.get("other") == 0


def test_check_is_false_without_an_app_context_or_table(app, monkeypatch):
    assert DatabaseStorage().check() is False
    with app.app_context():
        assert DatabaseStorage().check() is True
        monkeypatch.setattr(rate_limit_storage, "_table",           # not migrated yet
                            lambda: table("rate_limit_counter_missing", column("key")))
        assert DatabaseStorage().check() is False


def test_counting_is_not_the_requests_transaction(ctx):
    """A hit commits on its own connection: the session's rollback does not undo it, and the
    session's pending work is neither committed nor rolled back by it."""
    from app.models.core import SystemParameter
    row = db.session.execute(select(SystemParameter)).scalars().first()
    label = row.label
    row.label = "pending"
    assert DatabaseStorage().incr("mine", 60) == 1
    assert row.label == "pending" and row in db.session.dirty
    db.session.rollback()
    assert DatabaseStorage().get("mine") == 1
    assert db.session.get(SystemParameter, row.id).label == label


def _concurrently(app, n, fn):
    barrier, results, errors = threading.Barrier(n), [], []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                results.append(fn())
        except Exception as exc:    # noqa: BLE001  (reported below)
            errors.append(exc)
    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    return sorted(results)


def test_concurrent_hits_are_each_counted_once(app):
    s, n = DatabaseStorage(), 12
    assert _concurrently(app, n, lambda: s.incr("race", 60)) == list(range(1, n + 1))
    # An expired window is restarted exactly once however many hits race for it.
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(update(COUNTERS).where(COUNTERS.c.key == "race")
                     .values(expires_at=time.time() - 1))
    assert _concurrently(app, n, lambda: s.incr("race", 60)) == list(range(1, n + 1))
    with app.app_context():
        assert s.get("race") == n


def test_long_expired_rows_are_deleted_now_and_then(ctx, monkeypatch):
    now = time.time()
    with db.engine.begin() as conn:
        conn.execute(insert(COUNTERS), [
            {"key": "ancient", "count": 3, "expires_at": now - 2 * 3600},
            {"key": "just-over", "count": 3, "expires_at": now - 60},
            {"key": "live", "count": 3, "expires_at": now + 60}])
    s = DatabaseStorage()
    monkeypatch.setattr(rate_limit_storage, "CLEANUP_PROBABILITY", 0)
    s.incr("hit", 60)
    keys = lambda: set(db.session.execute(select(COUNTERS.c.key)).scalars())  # noqa: E731
    assert keys() == {"ancient", "just-over", "live", "hit"}
    db.session.rollback()
    monkeypatch.setattr(rate_limit_storage, "CLEANUP_PROBABILITY", 1)
    s.incr("hit", 60)
    assert keys() == {"just-over", "live", "hit"}
    db.session.rollback()
