"""Settings and helpers shared by the benchmark modules."""
import os

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
# BENCH_OUT_DIR moves the SQLite files, storage and server logs (the smoke test uses it).
OUT_DIR = os.environ.get("BENCH_OUT_DIR") or os.path.join(BENCH_DIR, "out")

DEFAULT_ROWS = 1_000_000
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
LIST_USERS = (("ty_hosp1", "institution (太原市第一人民医院)"),
              ("ty_agency", "city agency (太原市)"),
              ("sx_agency", "province agency (山西省)"),
              ("nhc", "national (国家卫生健康委员会)"))
EXPORT_USER = "admin"
SMALL_TAG = "small"   # the second, smaller list dataset the small export runs on


def sqlite_url(tag=None):
    return "sqlite:///" + os.path.join(OUT_DIR, f"bench-sqlite{'-' + tag if tag else ''}.db")


def pg_url(tag=None):
    url = os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL)
    if tag:
        from sqlalchemy.engine import make_url
        u = make_url(url)
        url = u.set(database=f"{u.database}_{tag}").render_as_string(hide_password=False)
    return url


def url_for(name, tag=None):
    """The list dataset's URL; tag "small" = the smaller export dataset (SQLite
    bench-sqlite-small.db, PostgreSQL database bench_small)."""
    return {"sqlite": sqlite_url, "postgresql": pg_url}[name](tag)


def storage_tag(name, tag=None):
    """Suffix of the dataset's storage directory (storage-<suffix>) under OUT_DIR."""
    return f"{name}-{tag}" if tag else name


def make_app(url, dbname):
    """The portal app on `url`; its file storage and secret stay inside bench/out."""
    from app import create_app
    os.makedirs(OUT_DIR, exist_ok=True)
    return create_app({
        "SQLALCHEMY_DATABASE_URI": url,
        "CAPTCHA_ENABLED": False,
        "SECRET_KEY": "bench-only-not-secret",
        "STORAGE_DIR": os.path.join(OUT_DIR, f"storage-{dbname}"),
        "WTF_CSRF_ENABLED": False,
    })


def find_view(class_name):
    from app.extensions import appbuilder
    for view in appbuilder.baseviews:
        if type(view).__name__ == class_name:
            return view
    raise LookupError(f"{class_name} is not registered on appbuilder")


def load_user(username):
    from app.extensions import db
    from app.models.core import User
    return db.session.execute(db.select(User).where(User.username == username)).scalar_one()


def proc_status_kb(field):
    """VmHWM (peak resident set) or VmRSS of this process, in KiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
