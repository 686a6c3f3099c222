"""医疗机构信息维护 commands (SPEC M1–M7): each public command validates through the rules,
writes, audits and commits at its end — the one owner of its transaction; a refusal raises
before anything is committed (the error handler rolls back). The steps below the commands
(move_staff_scope, republish_agreements, next_national_code) write inside their caller's
transaction: a command here or a workflow effect, which the engine commits. State changes of
other rows are the workflow's cascades (app/workflows/registry.py), fired by the engine."""
from sqlalchemy import delete, insert, or_, select, update

from app.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from app.extensions import db
from app.i18n import _
from app.models.core import Organization
from app.models.registry import (ROLE_KINDS, DesignatedInstitution, RegistryAgreement,
                                 RegistryAuthorization, RegistryCertChange, RegistryCodeCounter,
                                 RegistryInstitution, RegistryStaff)
from app.services import accounts, files
from app.services.attachments import AttachmentError
from app.services.audit import record
from app.services.clock import now
from app.services.registry import rules
from app.services.registry.queries import (authorizations_of, pending_cert_change,
                                           region_by_code, registry_row)
from app.workflows import registry as flows


# ---- 机构信息 -----------------------------------------------------------------------------------

def _apply(inst, org, values):
    for name in ("name", "address", "phone", "category", "grade", "uscc", "licence_no"):
        setattr(org, name, values[name] or None)
    inst.legal_name = values["legal_name"]
    inst.no_uscc, inst.military = values["no_uscc"], values["military"]
    inst.uses_e_voucher = values["uses_e_voucher"]
    region = values["region"]
    if org.region_id != region.id:
        org.region, org.level = region, region.level
        org.copy_scope_from(region)
    inst.pooling_region = values["pooling"]
    inst.copy_scope_from(values["pooling"])


def _add_institution(user, data):
    values, errors = rules.clean_institution(data)
    if not errors:
        existing = rules.duplicate_of(values)
        revived = _deleted_draft(existing)
        if revived is not None:
            return _readd_institution(revived, user, values)
        if existing is not None:
            errors["name"] = (_("该机构已被其他维护用户授权维护")
                              if rules.is_claimed(existing, user)
                              else _("机构信息已存在，请在机构列表中搜索选择该机构"))
    if errors:
        rules.fail(errors)
    region = values["region"]
    org = Organization(name=values["name"], org_type="medical", level=region.level,
                       region=region, unit_code=accounts.next_unit_code(region))
    inst = RegistryInstitution(organization=org, created_by_id=user.id, state="draft")
    _apply(inst, org, values)
    db.session.add_all([org, inst])
    db.session.flush()
    record(user, "registry_add", obj=inst, comment=_("新增机构：%(name)s", name=org.name))
    return inst


def _deleted_draft(org):
    """The registry row of a duplicate that was added here, never coded and then deleted:
    it blocks nobody (seed 004: 机构未赋码前可以做删除操作)."""
    if org is None or org.active or org.national_code:
        return None
    row = registry_row(org)
    return row if row is not None and row.state == "deleted" else None


def _readd_institution(inst, user, values):
    """新增 of a deleted draft: the same organisation comes back as a new draft of `user`."""
    org = inst.organization
    org.active = True
    flows.restore_institution(inst, user)
    inst.created_by_id = user.id
    _apply(inst, org, values)
    db.session.flush()
    record(user, "registry_add", obj=inst, comment=_("重新新增已删除的机构：%(name)s",
                                                     name=org.name))
    return inst


def add_institution(user, data):
    """新增 (M2): a new medical institution and its registry row, made by `user`."""
    inst = _add_institution(user, data)
    db.session.commit()
    return inst


def add_institution_and_request(user, data, role_kind):
    """新增 on the authorisation screen: the institution and the applicant's request to
    maintain it, all or nothing."""
    inst = _add_institution(user, data)
    auth, _created = _request_authorization(user, inst, role_kind)
    db.session.commit()
    return auth


def _institution_for(org, user):
    inst = registry_row(org)
    if inst is not None and inst.state == "deleted" and org.active:
        flows.restore_institution(inst, user)
        record(user, "registry_add", obj=inst, comment=_("重新纳入维护：%(name)s", name=org.name))
    if inst is not None:
        return inst
    region = org.region
    pooling = region_by_code(region.city_code if region.level == "county" and region.city_code
                             else region.province_code if region.is_synthetic else region.code)
    if pooling is None or not pooling.is_pooling_area:
        pooling = region_by_code(region.province_code)
    inst = RegistryInstitution(organization=org, pooling_region=pooling,
                               created_by_id=None,
                               state="coded" if org.national_code else "draft")
    inst.copy_scope_from(pooling)
    db.session.add(inst)
    db.session.flush()
    return inst


