"""Template filters: times are stored in UTC and shown in Asia/Shanghai."""
import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def localtime(value):
    if not value:
        return ""
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def install_filters(app):
    app.jinja_env.filters["localtime"] = localtime
