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
    """Scheduled jobs (cron or a scheduler calls this): export clean-up and the employer
    timeout of work-injury declarations (W6), the designated-agreement publication (M6)."""
    # The same @job functions `celery -A app.celery_app beat` schedules (JOB_SCHEDULE).
    from app.services import scheduled
    click.echo(f"export files removed: {scheduled.export_cleanup(export_days)}")
    click.echo(f"injury declarations auto-approved: {scheduled.injury_approve_overdue()}")
    synced = scheduled.registry_sync_agreements()
    click.echo(f"agreements published: {synced['published']}, withdrawn: {synced['withdrawn']}")


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


injury = AppGroup("injury", help="工伤定点医疗机构服务")


@injury.command("auto-approve")
@click.option("--at", "at", default=None, metavar="YYYY-MM-DD HH:MM",
              help="run as if it were this time (UTC); default now")
def auto_approve(at):
    """超时自动通过: declarations the employer left unreviewed past the configured hours
    (system parameter employer_auto_approve_hours) go to the agency."""
    import datetime as dt
    from app.services.injury import approve_overdue
    when = None
    if at:
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError:
            raise click.BadParameter("expected YYYY-MM-DD HH:MM", param_hint="--at")
    click.echo(f"auto-approved: {approve_overdue(now=when)}")


registry = AppGroup("registry", help="医疗机构信息维护")


@registry.command("sync-agreements")
def sync_agreements_cmd():
    """入库: publish confirmed designated-service agreements (new or changed since their last
    publication) into the designated-institution list; deleted ones leave it (SPEC M6)."""
    from app.services.registry_agreements import sync_agreements
    published, removed = sync_agreements()
    click.echo(f"agreements published: {published}, withdrawn: {removed}")


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
    app.cli.add_command(injury)
    app.cli.add_command(registry)