def institution_for(org, user):
    """The registry row of an existing organisation, created on first use; its pooling area
    defaults to the organisation's city (or the province for 省本级 and province units)."""
    inst = _institution_for(org, user)
    db.session.commit()
    return inst


def update_institution(inst, user, data):
    """维护 (M3): all fields before coding; after coding the certificates only through a
    证号变更申请. A new name or pooling area sends every staff record back to 待提交."""
    refusal = rules.edit_refusal(inst, user)
    if refusal is not None:
        raise refusal
    before = rules.form_values(inst)
    merged = {**before, **{k: v for k, v in data.items() if k in before}}
    values, errors = rules.clean_institution(merged)
    if rules.maintenance_errors(inst, values, errors):
        rules.fail(errors)
    locked = rules.printed_data_locked(
        [k for k, v in _form_of(inst, values).items() if before[k] != v],
        any(a.state == "uploaded" for a in authorizations_of(inst)))
    if locked:
        rules.fail(locked)
    _apply(inst, inst.organization, values)
    after = rules.form_values(inst)
    changed = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    reset = 0
    if "name" in changed or "pooling_code" in changed:
        reset = flows.reset_staff(inst, user)
        move_staff_scope(inst)
    if "name" in changed:
        republish_agreements(inst)
    db.session.flush()
    if changed:
        record(user, "registry_edit", obj=inst,
               comment="；".join(
                   f"{rules.FIELD_LABELS.get(_field_key(k), k)}："
                   f"{_shown(a, k)} → {_shown(b, k)}"
                   for k, (a, b) in changed.items())
               + (_("；%(n)s条人员信息重置为待提交", n=reset) if reset else ""))
    db.session.commit()
    return changed, reset


def _form_of(inst, values):
    """The cleaned values as rules.form_values names them (what would be stored)."""
    return {"legal_name": values["legal_name"], "name": values["name"],
            "uscc": values["uscc"] or "", "no_uscc": values["no_uscc"],
            "licence_no": values["licence_no"] or "", "military": values["military"],
            "region_code": values["region"].code, "address": values["address"],
            "pooling_code": values["pooling"].code, "uses_e_voucher": values["uses_e_voucher"],
            "category": values["category"] or "", "grade": values["grade"] or "",
            "phone": values["phone"] or ""}


def _shown(value, name=None):
    """A value as the 办理记录 shows it: 是/否, and regions by their names."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if name in ("region_code", "pooling_code") and value:
        region = region_by_code(value)
        return region.full_name if region is not None else value
    return value if value not in (None, "") else "（空）"


def _field_key(name):
    return {"region_code": "region", "pooling_code": "pooling", "no_uscc": "uscc",
            "military": "licence_no"}.get(name, name)


def attach_institution_file(inst, slot_name, upload, user):
    """说明材料 or 资质材料 while the record is maintained by `user`: stored, audited,
    committed (files.attach_and_record) — or 422 naming the file."""
    slot = next((s for s in rules.INSTITUTION_SLOTS if s.name == slot_name), None)
    if slot is None:
        raise NotFoundError(_("没有此材料：%(s)s", s=slot_name))
    refusal = rules.edit_refusal(inst, user)
    if refusal is not None:
        raise refusal
    return attached(lambda: files.attach_and_record(inst, slot, upload, user))


def attached(store):
    """An attachment rule's refusal (AttachmentError) is invalid input on the `file` field."""
    try:
        return store()
    except AttachmentError as exc:
        raise InvalidError(str(exc), fields={"file": [str(exc)]}) from exc


def request_cert_change(inst, user, data):
    """证号变更申请 (M3): a coded institution's new USCC and / or licence number, with a
    reason; one pending request at a time; the pooling area's agency reviews it."""
    refusal = rules.cert_change_refusal(inst, user, pending_cert_change(inst))
    if refusal is not None:
        raise refusal
    values, reason = rules.clean_cert_change(inst, data)
    org = inst.organization
    change = RegistryCertChange(institution=inst, organization_id=org.id, old_uscc=org.uscc,
                                old_licence_no=org.licence_no, new_uscc=values["uscc"],
                                new_licence_no=values["licence_no"], reason=reason)
    change.copy_scope_from(inst)
    db.session.add(change)
    db.session.flush()
    record(user, "registry_cert_change", obj=change,
           comment=_("证号变更申请：%(a)s/%(b)s → %(c)s/%(d)s", a=org.uscc or "无",
                     b=org.licence_no or "-", c=values["uscc"] or "无",
                     d=values["licence_no"] or "-"))
    db.session.commit()
    return change


# ---- steps of a workflow effect (the engine commits) --------------------------------------------

