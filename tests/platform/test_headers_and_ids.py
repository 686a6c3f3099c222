"""Issue 17 items 4 and 7: the headers every response carries, nothing of a signed-in
user cached, ids beyond 32 bits answered 404 (PostgreSQL overflowed into a 500), and an
internal error shown as a Chinese page, never FAB's English one."""
import pytest

HUGE = "99999999999999999999"


def test_every_page_forbids_framing_and_sniffing_and_has_a_policy(client, login_as):
    for response in (client.get("/login/"), login_as("ty_hosp1").get("/")):
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
        assert "default-src 'self'" in policy


def test_signed_in_pages_downloads_and_api_are_not_cached_static_files_are(login_as, api):
    c = login_as("ty_hosp1")
    assert c.get("/").headers["Cache-Control"] == "no-store"
    assert c.get("/relief/applications/list/").headers["Cache-Control"] == "no-store"
    assert "no-store" not in c.get("/static/portal.css").headers.get("Cache-Control", "")
    a, h = api("ty_hosp1")
    assert a.get("/api/v1/relief_application/", headers=h).headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", [
    f"/relief/applications/show/{HUGE}", f"/relief/applications/edit/{HUGE}",
    f"/attachments/{HUGE}", f"/attachments/-{HUGE}",
])
def test_ids_beyond_32_bits_on_screens_are_404(login_as, path):
    assert login_as("ty_hosp1").get(path).status_code == 404


@pytest.mark.parametrize("method,path", [
    ("get", f"/api/v1/relief_application/{HUGE}"),
    ("get", f"/api/v1/relief_application/{HUGE}/history"),
    ("post", f"/api/v1/relief_application/{HUGE}/submit"),
    ("put", f"/api/v1/relief_application/{HUGE}"),
    ("delete", f"/api/v1/relief_application/{HUGE}"),
])
def test_ids_beyond_32_bits_on_the_api_are_404_in_json(api, method, path):
    c, h = api("ty_hosp1")
    r = getattr(c, method)(path, headers=h, json={})
    assert r.status_code == 404 and r.json["message"]


def test_an_internal_error_is_a_chinese_page(app):
    from werkzeug.exceptions import InternalServerError
    handler = app.error_handler_spec[None][500][InternalServerError]
    with app.test_request_context("/relief/applications/list/"):
        from flask_login import AnonymousUserMixin
        from flask import g
        g.user = AnonymousUserMixin()
        body, status = handler(InternalServerError())
    assert status == 500 and "系统内部错误" in body and "Internal Server Error" not in body
    with app.test_request_context("/api/v1/relief_application/"):
        response, status = handler(InternalServerError())
    assert status == 500 and response.json == {"message": "系统内部错误"}


@pytest.mark.parametrize("query", ["(((", "(page:-5,page_size:20)", "(page:0,page_size:-1)",
                                   f"(page:{HUGE},page_size:20)", "(page:'x')"])
def test_a_malformed_api_query_is_a_400(api, query):
    c, h = api("admin")
    r = c.get("/api/v1/relief_application/", headers=h, query_string={"q": query})
    assert r.status_code == 400 and r.json["message"]


@pytest.mark.parametrize("value", ["-3", "abc", "1.5"])
def test_a_malformed_page_number_on_a_screen_is_a_400(login_as, value):
    r = login_as("admin").get(f"/relief/applications/list/?page_ReliefApplicationView={value}")
    assert r.status_code == 400


def test_the_audit_log_has_no_actions(login_as):
    c = login_as("admin")
    assert c.post("/system/audit/action/delete/1").status_code == 404
    assert c.post("/system/audit/action_post", data={"action": "delete"}).status_code == 404


def test_a_login_name_longer_than_any_account_is_refused_not_a_500(app):
    """The failed login is audited under the typed name: cut to the column, never an overflow
    (PostgreSQL refused the 300-character name with a 500)."""
    c = app.test_client()
    r = c.post("/api/v1/security/login",
               json={"username": "无" * 300, "password": "x", "provider": "db"})
    assert r.status_code == 401
