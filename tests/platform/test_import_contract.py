"""The import contract (docs/architecture.md): the platform never imports a module's code,
and a module never imports another module's; templates link within their module too.

A module's code is everything under app/{views,services,demo}/<name>/ and
app/{models,workflows}/<name>.py, <name> taken from the declared modules; the composition
root (app/modules.py, app/__init__.py) is the one place allowed to name them all. Every
import statement counts, also those inside functions."""
import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(ROOT, "app")
COMPOSITION_ROOT = {"app.modules", "app"}
PACKAGED = ("views", "services", "demo")
FLAT = ("models", "workflows")


def module_names(app):
    from app.module import modules
    with app.app_context():
        return {m.name for m in modules()}


def owner(dotted, names):
    """The module (domain) a dotted name belongs to, or None for the platform."""
    parts = dotted.split(".")
    if len(parts) >= 3 and parts[0] == "app" and parts[1] in PACKAGED + FLAT \
            and parts[2] in names:
        return parts[2]
    return None


def python_files():
    for folder, _dirs, files in os.walk(APP):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                yield path, rel[:-len(".__init__")] if rel.endswith(".__init__") else rel


def imports_of(path, dotted):
    tree = ast.parse(open(path, encoding="utf-8").read())
    package = dotted if path.endswith("__init__.py") else dotted.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def violations(names):
    found = []
    for path, dotted in python_files():
        if dotted in COMPOSITION_ROOT:
            continue
        mine = owner(dotted, names)
        for line, target in imports_of(path, dotted):
            theirs = owner(target, names)
            if theirs is not None and theirs != mine:
                who = f"module {mine}" if mine else "the platform"
                found.append(f"{dotted}:{line} ({who}) imports {target}")
    return found


def test_the_platform_imports_no_module_and_no_module_imports_another(app):
    assert violations(module_names(app)) == []


def test_the_check_finds_a_crossing(app):
    names = module_names(app)
    assert owner("app.views.injury.register", names) == "injury"
    assert owner("app.workflows.engine", names) is None
    assert owner("app.services.registry.commands", names) == "registry"


def endpoint_owners(app):
    """FAB endpoint prefix (view class name) → module name, from the declarations."""
    from app.module import Hidden, View, modules
    with app.app_context():
        return {view.__name__: m.name for m in modules()
                for view in [e.view for e in m.menu if isinstance(e, (View, Hidden))]
                + list(m.apis)}


def test_templates_link_only_within_their_module_or_the_platform(app):
    """A module's templates link its own or the platform's endpoints; the platform's
    templates (every folder not named after a module) link no module's."""
    owners = endpoint_owners(app)
    names = set(owners.values())
    found = []
    for dirpath, _dirs, files in os.walk(os.path.join(APP, "templates")):
        folder = os.path.relpath(dirpath, os.path.join(APP, "templates")).split(os.sep)[0]
        mine = folder if folder in names else None
        for file in files:
            text = open(os.path.join(dirpath, file), encoding="utf-8").read()
            for endpoint in re.findall(r"url_for\(\s*['\"](\w+)\.", text):
                theirs = owners.get(endpoint)
                if theirs is not None and theirs != mine:
                    found.append(f"{folder}/{file} links {endpoint}")
    assert found == []
