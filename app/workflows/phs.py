"""基本公卫机构信息报送 review chain (SPEC H3–H6), on the hierarchical reporting pattern:
a unit (乡镇卫生院 / 社区卫生服务中心 / 县级专业机构) 上报 its institution and its stations to
the county, which reviews each (通过 / 不通过) and, when every unit is 通过, 确认并上报 to
the city; city and province 确认并上报 upward (confirming what is below), each may 退回
the level below with a reason; national 确认 ends the round for a province.

申请修改 travels up one level at a time to the level holding the county's data."""
from sqlalchemy import select, update

from app.extensions import db
from app.i18n import _, _l
from app.models.core import utcnow
from app.models.phs import (AREA_STATE_LABELS, CHANGE_STATE_LABELS, OPEN_STATES,
                            PhsChangeRequest, PhsChangeRequestState as C, PhsInstitution,
                            PhsReport, PhsReportState as S)
from app.services.phs import changes, queries
from app.services.phs.rules import CITY, COUNTY, NATIONAL, PROVINCE, UNIT
from app.workflows.engine import Refusal, Workflow, cascade, querying, transition
from app.workflows.reporting import ReportingFlow, has_superior, is_reviewer, own_unit

AREA_REVIEWERS = frozenset({CITY, PROVINCE, NATIONAL})


def _names(rows, limit=10):
    text = "、".join(rows[:limit])
    return text + (_("等 %(n)s 个", n=len(rows)) if len(rows) > limit else "")


# ---- report guards ------------------------------------------------------------------------------
def unit_report(report, user):
    if report.kind != "unit":
        return Refusal(_("该操作只适用于基层机构的上报"), status=403)
    return None


def area_report(report, user):
    if report.kind != "aggregate":
        return Refusal(_("该操作只适用于县级及以上的确认上报"), status=403)
    return None


@querying
def county_open(report, user):
    county = queries.superior_of(report.organization)
    mine = queries.report_of(county, report.task, create=False) if county is not None else None
    if mine is not None and mine.state not in OPEN_STATES:
        return _("县级已确认并上报，不能再上报；如需修改请由县级申请修改")
    return None


@querying
def everything_complete(report, user):
    problems = queries.report_problems(report.organization)
    if problems:
        return _("以下机构信息不完整，不能上报：%(p)s", p="；".join(str(p) for p in problems))
    return None


@querying
def subordinates_ready(report, user):
    """County: every unit 通过. City / province: every county / city has reported."""
    org = report.organization
    subs = queries.subordinates_of(org)
    if not subs and org.level == "county":
        return _("本县还没有需要上报的机构")
    reports = {r.organization_id: r for r in queries.reports_of_orgs(report.task_id, subs)}
    wanted = ((S.APPROVED,) if org.level == "county"
              else (S.SUBMITTED, S.APPROVED))
    not_reported = _("未上报")
    waiting = [f"{o.name}（{reports[o.id].state_label if o.id in reports else not_reported}）"
               for o in subs if o.id not in reports or reports[o.id].state not in wanted]
    if waiting:
        if org.level == "county":
            return _("以下机构尚未审核通过，不能确认并上报：%(n)s", n=_names(waiting))
        return _("以下下级尚未上报，不能确认并上报：%(n)s", n=_names(waiting))
    problems = queries.report_problems(org)         # a city's or province's own institutions
    if problems:
        return _("以下机构信息不完整，不能上报：%(p)s", p="；".join(str(p) for p in problems))
    return None


@querying
def affiliation_settled(report, user):
    """A county first settles the institutions that already exist (manual: 首先确认这些医疗
    机构的上级机构): each attached, or marked 不参与本次报送."""
    org = report.organization
    if org.level != "county":
        return None
    waiting = [o.name for o in queries.unattached_orgs(org)]
    if waiting:
        return _("以下已建机构尚未确定上级机构，请先在机构隶属关系维护中选择其上级机构或标记为"
                 "不参与本次报送：%(n)s", n=_names(waiting))
    return None


@querying
def no_pending_changes(report, user):
    pending = db.session.execute(select(PhsChangeRequest.id).where(
        PhsChangeRequest.reviewer_org_id == report.organization_id,
        PhsChangeRequest.state == C.PENDING.value).limit(1)).first()
    if pending:
        return _("有待审核的申请修改，请先在申请修改审核中处理")
    return None


