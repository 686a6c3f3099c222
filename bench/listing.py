"""Scoped list page: FAB's list query (count + first page of 20, newest first) for a
user, against the same question asked in hand-written SQL on the same engine.

ORM path  = exactly what RegionScopedMixin._get_list_widget runs:
            view.list_page(view._filters, "id", "desc", 0, 20)
            in a request context with g.user set (scope filter + StateNotFilter), the
            page materialised as ORM objects with their joined-eager relations.
Raw SQL   = SELECT count(*) … WHERE <scope column> = :v AND state <> 'deleted'
            + SELECT relief_application.*, organization.name … ORDER BY id DESC LIMIT 20
            (the organisation name is the list's second column), via text(); for a
            national user (scope_of → ("all", None)) the same without the scope predicate.

Each iteration uses a fresh request context / session, as a real request does; the
user row is loaded outside the timer (login does that once per request anyway). The
two paths alternate so drift hits both alike; median of `repeat` runs after warm-up."""
import statistics
import time

from sqlalchemy import text

from bench.common import find_view, load_user

PAGE = 20
SCOPE_COLUMN = {"org": "organization_id", "province": "province_code",
                "city": "city_code", "county": "county_code"}


def _orm_once(app, view, username):
    from flask import g
    with app.test_request_context("/relief/applications/list/"):
        g.user = load_user(username)
        g.user.organization  # noqa: B018  (loaded by the login, not by the list)
        g.user.roles  # noqa: B018  (loaded by the permission check before every view)
        t0 = time.perf_counter()
        count, items = view.list_page(view._filters, "id", "desc", 0, PAGE)
        ids = [item.id for item in items]
        elapsed = time.perf_counter() - t0
    return elapsed, count, ids


def _raw_sql(column):
    where = (f"ra.{column} = :v AND " if column else "") + "ra.state <> 'deleted'"
    count_sql = text(f"SELECT count(*) FROM relief_application ra WHERE {where}")
    page_sql = text(
        "SELECT ra.*, o.name AS organization_name FROM relief_application ra "
        "JOIN organization o ON o.id = ra.organization_id "
        f"WHERE {where} ORDER BY ra.id DESC LIMIT {PAGE}")
    return count_sql, page_sql


def _raw_once(engine, count_sql, page_sql, value):
    t0 = time.perf_counter()
    params = {} if value is None else {"v": value}
    with engine.connect() as conn:
        count = conn.execute(count_sql, params).scalar()
        rows = conn.execute(page_sql, params).all()
    elapsed = time.perf_counter() - t0
    return elapsed, count, [r.id for r in rows]


def bench_user(app, username, repeat=20, warmup=3):
    from app.extensions import db
    from app.scope import scope_of
    view = find_view("ReliefApplicationView")
    with app.app_context():
        user = load_user(username)
        kind, value = scope_of(user)
        db.session.remove()
    if kind not in SCOPE_COLUMN and kind != "all":
        raise SystemExit(f"{username}: unexpected scope {kind!r}")
    count_sql, page_sql = _raw_sql(SCOPE_COLUMN.get(kind))
    with app.app_context():
        engine = db.engine
    orm_times, raw_times = [], []
    for i in range(warmup + repeat):
        t_orm, c_orm, ids_orm = _orm_once(app, view, username)
        t_raw, c_raw, ids_raw = _raw_once(engine, count_sql, page_sql, value)
        if i == 0 and (c_orm != c_raw or ids_orm != ids_raw):
            raise SystemExit(f"{username}: ORM and raw SQL disagree: count {c_orm} vs {c_raw}, "
                             f"ids {ids_orm[:3]}… vs {ids_raw[:3]}…")
        if i >= warmup:
            orm_times.append(t_orm)
            raw_times.append(t_raw)
    orm_ms = statistics.median(orm_times) * 1000
    raw_ms = statistics.median(raw_times) * 1000
    scope = "all (no predicate)" if kind == "all" else f"{kind}={value}"
    return {"user": username, "scope": scope, "count": c_orm,
            "orm_ms": orm_ms, "raw_ms": raw_ms, "ratio": orm_ms / raw_ms,
            "orm_min_ms": min(orm_times) * 1000, "raw_min_ms": min(raw_times) * 1000}
