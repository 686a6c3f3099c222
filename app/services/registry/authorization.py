"""机构维护授权 (SPEC M1, M2): registering an account, asking to maintain an institution,
the authorisation PDF and the recognition of its stamped scan."""
import datetime as dt
import re
import types

from flask_babel import force_locale
from sqlalchemy import select

from app.extensions import db
from app.i18n import _, _l
from app.models.core import User
from app.models.registry import ROLE_KINDS, RegistryAuthorization
from app.services import accounts, registry as rules
from app.services.registry import document as registry_document
from app.services.attachments import AttachmentError
from app.services.audit import record
from app.services.clock import now
from app.services.files import Slot, attach
from app.workflows.engine import Refusal, apply
from app.workflows.registry import AuthorizationFlow

STAMPED = Slot("stamped_authorization", _l("盖章授权文书"), ("pdf", "image"), multiple=False)
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
REGISTER_LABELS = {"username": _l("登录名"), "name": _l("姓名"), "mobile": _l("手机号"),
                   "password": _l("密码"), "confirm": _l("确认密码"), "role_kind": _l("角色类型"),
                   "captcha": _l("验证码")}


def register(data):
    """M1: a public account (login, password, name, mobile) asking for a registry role. It
    gets no organisation until an authorisation is approved."""
    from app.security import password_problem
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
        raise Refusal("；".join(f"{REGISTER_LABELS[k]}：{v}" for k, v in errors.items()),
                      status=422, fields={k: [str(v)] for k, v in errors.items()})
    user = accounts.create_user(None, None, d["username"], d["name"], mobile=d["mobile"],
                                password=password, must_change=False,
                                roles=[rules.REGISTRANT])
    user.registry_role = d["role_kind"]
    record(user, "registry_register", obj=user,
           comment=_("机构信息维护注册：%(name)s（%(role)s）", name=user.username,
                     role=ROLE_KINDS[d["role_kind"]]))
    return user


def request_authorization(user, inst, role_kind):
    """授权: one open request per account, institution and role; a maintainer request for an
    institution someone else maintains is refused with the manual's message."""
    if role_kind not in ROLE_KINDS:
        raise Refusal(_("请选择角色类型"), status=422, fields={"role_kind": [_("必填")]})
    if role_kind == "maintainer" and rules.is_claimed(inst.organization, user):
        raise Refusal(_("该机构已被其他维护用户授权维护"), status=409)
    if user.organization_id is not None and user.organization_id != inst.organization_id:
        raise Refusal(_("该账号已是其他机构的用户，不能再授权维护本机构"), status=409)
    if inst.state in ("archived", "deleted"):
        raise Refusal(_("机构信息%(state)s，不能授权", state=inst.state_label), status=409)
    existing = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.user_id == user.id,
        RegistryAuthorization.institution_id == inst.id,
        RegistryAuthorization.role_kind == role_kind)).scalar()
    if existing is not None:
        return existing
    auth = RegistryAuthorization(user_id=user.id, institution=inst,
                                 organization_id=inst.organization_id, role_kind=role_kind)
    auth.copy_scope_from(inst)
    db.session.add(auth)
    db.session.flush()
    auth.auth_no = f"SQ{shanghai_date(auth.created_at or now()):%Y%m%d}{auth.id:06d}"
    record(user, "registry_authorize", obj=auth,
           comment=_("申请授权：%(org)s（%(role)s）", org=inst.name, role=auth.role_label))
    return auth


def shanghai_date(utc):
    """Stored times are UTC; the date on a document is the one in China."""
    return (utc + dt.timedelta(hours=8)).date()


def document_fields(auth):
    inst, org, grantee = auth.institution, auth.institution.organization, auth.user
    created = shanghai_date(auth.created_at)
    return {"auth_no": auth.auth_no, "institution_name": org.name,
            "legal_name": inst.legal_name or "", "uscc": org.uscc or "无",
            "licence_no": org.licence_no or ("部队医疗机构" if inst.military else ""),
            "pooling_area": inst.pooling_region.full_name, "region": org.region.full_name,
            "address": org.address or "", "grantee_name": grantee.first_name,
            "grantee_login": grantee.username, "grantee_mobile": grantee.mobile or "",
            "role_label": str(auth.role_label),
            "issued_on": f"{created.year}年{created.month}月{created.day}日"}


def document_pdf(auth):
    """The same record gives the same bytes: repeated clicks download the same file —
    in Chinese whatever the clicking user's language (it is stamped and filed)."""
    with force_locale("zh"):
        return registry_document.authorization_pdf(document_fields(auth))


def document_name(auth):
    return f"授权文件_{auth.auth_no}.pdf"


def recognition_problem(auth, data):
    """None when the upload carries this authorisation's QR code, else the message."""
    found = registry_document.recognise(data)
    if auth.auth_no in found.numbers:
        return None
    if found.numbers:
        return _("上传的授权文书编号为%(found)s，与本授权（编号%(no)s）不一致，请上传本授权的盖章授权文书",
                 found="、".join(found.numbers), no=auth.auth_no)
    if found.foreign:
        return _("附件中的二维码不是本平台生成的授权文件，请上传本授权的盖章授权文书")
    return _("无法识别授权文书中的二维码和授权文件编号，请查看“附件无法识别时，如何操作？”")


def upload_stamped(auth, user, upload):
    """授权文书上传: recognised (QR code of this authorisation), stored, and the request
    goes to the agency — all or nothing."""
    refusal = AuthorizationFlow.get("upload").refusal(auth, user, AuthorizationFlow)
    if refusal is not None:
        raise refusal
    if upload is None or not upload.filename:
        raise Refusal(_("请选择要上传的文件"), status=422, fields={"file": [_("必填")]})
    data = upload.stream.read()
    upload.stream.seek(0)
    problem = recognition_problem(auth, data)
    if problem is not None:
        raise Refusal(problem, status=422, fields={"file": [str(problem)]})
    try:
        row = attach(auth, STAMPED, upload, user)
    except AttachmentError as exc:
        raise Refusal(str(exc), status=422, fields={"file": [str(exc)]})
    db.session.flush()
    record(user, "upload", obj=auth, comment=row.original_name)
    return apply(AuthorizationFlow, auth, "upload", user)