def move_staff_scope(inst):
    """Staff rows follow their institution's pooling area (their scope columns)."""
    db.session.execute(
        update(RegistryStaff).where(RegistryStaff.institution_id == inst.id)
        .values(province_code=inst.province_code, city_code=inst.city_code,
                county_code=inst.county_code).execution_options(synchronize_session=False))


def republish_agreements(inst):
    """A new name reaches the designated list: confirmed agreements count as changed."""
    db.session.execute(
        update(RegistryAgreement).where(RegistryAgreement.institution_id == inst.id,
                                        RegistryAgreement.state == "confirmed")
        .values(changed_at=now()).execution_options(synchronize_session=False))


def next_national_code(region_code):
    """H + region + 5-digit sequence (M5). The counter row is created if missing and then
    incremented in one UPDATE: the row lock (PostgreSQL) or the write lock (SQLite) makes
    concurrent approvals in one region take distinct numbers."""
    exists = db.session.execute(select(RegistryCodeCounter.region_code).where(
        RegistryCodeCounter.region_code == region_code)).first()
    if exists is None:
        try:
            with db.session.begin_nested():
                db.session.execute(insert(RegistryCodeCounter).values(
                    region_code=region_code, last_seq=0))
        except Exception:   # another approval created it first: its row is there now
            pass
    seq = db.session.execute(
        update(RegistryCodeCounter).where(RegistryCodeCounter.region_code == region_code)
        .values(last_seq=RegistryCodeCounter.last_seq + 1)
        .returning(RegistryCodeCounter.last_seq)).scalar_one()
    if seq > 99999:
        raise ConflictError(_("该区划的国家编码已用完"))
    return f"H{region_code}{seq:05d}"


# ---- 注册与授权 ---------------------------------------------------------------------------------

def register(data):
    """M1: a public account (login, password, name, mobile) asking for a registry role. It
    gets no organisation until an authorisation is approved."""
    d, password = rules.clean_registration(data)
    try:
        user = accounts.create_user(None, None, d["username"], d["name"], mobile=d["mobile"],
                                    password=password, must_change=False,
                                    roles=[rules.REGISTRANT])
    except ValueError as exc:     # the account rules' Chinese message, beside 登录名
        raise InvalidError(str(exc), fields={"username": [str(exc)]}) from exc
    user.registry_role = d["role_kind"]
    record(user, "registry_register", obj=user,
           comment=_("机构信息维护注册：%(name)s（%(role)s）", name=user.username,
                     role=ROLE_KINDS[d["role_kind"]]))
    db.session.commit()
    return user


def _request_authorization(user, inst, role_kind):
    refusal = rules.authorization_refusal(user, inst, role_kind)
    if refusal is not None:
        raise refusal
    existing = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.user_id == user.id,
        RegistryAuthorization.institution_id == inst.id,
        RegistryAuthorization.role_kind == role_kind)).scalar()
    if existing is not None:
        return existing, False
    auth = RegistryAuthorization(user_id=user.id, institution=inst,
                                 organization_id=inst.organization_id, role_kind=role_kind)
    auth.copy_scope_from(inst)
    db.session.add(auth)
    db.session.flush()
    auth.auth_no = f"SQ{rules.shanghai_date(auth.created_at or now()):%Y%m%d}{auth.id:06d}"
    record(user, "registry_authorize", obj=auth,
           comment=_("申请授权：%(org)s（%(role)s）", org=inst.name, role=auth.role_label))
    return auth, True


def request_authorization(user, inst, role_kind):
    """授权: one open request per account, institution and role (asked again: the open
    one); a maintainer request for an institution someone else maintains is refused with
    the manual's message."""
    auth, _created = _request_authorization(user, inst, role_kind)
    db.session.commit()
    return auth


def apply_for_authorization(user, org, role_kind, inst=None):
    """申请授权 for an organisation found by the search (or for `inst`, a registry row the
    caller already has): the row, created on first use, and the request, in one
    transaction → (authorisation, newly created)."""
    inst = inst if inst is not None else _institution_for(org, user)
    auth, created = _request_authorization(user, inst, role_kind)
    db.session.commit()
    return auth, created


# ---- 定点协议 -----------------------------------------------------------------------------------

def _attach_agreement_doc(agreement, upload, user):
    """The 协议附件 chosen on the form is stored with the agreement, or nothing is."""
    if upload is not None and upload.filename:
        attached(lambda: files.attach(agreement, rules.AGREEMENT_DOC, upload, user))


