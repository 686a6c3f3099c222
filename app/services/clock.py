"""The time business rules read (deadlines, timeouts), and the one conversion of a stored
time into the time a person sees or receives (screens, xlsx/csv, the 导出资料 zip, PDFs).

Every timestamp is stored as naive UTC. A person sees Asia/Shanghai wall-clock time, to the
second. A few date-times are typed by a person (a model column with
`info={"wall_clock": True}`): those are already local and are only cut to the second."""
import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
TEXT_FORMAT = "%Y-%m-%d %H:%M:%S"


def now():
    """Naive UTC, like every stored timestamp. One function, so that a test or a command
    (`flask injury auto-approve --at …`) can move the clock instead of sleeping."""
    from app.models.core import utcnow   # lazily: the exports' writers use this file without Flask
    return utcnow()


def local(value, stored_utc=True):
    """A stored date-time as naive Asia/Shanghai wall-clock time without microseconds.
    Naive values are UTC unless `stored_utc` is false (a time as a person typed it); aware
    values are converted whatever they are. Anything else is returned unchanged."""
    if not isinstance(value, dt.datetime):
        return value
    if value.tzinfo is None and stored_utc:
        value = value.replace(tzinfo=dt.timezone.utc)
    if value.tzinfo is not None:
        value = value.astimezone(SHANGHAI).replace(tzinfo=None)
    return value.replace(microsecond=0)


def local_text(value, stored_utc=True):
    """What a person reads: "2026-05-08 16:30:05" for a date-time, "" for nothing, a date
    or any other value as its text."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return local(value, stored_utc).strftime(TEXT_FORMAT)
    return str(value)


def wall_clock_text(value):
    """A date-time a person typed (already local), to the second."""
    return local_text(value, stored_utc=False)


def is_wall_clock(column):
    """A model column (or attribute) holding a time as typed rather than a UTC stamp."""
    info = getattr(column, "info", None) or {}
    return bool(info.get("wall_clock"))
