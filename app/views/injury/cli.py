"""`flask injury …`: 工伤定点医疗机构服务 commands."""
import datetime as dt

import click
from flask.cli import AppGroup

from app.services.injury.commands import approve_overdue

injury = AppGroup("injury", help="工伤定点医疗机构服务")


@injury.command("auto-approve")
@click.option("--at", "at", default=None, metavar="YYYY-MM-DD HH:MM",
              help="run as if it were this time (UTC); default now")
def auto_approve(at):
    """超时自动通过: declarations the employer left unreviewed past the configured hours
    (system parameter employer_auto_approve_hours) go to the agency."""
    when = None
    if at:
        try:
            when = dt.datetime.fromisoformat(at)
        except ValueError:      # a usage error of the command, not a domain refusal
            raise click.BadParameter("expected YYYY-MM-DD HH:MM", param_hint="--at")
    click.echo(f"auto-approved: {approve_overdue(now=when)}")