def add_agreement(inst, user, data, upload=None):
    """新增协议: only a coded institution, by its maintainer → 待确认."""
    if inst is None:
        raise InvalidError(_("请选择已赋码的医疗机构"),
                           fields={"institution": [_("请选择已赋码的医疗机构")]})
    if not rules.holds(inst, user):
        raise ForbiddenError(_("只有该机构的维护人员可以新增协议"))
    if inst.state == "archived":
        raise ConflictError(_("机构已归档，不能新增定点协议"))
    if inst.state != "coded":
        raise ConflictError(_("机构信息赋码后才能新增定点协议"))
    values, errors = rules.clean_agreement(data)
    if errors:
        rules.fail(errors, rules.AGREEMENT_LABELS)
    agency = values.pop("agency")
    rules.duplicate_agreement(inst.id, agency.id, values["agreement_no"])
    agreement = RegistryAgreement(institution=inst, organization_id=inst.organization_id,
                                  agency_org_id=agency.id, state="pending", **values)
    agreement.copy_scope_from(agency)
    db.session.add(agreement)
    db.session.flush()
    record(user, "registry_agreement_add", obj=agreement,
           comment=_("新增协议%(no)s（%(agency)s）", no=agreement.agreement_no,
                     agency=agency.name))
    _attach_agreement_doc(agreement, upload, user)
    db.session.commit()
    return agreement


def edit_agreement(agreement, user, data, upload=None):
    """The institution edits (→ 待确认 again) or the chosen agency modifies (state kept,
    also after confirmation); the job publishes the change."""
    by_agency = user.organization_id == agreement.agency_org_id
    if not by_agency and not rules.holds(agreement.institution, user):
        raise ForbiddenError(_("只有该机构的维护人员或协议选择的经办机构可以修改协议"))
    if agreement.state in ("deleted", "withdrawn"):
        raise ConflictError(_("协议%(state)s，不能修改", state=agreement.state_label))
    values, errors = rules.clean_agreement(data, agency_required=not by_agency)
    if errors:
        rules.fail(errors, rules.AGREEMENT_LABELS)
    agency = values.pop("agency", None)
    rules.duplicate_agreement(agreement.institution_id,
                              agency.id if agency is not None else agreement.agency_org_id,
                              values["agreement_no"], exclude_id=agreement.id)
    before = agreement.state
    for name, value in values.items():
        setattr(agreement, name, value)
    if agency is not None and agency.id != agreement.agency_org_id:
        agreement.agency_org_id = agency.id
        agreement.copy_scope_from(agency)
    agreement.changed_at = now()
    if not by_agency:
        flows.reopen_agreement(agreement, user)
    db.session.flush()
    record(user, "registry_agreement_edit", obj=agreement, from_state=before,
           to_state=agreement.state,
           comment=_("经办机构修改协议") if by_agency else _("机构修改协议，需经办机构重新确认"))
    _attach_agreement_doc(agreement, upload, user)
    db.session.commit()
    return agreement


def attach_agreement_file(agreement, slot, upload, user):
    """协议附件 added or replaced on the agreement's page: by the institution, a confirmed
    agreement waits for its agency again (what was confirmed changed); committed."""
    by_agency = user.organization_id == agreement.agency_org_id
    if not by_agency and not rules.holds(agreement.institution, user):
        raise ForbiddenError(_("只有该机构的维护人员或协议选择的经办机构可以上传协议附件"))
    if agreement.state in ("deleted", "withdrawn"):
        raise ConflictError(_("协议%(state)s，不能上传附件", state=agreement.state_label))
    before = agreement.state
    row = attached(lambda: files.attach(agreement, slot, upload, user))
    db.session.flush()
    record(user, "upload", obj=agreement, comment=row.original_name)
    if not by_agency:
        agreement.changed_at = now()
        flows.reopen_agreement(agreement, user)
        if before != agreement.state:
            record(user, "registry_agreement_edit", obj=agreement, from_state=before,
                   to_state=agreement.state, comment=_("机构更换协议附件，需经办机构重新确认"))
    db.session.commit()
    return row


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
            RegistryAgreement.state.in_(("deleted", "withdrawn"))))))
    db.session.commit()
    return len(changed), gone.rowcount


# ---- 医师 / 护士 --------------------------------------------------------------------------------

def save_staff(inst, user, data, staff=None):
    """A staff record added (待提交) or changed while 待提交 / 审核不通过."""
    values, errors = rules.clean_staff(data)
    if errors:
        rules.fail(errors, rules.STAFF_LABELS)
    rules.check_staff(inst, user, values, staff)
    if staff is None:
        staff = RegistryStaff(institution=inst, organization_id=inst.organization_id,
                              state="draft")
        staff.copy_scope_from(inst)
        db.session.add(staff)
    for name, value in values.items():
        setattr(staff, name, value)
    db.session.flush()
    record(user, "registry_staff_save", obj=staff, comment=f"{staff.name}（{staff.type_label}）")
    db.session.commit()
    return staff
