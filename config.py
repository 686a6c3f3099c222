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
