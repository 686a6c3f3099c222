"""`flask portal …` commands (SPEC P16)."""
import click
from flask.cli import AppGroup

portal = AppGroup("portal", help="卫健医保业务管理门户管理命令")


def init_schema():
    """Schema by Alembic migrations (create or upgrade), then FAB's built-in roles,
    permissions, our roles and the system parameters. Idempotent."""
    from flask_appbuilder.security.manager import BaseSecurityManager
    from flask_migrate import stamp, upgrade
    from sqlalchemy import inspect
    from app.extensions import appbuilder, db
    from app.roles import sync_roles
    from app.services.parameters import ensure_parameters
    tables = inspect(db.engine).get_table_names()
    if "alembic_version" not in tables and "ab_user" in tables:
        stamp(revision="c247d20733af")   # created by create_all before migrations existed
    upgrade()
    BaseSecurityManager.create_db(appbuilder.sm)   # Admin and Public roles
    appbuilder.add_permissions(update_perms=True)
    sync_roles(appbuilder)
    ensure_parameters()


@portal.command("init-db")
def init_db():
    """Create the schema, permissions, roles and system parameters (idempotent)."""
    init_schema()
    click.echo("schema ready")


@portal.command("load-regions")
def load_regions_cmd():
    from app.regions import load_regions
    click.echo(f"regions added: {load_regions()}")


@portal.command("create-admin")
@click.option("--username", default="admin")
@click.option("--password", prompt=True, hide_input=True)
def create_admin(username, password):
    from app.demo import ensure_admin
    ensure_admin(username, password)
    click.echo(f"super-admin {username} ready")


@portal.command("load-demo")
def load_demo_cmd():
    from app.demo import load_demo
    click.echo("demo data loaded" if load_demo() else "demo data already present, kept")


@portal.command("setup")
def setup():
    """Everything `make run` needs: schema, regions, demo data; keeps existing data."""
    from app.demo import load_demo
    from app.regions import load_regions
    init_schema()
    click.echo(f"regions added: {load_regions()}")
    click.echo("demo data loaded" if load_demo() else "demo data already present, kept")


@portal.command("sync-roles")
def sync_roles_cmd():
    from app.extensions import appbuilder
    from app.roles import sync_roles
    sync_roles(appbuilder)
    click.echo("roles synchronised")


@portal.command("run-jobs")
@click.option("--export-days", default=7, show_default=True, help="keep export files this long")
def run_jobs(export_days):
    """Scheduled jobs (cron or a scheduler calls this): export clean-up, then every module's
    scheduled job (e.g. 工伤 超时自动通过 W6, 定点协议入库 M6); one line each."""
    # The same @job functions `celery -A app.celery_app beat` schedules (jobs.schedule).
    from flask import current_app
    from app.module import modules
    from app.services import jobs, scheduled
    click.echo(f"export files removed: {scheduled.export_cleanup(export_days)}")
    for name in jobs.schedule(current_app.config, modules()):
        if name != "export_cleanup":
            click.echo(f"{name}: {jobs.get(name)()}")


@portal.command("workflow-docs")
def workflow_docs():
    """Write docs/workflows.md from the declared state machines."""
    import os
    from app.workflows.docs import transition_tables
    path = os.path.join(os.path.dirname(os.path.dirname(__file__)), "docs", "workflows.md")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(transition_tables())
    click.echo(path)


@click.command("check-summaries")
@click.option("--fix", is_flag=True, help="recompute the summary tables from their records")
def check_summaries(fix):
    """Recount every summary table (app/summaries.py) from its records and report each
    difference; exit 1 if there is one (after --fix, the state after the rebuild)."""
    from app.extensions import db
    from app.summaries import differences, rebuild
    with db.engine.begin() as conn:
        if fix:
            rebuild(conn)
        found = differences(conn)
    for table, key, stored, recount in found:
        click.echo(f"{table} {key}: stored {stored}, recount {recount}")
    click.echo(f"summary differences: {len(found)}")
    if found:
        raise SystemExit(1)


def register_cli(app):
    app.cli.add_command(check_summaries)
    app.cli.add_command(portal)
    from app.module import modules
    for module in modules(app):
        if module.cli is not None:
            app.cli.add_command(module.cli)
