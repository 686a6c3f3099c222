"""体外诊断试剂报量 review chain (SPEC Q3–Q6): hospital → city (or 省本级) → province →
national. A hospital report is reviewed by the account whose scope is its city; a city
report by its province; the national super-admin may return a province's submission.

Reviews below an area are frozen once the area has submitted: 审核 and 审核撤回 are
allowed only while the reviewer's own report is 待提交 or 审核不通过 (manual, 审核撤回)."""
import datetime as dt

from app.i18n import _, _l
from app.models.core import utcnow
from app.models.ivd import (AREA_STATE_LABELS, HOSPITAL_STATE_LABELS, AreaReportState,
                            HospitalReportState, IvdAreaReport, IvdHospitalReport)
from app.scope import ADMIN_ROLE, scope_of
from app.services.ivd import commands, queries, rules
from app.services.files import missing_slots
from app.workflows.engine import Refusal, Workflow, querying, transition

HOSPITAL = "Q 医疗机构"
REVIEWER = "Q 医保局"
H, A = HospitalReportState, AreaReportState
OPEN = (A.DRAFT, A.REJECTED)      # an area may still act on what is below it


def _names(rows, limit=10):
    text = "、".join(rows[:limit])
    return text + (_("等 %(n)s 个", n=len(rows)) if len(rows) > limit else "")


def _deadline(day, label):
    if dt.date.today() > day:
        return _("%(what)s已截止（截止日期 %(d)s）", what=label, d=day)
    return None


# ---- hospital report guards ------------------------------------------------------------------
def own_hospital(report, user):
    if report.organization_id != getattr(user, "organization_id", None):
        return Refusal(_("只能操作本机构的报量数据"), status=403)
    return None


def filling_open(report, user):
    return rules.filling_refusal(report)


@querying
def ready_to_submit(report, user):
    problems = rules.submission_problems(report)
    return "；".join(str(p) for p in problems) if problems else None


def city_reviewer(report, user):
    if scope_of(user) != ("city", report.city_code):
        return Refusal(_("只有本市（省本级）医保部门可以审核该医疗机构"), status=403)
    return None


def city_deadline(report, user):
    return _deadline(report.project.city_deadline, _("市级审核"))


@querying
def city_report_open(report, user):
    area = queries.area_report(report.project_id, report.city_code)
    if area is not None and area.state not in OPEN:
        return _("本市报量数据为“%(s)s”，只有待提交或上级审核不通过时才能办理",
                 s=area.state_label)
    return None


REVIEW_GUARDS = [city_reviewer, city_deadline, city_report_open]


class IvdHospitalReportFlow(Workflow):
    naming_notes = {"exempt": "取消上报: the reviewer takes a hospital out of this round "
                              "(无需上报), not a submitter's 撤回",
                    "restore": "上报: the reviewer puts an exempt hospital back (the manual's "
                               "word), not a submission"}
    model = IvdHospitalReport
    object_type = "ivd_hospital_report"
    state_labels = HOSPITAL_STATE_LABELS

    @classmethod
    def lock_parents(cls, report):
        """The city report: its 提交 needs every hospital approved, a review needs it open."""
        return [queries.area_report(report.project_id, report.city_code)]

    @transition(source={H.UNSUBMITTED, H.REJECTED}, target=H.SUBMITTED, roles={HOSPITAL},
                guards=[own_hospital, filling_open, ready_to_submit], label=_l("提交"),
                form="submit_form", style="primary")
    def submit(self, report, user, data):
        report.submitted_at = utcnow()
        commands.reset_review(report)

    @transition(source={H.SUBMITTED}, target=H.APPROVED, roles={REVIEWER}, guards=REVIEW_GUARDS,
                label=_l("审核通过"), style="success")
    def approve(self, report, user, data):
        commands.mark_reviewed(report, data)

    @transition(source={H.SUBMITTED}, target=H.REJECTED, roles={REVIEWER}, guards=REVIEW_GUARDS,
                label=_l("审核不通过"), comment_required=True, style="danger")
    def reject(self, report, user, data):
        commands.mark_reviewed(report, data)

    @transition(source={H.APPROVED, H.REJECTED}, target=H.SUBMITTED, roles={REVIEWER},
                guards=REVIEW_GUARDS, label=_l("审核撤回"), style="warning")
    def unreview(self, report, user, data):
        commands.reset_review(report)

    @transition(source={H.UNSUBMITTED, H.SUBMITTED, H.REJECTED}, target=H.EXEMPT,
                roles={REVIEWER}, guards=REVIEW_GUARDS, label=_l("取消上报"), batch=True,
                style="default")
    def exempt(self, report, user, data):
        commands.reset_review(report)

    @transition(source={H.EXEMPT}, target=H.UNSUBMITTED, roles={REVIEWER},
                guards=REVIEW_GUARDS, label=_l("上报"), batch=True, style="default")
    def restore(self, report, user, data):
        report.submitted_at = None


