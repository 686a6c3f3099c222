"""疾病应急救助 state machines: applications (SPEC R4–R6) and data reports (R9–R10) —
states, transitions, guards and effects. The field rules the effects apply are in
app/services/relief/rules.py."""
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import union

from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization, User, utcnow
from app.models.relief import (APPLICATION_STATE_LABELS, ApplicationState as S,
                               ReliefApplication, ReliefPrepayment, ReliefReport)
from app.scope import LEVEL_COLUMN
from app.services.files import Slot, required_attachments
from app.services.relief import rules
from app.workflows.engine import Refusal, Workflow, querying, transition
from app.workflows.reporting import ReportingFlow, own_aggregate_open
from app.workflows.reporting import is_reviewer as report_reviewer

INSTITUTION = "R 医疗机构"
AGENCY = "R 经办机构"

ARCHIVE = ("archive",)
SLOTS = (
    Slot("medical_record", _l("病案首页或抢救记录或门诊记录"), ARCHIVE, required=True),
    Slot("cost_list", _l("费用清单"), ARCHIVE, required=True),
    Slot("police_proof", _l("公安/民政证明材料"), ARCHIVE),
    Slot("other_proof", _l("其他相关证明材料"), ARCHIVE),
)
PHOTO_SLOT = Slot("photo", _l("照片"), ("image",), multiple=False)
REVIEW_SLOT = Slot("review_proof", _l("审核补充材料"), ARCHIVE)
ALL_SLOTS = SLOTS + (PHOTO_SLOT, REVIEW_SLOT)


def nearest_agency(org):
    """The agency that reviews `org`: the nearest 经办机构 up its region chain."""
    region = org.region
    while region is not None:
        agency = db.session.execute(
            db.select(Organization).where(Organization.org_type == "agency",
                                          Organization.region_id == region.id,
                                          Organization.active.is_(True))
            .order_by(Organization.id).limit(1)).scalar_one_or_none()
        if agency is not None:
            return agency
        region = region.parent
    return None


@querying
def has_reviewer(app, user):
    if nearest_agency(app.organization) is None:
        return _("未找到上级经办机构，无法提交")
    return None


def is_reviewer(app, user):
    if app.reviewer_org_id != getattr(user, "organization_id", None):
        return Refusal(_("只有上级经办机构可以审核该申请"), status=403)
    return None


def not_yet_acted(app, user):
    if app.reviewed_at is not None:
        return _("经办机构已处理，不能撤回")
    return None


def record_review(app, data):
    """The agency's findings (SPEC R5), required on every review outcome."""
    for name, value in rules.review_findings(data).items():
        setattr(app, name, value)
    app.reviewed_at = utcnow()


class ReliefApplicationFlow(Workflow):
    model = ReliefApplication
    object_type = "relief_application"
    state_labels = APPLICATION_STATE_LABELS

    @transition(source={S.DRAFT, S.RETURNED}, target=S.SUBMITTED, roles={INSTITUTION},
                guards=[required_attachments(SLOTS), has_reviewer], label=_l("提交"),
                batch=True, style="primary")
    def submit(self, app, user, data):
        app.reviewer_org_id = nearest_agency(app.organization).id
        app.submitted_at = utcnow()
        app.reviewed_at = None

    @transition(source={S.SUBMITTED}, target=S.DRAFT, roles={INSTITUTION},
                guards=[not_yet_acted], label=_l("撤回"), style="warning")
    def withdraw(self, app, user, data):
        app.submitted_at = None

    @transition(source={S.SUBMITTED}, target=S.APPROVED, roles={AGENCY}, guards=[is_reviewer],
                label=_l("审核通过"), form="review", style="success")
    def approve(self, app, user, data):
        record_review(app, data)

    @transition(source={S.SUBMITTED}, target=S.RETURNED, roles={AGENCY}, guards=[is_reviewer],
                label=_l("审核退回"), form="review", comment_required=True, style="warning")
    def send_back(self, app, user, data):
        record_review(app, data)

    @transition(source={S.SUBMITTED}, target=S.REJECTED, roles={AGENCY}, guards=[is_reviewer],
                label=_l("审核不通过"), form="review", comment_required=True, style="danger")
    def reject(self, app, user, data):
        record_review(app, data)

    @transition(source={S.APPROVED}, target=S.DISBURSED, roles={AGENCY}, guards=[is_reviewer],
                label=_l("拨款"), form="disburse", style="primary")
    def disburse(self, app, user, data):
        app.disbursed_amount, app.disbursed_on = rules.disbursement(app, data)

    @transition(source={S.DRAFT, S.RETURNED}, target=S.DELETED, roles={INSTITUTION},
                label=_l("删除"), batch=True, style="danger")
    def delete(self, app, user, data):
        """Deleting is a transition too: checked like any other, audited, and the row
        is kept (hidden from every list) so that no record is ever lost."""


