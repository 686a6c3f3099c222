"""Settings and helpers shared by the benchmark modules."""
import os

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(BENCH_DIR, "out")

DEFAULT_ROWS = 1_000_000
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
LIST_USERS = (("ty_hosp1", "institution (太原市第一人民医院)"),
              ("ty_agency", "city agency (太原市)"),
              ("sx_agency", "province agency (山西省)"))
EXPORT_USER = "admin"


def sqlite_url():
    return "sqlite:///" + os.path.join(OUT_DIR, "bench-sqlite.db")


def pg_url():
    return os.environ.get("BENCH_PG_URL", DEFAULT_PG_URL)


def url_for(name):
    return {"sqlite": sqlite_url, "postgresql": pg_url}[name]()


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