# ---- area report guards ----------------------------------------------------------------------
def own_area(report, user):
    if scope_of(user) != (report.level, report.region.code):
        return Refusal(_("只能提交本级区域的报量数据"), status=403)
    return None


def area_deadline(report, user):
    if report.level == "city":
        return _deadline(report.project.city_deadline, _("市级审核"))
    return _deadline(report.project.province_deadline, _("省级审核"))


@querying
def everything_below_approved(report, user):
    if report.level == "city":
        waiting = queries.hospitals_not_approved(report.project_id, report.region.code)
        if waiting:
            return _("以下医疗机构尚未审核通过，不能提交：%(names)s",
                     names=_names([f"{h.organization.name}（{h.state_label}）" for h in waiting]))
        return None
    waiting = queries.cities_not_approved(report.project_id, report.region.code)
    if waiting:
        return _("以下市级数据尚未审核通过，不能提交：%(names)s",
                 names=_names([r.name for r in waiting]))
    return None


@querying
def stamped_summary(report, user):
    """The province's stamped summary, uploaded after its figures last moved."""
    if report.level != "province":
        return None
    if missing_slots(report, [rules.STAMPED_SUMMARY]):
        return _("请先上传盖章的汇总数据")
    if queries.stamped_summary_stale(report):
        return _("上传盖章的汇总数据后各市数据已变化，请重新导出汇总数据，盖章后重新上传")
    return None


def province_reviewer(report, user):
    if report.level != "city" or scope_of(user) != ("province", report.province_code):
        return Refusal(_("只有本省医保部门可以审核市级报量数据"), status=403)
    return None


def province_deadline(report, user):
    return _deadline(report.project.province_deadline, _("省级审核"))


@querying
def province_report_open(report, user):
    area = queries.area_report(report.project_id, report.province_code)
    if area is not None and area.state not in OPEN:
        return _("本省报量数据为“%(s)s”，只有待提交或审核不通过时才能办理", s=area.state_label)
    return None


def is_province(report, user):
    if report.level != "province":
        return _("全国只能撤回省级提交的数据")
    return None


PROVINCE_GUARDS = [province_reviewer, province_deadline, province_report_open]


class IvdAreaReportFlow(Workflow):
    naming_notes = {"recall": "撤回 by the national reviewer (a submitted province goes back), "
                              "not the submitter's own `withdraw`"}
    model = IvdAreaReport
    object_type = "ivd_area_report"
    state_labels = AREA_STATE_LABELS

    @classmethod
    def lock_parents(cls, report):
        """A city report's province report: its 提交 needs every city approved, a review of
        a city needs it open."""
        if report.level != "city":
            return []
        return [queries.area_report(report.project_id, report.province_code)]

    @transition(source=set(OPEN), target=A.SUBMITTED, roles={REVIEWER},
                guards=[own_area, area_deadline, everything_below_approved, stamped_summary],
                label=_l("提交"), form="submit_form", style="primary")
    def submit(self, report, user, data):
        report.organization_id = user.organization_id
        report.submitted_at = utcnow()
        commands.reset_review(report)

    @transition(source={A.SUBMITTED}, target=A.APPROVED, roles={REVIEWER},
                guards=PROVINCE_GUARDS, label=_l("审核通过"), style="success")
    def approve(self, report, user, data):
        commands.mark_reviewed(report, data)

    @transition(source={A.SUBMITTED}, target=A.REJECTED, roles={REVIEWER},
                guards=PROVINCE_GUARDS, label=_l("审核不通过"), comment_required=True,
                style="danger")
    def reject(self, report, user, data):
        commands.mark_reviewed(report, data)

    @transition(source={A.APPROVED, A.REJECTED}, target=A.SUBMITTED, roles={REVIEWER},
                guards=PROVINCE_GUARDS, label=_l("审核撤回"), style="warning")
    def unreview(self, report, user, data):
        commands.reset_review(report)

    @transition(source={A.SUBMITTED}, target=A.REJECTED, roles={ADMIN_ROLE},
                guards=[is_province], label=_l("撤回"), style="warning")
    def recall(self, report, user, data):
        commands.mark_reviewed(report, data)