@querying
def reviewer_still_open(report, user):
    """While the reviewer's own 确认并上报 stands (not 退回), what it confirmed is frozen
    (the reporting pattern's own_aggregate_open, in this screen's words)."""
    mine = PhsReportFlow.own_report(report.task_id, report.reviewer_org_id)
    if mine is not None and mine.kind == "aggregate" and mine.state != S.RETURNED.value \
            and mine.aggregated_at is not None and report.aggregate_id == mine.id:
        if mine.organization.level == "county":
            return _("本县已确认并上报（%(s)s），不能再审核；需上级退回后才能再审核，或由县级申请修改",
                     s=mine.state_label)
        return _("本级已确认并上报（%(s)s），需上级退回后才能再确认或退回下级",
                 s=mine.state_label)
    return None


def _reviewed(report, data):
    report.reviewed_at = utcnow()
    report.review_opinion = (data.get("comment") or "").strip() or None


class PhsReportFlow(ReportingFlow):
    naming_notes = {"confirm": "确认并上报: an area confirms its subordinates and reports upward "
                               "in one step (the manual's single button)",
                    "accept": "确认: the superior's approval of an area's report (`approve` is "
                              "the county's 通过 of a unit's, with other guards)"}
    model = PhsReport
    object_type = "phs_report"
    state_labels = AREA_STATE_LABELS
    SUBMITTER_ROLES = frozenset({UNIT, COUNTY, CITY, PROVINCE})
    REVIEWER_ROLES = frozenset({COUNTY}) | AREA_REVIEWERS
    delete = None                   # a report is never deleted; institutions are

    @classmethod
    def superior_of(cls, org, to_national=False):
        return queries.superior_of(org)

    @classmethod
    def subordinates_of(cls, org):
        return queries.subordinates_of(org)

    @classmethod
    def lock_parents(cls, report):
        """The superior's report: its 确认并上报 needs every report below 通过 (or reported),
        and a unit's 上报 or a review below needs it still open."""
        superior = queries.superior_of(report.organization)
        return [queries.report_of(superior, report.task, create=False)] if superior else []

    @transition(source={S.DRAFT, S.RETURNED}, target=S.SUBMITTED, roles={UNIT},
                guards=[own_unit, unit_report, has_superior, county_open, everything_complete],
                label=_l("上报"), style="primary")
    def submit(self, report, user, data):
        report.reviewer_org_id = queries.superior_of(report.organization).id
        report.submitted_at = utcnow()
        report.review_opinion = None

    @transition(source={S.SUBMITTED}, target=S.DRAFT, roles="SUBMITTER_ROLES",
                guards=[own_unit], label=_l("撤回"), style="warning")
    def withdraw(self, report, user, data):
        report.submitted_at = None
        if report.kind == "aggregate":      # what it confirmed is open to review again
            report.aggregated_at = None
            db.session.execute(update(PhsReport).where(PhsReport.aggregate_id == report.id)
                               .values(aggregate_id=None))

    @transition(source={S.SUBMITTED}, target=S.APPROVED, roles={COUNTY}, batch=True,
                guards=[is_reviewer, unit_report, reviewer_still_open], label=_l("通过"),
                style="success")
    def approve(self, report, user, data):
        _reviewed(report, data)

    @transition(source={S.SUBMITTED, S.APPROVED}, target=S.RETURNED, roles={COUNTY}, batch=True,
                guards=[is_reviewer, unit_report, reviewer_still_open], label=_l("不通过"),
                comment_required=True, style="danger")
    def reject(self, report, user, data):
        _reviewed(report, data)

    @transition(source={S.DRAFT, S.RETURNED}, target=S.SUBMITTED,
                roles={COUNTY, CITY, PROVINCE}, label=_l("确认并上报"), style="primary",
                guards=[own_unit, area_report, has_superior, affiliation_settled,
                        subordinates_ready, no_pending_changes])
    def confirm(self, report, user, data):
        """Confirms what its subordinates reported (a city's or province's confirmation
        of each one is recorded) and reports the whole upward."""
        subs = queries.reports_of_orgs(report.task_id,
                                       queries.subordinates_of(report.organization))
        cascade(PhsReportFlow, subs, "accept_with_confirm", user,
                comment=str(_("确认并上报时一并确认")))
        db.session.execute(update(PhsReport).where(PhsReport.aggregate_id == report.id)
                           .values(aggregate_id=None))
        db.session.execute(update(PhsReport).where(PhsReport.id.in_([s.id for s in subs]))
                           .values(aggregate_id=report.id))
        report.aggregated_at = utcnow()
        report.reviewer_org_id = queries.superior_of(report.organization).id
        report.submitted_at = utcnow()
        report.review_opinion = None

    @transition(source={S.SUBMITTED}, target=S.APPROVED, roles=AREA_REVIEWERS, batch=True,
                guards=[is_reviewer, area_report, reviewer_still_open], label=_l("确认"),
                style="success")
    def accept(self, report, user, data):
        _reviewed(report, data)

    @transition(source={S.SUBMITTED}, target=S.APPROVED, roles=set(), system=True,
                label=_l("确认并上报时一并确认"))
    def accept_with_confirm(self, report, user, data):
        report.reviewed_at = utcnow()

    @transition(source={S.DRAFT}, target=S.APPROVED, roles=set(), system=True,
                label=_l("申请修改新增的机构计为通过"))
    def include_added(self, report, user, data):
        county = queries.superior_of(report.organization)
        report.reviewer_org_id = county.id
        report.aggregate_id = queries.report_of(county).id

    @transition(source={S.SUBMITTED, S.APPROVED}, target=S.RETURNED, roles=AREA_REVIEWERS,
                guards=[is_reviewer, area_report, reviewer_still_open], label=_l("退回"),
                comment_required=True, style="warning")
    def send_back(self, report, user, data):
        _reviewed(report, data)
        report.aggregated_at = None         # reopens the reviews below it
        db.session.execute(update(PhsReport).where(PhsReport.aggregate_id == report.id)
                           .values(aggregate_id=None))


