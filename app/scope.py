"""The one scoping predicate (SPEC P7, DESIGN §3).

`region_scope(model, user)` returns an SQL expression: an equality on one indexed
column chosen by the caller's level, or on the organisation column for institution
users. Everything that reads business rows goes through it."""
from flask import g, has_request_context
from sqlalchemy import false, or_, select, true
from sqlalchemy.sql.elements import True_
from werkzeug.exceptions import NotFound

from app.extensions import db
from app.models.core import INSTITUTION_TYPES

ADMIN_ROLE = "Admin"
LEVEL_COLUMN = {"province": "province_code", "city": "city_code", "county": "county_code"}


def is_superadmin(user):
    return user is not None and any(r.name == ADMIN_ROLE for r in (user.roles or []))


def scope_of(user):
    """('all', None) | ('org', org_id) | ('province'|'city'|'county', code) | ('none', None).
    Cached for the request: every list and check asks it again."""
    if has_request_context() and user is not None and getattr(user, "id", None) is not None:
        cache = g.setdefault("_scope", {})
        if user.id not in cache:
            cache[user.id] = _scope_of(user)
        return cache[user.id]
    return _scope_of(user)


def _scope_of(user):
    if user is None or not getattr(user, "is_authenticated", False):
        return ("none", None)
    if is_superadmin(user):
        return ("all", None)
    org = user.organization
    if org is None:
        return ("none", None)
    if org.org_type in INSTITUTION_TYPES:
        return ("org", org.id)
    region = org.region
    if region.level == "nation":
        return ("all", None)
    return (region.level, getattr(region, LEVEL_COLUMN[region.level]))


def org_column(model):
    return getattr(model, getattr(model, "__scope_org_column__", "organization_id"))


def region_scope(model, user):
    """The rows `user` may see. Hooks a model may declare: `institution_scope(org)` (rows an
    institution reads but does not own), `organization_scope(org)` (rows an organisation
    sees by its own id rather than its region, or None) and `personal_scope(user)` (rows a
    person holds whatever their organisation, e.g. a registrant's own authorisation)."""
    personal = getattr(model, "personal_scope", None)
    base = _organisation_scope(model, user)
    signed_in = getattr(user, "is_authenticated", False) and getattr(user, "id", None)
    if personal is None or isinstance(base, True_) or not signed_in:
        return base
    return or_(base, personal(user))


def _organisation_scope(model, user):
    if getattr(model, "__scope_public__", False):   # e.g. announcements: every signed-in user
        return true() if getattr(user, "is_authenticated", False) else false()
    owner = getattr(model, "__scope_owner_column__", None)
    if owner is not None:     # personal rows (export jobs): the owner only, whatever the level
        uid = getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
        return getattr(model, owner) == uid if uid is not None else false()
    kind, value = scope_of(user)
    if kind == "all":
        return true()
    if kind == "none":
        return false()
    by_org = getattr(model, "organization_scope", None)
    if by_org is not None:
        expr = by_org(user.organization)
        if expr is not None:
            return expr
    if kind == "org":
        hook = getattr(model, "institution_scope", None)   # rows an institution reads but
        if hook is not None:                                # does not own (W3, W6)
            return hook(user.organization)
        return org_column(model) == value
    return getattr(model, LEVEL_COLUMN[kind]) == value


def scoped_query(model, user):
    return select(model).where(region_scope(model, user))


def scoped_get(model, pk, user):
    """Load one row through the scope; anything else, including a malformed pk, is 404."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise NotFound()
    if not -2 ** 31 <= pk < 2 ** 31:   # ids are 32-bit: a larger one (a JSON body's) is missing
        raise NotFound()
    obj = db.session.execute(
        scoped_query(model, user).where(model.id == pk)).scalar_one_or_none()
    if obj is None:
        raise NotFound()
    return obj


def org_in_scope(org, user):
    """Is this organisation (a write target) inside the caller's scope?"""
    kind, value = scope_of(user)
    if kind == "all":
        return True
    if kind in ("none",) or org is None:
        return False
    if kind == "org":
        return org.id == value
    return getattr(org, LEVEL_COLUMN[kind]) == value


def region_in_scope(region, user):
    kind, value = scope_of(user)
    if kind == "all":
        return True
    if kind in ("none", "org") or region is None:
        return False
    return getattr(region, LEVEL_COLUMN[kind]) == value


def claim_for_caller(item, user):
    """A row created by a user belongs to the user's organisation and its region, whatever
    a form or request body said (a POST cannot create a row in another region)."""
    org = getattr(user, "organization", None)
    if hasattr(item, "organization_id") and org is not None:
        item.organization_id = org.id
        item.organization = org
    if hasattr(item, "copy_scope_from") and getattr(item, "organization", None) is not None:
        item.copy_scope_from(item.organization)
