"""医疗机构信息维护 rules (SPEC M2, M3, M5): the institution form, the duplicate rule,
search for authorisation, adding and maintaining an institution, the national code.
Every function validates everything first (field → Chinese message) and writes nothing
when there is a problem; callers commit."""

from sqlalchemy import func, insert, select, true, update

from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization, Region
from app.models.registry import (RegistryAgreement, RegistryAuthorization,
                                 RegistryCertChange, RegistryCodeCounter,
                                 RegistryInstitution, RegistryStaff)
from app.services import accounts, validators
from app.services.audit import record
from app.services.clock import now
from app.services.files import Slot
from app.workflows.engine import Refusal

CATEGORIES = ("综合医院", "中医医院", "中西医结合医院", "民族医院", "专科医院", "康复医院", "疗养院",
              "护理院（站）", "社区卫生服务中心", "社区卫生服务站", "街道卫生院", "乡镇卫生院", "门诊部",
              "诊所", "卫生所（室）", "村卫生室", "急救中心（站）", "妇幼保健院（所、站）",
              "疾病预防控制中心", "其他")
GRADES = ("三级甲等", "三级乙等", "三级丙等", "二级甲等", "二级乙等", "二级丙等", "一级甲等", "一级乙等",
          "一级丙等", "一级未定等", "二级未定等", "三级未定等", "未定级")
# USCC 无 → a stamped PDF 说明材料 is required (seed 004 第二步 1).
EXPLANATION = Slot("no_uscc_explanation", _l("无统一社会信用代码说明材料"), ("pdf",), multiple=False)
LICENCE_DOC = Slot("licence_scan", _l("执业许可证、营业执照等资质材料"), ("pdf", "image"))
INSTITUTION_SLOTS = (EXPLANATION, LICENCE_DOC)
# States in which the maintainer changes everything; once coded, all but the certificates.
EDITABLE_STATES = ("draft", "returned")
MAINTAINED_STATES = EDITABLE_STATES + ("coded",)
CERT_FIELDS = ("uscc", "licence_no")
LIMITS = {"legal_name": 128, "name": 128, "address": 256, "phone": 32}
FIELD_LABELS = {"legal_name": _l("法人单位名称"), "name": _l("医疗机构名称"),
                "uscc": _l("统一社会信用代码"), "licence_no": _l("医疗机构执业许可证登记号"),
                "region": _l("行政区划"), "address": _l("详细地址"), "pooling": _l("医保统筹区"),
                "uses_e_voucher": _l("是否应用医保电子凭证"), "category": _l("医疗机构类别"),
                "grade": _l("医疗机构级别"), "phone": _l("联系电话"),
                "reason": _l("变更原因")}
MAINTAINER, DOCTOR_EDITOR, NURSE_EDITOR = "M 机构维护人员", "M 医师信息维护", "M 护士信息维护"
REGISTRANT, AGENCY, NATIONAL = "M 注册用户", "M 经办机构", "M 国家审核"
ROLE_OF_KIND = {"maintainer": MAINTAINER, "doctor": DOCTOR_EDITOR, "nurse": NURSE_EDITOR}


def fail(errors, labels=FIELD_LABELS):
    """A 422 naming every field (the API answers with the dict, screens flash it)."""
    raise Refusal("；".join(f"{labels.get(k, k)}：{v}" for k, v in errors.items()),
                  status=422, fields={k: [str(v)] for k, v in errors.items()})


def region_by_code(code):
    if not code:
        return None
    return db.session.execute(select(Region).where(Region.code == code)).scalar()


def pooling_areas(province_code):
    """Pooling areas of one province (the province itself, its cities, any others)."""
    return db.session.execute(
        select(Region).where(Region.province_code == province_code,
                             Region.is_pooling_area.is_(True))
        .order_by(Region.code)).scalars().all()


def _text(data, name):
    value = data.get(name)
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def _flag(data, name):
    value = data.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "y", "yes", "on", "是")
    return bool(value)


