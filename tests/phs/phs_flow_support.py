"""Helpers of the 基本公卫 tests through the services and the engine (test_phs_flow.py,
test_phs_rules.py, test_phs_changes.py): rows and reports by name, a transition fired or
refused, the demo's 小店区 brought to 确认并上报, the demo's change request."""

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models.core import User
from app.models.phs import PhsChangeRequest, PhsInstitution
from app.services.phs import affiliation, commands, queries
from app.services.phs import changes as phs_changes
from app.services.phs.rules import CITY, COUNTY, NATIONAL, PROVINCE, UNIT
from app.workflows.engine import Refusal, apply, apply_batch
from app.workflows.phs import PhsChangeRequestFlow, PhsReportFlow
from tests.conftest import user

GOOD = {"name": "小店区北格镇张花村卫生室", "code": "PDY0000314010511A1001", "contact": "张医生",
        "phone": "13912345678", "township": "", "address_detail": "张花村1号",
        "inst_type": "village_clinic", "sponsor": "1", "longitude": "112.560000",
        "latitude": "37.730000", "services": ["01", "02", "07"]}
ROLES = (UNIT, COUNTY, CITY, PROVINCE, NATIONAL)


def inst(name):
    return db.session.execute(select(PhsInstitution).where(PhsInstitution.name == name)) \
        .scalar_one()


def org_of(login):
    return user(login).organization


def report(who, create=False):
    """The current round's report of a login's organisation or of an organisation."""
    org = org_of(who) if isinstance(who, str) else who
    return queries.report_of(org, create=create)


def unit_account(name):
    """The account of the unit an institution of that name describes."""
    return db.session.execute(select(User).where(
        User.organization_id == inst(name).organization_id).order_by(User.id)).scalars().first()


def fire(flow, obj, name, login_or_user, comment=None):
    actor = user(login_or_user) if isinstance(login_or_user, str) else login_or_user
    return apply(flow, obj, name, actor, {"comment": comment} if comment else {})


def refused(flow, obj, name, login_or_user, comment=None):
    with pytest.raises(Refusal) as exc:
        fire(flow, obj, name, login_or_user, comment)
    db.session.expire_all()
    return exc.value


def role_names(account):
    return {r.name for r in account.roles}


def count(model):
    return db.session.scalar(select(func.count(model.id)))


def xiaodian_units_ready():
    """北格镇 completes its clinic and 上报; 刘家堡 re-reports; the county passes both."""
    town1 = user("xd_town1")
    commands.save(inst("小店区北格镇张花村卫生室"), GOOD, town1)
    fire(PhsReportFlow, report(town1.organization, create=True), "submit", town1)
    ljb = unit_account("小店区刘家堡乡卫生院")
    fire(PhsReportFlow, report(ljb.organization), "submit", ljb)
    waiting = [r.id for r in queries.reports_of_orgs(report("xd_county", True).task_id,
                                                     queries.subordinates_of(org_of("xd_county")))
               if r.state == "submitted"]
    apply_batch(PhsReportFlow, waiting, "approve", user("xd_county"))


def xiaodian_settled():
    """小店区's existing institutions still waiting (黄陵乡卫生院, the registry's clinic) are
    marked 不参与本次报送, as 确认并上报 needs (issue 22 item 6)."""
    county = user("xd_county")
    waiting = [o.id for o in queries.unattached_orgs(county.organization)]
    if waiting:
        affiliation.dismiss_existing(county, waiting, "不承担基本公卫项目任务")


def xiaodian_reported():
    xiaodian_units_ready()
    xiaodian_settled()
    return fire(PhsReportFlow, report("xd_county", create=True), "confirm", "xd_county")


def demo_change():
    return db.session.execute(select(PhsChangeRequest).where(
        PhsChangeRequest.institution_id == inst("盐湖区龙居镇卫生院").id)).scalar_one()


def request_change(data, login="yh_county"):
    return phs_changes.create(user(login), {"reason": "核实后申请", **data})


def approved_at_province(change):
    """运城 passes the request up; 山西省, which holds 盐湖区's data, approves it."""
    fire(PhsChangeRequestFlow, change, "forward", "yc_hc")
    return fire(PhsChangeRequestFlow, change, "approve", "sx_hc")
