"""Sessions and tokens end with the credentials (issue 17 item 6): the token of the forced
password change stops working after the change, a password change, reset or disable ends the
account's web sessions and API tokens (a credential stamp on the account, in the session and in
the JWT); an old session does not come back when the account is enabled again."""
from tests.conftest import PASSWORD, flashes, user

INITIAL = "Init@2026"
NEW = "New@Pass2026"
ENDED = "登录已失效"
LIST = "/relief/applications/list/"
API_LIST = "/api/v1/relief_application/"


def _token(client, username, password=PASSWORD):
    r = client.post("/api/v1/security/login", json={"username": username, "password": password})
    assert r.status_code in (200, 403), r.json
    return {"Authorization": "Bearer " + r.json["access_token"]}


def _user_id(app, username):
    with app.app_context():
        return user(username).id


def _web_session_ended(client):
    r = client.get(LIST)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert ENDED in flashes(client.get(r.headers["Location"]))
    return True


def _token_refused(client, headers):
    r = client.get(API_LIST, headers=headers)
    return r.status_code == 401 and ENDED in r.json["message"] \
        and r.json["code"] == "session_ended"


def test_forced_change_token_stops_working_after_the_change(app, login_as, client):
    login_as("ty_agency").post(f"/system/accounts/reset_password/{_user_id(app, 'ty_hosp1')}")
    headers = _token(client, "ty_hosp1", INITIAL)
    r = client.post("/api/v1/me/password", headers=headers,
                    json={"old_password": INITIAL, "new_password": NEW})
    assert r.status_code == 200
    assert _token_refused(client, headers)
    assert client.get(API_LIST, headers=_token(client, "ty_hosp1", NEW)).status_code == 200


def test_password_reset_ends_web_sessions_and_tokens(app, login_as, client):
    web, other = login_as("ty_hosp1"), login_as("ty_hosp2")
    headers, other_headers = _token(client, "ty_hosp1"), _token(client, "ty_hosp2")
    assert web.get(LIST).status_code == 200
    assert client.get(API_LIST, headers=headers).status_code == 200
    login_as("ty_agency").post(f"/system/accounts/reset_password/{_user_id(app, 'ty_hosp1')}")
    assert _web_session_ended(web)
    assert _token_refused(client, headers)
    # Another account's session and token go on.
    assert other.get(LIST).status_code == 200
    assert client.get(API_LIST, headers=other_headers).status_code == 200


def test_disable_ends_sessions_and_enable_does_not_bring_them_back(app, login_as, client):
    web = login_as("ty_hosp1")
    headers = _token(client, "ty_hosp1")
    admin = login_as("admin")
    pk = _user_id(app, "ty_hosp1")
    admin.post(f"/system/accounts/disable/{pk}")
    admin.post(f"/system/accounts/enable/{pk}")
    assert _web_session_ended(web)
    assert _token_refused(client, headers)
    # A new login works as before.
    assert login_as("ty_hosp1").get(LIST).status_code == 200
    assert client.get(API_LIST, headers=_token(client, "ty_hosp1")).status_code == 200


def test_own_password_change_ends_the_other_sessions(login_as, client):
    here, elsewhere = login_as("ty_hosp1"), login_as("ty_hosp1")
    headers = _token(client, "ty_hosp1")
    r = here.post("/password/change", data={"old_password": PASSWORD, "new_password": NEW,
                                             "confirm_password": NEW})
    assert r.status_code == 302
    assert _web_session_ended(elsewhere)
    assert _token_refused(client, headers)
    assert login_as("ty_hosp1", NEW).get(LIST).status_code == 200


def test_a_token_without_the_stamp_is_refused(app, client):
    """A token signed before the stamp existed (or forged without it) is not accepted."""
    from flask_jwt_extended import create_access_token
    with app.app_context():
        headers = {"Authorization": "Bearer " + create_access_token(
            identity=str(user("ty_hosp1").id), fresh=True)}
    assert _token_refused(client, headers)