def clean_institution(data):
    """Every field of the M3 form → (values, errors)."""
    values, errors = {}, {}
    for name in ("legal_name", "name", "address", "phone"):
        values[name] = _text(data, name)
        if name != "phone" and not values[name]:
            errors[name] = _("必填")
        elif len(values[name]) > LIMITS[name]:
            errors[name] = _("不能超过%(n)s个字", n=LIMITS[name])
    values["no_uscc"] = _flag(data, "no_uscc") or _text(data, "uscc") == "无"
    values["military"] = _flag(data, "military")
    values["uses_e_voucher"] = _flag(data, "uses_e_voucher")
    values["uscc"] = None
    if not values["no_uscc"]:
        try:
            values["uscc"] = validators.check_uscc(_text(data, "uscc"))
        except validators.ValidationError as exc:
            errors["uscc"] = exc.message
    licence = _text(data, "licence_no")
    values["licence_no"] = None
    if licence or not values["military"]:
        try:
            values["licence_no"] = validators.check_licence_number(licence)
        except validators.ValidationError as exc:
            errors["licence_no"] = (_("必填（部队医疗机构可不填）") if not licence
                                    else exc.message)
    if values["phone"]:
        try:
            values["phone"] = validators.check_phone(values["phone"])
        except validators.ValidationError as exc:
            errors["phone"] = exc.message
    for name, allowed in (("category", CATEGORIES), ("grade", GRADES)):
        values[name] = _text(data, name) or None
        if values[name] is None:
            errors[name] = _("必填")
        elif values[name] not in allowed:
            errors[name] = _("不是可选的值")
    _regions(data, values, errors)
    return values, errors


def _regions(data, values, errors):
    region = region_by_code(_text(data, "region_code"))
    if region is None or region.level not in ("province", "city", "county"):
        errors["region"] = _("请选择行政区划（省、市、县区）")
    values["region"] = region
    pooling = region_by_code(_text(data, "pooling_code"))
    if pooling is None or not pooling.is_pooling_area:
        errors["pooling"] = _("请选择医保统筹区")
    elif region is not None and pooling.province_code != region.province_code:
        errors["pooling"] = _("医保统筹区应与行政区划在同一省内")
    values["pooling"] = pooling


def duplicate_of(values, exclude_org_id=None):
    """The duplicate rule of seed 004: full name + licence number + USCC."""
    def same(column, value):
        return column.is_(None) if value is None else func.upper(column) == value
    q = select(Organization).where(Organization.org_type == "medical",
                                   Organization.name == values["name"],
                                   same(Organization.licence_no, values["licence_no"]),
                                   same(Organization.uscc, values["uscc"]))
    if exclude_org_id is not None:
        q = q.where(Organization.id != exclude_org_id)
    return db.session.execute(q.limit(1)).scalar()


def registry_row(org):
    return db.session.execute(select(RegistryInstitution).where(
        RegistryInstitution.organization_id == org.id)).scalar()


def is_claimed(org, user=None):
    """Maintained by an approved maintainer other than `user`."""
    row = registry_row(org)
    return row is not None and row.maintainer_id is not None and (
        user is None or row.maintainer_id != user.id)


def search(keyword, limit=20, include_claimed=False):
    """授权 search (M2): active medical institutions by name, USCC or licence number; for a
    maintainer only those nobody maintains yet (医师 / 护士信息维护 may be several)."""
    keyword = (keyword or "").strip()
    if not keyword:
        return []
    claimed = select(RegistryInstitution.organization_id).where(
        RegistryInstitution.maintainer_id.is_not(None))
    upper = keyword.upper()
    q = (select(Organization).where(
        Organization.org_type == "medical", Organization.active.is_(True),
        true() if include_claimed else Organization.id.not_in(claimed),
        Organization.name.contains(keyword, autoescape=True)
        | (func.upper(Organization.uscc) == upper)
        | (func.upper(Organization.licence_no) == upper))
        .order_by(Organization.name).limit(limit))
    return db.session.execute(q).scalars().all()


def search_for(user, keyword):
    """The search as `user` may use it: 医师 / 护士 registrants join maintained ones."""
    return search(keyword, include_claimed=getattr(user, "registry_role", None)
                  in ("doctor", "nurse"))


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


