"""The module contract (docs/architecture.md): a module declared only in the test suite gets
its menu, roles, account defaults, workflow docs, to-do counts and CLI from the platform,
and no file under app/ names it. Runs in its own process: FAB's appbuilder is global."""
import os
import re
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SCRIPT = textwrap.dedent('''
    import os, sys, tempfile
    sys.path.insert(0, os.environ["ROOT"])
    from app import create_app
    from app.extensions import appbuilder, db
    tmp = tempfile.mkdtemp(prefix="toy-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.path.join(tmp, "t.db"),
                      "TESTING": True, "CAPTCHA_ENABLED": False, "WTF_CSRF_ENABLED": False,
                      "INSTANCE_DIR": tmp, "STORAGE_DIR": os.path.join(tmp, "s"),
                      "SECRET_KEY": "x" * 40,
                      "PORTAL_MODULES": "tests.platform.toy_module:MODULES"})
    with app.app_context():
        from app.cli import init_schema
        from app.demo import ensure_admin, make_org
        from app.services import accounts
        from app.workflows.docs import transition_tables
        from tests.platform.toy_module import ROLE, ToyItem
        init_schema()
        ToyItem.__table__.create(db.engine)
        from app.regions import load_regions
        load_regions()
        admin = ensure_admin()
        org = make_org("玩具医院", "medical", "county", "140105")
        user = accounts.create_user(admin, org, "toy_clerk", "玩具员", password="Demo@2026",
                                    must_change=False)
        for name, state in (("甲", "draft"), ("乙", "draft"), ("丙", "done")):
            item = ToyItem(name=name, state=state, organization_id=org.id)
            item.copy_scope_from(org)
            db.session.add(item)
        db.session.commit()
        print("ROLES", sorted(r.name for r in user.roles))
        menu = {item.name: [c.name for c in item.childs] for item in appbuilder.menu.get_list()}
        print("MENU", menu.get("玩具模块"))
        role = appbuilder.sm.find_role(ROLE)
        print("GRANTS", sorted(f"{p.permission.name}:{p.view_menu.name}"
                               for p in role.permissions))
        print("DOCS", "toy_item" in transition_tables(), "玩具完成" in transition_tables())
        from app.models.audit import action_label
        print("AUDIT", action_label("toy_poke"))
    client = app.test_client()
    r = client.post("/login/", data={"username": "toy_clerk", "password": "Demo@2026"})
    print("LOGIN", r.status_code)
    home = client.get("/").get_data(as_text=True)
    print("TODO", "玩具模块 · 待完成的玩具" in home,
          home.split("玩具模块 · 待完成的玩具")[0].rsplit("todo-count", 1)[-1][1:4])
    listing = client.get("/toy/items/list/")
    page = listing.get_data(as_text=True)
    print("LIST", listing.status_code, all(n in page for n in "甲乙丙"))
    out = app.test_cli_runner().invoke(args=["toy", "count"]).output
    print("CLI", out.strip())
''')


def run_toy():
    env = dict(os.environ, ROOT=ROOT, PYTHONPATH=ROOT)
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1]
            for line in done.stdout.splitlines() if " " in line}


def test_a_module_declared_outside_the_platform_gets_menu_roles_docs_todos_and_cli():
    out = run_toy()
    assert "T 玩具管理员" in out["ROLES"]          # account default by organisation type
    assert "R 医疗机构" in out["ROLES"]            # the real modules still give theirs
    assert out["MENU"] == "['玩具清单']"
    assert "can_list:ToyItemView" in out["GRANTS"] and "finish:ToyItemView" in out["GRANTS"]
    assert "menu_access:玩具清单" in out["GRANTS"]
    assert out["DOCS"] == "True True"
    assert out["AUDIT"] == "戳一下玩具"
    assert out["LOGIN"] == "302"
    assert out["TODO"].startswith("True") and ">2<" in out["TODO"]
    assert out["LIST"] == "200 True"
    assert out["CLI"] == "toys: 3"


def test_no_platform_file_names_a_module_outside_app_modules():
    """Only each module's own packages and the composition root name a module; the toy's
    name appears nowhere under app/."""
    for folder, _dirs, names in os.walk(os.path.join(ROOT, "app")):
        for name in names:
            if name.endswith((".py", ".html")):
                with open(os.path.join(folder, name), encoding="utf-8") as fh:
                    assert not re.search(r"\btoy", fh.read(), re.I), os.path.join(folder, name)