# ---- 申请修改 -------------------------------------------------------------------------------------
def current_reviewer(change, user):
    if change.reviewer_org_id != getattr(user, "organization_id", None):
        return Refusal(_("该申请修改不在本级审核"), status=403)
    return None


def own_request(change, user):
    if change.organization_id != getattr(user, "organization_id", None):
        return Refusal(_("只能撤回本县提出的申请修改"), status=403)
    return None


@querying
def holds_data(change, user):
    holder = queries.data_is_above(change)
    if holder is not None:
        return _("本级已将数据上报，需逐级上报至%(n)s审核", n=holder.name)
    return None


@querying
def passed_data_on(change, user):
    if queries.data_is_above(change) is None:
        return _("县级数据在本级或已退回下级，请在本级直接审核")
    return None


class PhsChangeRequestFlow(Workflow):
    model = PhsChangeRequest
    object_type = "phs_change_request"
    state_labels = CHANGE_STATE_LABELS

    @transition(source={C.PENDING}, target=C.PENDING, roles={CITY, PROVINCE},
                guards=[current_reviewer, passed_data_on], label=_l("逐级上报"), style="primary")
    def forward(self, change, user, data):
        change.reviewer_org_id = queries.superior_of(change.reviewer_org).id

    @transition(source={C.PENDING}, target=C.WITHDRAWN, roles={COUNTY}, guards=[own_request],
                label=_l("撤回申请"), style="warning")
    def withdraw(self, change, user, data):
        change.reviewed_at = utcnow()

    @transition(source={C.PENDING}, target=C.APPROVED, roles=AREA_REVIEWERS, form="review",
                guards=[current_reviewer, holds_data], label=_l("审核通过"), style="success")
    def approve(self, change, user, data):
        changes.merge(change, user)
        _reviewed(change, data)
        added = db.session.get(PhsInstitution, change.institution_id) \
            if change.kind == "add" else None
        if added is not None and added.tier == "unit":
            # merged into reported data: the new unit's report counts as 通过
            cascade(PhsReportFlow, [queries.report_of(added.organization)], "include_added",
                    user, comment=str(_("申请修改#%(id)s 新增机构", id=change.id)))

    @transition(source={C.PENDING}, target=C.REJECTED, roles=AREA_REVIEWERS, form="review",
                guards=[current_reviewer], label=_l("审核不通过"), comment_required=True,
                style="danger")
    def reject(self, change, user, data):
        _reviewed(change, data)