def add_institution(user, data):
    """新增 (M2): a new medical institution and its registry row, made by `user`."""
    values, errors = clean_institution(data)
    if not errors:
        existing = duplicate_of(values)
        if existing is not None:
            errors["name"] = (_("该机构已被其他维护用户授权维护") if is_claimed(existing, user)
                              else _("机构信息已存在，请在机构列表中搜索选择该机构"))
    if errors:
        fail(errors)
    region = values["region"]
    org = Organization(name=values["name"], org_type="medical", level=region.level,
                       region=region, unit_code=accounts.next_unit_code(region))
    inst = RegistryInstitution(organization=org, created_by_id=user.id, state="draft")
    _apply(inst, org, values)
    db.session.add_all([org, inst])
    db.session.flush()
    record(user, "registry_add", obj=inst, comment=_("新增机构：%(name)s", name=org.name))
    return inst


def institution_for(org, user):
    """The registry row of an existing organisation, created on first use; its pooling area
    defaults to the organisation's city (or the province for 省本级 and province units)."""
    inst = registry_row(org)
    if inst is not None and inst.state == "deleted" and org.active:
        # Deleted here but the organisation lives on (other modules use it): it may be
        # authorised again, from the start.
        inst.state = "coded" if org.national_code else "draft"
        inst.maintainer_id = inst.created_by_id = None
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


def holds(inst, user):
    """Who maintains this record now: the approved maintainer; before anyone is approved,
    the registrant who added it."""
    if user is None:
        return False
    if inst.maintainer_id is not None:
        return inst.maintainer_id == user.id
    return inst.created_by_id == user.id


def edit_refusal(inst, user):
    if not holds(inst, user):
        return Refusal(_("只有该机构的维护人员可以维护机构信息"), status=403)
    if inst.state not in MAINTAINED_STATES:
        return Refusal(_("机构信息%(state)s，不能维护", state=inst.state_label))
    return None


def form_values(inst):
    org = inst.organization
    return {"legal_name": inst.legal_name or "", "name": org.name, "uscc": org.uscc or "",
            "no_uscc": inst.no_uscc, "licence_no": org.licence_no or "",
            "military": inst.military, "region_code": org.region.code,
            "address": org.address or "", "pooling_code": inst.pooling_region.code,
            "uses_e_voucher": inst.uses_e_voucher, "category": org.category or "",
            "grade": org.grade or "", "phone": org.phone or ""}


def update_institution(inst, user, data):
    """维护 (M3): all fields before coding; after coding the certificates only through a
    证号变更申请. A new name or pooling area sends every staff record back to 待提交."""
    refusal = edit_refusal(inst, user)
    if refusal is not None:
        raise refusal
    before = form_values(inst)
    merged = {**before, **{k: v for k, v in data.items() if k in before}}
    values, errors = clean_institution(merged)
    org = inst.organization
    if inst.state == "coded":
        for name in CERT_FIELDS:
            if values.get(name) != getattr(org, name) and name not in errors:
                errors[name] = _("已赋码的机构变更证号，请提交证号变更申请")
        if values["no_uscc"] != inst.no_uscc:
            errors.setdefault("uscc", _("已赋码的机构变更证号，请提交证号变更申请"))
    if not errors:
        dup = duplicate_of(values, exclude_org_id=org.id)
        if dup is not None:
            errors["name"] = _("与已有机构重复（机构全称、许可证登记号、统一社会信用代码均相同）")
    if errors:
        fail(errors)
    _apply(inst, org, values)
    after = form_values(inst)
    changed = {k: (before[k], after[k]) for k in after if before[k] != after[k]}
    reset = 0
    if "name" in changed or "pooling_code" in changed:
        reset = reset_staff(inst)
    if "name" in changed:
        republish_agreements(inst)
    db.session.flush()
    if changed:
        record(user, "registry_edit", obj=inst,
               comment="；".join(
                   f"{FIELD_LABELS.get(_field_key(k), k)}：{_shown(a)} → {_shown(b)}"
                   for k, (a, b) in changed.items())
               + (_("；%(n)s条人员信息重置为待提交", n=reset) if reset else ""))
    return changed, reset


