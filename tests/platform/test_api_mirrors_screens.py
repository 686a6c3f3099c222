"""The REST API allows exactly what the screens allow (issue 17 item 3, SPEC P15).

Generated over every REST resource that mirrors screens × one demo account per distinct set of
roles: each operation (list, create, update, delete, transition) answers 403 exactly when none
of the account's screen permissions named by the resource's declaration is granted, and gets
past the permission check (200/404/4xx of the rule) otherwise. The expected side is read
straight from the role tables in the database, not through the security manager."""
import pytest
from sqlalchemy import select

from app.extensions import db
from tests.conftest import PASSWORD

NO_PERMISSION = "您没有此操作的权限"      # FAB's permission refusal, in the portal's words
BIG = 2147483647          # an id no demo row has: an allowed call answers 404, not a write
OPERATIONS = {            # API permission → (method, path under the resource)
    "can_get": ("GET", f"/{BIG}"),      # the permission of the list too; a 404 is cheap
    "can_post": ("POST", "/"),
    "can_put": ("PUT", f"/{BIG}"),
    "can_delete": ("DELETE", f"/{BIG}"),
    "can_transition": ("POST", f"/{BIG}/submit"),
}


def _mirrored_apis(app):
    return [v for v in app.appbuilder.baseviews if getattr(v, "screens", None)]


def _granted(username):
    """The (view, permission) pairs of the account's roles, from the role tables."""
    from flask_appbuilder.security.sqla.models import (Permission, PermissionView, ViewMenu,
                                                       assoc_permissionview_role as link)
    from app.models.core import User
    account = db.session.execute(select(User).where(User.username == username)).scalar_one()
    rows = db.session.execute(
        select(ViewMenu.name, Permission.name)
        .join(PermissionView, PermissionView.view_menu_id == ViewMenu.id)
        .join(Permission, Permission.id == PermissionView.permission_id)
        .join(link, link.c.permission_view_id == PermissionView.id)
        .where(link.c.role_id.in_([r.id for r in account.roles]))).all()
    return set(rows)


def _one_account_per_role_set(app):
    from app.models.core import User
    with app.app_context():
        seen, logins = set(), []
        for account in db.session.execute(select(User).where(User.active.is_(True))
                                          .order_by(User.id)).scalars():
            key = frozenset(r.name for r in account.roles)
            if key and key not in seen and not account.must_change_password:
                seen.add(key)
                logins.append(account.username)
        return logins


def test_every_business_resource_declares_the_screens_it_mirrors(app):
    """Every REST resource over business data says which screens it mirrors, and each screen
    permission it names exists (a misspelt one would silently refuse everybody)."""
    names = {v.class_permission_name: v for v in app.appbuilder.baseviews}
    business = [v for v in app.appbuilder.baseviews
                if getattr(v, "resource_name", "").split("_")[0] in
                {"relief", "ivd", "injury", "phs", "registry"}]
    assert len(business) >= 20
    undeclared = [v.resource_name for v in business if not getattr(v, "screens", None)]
    assert undeclared == []
    for api in _mirrored_apis(app):
        for permission, pairs in api.screens.items():
            for screen, screen_permission in pairs:
                view = names.get(screen)
                assert view is not None, (api.resource_name, screen)
                if screen_permission in STANDARD_PERMISSIONS:
                    continue          # a standard pair names what a screen may not have
                assert screen_permission in (view.base_permissions or ()), (
                    api.resource_name, permission, screen, screen_permission)


STANDARD_PERMISSIONS = {"can_list", "can_show", "can_add", "can_edit", "can_delete", "can_fire"}


def test_api_operations_match_the_screens_for_every_resource_and_role(app):
    logins = _one_account_per_role_set(app)
    assert {"ty_hosp1", "ty_agency"} <= set(logins) or len(logins) >= 10
    mismatches, checked = [], 0
    for login in logins:
        c = app.test_client()
        r = c.post("/api/v1/security/login",
                   json={"username": login, "password": PASSWORD, "provider": "db"})
        assert r.status_code == 200, (login, r.json)
        headers = {"Authorization": f"Bearer {r.json['access_token']}"}
        with app.app_context():
            granted = _granted(login)
        for api in _mirrored_apis(app):
            base = f"/api/v1/{api.resource_name}"
            for permission, (method, path) in OPERATIONS.items():
                response = c.open(base + path, method=method, headers=headers,
                                  json={} if method in ("POST", "PUT") else None)
                checked += 1
                assert response.status_code < 500, (login, method, base + path)
                if permission not in (api.base_permissions or ()):
                    # not an operation of this resource at all (no route, or FAB's 403)
                    if response.status_code not in (403, 404, 405):
                        mismatches.append((login, api.resource_name, permission,
                                           response.status_code, "not exposed"))
                    continue
                allowed = any(p in granted for p in api.screens.get(permission, ()))
                if response.status_code == 405:
                    continue        # no such route (the permission guards other endpoints)
                refused = response.status_code == 403 and (response.json or {}).get(
                    "message") == NO_PERMISSION   # a rule's own 403 says why in its words
                if refused == allowed:
                    mismatches.append((login, api.resource_name, permission,
                                       response.status_code, allowed))
    assert checked > 500
    assert mismatches == [], mismatches[:20]


@pytest.mark.parametrize("login, method, path, body", [
    # the agency reviews applications; it neither edits a hospital's draft nor files one
    ("ty_agency", "PUT", "/api/v1/relief_application/1", {"relief_place": "改"}),
    ("ty_agency", "POST", "/api/v1/relief_application/", {"patient_name": "张三"}),
    # the agency does not re-value a hospital's prepayment (its screen: list and show only)
    ("ty_agency", "PUT", "/api/v1/relief_prepayment/1", {"amount": "0.01"}),
    # performance figures are generated, never typed in
    ("ty_hosp1", "POST", "/api/v1/relief_performance/", {"apps_received": 999}),
    # a hospital looks a person up by ID number; it never lists the city's injured workers
    ("ty_hosp1", "GET", "/api/v1/injury_determination/", None),
])
def test_what_the_outside_test_did_is_refused(app, api, login, method, path, body):
    c, h = api(login)
    r = c.open(path, method=method, headers=h, json=body)
    assert r.status_code == 403 and r.json["message"] == NO_PERMISSION


def test_refusal_changes_nothing_and_the_screen_way_still_works(app, api):
    from app.models.relief import ReliefApplication, ReliefPerformance
    with app.app_context():
        before = db.session.get(ReliefApplication, 1).relief_place
        performances = db.session.query(ReliefPerformance).count()
    c, h = api("ty_agency")
    c.put("/api/v1/relief_application/1", headers=h, json={"relief_place": "改"})
    c, h = api("ty_hosp1")
    c.post("/api/v1/relief_performance/", headers=h, json={"apps_received": 999})
    with app.app_context():
        assert db.session.get(ReliefApplication, 1).relief_place == before
        assert db.session.query(ReliefPerformance).count() == performances
    r = c.post("/api/v1/relief_performance/generate", headers=h)
    assert r.status_code == 200
    lookup = c.get("/api/v1/injury_determination/lookup", headers=h,
                   query_string={"id_number": "110101199003074514"})
    assert lookup.status_code == 200
