"""The module contract: what a business domain declares so that the platform can plug it in.

The platform (factory, menus, role sync, account defaults, 我的待办, workflow docs, demo
loading, job registry, scheduler, CLI, audit labels) iterates the modules named by the
setting PORTAL_MODULES ("package.module:NAME" of a tuple of `Module`) and never names a
domain itself. A new domain writes its own `app/views/<name>/module.py` and is added to
`app/modules.py`; no platform file changes (docs/architecture.md)."""
import importlib
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from flask import current_app


class View(NamedTuple):
    """A menu entry for a view class; `name` is FAB's menu name (also a permission)."""
    view: type
    name: str
    label: object
    icon: str = "fa-circle-o"


class Link(NamedTuple):
    name: str
    label: object
    href: str
    icon: str = "fa-circle-o"


class LoginLink(NamedTuple):
    """A link under the login form, e.g. a self-registration page: prompt + link label."""
    prompt: object
    label: object
    endpoint: str


class Hidden(NamedTuple):
    """A view registered without a menu entry (forms, detail pages, public pages)."""
    view: type


@dataclass(frozen=True)
class Module:
    name: str                                   # "relief": packages, CLI group, tests
    label: object                               # shown to people: 疾病应急救助
    category: str = ""                          # menu category (default: str(label))
    category_label: object = None
    menu: tuple = ()                            # View / Link / Hidden, in menu order
    apis: tuple = ()                            # ModelRestApi / BaseApi classes
    roles: dict = field(default_factory=dict)   # role name → {view name: "*" | [perms]}
    default_roles: dict = field(default_factory=dict)   # org_type → roles of new accounts
    level_roles: dict = field(default_factory=dict)     # (org_type, level) → role
    workflows: tuple = ()                       # Workflow classes (docs/workflows.md)
    todos: Callable = None                      # todos(user) → [{"label", "count", "url"}]
    home_panels: tuple = ()                     # panel(user) → {"template", …} or None
    job_modules: tuple = ()                     # dotted modules holding its @job functions
    schedule: dict = field(default_factory=dict)  # job name → default crontab spec
    cli: object = None                          # a click group: `flask <name> …`
    demo: Callable = None                       # demo(orgs, users): its demo records
    audit_actions: dict = field(default_factory=dict)   # audit action → label
    login_links: tuple = ()                     # LoginLink under the login form
    help: str = ""                              # template of its 帮助 page (/help/<name>)

    @property
    def menu_category(self):
        return self.category or str(self.label)


def resolve(spec):
    """"package.module:NAME" → the object."""
    if not isinstance(spec, str):
        return spec
    path, _, name = spec.partition(":")
    return getattr(importlib.import_module(path), name)


def modules(app=None):
    """The modules of this application (PORTAL_MODULES), resolved once per app."""
    app = app or current_app
    found = app.extensions.get("portal_modules")
    if found is None:
        found = app.extensions["portal_modules"] = tuple(resolve(app.config["PORTAL_MODULES"]))
    return found


def modules_of_settings(settings):
    """The same from a config mapping, for processes without an app (Celery beat)."""
    return tuple(resolve(settings.get("PORTAL_MODULES", "app.modules:MODULES")))
