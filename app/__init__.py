"""Application factory."""
import logging
import os
import secrets

from flask import Flask


def _secret_key(app):
    """SECRET_KEY from the environment; for the embedded default, one generated once
    into the instance folder (never in the repository)."""
    key = os.environ.get("SECRET_KEY") or app.config.get("SECRET_KEY")
    if key:
        return key
    path = os.path.join(app.config["INSTANCE_DIR"], "secret_key")
    os.makedirs(app.config["INSTANCE_DIR"], exist_ok=True)
    if not os.path.exists(path):
        with open(path, "w") as fh:
            fh.write(secrets.token_hex(32))
        os.chmod(path, 0o600)
    with open(path) as fh:
        return fh.read().strip()


def create_app(overrides=None):
    app = Flask(__name__)
    app.config.from_object("config")
    if overrides:
        app.config.update(overrides)
    app.config["SECRET_KEY"] = _secret_key(app)
    os.makedirs(app.config["STORAGE_DIR"], exist_ok=True)
    logging.getLogger("flask_appbuilder").setLevel(logging.WARNING)

    from app.extensions import appbuilder, csrf, db, migrate
    from app.security import PortalSecurityManager, install_request_guards
    from app import models  # noqa: F401  (the platform's tables on Model.metadata)
    from app.module import modules
    from app.database import configure_engine

    from app.workflows.engine import guard_state_columns
    guard_state_columns(flow for module in modules(app) for flow in module.workflows)
    db.init_app(app)
    csrf.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
                     render_as_batch=True, compare_type=True)
    with app.app_context():
        configure_engine(db.engine)
        from app.views.system.home import HomeView
        appbuilder.indexview = HomeView
        appbuilder.security_manager_class = PortalSecurityManager
        appbuilder.update_perms = False
        appbuilder.init_app(app, db.session)
        from app.views.system import menus
        menus.register(appbuilder)
        install_request_guards(app)
        from app.views.shared.errors import install_error_handlers
        install_error_handlers(app)
        from app.views.shared.headers import install_headers
        install_headers(app)
    from app.views.shared.formatting import install_filters
    install_filters(app)
    from app.cli import register_cli
    register_cli(app)
    return app
