"""Date periods written as 2026-01-01~2026-12-31 (report tasks, performance period)."""
import datetime as dt


def parse_period(text):
    try:
        start, end = (dt.date.fromisoformat(p.strip()) for p in text.split("~"))
    except ValueError:
        raise ValueError("时间格式应为 开始日期~结束日期，例如 2026-01-01~2026-12-31")
    if end < start:
        raise ValueError("结束日期不能早于开始日期")
    return start, end
