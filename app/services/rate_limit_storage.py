"""A `limits` storage in the application database, scheme ``portal-db://`` (the default of
RATELIMIT_STORAGE_URI without Redis, config.py): the login rate limit's counters are rows of
`rate_limit_counter`, so every web process and machine on the database counts together.

Fixed window only (Flask-Limiter's default strategy): a row is one window, `count` hits that
end at `expires_at` (epoch seconds). A row past its `expires_at` counts as absent; the next
hit starts a new window in it, and rows expired for an hour are deleted now and then by `incr`.

Every operation is its own short transaction on the engine of the current application
(`db.engine`, so an application context is needed: Flask-Limiter counts within the request),
never the request's `db.session`: counting a login attempt neither commits nor rolls back the
request's work. `incr` is a single INSERT … ON CONFLICT DO UPDATE … RETURNING, atomic under
concurrent hits on SQLite and PostgreSQL (the databases the portal supports). Should the
database fail, Flask-Limiter counts in process memory meanwhile
(RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) and logins keep working.

Registered with `limits` by being imported: app/extensions.py imports this module.
"""
import hashlib
import random
import time

from limits.errors import ConfigurationError
from limits.storage import Storage
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
KEY_LENGTH = 255                # rate_limit_counter.key
CLEANUP_PROBABILITY = 0.01      # of an `incr` also deleting long-expired rows
CLEANUP_GRACE = 3600            # seconds past expiry (clocks of several machines may differ)


def _engine():
    from app.extensions import db
    return db.engine


def _table():
    from app.models.core import RateLimitCounter
    return RateLimitCounter.__table__


def _key(key):
    """Keys hold the client address; one longer than the column is hashed (still unique)."""
    if len(key) <= KEY_LENGTH:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return key[:KEY_LENGTH - len(digest) - 1] + "#" + digest


class DatabaseStorage(Storage):
    STORAGE_SCHEME = ["portal-db"]

    def __init__(self, uri=None, wrap_exceptions=False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key, expiry, amount=1):
        """The window's count after adding `amount`; a new window of `expiry` seconds when
        the key has none or its window is over."""
        engine, t, now = _engine(), _table(), time.time()
        insert = INSERTS.get(engine.dialect.name)
        if insert is None:
            raise ConfigurationError(f"portal-db:// has no upsert for {engine.dialect.name}: "
                                     "set REDIS_URL or RATELIMIT_STORAGE_URI")
        expired = t.c.expires_at <= now
        stmt = insert(t).values(key=_key(key), count=amount, expires_at=now + expiry)
        stmt = stmt.on_conflict_do_update(index_elements=[t.c.key], set_={
            "count": case((expired, amount), else_=t.c.count + amount),
            "expires_at": case((expired, now + expiry), else_=t.c.expires_at),
        }).returning(t.c.count)
        with engine.begin() as conn:
            if random.random() < CLEANUP_PROBABILITY:
                conn.execute(delete(t).where(t.c.expires_at < now - CLEANUP_GRACE))
            return conn.execute(stmt).scalar_one()

    def _live(self, column, key):
        t = _table()
        with _engine().connect() as conn:
            return conn.execute(select(column).where(
                t.c.key == _key(key), t.c.expires_at > time.time())).scalar_one_or_none()

    def get(self, key):
        return self._live(_table().c.count, key) or 0

    def get_expiry(self, key):
        expires_at = self._live(_table().c.expires_at, key)
        return time.time() if expires_at is None else expires_at

    def clear(self, key):
        t = _table()
        with _engine().begin() as conn:
            conn.execute(delete(t).where(t.c.key == _key(key)))

    def reset(self):
        """Deletes every counter; the number deleted."""
        with _engine().begin() as conn:
            return conn.execute(delete(_table())).rowcount

    def check(self):
        """Whether the table answers; False (not an error) outside an application context or
        when the database is down or not migrated yet."""
        try:
            t = _table()
            with _engine().connect() as conn:
                conn.execute(select(t.c.key).limit(1)).all()
            return True
        except Exception:
            return False
