"""医疗机构信息维护 rules (SPEC M1–M7): the institution form and the duplicate rule, who holds
(maintains) an institution and may edit it, the 证号变更申请, agreement and staff forms, the
registration form and the recognition of a stamped scan. Each check validates everything
first and raises (or returns) a domain error naming every field (app/errors.py); rules
write nothing and never commit."""
import datetime as dt
import re
import types

from sqlalchemy import func, select

from app.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError
from app.extensions import db
from app.i18n import _, _l
from app.models.core import Organization, User
from app.models.registry import (AGREEMENT_COUNTERPARTS, AGREEMENT_TYPES, ROLE_KINDS,
                                 STAFF_TYPES, RegistryAgreement, RegistryStaff)
from app.security import password_problem
from app.services import validators
from app.services.files import Slot
from app.services.registry import document
from app.services.registry.queries import region_by_code, registry_row

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
AGREEMENT_DOC = Slot("agreement_doc", _l("协议附件"), ("pdf", "image"))
STAMPED = Slot("stamped_authorization", _l("盖章授权文书"), ("pdf", "image"), multiple=False)
# States in which the maintainer changes everything; once coded, all but the certificates.
EDITABLE_STATES = ("draft", "returned")
MAINTAINED_STATES = EDITABLE_STATES + ("coded",)
EDITABLE_STAFF = ("draft", "rejected")
CERT_FIELDS = ("uscc", "licence_no")
LIMITS = {"legal_name": 128, "name": 128, "address": 256, "phone": 32}
FIELD_LABELS = {"legal_name": _l("法人单位名称"), "name": _l("医疗机构名称"),
                "uscc": _l("统一社会信用代码"), "licence_no": _l("医疗机构执业许可证登记号"),
                "region": _l("行政区划"), "address": _l("详细地址"), "pooling": _l("医保统筹区"),
                "uses_e_voucher": _l("是否应用医保电子凭证"), "category": _l("医疗机构类别"),
                "grade": _l("医疗机构级别"), "phone": _l("联系电话"),
                "reason": _l("变更原因")}
AGREEMENT_LABELS = {"file": _l("协议附件"), "institution": _l("医疗机构"), "agency": _l("经办机构"),
                    "agreement_no": _l("协议编号"), "agreement_type": _l("协议类型"),
                    "start_date": _l("协议开始日期"), "end_date": _l("协议结束日期"),
                    "content": _l("协议内容")}
CERT_CHANGE_LABELS = {"uscc": _l("新统一社会信用代码"), "licence_no": _l("新医疗机构执业许可证登记号"),
                      "reason": _l("变更原因"), "file": _l("新营业执照或执业许可证扫描件")}
# What the authorisation PDF prints of the institution (its form names): locked while a
# stamped authorisation waits for review, so the agency approves what the scan shows.
PRINTED_FIELDS = ("legal_name", "name", "uscc", "no_uscc", "licence_no", "military",
                  "region_code", "address", "pooling_code")
STAFF_LABELS = {"name": _l("姓名"), "id_number": _l("身份证号"), "staff_type": _l("人员类型"),
                "cert_no": _l("执业证书编号")}
REGISTER_LABELS = {"username": _l("登录名"), "name": _l("姓名"), "mobile": _l("手机号"),
                   "password": _l("密码"), "confirm": _l("确认密码"), "role_kind": _l("角色类型"),
                   "captcha": _l("验证码")}
MAINTAINER, DOCTOR_EDITOR, NURSE_EDITOR = "M 机构维护人员", "M 医师信息维护", "M 护士信息维护"
REGISTRANT, AGENCY, NATIONAL = "M 注册用户", "M 经办机构", "M 国家审核"
# The 医保部门 that signs designated-service agreements confirms and modifies them (M6).
INSURER = "M 医保部门"
ROLE_OF_KIND = {"maintainer": MAINTAINER, "doctor": DOCTOR_EDITOR, "nurse": NURSE_EDITOR}
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def fail(errors, labels=FIELD_LABELS):
    """A 422 naming every field (the API answers with the dict, screens show each message
    beside its field)."""
    raise InvalidError("；".join(f"{labels.get(k, k)}：{v}" for k, v in errors.items()),
                       fields={k: [str(v)] for k, v in errors.items()})


def _text(data, name):
    value = data.get(name)
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def _flag(data, name):
    value = data.get(name)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "y", "yes", "on", "是")
    return bool(value)


def shanghai_date(utc):
    """Stored times are UTC; the date on a document is the one in China."""
    return (utc + dt.timedelta(hours=8)).date()


def _date(value):
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        return None


# ---- 机构信息 -----------------------------------------------------------------------------------

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


