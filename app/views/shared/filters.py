"""The one scoping filter every view and API uses (SPEC P7)."""
from flask import g
from flask_appbuilder.models.filters import BaseFilter

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
