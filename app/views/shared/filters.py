"""The one scoping filter every view and API uses (SPEC P7), and the search operators of the
shared search (labels.py): fixed values by their labels, dates from–to."""
import datetime as dt

from flask import g
from flask_appbuilder.models.filters import BaseFilter

from app.i18n import _l
from app.scope import region_scope


class RegionScopeFilter(BaseFilter):
    name = "scope"

    def apply(self, query, value):
        return query.filter(region_scope(self.model, g.user))


class ColumnFilter(BaseFilter):
    """Equality on a column with a value computed per request (e.g. the user's org)."""
    name = "equals"

    def apply(self, query, value):
        value = value() if callable(value) else value
        return query.filter(getattr(self.model, self.column_name) == value)


class RegionNodeFilter(BaseFilter):
    """Selecting a node of the region tree filters the list beside it (SPEC P1)."""
    name = "region node"

    def apply(self, query, value):
        from flask import has_request_context, request
        from app.extensions import db
        from app.models.core import Region
        from app.scope import LEVEL_COLUMN
        code = request.args.get("region") if has_request_context() else None
        if not code:
            return query
        region = db.session.execute(db.select(Region).where(Region.code == code)).scalar()
        if region is None or region.level not in LEVEL_COLUMN:
            return query
        return query.filter(getattr(self.model, LEVEL_COLUMN[region.level]) == code)


class StateNotInFilter(ColumnFilter):
    """Hide rows in the given states (e.g. deleted ones, kept for the record)."""
    name = "state not in"

    def apply(self, query, value):
        return query.filter(self.model.state.not_in(value))


class ChoiceFilters(list):
    """A column's operators after the shared search replaced FAB's: an older link's operator
    number (`_flt_3_state=…`) beyond them means the first, never an IndexError."""

    def __getitem__(self, index):
        if isinstance(index, int) and not -len(self) <= index < len(self):
            index = 0
        return super().__getitem__(index)


def _stored(flt, value):
    """The value of a search box as the column stores it: y/n for a boolean; None when empty."""
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value in (None, ""):
        return None
    if flt.datamodel.is_boolean(flt.column_name):
        return {"y": True, "n": False}.get(value)
    if flt.datamodel.is_integer(flt.column_name):      # a picked organisation's id
        try:
            number = int(value)
        except (TypeError, ValueError):
            return None
        return number if -2 ** 31 <= number < 2 ** 31 else None   # no 500 on PostgreSQL
    return value


class ChoiceEqualFilter(BaseFilter):
    """A column of fixed values (states, categories, 是/否) searched by a select of labels."""
    name = _l("等于")
    arg_name = "eq"

    def apply(self, query, value):
        value = _stored(self, value)
        if value is None:
            return query
        return query.filter(getattr(self.model, self.column_name) == value)


class ChoiceNotEqualFilter(ChoiceEqualFilter):
    name = _l("不等于")
    arg_name = "neq"

    def apply(self, query, value):
        value = _stored(self, value)
        if value is None:
            return query
        column = getattr(self.model, self.column_name)
        return query.filter((column != value) | column.is_(None))


def _day(value):
    try:
        return dt.date.fromisoformat(str(_stored_text(value))[:10])
    except ValueError:
        return None


def _stored_text(value):
    if isinstance(value, (list, tuple)):
        return value[0] if value else ""
    return value or ""


def _day_start(flt, day):
    """Midnight of a China day as the column stores it: a time column holds UTC unless it
    keeps the wall clock (info wall_clock)."""
    if day is None or not flt.datamodel.is_datetime(flt.column_name):
        return day
    start = dt.datetime.combine(day, dt.time())
    column = getattr(flt.model, flt.column_name)
    if getattr(column, "info", {}).get("wall_clock"):
        return start
    return start - dt.timedelta(hours=8)


class DateFromFilter(BaseFilter):
    """A date or time column searched from a day …"""
    name = _l("从")
    arg_name = "gte"

    def apply(self, query, value):
        start = _day_start(self, _day(value))
        if start is None:
            return query
        return query.filter(getattr(self.model, self.column_name) >= start)


class DateToFilter(BaseFilter):
    """… to a day, that day included."""
    name = _l("至")
    arg_name = "lte"

    def apply(self, query, value):
        day = _day(value)
        if day is None:
            return query
        column = getattr(self.model, self.column_name)
        if self.datamodel.is_datetime(self.column_name):
            return query.filter(column < _day_start(self, day + dt.timedelta(days=1)))
        return query.filter(column <= day)