def is_claimed(org, user=None):
    """Maintained by an approved maintainer other than `user`."""
    row = registry_row(org)
    return row is not None and row.maintainer_id is not None and (
        user is None or row.maintainer_id != user.id)


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
        return ForbiddenError(_("只有该机构的维护人员可以维护机构信息"))
    if inst.state not in MAINTAINED_STATES:
        return ConflictError(_("机构信息%(state)s，不能维护", state=inst.state_label))
    return None


def form_values(inst):
    org = inst.organization
    return {"legal_name": inst.legal_name or "", "name": org.name, "uscc": org.uscc or "",
            "no_uscc": inst.no_uscc, "licence_no": org.licence_no or "",
            "military": inst.military, "region_code": org.region.code,
            "address": org.address or "", "pooling_code": inst.pooling_region.code,
            "uses_e_voucher": inst.uses_e_voucher, "category": org.category or "",
            "grade": org.grade or "", "phone": org.phone or ""}


def maintenance_errors(inst, values, errors):
    """What a coded institution may not change on the form, and the duplicate rule."""
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
    return errors


# ---- 证号变更申请 -------------------------------------------------------------------------------

def cert_change_refusal(inst, user, pending):
    """Why `user` may not ask for a 证号变更 of `inst` now (None when allowed)."""
    if not holds(inst, user):
        return ForbiddenError(_("只有该机构的维护人员可以申请证号变更"))
    if inst.state != "coded":
        return ConflictError(_("未赋码的机构请直接维护统一社会信用代码和许可证登记号"))
    if pending:
        return ConflictError(_("已有待审核的证号变更申请"))
    return None


def clean_cert_change(inst, data):
    """The new numbers and the reason → (values, reason); InvalidError naming each field."""
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
    if not uscc and not licence:
        errors["uscc"] = _("请至少填写一项要变更的证号")
    reason = (data.get("reason") or "").strip()
    if not reason:
        errors["reason"] = _("请填写变更原因")
    elif len(reason) > 500:
        errors["reason"] = _("不能超过%(n)s个字", n=500)
    if not errors and (values["uscc"], values["licence_no"]) == (org.uscc, org.licence_no):
        errors["uscc" if uscc else "licence_no"] = _("填写的新证号与现有证号相同，无需变更")
    if not errors and duplicate_of({"name": org.name, **values}, exclude_org_id=org.id):
        errors["uscc"] = _("与已有机构重复（机构全称、许可证登记号、统一社会信用代码均相同）")
    if errors:
        fail(errors, CERT_CHANGE_LABELS)
    return values, reason


# ---- 定点协议 -----------------------------------------------------------------------------------

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
        if agency is None or agency.org_type not in AGREEMENT_COUNTERPARTS \
                or not agency.active:
            errors["agency"] = _("请选择签订协议的医保部门（医疗保障局或医保经办机构）")
        values["agency"] = agency
    return values, errors


def duplicate_agreement(inst_id, agency_id, agreement_no, exclude_id=None):
    """An agreement number is unique per institution and agency (deleted ones aside)."""
    q = select(RegistryAgreement.id).where(
        RegistryAgreement.institution_id == inst_id,
        RegistryAgreement.agency_org_id == agency_id,
        func.upper(RegistryAgreement.agreement_no) == agreement_no.upper(),
        RegistryAgreement.state != "deleted")
    if exclude_id is not None:
        q = q.where(RegistryAgreement.id != exclude_id)
    if db.session.execute(q.limit(1)).first():
        fail({"agreement_no": _("该机构与该经办机构已有编号为%(no)s的协议", no=agreement_no)},
             AGREEMENT_LABELS)


# ---- 医师 / 护士 --------------------------------------------------------------------------------

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


def staff_editor(staff, user):
    """The maintainer edits both kinds; 医师信息维护 the doctors, 护士信息维护 the nurses —
    each only in its own institution (also the staff flow's guard)."""
    names = {r.name for r in user.roles}
    if staff.organization_id != user.organization_id:
        return ForbiddenError(_("只能维护本机构的人员信息"))
    wanted = {MAINTAINER, DOCTOR_EDITOR if staff.staff_type == "doctor" else NURSE_EDITOR}
    if not names & wanted:
        return ForbiddenError(_("您没有维护%(kind)s信息的权限", kind=staff.type_label))
    return None


def staff_kinds(user):
    """The staff types `user` maintains: both for the maintainer, else their own."""
    names = {r.name for r in user.roles}
    if MAINTAINER in names:
        return set(STAFF_TYPES)
    return ({"doctor"} if DOCTOR_EDITOR in names else set()) | (
        {"nurse"} if NURSE_EDITOR in names else set())


