"""The cascading region choice of every form (province → city → county): public JSON."""
import re

from flask import abort, jsonify, request
from flask_appbuilder import BaseView, expose

from app.regions import region_children


class RegionChoiceView(BaseView):
    route_base = "/regions"

    @expose("/children")
    def children(self):
        """Children of ?parent=<region code> (provinces without it); small public JSON, also
        for the self-registration pages before any login."""
        parent = request.args.get("parent") or None
        if parent is not None and not re.fullmatch(r"\d{6}", parent):
            abort(404)
        found = region_children(parent)
        if found is None:
            abort(404)
        return jsonify(regions=[{"code": c, "name": n, "level": lv, "leaf": not has}
                                for c, n, lv, has in found])
