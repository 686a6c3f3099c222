"""`flask registry …`: 医疗机构信息维护 commands."""
import click
from flask.cli import AppGroup

from app.services.registry.commands import sync_agreements

registry = AppGroup("registry", help="医疗机构信息维护")


@registry.command("sync-agreements")
def sync_agreements_cmd():
    """入库: publish confirmed designated-service agreements (new or changed since their last
    publication) into the designated-institution list; deleted ones leave it (SPEC M6)."""
    published, removed = sync_agreements()
    click.echo(f"agreements published: {published}, withdrawn: {removed}")
