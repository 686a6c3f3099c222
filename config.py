"""Defaults only. Secrets and the database URL come from the environment."""
import os

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.environ.get("INSTANCE_DIR", os.path.join(BASE_DIR, "instance"))

SQLALCHEMY_DATABASE_URI = os.environ.get(
    "DATABASE_URL", "sqlite:///" + os.path.join(INSTANCE_DIR, "portal.db")
)
SQLALCHEMY_TRACK_MODIFICATIONS = False
STORAGE_DIR = os.environ.get("STORAGE_DIR", os.path.join(INSTANCE_DIR, "storage"))

APP_NAME = "卫健医保业务管理门户"
APP_THEME = ""
FAB_BASE_TEMPLATE = "portal_layout.html"
FAB_API_SWAGGER_UI = True
FAB_ADD_SECURITY_API = True
FAB_API_MAX_PAGE_SIZE = 100
# The largest page a list may ask for; FAB itself accepts -1 (= every row).
MAX_PAGE_SIZE = 100

AUTH_TYPE = 1  # AUTH_DB
AUTH_ROLE_ADMIN = "Admin"
AUTH_ROLE_PUBLIC = "Public"
AUTH_USER_REGISTRATION = False

BABEL_DEFAULT_LOCALE = "zh"
BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASE_DIR, "translations")
LANGUAGES = {
    "zh": {"flag": "cn", "name": "中文"},
    "en": {"flag": "gb", "name": "English"},
}

WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Served over HTTPS (docs/production.md): the session cookie only travels encrypted.
SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"
JWT_ACCESS_TOKEN_EXPIRES = 3600

# Initial values of the system parameters (SPEC P5); the live values are in the database.
CAPTCHA_ENABLED = True
PARAMETER_DEFAULTS = {}
FAB_CREATE_DB = False   # the schema is ours: `flask portal init-db` (Alembic migrations)

# Client-certificate login (SPEC W1, docs/client-certificates.md). Off while None; when on,
# e.g. "X-SSL-Client-S-DN", the header is trusted only from these proxy addresses
# (addresses or networks, compared with the connecting peer, never X-Forwarded-For).
CLIENT_CERT_HEADER = os.environ.get("CLIENT_CERT_HEADER") or None
CLIENT_CERT_TRUSTED_PROXIES = tuple(
    a.strip() for a in os.environ.get("CLIENT_CERT_TRUSTED_PROXIES", "127.0.0.1").split(",")
    if a.strip())

# 基本公卫 经纬度: a map picker on the institution form when a tile server (in the intranet)
# is configured, e.g. "http://tiles.example/{z}/{x}/{y}.png"; typed coordinates otherwise.
PHS_MAP_TILE_URL = os.environ.get("PHS_MAP_TILE_URL") or None
# Image origins besides this site that pages may show (Content-Security-Policy img-src): the
# map tile server when one is configured.
CSP_IMG_SOURCES = (["/".join(PHS_MAP_TILE_URL.split("/")[:3])]
                   if PHS_MAP_TILE_URL and "://" in PHS_MAP_TILE_URL else [])

# ---- Scale-out (docs/production.md) ---------------------------------------------------------
# Background jobs (exports, scheduled jobs): in-process threads while no broker is set (the
# embedded default); with e.g. CELERY_BROKER_URL=redis://127.0.0.1:6379/0 they are Celery tasks
# run by `celery -A app.celery_app worker`, and `celery -A app.celery_app beat` schedules the
# scheduled ones.
REDIS_URL = os.environ.get("REDIS_URL") or None
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or None
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or CELERY_BROKER_URL
CELERY_QUEUE = os.environ.get("CELERY_QUEUE") or "portal"
CELERY_TIMEZONE = BABEL_DEFAULT_TIMEZONE      # schedules are China time
# Scheduled jobs: each has a default crontab ("minute hour day-of-month month day-of-week")
# where it is declared (the platform's in app/services/jobs.py, a module's in its Module);
# override here by job name or by the environment's SCHEDULE_<JOB NAME>; an empty value
# leaves the job out of beat.
JOB_SCHEDULE = {}
EXPORT_KEEP_DAYS = int(os.environ.get("EXPORT_KEEP_DAYS", "7"))   # export files kept this long

# Login rate limits, shared by the login page (POST) and the JWT login /api/v1/security/login
# (Flask-Limiter), two counters (docs/production.md): per login name, a brake on guessing one
# account's password from many addresses; per client address, a ceiling that a hospital or a
# bureau behind one NAT/VPN address does not reach at the start of a working day. Empty: no
# limit. The per-account lock-out (系统参数) is in the database. Registration pages (public)
# are limited per address. Counters in RATELIMIT_STORAGE_URI, else REDIS_URL, else the
# application database (portal-db://, table rate_limit_counter,
# app/services/rate_limit_storage.py): either way shared by every process. Fixed window
# (Flask-Limiter's default strategy), the only one portal-db:// implements.
RATELIMIT_ENABLED = True
LOGIN_RATE_LIMIT_ACCOUNT = os.environ.get("LOGIN_RATE_LIMIT_ACCOUNT", "10 per minute")
LOGIN_RATE_LIMIT_ADDRESS = os.environ.get("LOGIN_RATE_LIMIT_ADDRESS", "300 per minute")
REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT", "30 per hour")
RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "portal-db://"
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True   # storage unreachable: count per process meanwhile
RATELIMIT_KEY_PREFIX = "portal"
# Behind a reverse proxy every client comes from the proxy: list its addresses (or networks)
# and the limit counts the X-Forwarded-For address it reports instead.
RATELIMIT_TRUSTED_PROXIES = tuple(
    a.strip() for a in os.environ.get("RATELIMIT_TRUSTED_PROXIES", "").split(",") if a.strip())

# The business modules, in menu order: "package.module:NAME" of a tuple of app.module.Module.
PORTAL_MODULES = "app.modules:MODULES"
