"""Unbound extensions; create_app() binds them."""
from flask_appbuilder import AppBuilder
from flask_appbuilder.utils.legacy import get_sqla_class
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from app.services import rate_limit_storage  # noqa: F401  (registers portal-db:// with limits)

db = get_sqla_class()()
appbuilder = AppBuilder()
csrf = CSRFProtect()
migrate = Migrate()
# FAB's security manager binds it (PortalSecurityManager.create_limiter); settings RATELIMIT_*
# in config.py, counters by default in the database (portal-db://, rate_limit_storage). Keyed
# by the client address: behind a reverse proxy, install ProxyFix so that this is the client's
# and not the proxy's (docs/production.md).
limiter = Limiter(key_func=get_remote_address)
