"""定点协议 and staff records (SPEC M6, M7): validation, adding and editing, the agency
lookup, and the job that publishes confirmed agreements into the designated list (入库)."""
import datetime as dt

from sqlalchemy import delete, or_, select

from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization
from app.models.registry import (AGREEMENT_TYPES, STAFF_TYPES, DesignatedInstitution,
                                 RegistryAgreement, RegistryStaff)
from app.services import registry as rules, validators
from app.services.audit import record
from app.services.clock import now
from app.services.files import Slot
from app.scope import LEVEL_COLUMN
from app.workflows.engine import Refusal

AGREEMENT_DOC = Slot("agreement_doc", _l("协议附件"), ("pdf", "image"))
AGREEMENT_LABELS = {"file": _l("协议附件"), "institution": _l("医疗机构"), "agency": _l("经办机构"),
                    "agreement_no": _l("协议编号"), "agreement_type": _l("协议类型"),
                    "start_date": _l("协议开始日期"), "end_date": _l("协议结束日期"),
                    "content": _l("协议内容")}
STAFF_LABELS = {"name": _l("姓名"), "id_number": _l("身份证号"), "staff_type": _l("人员类型"),
                "cert_no": _l("执业证书编号")}
EDITABLE_STAFF = ("draft", "rejected")


def _date(value):
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


def agencies(region_code=None, name=None, limit=50):
    """经办机构 chosen by region and name (M6)."""
    q = select(Organization).where(Organization.org_type == "agency",
                                   Organization.active.is_(True))
    region = rules.region_by_code(region_code) if region_code else None
    if region is not None and region.level != "nation":
        q = q.where(getattr(Organization, LEVEL_COLUMN[region.level]) == region.code)
    if name:
        q = q.where(Organization.name.contains(name.strip(), autoescape=True))
    return db.session.execute(q.order_by(Organization.name).limit(limit)).scalars().all()


def clean_agreement(data, agency_required=True):
    values, errors = {}, {}
    values["agreement_no"] = (data.get("agreement_no") or "").strip()
    if not values["agreement_no"]:
        errors["agreement_no"] = _("必填")
    elif len(values["agreement_no"]) > 64:
        errors["agreement_no"] = _("不能超过%(n)s个字", n=64)
    values["agreement_type"] = (data.get("agreement_type") or "").strip()
    if values["agreement_type"] not in AGREEMENT_TYPES:
        errors["agreement_type"] = _("请选择协议类型")
    for name in ("start_date", "end_date"):
        values[name] = _date(data.get(name))
        if values[name] is None:
            errors[name] = _("请填写日期（年-月-日）")
    if values["start_date"] and values["end_date"] and values["end_date"] < values["start_date"]:
        errors["end_date"] = _("协议结束日期不能早于开始日期")
    values["content"] = (data.get("content") or "").strip() or None
    if values["content"] and len(values["content"]) > 4000:
        errors["content"] = _("不能超过%(n)s个字", n=4000)
    if agency_required:
        agency = None
        try:
            agency = db.session.get(Organization, int(data.get("agency_org_id") or 0))
        except (TypeError, ValueError):
            pass
        if agency is None or agency.org_type != "agency" or not agency.active:
            errors["agency"] = _("请选择经办机构")
        values["agency"] = agency
    return values, errors


def add_agreement(inst, user, data):
    """新增协议: only a coded institution, by its maintainer → 待确认."""
    if not rules.holds(inst, user):
        raise Refusal(_("只有该机构的维护人员可以新增协议"), status=403)
    if inst.state != "coded":
        raise Refusal(_("机构信息赋码后才能新增定点协议"), status=409)
    values, errors = clean_agreement(data)
    if errors:
        rules.fail(errors, AGREEMENT_LABELS)
    agency = values.pop("agency")
    agreement = RegistryAgreement(institution=inst, organization_id=inst.organization_id,
                                  agency_org_id=agency.id, state="pending", **values)
    agreement.copy_scope_from(agency)
    db.session.add(agreement)
    db.session.flush()
    record(user, "registry_agreement_add", obj=agreement,
           comment=_("新增协议%(no)s（%(agency)s）", no=agreement.agreement_no,
                     agency=agency.name))
    return agreement