def _shown(value):
    if isinstance(value, bool):
        return "是" if value else "否"
    return value if value not in (None, "") else "（空）"


def _field_key(name):
    return {"region_code": "region", "pooling_code": "pooling", "no_uscc": "uscc",
            "military": "licence_no"}.get(name, name)


def reset_staff(inst):
    """M3: every staff record of the institution (but archived or deleted) to 待提交."""
    result = db.session.execute(
        update(RegistryStaff).where(RegistryStaff.institution_id == inst.id,
                                    RegistryStaff.state.not_in(("archived", "deleted",
                                                                "draft")))
        .values(state="draft").execution_options(synchronize_session=False))
    db.session.execute(
        update(RegistryStaff).where(RegistryStaff.institution_id == inst.id)
        .values(province_code=inst.province_code, city_code=inst.city_code,
                county_code=inst.county_code).execution_options(synchronize_session=False))
    return result.rowcount


def withdraw_agreements(inst):
    """An archived institution's agreements leave the designated list at the next run."""
    db.session.execute(
        update(RegistryAgreement).where(RegistryAgreement.institution_id == inst.id,
                                        RegistryAgreement.state != "deleted")
        .values(state="deleted", changed_at=now())
        .execution_options(synchronize_session=False))


def republish_agreements(inst):
    """A new name reaches the designated list: confirmed agreements count as changed."""
    db.session.execute(
        update(RegistryAgreement).where(RegistryAgreement.institution_id == inst.id,
                                        RegistryAgreement.state == "confirmed")
        .values(changed_at=now()).execution_options(synchronize_session=False))


def archive_staff(inst):
    result = db.session.execute(
        update(RegistryStaff).where(RegistryStaff.institution_id == inst.id,
                                    RegistryStaff.state != "deleted")
        .values(state="archived").execution_options(synchronize_session=False))
    return result.rowcount


def code_region(org):
    region = org.region
    return region.province_code if region.is_synthetic else region.code


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
        raise Refusal(_("该区划的国家编码已用完"))
    return f"H{region_code}{seq:05d}"


def authorizations_of(inst):
    return db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.institution_id == inst.id)
        .order_by(RegistryAuthorization.id)).scalars().all()



def request_cert_change(inst, user, data):
    """证号变更申请 (M3): a coded institution's new USCC and / or licence number, with a
    reason; one pending request at a time; the pooling area's agency reviews it."""
    if not holds(inst, user):
        raise Refusal(_("只有该机构的维护人员可以申请证号变更"), status=403)
    if inst.state != "coded":
        raise Refusal(_("未赋码的机构请直接维护统一社会信用代码和许可证登记号"), status=409)
    if db.session.execute(select(RegistryCertChange.id).where(
            RegistryCertChange.institution_id == inst.id,
            RegistryCertChange.state == "pending")).first():
        raise Refusal(_("已有待审核的证号变更申请"), status=409)
    org, errors = inst.organization, {}
    values = {"uscc": org.uscc, "licence_no": org.licence_no}
    uscc = (data.get("new_uscc") or "").strip()
    if uscc == "无":
        values["uscc"] = None
    elif uscc:
        try:
            values["uscc"] = validators.check_uscc(uscc)
        except validators.ValidationError as exc:
            errors["uscc"] = exc.message
    licence = (data.get("new_licence_no") or "").strip()
    if licence:
        try:
            values["licence_no"] = validators.check_licence_number(licence)
        except validators.ValidationError as exc:
            errors["licence_no"] = exc.message
    reason = (data.get("reason") or "").strip()
    if not reason:
        errors["reason"] = _("请填写变更原因")
    elif len(reason) > 500:
        errors["reason"] = _("不能超过%(n)s个字", n=500)
    if not errors and (values["uscc"], values["licence_no"]) == (org.uscc, org.licence_no):
        errors["uscc"] = _("新证号与现有证号相同")
    if not errors and duplicate_of({"name": org.name, **values}, exclude_org_id=org.id):
        errors["uscc"] = _("与已有机构重复（机构全称、许可证登记号、统一社会信用代码均相同）")
    if errors:
        fail(errors)
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
    return change
