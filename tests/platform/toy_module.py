"""A toy module declared from the test suite only (one model, one flow, one screen, a role,
a to-do count, a CLI group): the module contract says no platform file must name it."""
import click
from flask import url_for
from flask.cli import AppGroup
from flask_appbuilder import Model, ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import Column, Integer, String, func

from app.extensions import db
from app.module import Module, View
from app.modules import MODULES
from app.models.core import ScopedMixin
from app.scope import region_scope
from app.views.shared.mixins import RegionScopedMixin, WorkflowActionsMixin
from app.workflows.engine import Workflow, transition

ROLE = "T 玩具管理员"


class ToyItem(ScopedMixin, Model):
    __tablename__ = "toy_item"
    id = Column(Integer, primary_key=True)
    organization_id = Column(Integer)
    name = Column(String(40), nullable=False)
    state = Column(String(20), nullable=False, default="draft")


class ToyItemFlow(Workflow):
    model = ToyItem
    object_type = "toy_item"
    state_labels = {"draft": "玩具草稿", "done": "玩具完成"}

    @transition(source={"draft"}, target="done", roles={ROLE}, label="玩具完成")
    def finish(self, item, user, data):
        pass


class ToyItemView(RegionScopedMixin, WorkflowActionsMixin, ModelView):
    route_base = "/toy/items"
    datamodel = SQLAInterface(ToyItem)
    workflow = ToyItemFlow
    list_columns = ["name", "state"]
    base_permissions = ["can_list", "can_show", "can_fire"]


def todos(user):
    n = db.session.execute(db.select(func.count(ToyItem.id)).where(
        region_scope(ToyItem, user), ToyItem.state == "draft")).scalar()
    return [{"label": "待完成的玩具", "count": n, "url": url_for("ToyItemView.list")}]


toy_cli = AppGroup("toy", help="玩具模块")


@toy_cli.command("count")
def count():
    click.echo(f"toys: {db.session.execute(db.select(func.count(ToyItem.id))).scalar()}")


TOY = Module(name="toy", label="玩具模块",
             menu=(View(ToyItemView, "玩具清单", "玩具清单", "fa-cube"),),
             roles={ROLE: {"ToyItemView": "*"}}, default_roles={"medical": [ROLE]},
             workflows=(ToyItemFlow,), todos=todos, cli=toy_cli,
             audit_actions={"toy_poke": "戳一下玩具"})
MODULES = MODULES + (TOY,)