def staff_refusal(inst, user, staff_type):
    probe = RegistryStaff(organization_id=inst.organization_id, staff_type=staff_type)
    refusal = staff_editor(probe, user)
    if refusal is None and inst.state in ("archived", "deleted"):
        refusal = ConflictError(_("机构信息已归档，不能维护人员信息"))
    return refusal


def check_staff(inst, user, values, staff=None):
    """Who may save this staff record in its state, and one ID number per institution."""
    if staff is not None and staff.institution_id != inst.id:
        raise NotFoundError(_("人员不属于该机构"))
    if staff is not None and staff.state not in EDITABLE_STAFF:
        raise ConflictError(_("人员信息%(state)s，不能修改", state=staff.state_label))
    for kind in {values["staff_type"], getattr(staff, "staff_type", values["staff_type"])}:
        refusal = staff_refusal(inst, user, kind)
        if refusal is not None:
            raise refusal
    dup = db.session.execute(select(RegistryStaff.id).where(
        RegistryStaff.institution_id == inst.id, RegistryStaff.id_number == values["id_number"],
        RegistryStaff.state != "deleted",
        RegistryStaff.id != (staff.id if staff is not None else -1))).first()
    if dup:
        fail({"id_number": _("本机构已有该身份证号的人员")}, STAFF_LABELS)


# ---- 注册与授权 ---------------------------------------------------------------------------------

def clean_registration(data):
    """M1's form → (fields, password); InvalidError naming every wrong field."""
    d = {k: (data.get(k) or "").strip() for k in ("username", "name", "mobile", "role_kind")}
    password, confirm = data.get("password") or "", data.get("confirm") or ""
    errors = {}
    for field in ("username", "name"):
        if not d[field]:
            errors[field] = _("必填")
        elif len(d[field]) > 64:
            errors[field] = _("不能超过%(n)s个字", n=64)
    if d["username"] and re.search(r"\s", d["username"]):
        errors["username"] = _("登录名不能包含空格")
    if "username" not in errors and db.session.execute(
            select(User.id).where(User.username == d["username"])).first():
        errors["username"] = _("登录名“%(name)s”已被使用，请换一个", name=d["username"])
    if not MOBILE_RE.match(d["mobile"]):
        errors["mobile"] = _("请填写11位手机号")
    if d["role_kind"] not in ROLE_KINDS:
        errors["role_kind"] = _("请选择角色类型")
    problem = password_problem(types.SimpleNamespace(password=None), None, password)
    if problem:
        errors["password"] = problem
    elif password != confirm:
        errors["confirm"] = _("两次输入的密码不一致")
    if errors:
        fail(errors, REGISTER_LABELS)
    return d, password


def authorization_refusal(user, inst, role_kind):
    """Why `user` may not ask to maintain `inst` in that role (None when allowed)."""
    if role_kind not in ROLE_KINDS:
        return InvalidError(_("请选择角色类型"), fields={"role_kind": [_("必填")]})
    if role_kind == "maintainer" and is_claimed(inst.organization, user):
        return ConflictError(_("该机构已被其他维护用户授权维护"))
    if user.organization_id is not None and user.organization_id != inst.organization_id:
        return ConflictError(_("该账号已是其他机构的用户，不能再授权维护本机构"))
    if inst.state in ("archived", "deleted"):
        return ConflictError(_("机构信息%(state)s，不能授权", state=inst.state_label))
    return None


def printed_data_locked(changed, pending_review):
    """{field: message} when the data printed on a stamped authorisation that waits for
    review would change (the agency must approve what the scan shows)."""
    if not pending_review:
        return {}
    message = _("授权文书待审核，审核完成前不能修改授权文件上的机构信息")
    return {_field_key(k): message for k in changed if k in PRINTED_FIELDS}


def _field_key(name):
    return {"region_code": "region", "pooling_code": "pooling", "no_uscc": "uscc",
            "military": "licence_no"}.get(name, name)


def recognition_problem(auth, data, digest=None):
    """None when the upload carries this authorisation's QR code (or its printed number)
    printed from the data as it is now (`digest`), else the message."""
    found = document.recognise(data)
    if auth.auth_no in found.numbers:
        printed = found.digests.get(auth.auth_no)
        if digest is not None and printed is not None and printed != digest:
            return _("授权文件生成后机构信息已修改，上传的授权文书与现有信息不一致，"
                     "请重新生成授权文件并下载，加盖公章后上传")
        return None
    if found.numbers:
        return _("上传的授权文书编号为%(found)s，与本授权（编号%(no)s）不一致，请上传本授权的盖章授权文书",
                 found="、".join(found.numbers), no=auth.auth_no)
    if found.foreign:
        return _("附件中的二维码不是本平台生成的授权文件，请上传本授权的盖章授权文书")
    return _("无法识别授权文书中的二维码和授权文件编号，请查看“附件无法识别时，如何操作？”")
