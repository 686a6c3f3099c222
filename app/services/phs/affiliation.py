"""机构隶属关系维护 beyond the first attachment (issue 22 items 5, 6): an existing institution
that does not take part in this collection (a hospital) is marked 不参与本次报送 with a
reason; an attached or dismissed one is released back to the list of institutions waiting
for their superior (to be attached again under another superior) while the county has not
reported. 确认并上报 waits until no existing institution is left waiting.

A dismissed institution is a row of tier `excluded`, marked deleted (no list, count or
report carries it), whose `source_org_id` keeps it off the waiting list; its reason is the
audit comment of its creation."""
from sqlalchemy import select

from app.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from app.extensions import db
from app.i18n import _
from app.models.audit import AuditLog
from app.models.phs import OPEN_STATES, PhsInstitution
from app.services import audit
from app.services.phs.commands import unit_stations
from app.services.phs.queries import created_by_county, report_of, unattached_orgs
from app.services.phs.rules import COUNTY, has_role
from app.workflows.engine import lock

EXCLUDED = "excluded"


def _county_open(user):
    """The caller's county, its report locked and still open (or a refusal)."""
    county = user.organization
    if not has_role(user, COUNTY) or county is None or county.level != "county":
        raise ForbiddenError(_("只有县级用户可以维护机构隶属关系"))
    report = report_of(county, create=False)
    lock([report] if report is not None else [])
    if report is not None and report.state not in OPEN_STATES:
        raise ConflictError(_("本县已确认并上报（%(s)s），不能再调整机构隶属关系；如需调整请申请修改",
                              s=report.state_label))
    return county


def dismiss_existing(user, org_ids, reason):
    """不参与本次报送: the ticked existing institutions, with the reason; all or nothing."""
    county = _county_open(user)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidError(_("请填写不参与本次报送的原因"), fields={"reason": [_("必填")]})
    candidates = {str(o.id): o for o in unattached_orgs(county)}
    ids = [str(i) for i in dict.fromkeys(org_ids or [])]
    if not ids:
        raise InvalidError(_("请至少选择一个机构"), fields={"org": [_("必选")]})
    if any(i not in candidates for i in ids):
        raise NotFoundError(_("所选机构不在本县待维护的机构中，未做任何修改"))
    made = []
    for key in ids:
        org = candidates[key]
        row = PhsInstitution(tier=EXCLUDED, name=org.name, deleted=True, source_org_id=org.id,
                             organization_id=county.id, superior_org_id=county.id,
                             region_id=county.region_id)
        row.copy_scope_from(county)
        db.session.add(row)
        db.session.flush()
        audit.record(user, "create", obj=row, comment=_("不参与本次报送：%(r)s", r=reason))
        made.append(row)
    db.session.commit()
    return made


def settled_rows(county):
    """[(row, reason or None)]: the county's existing institutions whose superior was chosen
    (attached) or that were dismissed, i.e. what 解除 may release. Units the county's 新增
    made are not listed (they are deleted from the institution list)."""
    I = PhsInstitution
    rows = db.session.execute(select(I).where(
        I.county_code == county.county_code, I.source_org_id.is_not(None),
        (I.deleted.is_(False)) | (I.tier == EXCLUDED)).order_by(I.tier, I.name)).scalars().all()
    rows = [r for r in rows if not (r.tier == "unit" and created_by_county(r.source_org))]
    reasons = dict(db.session.execute(select(AuditLog.object_id, AuditLog.comment).where(
        AuditLog.object_type == I.__tablename__, AuditLog.action == "create",
        AuditLog.object_id.in_([r.id for r in rows if r.tier == EXCLUDED] or [0]))).all())
    return [(r, reasons.get(r.id)) for r in rows]


def release(user, inst_id):
    """解除: the institution waits for its superior again (to be attached anew); a unit
    only while its own report is open and it fills no station any more."""
    county = _county_open(user)
    found = {r.id: r for r, _reason in settled_rows(county)}
    try:
        row = found.get(int(inst_id))
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise NotFoundError(_("未找到该机构"))
    if row.tier != EXCLUDED:        # the report carrying it (the unit's) is still open
        own = report_of(row.organization, create=False)
        if own is not None and own.state not in OPEN_STATES:
            raise ConflictError(_("“%(n)s”已上报（%(s)s），请先审核不通过后再调整其上级机构",
                                  n=row.organization.name, s=own.state_label))
    if row.tier == "unit":
        if unit_stations(row):
            raise ConflictError(_("“%(n)s”还填报有卫生室（服务站），请先由其删除或调整后再解除",
                                  n=row.name))
    row.deleted = True
    row.source_org_id = None
    audit.record(user, "delete", obj=row, comment=_("机构隶属关系维护：解除（%(n)s）", n=row.name))
    db.session.commit()
    return row