def edit_agreement(agreement, user, data):
    """The institution edits (→ 待确认 again) or the chosen agency modifies (state kept,
    also after confirmation); the job publishes the change."""
    by_agency = user.organization_id == agreement.agency_org_id
    if not by_agency and not rules.holds(agreement.institution, user):
        raise Refusal(_("只有该机构的维护人员或协议选择的经办机构可以修改协议"), status=403)
    if agreement.state == "deleted":
        raise Refusal(_("协议已删除"), status=409)
    values, errors = clean_agreement(data, agency_required=not by_agency)
    if errors:
        rules.fail(errors, AGREEMENT_LABELS)
    agency = values.pop("agency", None)
    before = agreement.state
    for name, value in values.items():
        setattr(agreement, name, value)
    if agency is not None and agency.id != agreement.agency_org_id:
        agreement.agency_org_id = agency.id
        agreement.copy_scope_from(agency)
    if not by_agency:
        agreement.state = "pending"
    agreement.changed_at = now()
    db.session.flush()
    record(user, "registry_agreement_edit", obj=agreement, from_state=before,
           to_state=agreement.state,
           comment=_("经办机构修改协议") if by_agency else _("机构修改协议，需经办机构重新确认"))
    return agreement


def sync_agreements():
    """入库: confirmed agreements changed since their last publication go into the
    designated list (one row per agreement, replaced); deleted ones leave it."""
    changed = db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.state == "confirmed",
        or_(RegistryAgreement.synced_at.is_(None),
            RegistryAgreement.synced_at < RegistryAgreement.changed_at))
        .order_by(RegistryAgreement.id)).scalars().all()
    stamp = now()
    for agreement in changed:
        org, agency = agreement.institution.organization, agreement.agency
        row = db.session.execute(select(DesignatedInstitution).where(
            DesignatedInstitution.agreement_id == agreement.id)).scalar()
        if row is None:
            row = DesignatedInstitution(agreement_id=agreement.id)
            db.session.add(row)
        row.organization_id, row.agency_org_id = org.id, agency.id
        row.national_code, row.institution_name = org.national_code, org.name
        row.agency_name, row.agreement_no = agency.name, agreement.agreement_no
        row.agreement_type = agreement.agreement_type
        row.start_date, row.end_date = agreement.start_date, agreement.end_date
        row.published_at = stamp
        row.copy_scope_from(agency)
        agreement.synced_at = stamp
    gone = db.session.execute(delete(DesignatedInstitution).where(
        DesignatedInstitution.agreement_id.in_(select(RegistryAgreement.id).where(
            RegistryAgreement.state == "deleted"))))
    db.session.commit()
    return len(changed), gone.rowcount


def clean_staff(data):
    values, errors = {}, {}
    values["name"] = (data.get("name") or "").strip()
    if not values["name"]:
        errors["name"] = _("必填")
    elif len(values["name"]) > 64:
        errors["name"] = _("不能超过%(n)s个字", n=64)
    try:
        values["id_number"] = validators.check_id_number(data.get("id_number") or "")
    except validators.ValidationError as exc:
        errors["id_number"] = exc.message
    values["staff_type"] = (data.get("staff_type") or "").strip()
    if values["staff_type"] not in STAFF_TYPES:
        errors["staff_type"] = _("请选择人员类型")
    values["cert_no"] = (data.get("cert_no") or "").strip().upper()
    if not values["cert_no"]:
        errors["cert_no"] = _("必填")
    elif len(values["cert_no"]) > 32 or not values["cert_no"].isalnum():
        errors["cert_no"] = _("执业证书编号只能包含字母和数字，最多32位")
    return values, errors


def staff_refusal(inst, user, staff_type):
    from app.workflows.registry import staff_editor
    probe = RegistryStaff(organization_id=inst.organization_id, staff_type=staff_type)
    refusal = staff_editor(probe, user)
    if refusal is None and inst.state in ("archived", "deleted"):
        refusal = Refusal(_("机构信息已归档，不能维护人员信息"), status=409)
    return refusal


def save_staff(inst, user, data, staff=None):
    values, errors = clean_staff(data)
    if errors:
        rules.fail(errors, STAFF_LABELS)
    if staff is not None and staff.institution_id != inst.id:
        raise Refusal(_("人员不属于该机构"), status=404)
    if staff is not None and staff.state not in EDITABLE_STAFF:
        raise Refusal(_("人员信息%(state)s，不能修改", state=staff.state_label), status=409)
    for kind in {values["staff_type"], getattr(staff, "staff_type", values["staff_type"])}:
        refusal = staff_refusal(inst, user, kind)
        if refusal is not None:
            raise refusal
    dup = db.session.execute(select(RegistryStaff.id).where(
        RegistryStaff.institution_id == inst.id, RegistryStaff.id_number == values["id_number"],
        RegistryStaff.state != "deleted",
        RegistryStaff.id != (staff.id if staff is not None else -1))).first()
    if dup:
        rules.fail({"id_number": _("本机构已有该身份证号的人员")}, STAFF_LABELS)
    if staff is None:
        staff = RegistryStaff(institution=inst, organization_id=inst.organization_id,
                              state="draft")
        staff.copy_scope_from(inst)
        db.session.add(staff)
    for name, value in values.items():
        setattr(staff, name, value)
    db.session.flush()
    record(user, "registry_staff_save", obj=staff, comment=f"{staff.name}（{staff.type_label}）")
    return staff
