"""工伤 commands (SPEC W1, W4–W8): each one checks through the rules, writes, audits and
commits at its end — the one transaction owner of what the screens and the API ask for.
A refusal (app/errors.py) leaves nothing written; the error handler rolls back."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import FileStorage

from app.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from app.extensions import db
from app.i18n import _
from app.models.core import Organization
from app.models.files import Attachment
from app.models.injury import (DeclarationState as S, InjuryDeclaration, InjuryDetermination,
                               InjuryDeviceItem, InjuryDeviceLine, InjuryHospital)
from app.services import accounts, audit, clock, files
from app.services.attachments import AttachmentError
from app.services.injury.queries import (determination_for, determination_has_declarations,
                                        open_draft, redeclarations, require_designated)
from app.services.injury.rules import MOBILE_RE, Registration, clean_declaration
from app.workflows.engine import Refusal, apply_system, lock
from app.workflows.injury import EDITABLE_STATES, KINDS, InjuryDeclarationFlow

COPIED = ("id_number", "person_name", "employer_name", "employer_id", "injury_type",
          "determination_no", "injury_date")
REGISTER_ROLES = ["W 医疗机构"]


# ---- W4 a declaration ---------------------------------------------------------------------


def fill_from_determination(declaration, determination):
    declaration.determination_id = determination.id
    declaration.determination = determination
    for name in COPIED:
        setattr(declaration, name, getattr(determination, name))
    declaration.copy_scope_from(determination)


def save(user, kind_code, data, lines=None, declaration=None):
    """保存: create or update a draft from validated data; nothing is written when any
    field or line is wrong (422 naming each). `data` carries `determination` (id)."""
    kind = KINDS.get(kind_code)
    if kind is None:
        raise InvalidError(_("未知的申报类型"))
    lock([declaration])     # 提交 checks the lines under the same lock: one after the other
    if declaration is not None and declaration.state not in EDITABLE_STATES:
        raise ConflictError(_("当前状态为“%(s)s”，不能修改", s=declaration.state_label))
    det_id = data.get("determination") or (declaration.determination_id if declaration else None)
    if not det_id:
        raise InvalidError(_("请选择工伤认定信息"), fields={"determination": [_("必选")]})
    determination = determination_for(user, det_id)
    values, cleaned_lines = clean_declaration(kind, data, lines, determination.injury_date)
    creating = declaration is None
    other = open_draft(user.organization_id, kind.code, determination.id)
    if other is not None and other is not declaration:
        message = _("该人员的这条工伤认定信息已有未提交的%(kind)s（#%(id)s），请在我的待提交业务中打开并修改",
                    kind=kind.label, id=other.id)
        raise ConflictError(message, fields={"determination": [message]})
    if creating:
        declaration = InjuryDeclaration(kind=kind.code, state=S.DRAFT.value,
                                        organization_id=user.organization_id)
        db.session.add(declaration)
    fill_from_determination(declaration, determination)
    for name, value in values.items():
        setattr(declaration, name, value)
    if cleaned_lines is not None:
        declaration.lines = [InjuryDeviceLine(item_id=ln["item"].id, item=ln["item"],
                                              quantity=ln["quantity"], price=ln["price"],
                                              configured_on=ln["configured_on"],
                                              usage_years=ln["usage_years"])
                             for ln in cleaned_lines]
    db.session.flush()
    audit.record(user, "create" if creating else "update", obj=declaration)
    db.session.commit()
    return declaration


def resubmit(user, original):
    """重新申报, once: a new draft pre-filled from a rejected declaration, linked to it, with
    its lines and copies of its materials (the clerk may replace them). While a
    re-declaration of it exists (not deleted) no second one is made: an open draft made
    from it is returned, any other is named in the refusal (issue 21 item 3)."""
    if original.organization_id != getattr(user, "organization_id", None):
        raise ForbiddenError(_("只有申报的医疗机构可以重新申报"))
    require_designated(user)
    lock([original])        # two clicks on 重新申报 make one draft
    if original.state != S.REJECTED.value:
        raise ConflictError(_("只有未通过的申报可以重新申报"))
    live = redeclarations(original)
    drafts = [d for d in live if d.state == S.DRAFT.value]
    if drafts:
        return drafts[0]
    if live:
        raise ConflictError(_("该申报已重新申报：#%(id)s（%(s)s），不能再次重新申报",
                              id=live[0].id, s=live[0].state_label))
    other = open_draft(original.organization_id, original.kind, original.determination_id)
    if other is not None:
        raise ConflictError(_("该人员的这条工伤认定信息已有未提交的%(kind)s（#%(id)s），请在我的待提交业务中打开并修改",
                              kind=original.kind_label, id=other.id))
    copy = InjuryDeclaration(kind=original.kind, state=S.DRAFT.value,
                             organization_id=original.organization_id,
                             resubmitted_from_id=original.id)
    fill_from_determination(copy, original.determination)
    for f in KINDS[original.kind].fields:
        setattr(copy, f.name, getattr(original, f.name))
    copy.lines = [InjuryDeviceLine(item_id=ln.item_id, quantity=ln.quantity, price=ln.price,
                                   configured_on=ln.configured_on, usage_years=ln.usage_years)
                  for ln in original.lines]
    db.session.add(copy)
    db.session.flush()
    _copy_materials(original, copy, user)
    audit.record(user, "create", obj=copy, comment=_("重新申报，原申报 #%(id)s", id=original.id))
    db.session.commit()
    return copy


def _copy_materials(original, copy, user):
    """Each material of `original` stored again for `copy` (a file of its own, so that
    replacing it on the copy leaves the original's as it was reviewed)."""
    present = files.files_of(original)
    for slot in KINDS[original.kind].slots:
        for row in present.get(slot.name, []):
            with open(files.path_of(row), "rb") as fh:
                files.attach(copy, slot, FileStorage(stream=fh, filename=row.original_name),
                             user)
    db.session.flush()


# ---- 采集电子材料 ---------------------------------------------------------------------------


def _editable_materials(user, declaration):
    require_designated(user)
    lock([declaration])     # 提交 checks the materials under the same lock
    if declaration.state not in EDITABLE_STATES:
        raise ConflictError(_("已提交的申报不能修改电子材料"))


def attach_materials(user, declaration, slot, uploads):
    """Images into one slot of a draft, all or nothing, each audited; committed."""
    _editable_materials(user, declaration)
    try:
        return files.attach_all_and_record(declaration, slot, uploads, user)
    except AttachmentError as exc:
        raise InvalidError(str(exc), fields={"file": [str(exc)]}) from None


def attach_material(user, declaration, slot, upload):
    """One image (the API's upload) into a slot of a draft, audited; committed."""
    return attach_materials(user, declaration, slot, [upload])[0]


def remove_material(user, declaration, attachment_id):
    """Deletes one stored material of a draft, audited; committed. Returns its name."""
    row = db.session.get(Attachment, attachment_id)
    if row is None or row.owner_type != declaration.__tablename__ \
            or row.owner_id != declaration.id:
        raise NotFoundError(_("记录不存在或不在您的管辖范围内"))
    _editable_materials(user, declaration)
    name = row.original_name
    db.session.delete(row)
    audit.record(user, "update", obj=declaration, comment=_("删除电子材料：%(n)s", n=name))
    db.session.commit()
    return name


# ---- W6 employer timeout ------------------------------------------------------------------


def approve_overdue(now=None, limit=1000):
    """超时自动通过: every declaration still with the employer past its deadline goes to the
    agency, each through the engine (audited as 系统, 超时自动通过). Run by `flask injury
    auto-approve`, the scheduled jobs, and before declarations are read."""
    now = now or clock.now()
    ids = db.session.execute(
        select(InjuryDeclaration.id).where(InjuryDeclaration.state == S.EMPLOYER_REVIEW.value,
                                           InjuryDeclaration.employer_due_at <= now)
        .order_by(InjuryDeclaration.id).limit(limit)).scalars().all()
    done = 0
    for pk in ids:
        declaration = db.session.get(InjuryDeclaration, pk)
        try:
            apply_system(InjuryDeclarationFlow, declaration, "auto_approve",
                         comment=_("超时自动通过"))
            done += 1
        except Refusal:       # the employer acted a moment ago: nothing to do, go on
            db.session.rollback()
    return done


# ---- the API's master data --------------------------------------------------------------------


def _saved(user, item, action, field, message):
    db.session.add(item)
    try:
        db.session.flush()
    except IntegrityError:      # the same key saved a moment ago by someone else
        raise InvalidError(message, fields={field: [message]}) from None
    audit.record(user, action, obj=item)
    db.session.commit()
    return item


def save_determination(user, item, values):
    """A determination created or updated from `rules.clean_determination`'s values."""
    creating = item is None
    item = item if item is not None else InjuryDetermination()
    values = dict(values)
    region = values.pop("region")
    for name, value in values.items():
        setattr(item, name, value)
    item.region_id, item.region = region.id, region
    item.copy_scope_from(region)
    return _saved(user, item, "create" if creating else "update", "determination_no",
                  _("该工伤认定编号已存在"))


def refuse_determination_delete(determination):
    """A determination with declarations stays (the DELETE's rule; the caller commits)."""
    if determination_has_declarations(determination):
        raise ConflictError(_("该工伤认定信息已有申报业务，不能删除"))


def save_device(user, item, values):
    """A catalogue item created or updated from `rules.clean_device`'s values."""
    creating = item is None
    item = item if item is not None else InjuryDeviceItem()
    for name, value in values.items():
        setattr(item, name, value)
    return _saved(user, item, "create" if creating else "update", "code",
                  _("该产品编码已存在"))


# ---- W1 马上注册 ----------------------------------------------------------------------------


def register(form, captcha_failed=False, input_errors=None):
    """马上注册: every field checked (one 422 naming each, with the form's own
    `input_errors`), then the organisation (new, or an imported one without an account
    reused) and its account, audited; committed."""
    reg = Registration(form, input_errors)
    reg.check(captcha_failed)
    d = reg.data
    org = reg.existing_org
    try:
        if org is None:
            org = Organization(name=d["name"], org_type="medical", level=reg.region.level,
                               region=reg.region, uscc=d["uscc"], phone=d["phone"],
                               unit_code=accounts.next_unit_code(reg.region))
            org.copy_scope_from(reg.region)
            db.session.add(org)
            db.session.flush()
        elif not org.phone:
            org.phone = d["phone"]
        mobile = d["phone"] if MOBILE_RE.match(d["phone"]) else None
        # Nobody is logged in: the account's creator is the registrant, recorded just below.
        user = accounts.create_user(None, org, d["username"], d["contact"], mobile=mobile,
                                    password=reg.password, must_change=False,
                                    roles=REGISTER_ROLES)
        # 待审核 until the agency of its region approves it as a designated institution
        hospital = db.session.execute(select(InjuryHospital).where(
            InjuryHospital.organization_id == org.id)).scalar()
        if hospital is None:
            hospital = InjuryHospital(organization_id=org.id)
            db.session.add(hospital)
        hospital.contact, hospital.phone = d["contact"], d["phone"]
        hospital.copy_scope_from(org)
        audit.record(user, "register", obj=org,
                     comment=_("马上注册：%(org)s（%(uscc)s），登录名 %(name)s",
                               org=org.name, uscc=d["uscc"], name=user.username))
        db.session.commit()
    except ValueError as exc:       # create_user's own rules, shown as the form's error
        reg.fail("form", str(exc))
        reg.refuse_if_any()
    except IntegrityError:          # the same login name registered a moment ago
        reg.fail("form", _("注册信息与已有数据冲突，请检查登录名后重试"))
        reg.refuse_if_any()
    return org, user
