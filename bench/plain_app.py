"""The portal app plus one benchmark-only view: a PLAIN Flask-AppBuilder ModelView over
relief_application — no scope, no portal mixins, FAB's own list widget and template —
with the portal list's columns, 20 rows a page, newest first and FAB's own
`FilterNotEqual` for `state <> 'deleted'` (the same rows the portal shows a super-admin).
It is the anchor of the HTTP list benchmark (bench/http.py): gunicorn serves
`bench.plain_app:app`, so the portal pages and this page come from the same server run.

    DATABASE_URL=… INSTANCE_DIR=bench/out/… STORAGE_DIR=… SECRET_KEY=… \\
        gunicorn -w 2 -b 127.0.0.1:PORT bench.plain_app:app

The view's permissions are not created here (the portal runs with update_perms off):
`grant_plain_permissions()` adds them to the Admin role once, before the server starts."""
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.filters import FilterNotEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app import create_app
from app.models.relief import ReliefApplication
from app.views.relief.screens import APP_LABELS

PLAIN_VIEW = "PlainReliefView"
PLAIN_PATH = "/bench/plain-relief/list/"


class PlainReliefView(ModelView):
    route_base = "/bench/plain-relief"
    datamodel = SQLAInterface(ReliefApplication)
    # The columns of ReliefApplicationView / ReliefReviewView's list, nothing else.
    list_columns = ["id", "organization.name", "category_label", "patient_name",
                    "disease_label", "requested_amount", "state_label", "submitted_at"]
    label_columns = APP_LABELS
    # The portal list's search fields too: FAB's default would offer every column, with a
    # drop-down of all ~2,900 organisations for each relation (two more queries and
    # ~700 KB of HTML), which no portal page has.
    search_columns = ["patient_name", "id_number", "state", "category", "disease",
                      "submitted_at"]
    base_filters = [["state", FilterNotEqual, "deleted"]]
    base_order = ("id", "desc")
    page_size = 20
    base_permissions = ["can_list"]


def _make_app():
    application = create_app()
    from app.extensions import appbuilder
    with application.app_context():
        appbuilder.add_view_no_menu(PlainReliefView)
    return application


def grant_plain_permissions(application):
    """can_list on PlainReliefView for the Admin role (idempotent); FAB's
    add_permissions_view gives every new permission to AUTH_ROLE_ADMIN itself."""
    from app.extensions import appbuilder, db
    with application.app_context():
        sm = appbuilder.sm
        sm.add_permissions_view(PlainReliefView.base_permissions, PLAIN_VIEW)
        admin = sm.find_role(application.config["AUTH_ROLE_ADMIN"])
        for name in PlainReliefView.base_permissions:
            pv = sm.find_permission_view_menu(name, PLAIN_VIEW)
            if pv not in admin.permissions:
                admin.permissions.append(pv)
        db.session.commit()
        db.session.remove()


app = _make_app()
