"""The REST API carries the screens' permissions (SPEC P15): a resource declares the screens it
mirrors, and each of its permissions is granted exactly to the roles that hold the matching
permission on one of those screens. There is no separate API grant to forget or to widen: a
role that cannot edit a record on its screen cannot PUT it either.

    class ReliefApplicationApi(...):
        screens = mirror("ReliefApplicationView", "ReliefReviewView")

`mirror(*screens, **extra)`: for each screen the standard pairs below; `extra` adds the screen
permissions of the operations whose screen calls them otherwise, e.g.
`post=["ReliefEvaluationView.can_new"]` or `lookup=["InjuryDeclareView.can_lookup"]` for an
endpoint declared with `@permission_name("lookup")`. `get` also answers `info`. An API
permission the declaration does not name is granted to nobody.

The security manager asks `api_allows` before its own table (app/security.py)."""
from flask import current_app

STANDARD = {"get": ("can_list", "can_show"), "post": ("can_add",), "put": ("can_edit",),
            "delete": ("can_delete",), "transition": ("can_fire",)}


def mirror(*screens, **extra):
    """{API permission → {(screen, screen permission)}} for a REST resource's `screens`."""
    table = {}
    for operation, permissions in STANDARD.items():
        table[operation] = {(screen, p) for screen in screens for p in permissions}
    for operation, names in extra.items():
        table.setdefault(operation, set()).update(tuple(n.split(".", 1)) for n in names)
    table["info"] = set(table["get"])
    return {f"can_{operation}": frozenset(pairs) for operation, pairs in table.items()}


def mirrors(app=None):
    """{API class permission name → its mirror table}, read once per application from the
    registered views that declare `screens`."""
    app = app or current_app
    cached = app.extensions.get("portal_api_mirrors")
    if cached is None:
        cached = {view.class_permission_name: view.screens
                  for view in app.appbuilder.baseviews if getattr(view, "screens", None)}
        app.extensions["portal_api_mirrors"] = cached
    return cached


def api_allows(view_name, permission, granted):
    """Whether the roles whose (view, permission) pairs are `granted` may use `permission` of
    the API `view_name`; None when that API mirrors no screens (its own grants decide)."""
    table = mirrors().get(view_name)
    if table is None:
        return None
    return any(pair in granted for pair in table.get(permission, ()))