# ---- R9–R10 数据上报 / 上报数据浏览 ---------------------------------------------------------------
HEALTH_COMMISSION = "R 卫健委"


def _agencies_by_region():
    rows = db.session.execute(db.select(Organization).where(
        Organization.org_type == "agency", Organization.active.is_(True))
        .order_by(Organization.id)).scalars()
    out = {}
    for org in rows:
        out.setdefault(org.region_id, org)
    return out


def _agency_from(region, agencies):
    while region is not None:
        if region.id in agencies:
            return agencies[region.id]
        region = region.parent
    return None


def _one(org_type, **where):
    query = db.select(Organization).where(Organization.org_type == org_type,
                                          Organization.active.is_(True))
    for key, value in where.items():
        query = query.where(getattr(Organization, key) == value)
    return db.session.execute(query.order_by(Organization.id).limit(1)).scalar_one_or_none()


def relief_institutions():
    """Ids of the institutions taking part in relief: those with an account holding the
    relief role, or with an application, a prepayment or a report of their own (a 卫生院,
    疾控中心 or 口腔诊所 that never reports relief data is not waited for)."""
    accounts = (db.select(User.organization_id).join(User.roles)
                .where(Role.name == INSTITUTION, User.active.is_(True)))
    own = [db.select(m.organization_id) for m in (ReliefApplication, ReliefPrepayment,
                                                  ReliefReport)]
    return set(db.session.execute(union(accounts, *own)).scalars())


@querying
def not_aggregated_yet(report, user):
    """Once the reviewer has aggregated (数据汇总) and its aggregate stands, a late report
    approved below it would be missing from the figures sent up: refused as 退回 is."""
    mine = ReliefReportFlow.own_report(report.task_id, report.reviewer_org_id)
    if (mine is not None and mine.kind == "aggregate" and mine.aggregated_at is not None
            and mine.state in ("draft", "submitted", "approved")):
        return _("本机构已汇总，需上级退回汇总数据后才能再审核下级数据")
    return None


class ReliefReportFlow(ReportingFlow):
    """Institutions → city agency → province agency → province health commission →
    national health commission; a province agency may report to national directly."""
    model = ReliefReport
    object_type = "relief_report"
    SUBMITTER_ROLES = frozenset({INSTITUTION, AGENCY, HEALTH_COMMISSION})
    REVIEWER_ROLES = frozenset({AGENCY, HEALTH_COMMISSION})

    @classmethod
    def superior_of(cls, org, to_national=False, agencies=None):
        agencies = agencies if agencies is not None else _agencies_by_region()
        if org.org_type in ("medical", "public_health"):
            return _agency_from(org.region, agencies)
        if org.org_type == "agency" and org.level == "province":
            return (_one("national") if to_national else
                    _one("health_commission", level="province",
                         province_code=org.province_code))
        if org.org_type == "agency":
            return _agency_from(org.region.parent, agencies)
        if org.org_type == "health_commission" and org.level == "province":
            return _one("national")
        return None

    @classmethod
    def subordinates_of(cls, org):
        query = db.select(Organization).where(
            Organization.active.is_(True), Organization.id != org.id,
            Organization.org_type.in_(("medical", "public_health", "agency",
                                       "health_commission")))
        level = org.region.level
        if level in LEVEL_COLUMN:
            query = query.where(getattr(Organization, LEVEL_COLUMN[level]) ==
                                getattr(org.region, LEVEL_COLUMN[level]))
        agencies, taking_part = _agencies_by_region(), relief_institutions()
        return [o for o in db.session.execute(query.order_by(Organization.unit_code)).scalars()
                if (s := cls.superior_of(o, agencies=agencies)) is not None and s.id == org.id
                and (not o.is_institution or o.id in taking_part)]

    @transition(source={"submitted"}, target="approved", roles="REVIEWER_ROLES",
                guards=[report_reviewer, own_aggregate_open, not_aggregated_yet],
                label=_l("审核通过"), style="success")
    def approve(self, report, user, data):
        ReportingFlow.approve(self, report, user, data)


def direct_institutions(agency):
    """Ids of the institutions `agency` reviews and reports for (its direct subordinates)."""
    return [o.id for o in ReliefReportFlow.subordinates_of(agency) if o.is_institution]
