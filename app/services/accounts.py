"""Who may create whom (SPEC P4), unit codes (SPEC P2), account generation (R2) and the
用户管理 screen's rules: organisation by 用户类型, 授权 (SPEC Q1); the screens' commands
(create_account, generate_account, save_roles, manage_account, change_password) own their
transaction. A refused input is a FieldError (422 on its form field, still a ValueError)."""
from sqlalchemy import func

from app.errors import DomainError, FieldError, InvalidError
from app.extensions import appbuilder, db
from app.i18n import _
from app.models.core import INSTITUTION_TYPES, NATION_CODE, Organization, Region, User
from app.module import modules
from app.roles import BASE_ROLE
from app.scope import ADMIN_ROLE, is_superadmin, org_in_scope, region_scope
from app.services import validators
from app.services.audit import record
from app.services.parameters import param

USER_TYPE_OF_ORG = {"health_commission": "health_commission", "agency": "agency",
                    "insurance_bureau": "insurance_bureau", "medical": "medical",
                    "employer": "employer", "public_health": "public_health",
                    "national": "national"}


def default_roles(org):
    """The module roles a new account of `org` gets (SPEC P6, H1): each module's roles for
    the organisation's type and, by level, its level role; in module order."""
    roles = []
    for module in modules():
        roles += module.default_roles.get(org.org_type, [])
        level_role = module.level_roles.get((org.org_type, org.level))
        if level_role:
            roles.append(level_role)
    return roles


# Administrative organisations whose users create institution accounts (SPEC P4).
INSTITUTION_CREATORS = ("health_commission", "agency", "insurance_bureau", "national")
# 用户类型 on the create screen (SPEC Q1); "other" is the plain organisation choice.
ACCOUNT_KINDS = ("insurance_bureau", "medical", "other")


def may_create_account(actor, org):
    """SPEC P4: scoped to the actor's region subtree and to the types its level allows."""
    if is_superadmin(actor):
        return True
    mine = actor.organization
    if mine is None or org is None or not org_in_scope(org, actor) or mine.is_institution:
        return False
    if org.org_type in INSTITUTION_TYPES:
        return mine.org_type in INSTITUTION_CREATORS
    kind, level = mine.org_type, mine.level
    if kind == "national":
        return org.level == "province" and org.org_type in ("health_commission",
                                                             "insurance_bureau")
    if kind == "health_commission" and level == "province":
        return ((org.org_type == "health_commission" and org.level == "city")
                or (org.org_type == "agency" and org.level == "province"))
    if kind == "health_commission" and level == "city":
        return org.org_type == "agency" and org.level == "city"
    if kind == "health_commission" and level == "county":
        return org.org_type == "agency" and org.level == "county"
    if kind == "insurance_bureau" and level == "province":
        return org.org_type == "insurance_bureau" and org.level == "city"
    return False


def may_manage_account(actor, user):
    """Reset, disable, enable, edit: the same rule as creation, on the user's organisation."""
    return user.id != actor.id and may_create_account(actor, user.organization)


def next_unit_code(region):
    """Region code without trailing 00 pairs, right-padded with a sequence to 10 digits:
    140000 → 1400000008, 140100 → 1401000001, 140181 → 1401810001 (SPEC P2)."""
    prefix = region.unit_code_prefix
    width = 10 - len(prefix)
    # Codes of this region start with its full six-digit code (140000…, 140100…), which
    # keeps a province's own sequence apart from its cities' codes.
    own = (region.province_code if region.is_synthetic else region.code)
    last = db.session.execute(
        db.select(func.max(Organization.unit_code))
        .where(Organization.unit_code.like(own + "%"),
               func.length(Organization.unit_code) == 10)).scalar()
    seq = int(last[len(prefix):]) + 1 if last and last[len(prefix):].isdigit() else 1
    if seq >= 10 ** width:
        raise ValueError(_("该区划下的单位编码已用完"))
    return prefix + str(seq).zfill(width)


def create_user(actor, org, username, display_name, mobile=None, email=None, password=None,
                must_change=True, roles=None):
    """Create an account in `org` (None for a registry registrant); caller checked
    may_create_account and commits."""
    sm = appbuilder.sm
    username = (username or "").strip()
    if not username:
        raise FieldError(_("请填写登录名"), "username")
    if db.session.execute(db.select(User.id).where(User.username == username)).first():
        raise FieldError(_("登录名“%(name)s”已存在", name=username), "username")
    try:
        mobile = clean_mobile(mobile)
    except ValueError as exc:
        raise FieldError(str(exc), "mobile") from exc
    email = (email or "").strip()
    if email and db.session.execute(db.select(User.id).where(User.email == email)).first():
        raise FieldError(_("邮箱“%(email)s”已被其他账号使用", email=email), "email")
    if roles is None:
        roles = default_roles(org)
    role_names = [BASE_ROLE] + [n for n in roles if n != BASE_ROLE]   # P 基础 always
    user = User(username=username, first_name=display_name or username, last_name="",
                email=email or f"{username}@users.invalid", active=True,
                organization=org, mobile=mobile, must_change_password=must_change,
                user_type=USER_TYPE_OF_ORG.get(org.org_type) if org else None)
    if org is not None:     # a self-registered registry account has none yet (SPEC M1)
        user.copy_scope_from(org)
    password = password or param("initial_password")   # read before the user joins a session
    user.roles = [r for r in (sm.find_role(n) for n in role_names) if r is not None]
    sm.set_password(user, password)
    user.must_change_password = must_change
    db.session.add(user)
    db.session.flush()
    record(actor, "user_create", obj=user, comment=username)
    return user


def generate_institution_account(actor, org):
    """生成账户: login name = institution name; idempotent with the manual's message."""
    if db.session.execute(db.select(User.id).where(User.organization_id == org.id)).first() \
            or db.session.execute(db.select(User.id).where(User.username == org.name)).first():
        return None, _("账户已存在，无需再次创建")
    user = create_user(actor, org, org.name, org.name)
    record(actor, "account_generate", obj=org, comment=org.name)
    return user, _("账户已生成，登录名：%(name)s，密码为系统初始密码", name=org.name)


def clean_mobile(mobile):
    """An optional mobile number, normalised; a bad one raises ValueError (Chinese message)."""
    return validators.check_mobile(mobile) if (mobile or "").strip() else None


def may_create_institution_accounts(actor):
    mine = actor.organization
    return is_superadmin(actor) or (mine is not None and mine.org_type in INSTITUTION_CREATORS)


def creatable_orgs(actor, limit=500):
    """其他机构: organisations the actor may create accounts in, except medical institutions
    and 医保局, which the create screen chooses by name and by region (SPEC Q1)."""
    rows = db.session.execute(
        db.select(Organization).where(Organization.active.is_(True),
                                      Organization.org_type.notin_(("medical",
                                                                    "insurance_bureau")),
                                      region_scope(Organization, actor))
        .order_by(Organization.unit_code).limit(limit)).scalars()
    return [o for o in rows if may_create_account(actor, o)]


def _bureau_stub(region):
    """An unsaved 医保局 of `region`, only to ask may_create_account about it."""
    return Organization(org_type="insurance_bureau", level=region.level,
                        province_code=region.province_code, city_code=region.city_code,
                        county_code=region.county_code)


def bureau_regions(actor):
    """Regions whose 医保局 accounts the actor may create: those directly below its own region
    (super-admin and 国家级 → provinces; a province → its cities and its 省本级, which reviews
    the province's own hospitals like a city, seed 001 FAQ 2)."""
    mine = actor.organization
    if is_superadmin(actor) or mine is None:
        parent_id = db.select(Region.id).where(Region.code == NATION_CODE).scalar_subquery()
    else:
        parent_id = mine.region_id
    children = db.session.execute(db.select(Region).where(Region.parent_id == parent_id)
                                  .order_by(Region.code)).scalars()
    return [r for r in children if may_create_account(actor, _bureau_stub(r))]


def bureau_name(region):
    """太原市医保局, 山西省医保局; 省本级 carries its province: 山西省省本级医保局."""
    prefix = region.parent.name if region.is_synthetic else ""
    return f"{prefix}{region.name}医保局"


def bureau_of_region(actor, region):
    """The 医保局 organisation of `region`, created (and audited) when there is none yet."""
    org = db.session.execute(
        db.select(Organization).where(Organization.org_type == "insurance_bureau",
                                      Organization.region_id == region.id)
        .order_by(Organization.id)).scalars().first()
    if org is None:
        org = Organization(name=bureau_name(region), org_type="insurance_bureau",
                           level=region.level, region=region,
                           unit_code=next_unit_code(region))
        org.copy_scope_from(region)
        db.session.add(org)
        db.session.flush()
        record(actor, "create", obj=org, comment=org.name)
    return org


def find_institution(actor, name):
    """The medical institution with exactly this name inside the actor's scope; none found
    means it has to be imported first (seed 001 FAQ 1)."""
    name = (name or "").strip()
    if not name:
        raise FieldError(_("请输入所属医疗机构名称"), "institution")
    found = db.session.execute(
        db.select(Organization).where(Organization.org_type == "medical",
                                      Organization.active.is_(True), Organization.name == name,
                                      region_scope(Organization, actor))
        .limit(2)).scalars().all()
    if not found:
        raise FieldError(_("未找到医疗机构“%(name)s”，请联系技术人员导入医疗机构信息后再创建用户",
                           name=name), "institution")
    if len(found) > 1:
        raise FieldError(_("找到多家名为“%(name)s”的医疗机构，请联系技术人员核实", name=name),
                         "institution")
    if not may_create_account(actor, found[0]):
        raise FieldError(_("您没有为该医疗机构创建账号的权限"), "institution")
    return found[0]


def institution_suggestions(actor, limit=50):
    """Names of in-scope medical institutions for the name field's suggestion list."""
    if not may_create_institution_accounts(actor):
        return []
    return db.session.execute(
        db.select(Organization.name).where(Organization.org_type == "medical",
                                           Organization.active.is_(True),
                                           region_scope(Organization, actor))
        .order_by(Organization.name).limit(limit)).scalars().all()


def account_org(actor, kind, value):
    """The organisation of a new account by 用户类型 (SPEC Q1): 医保机构 → the 医保局 of the
    chosen region code, 医疗机构 → the institution named, 其他机构 → the organisation id chosen.
    Raises FieldError (a ValueError) with a Chinese message."""
    if kind == "insurance_bureau":
        region = next((r for r in bureau_regions(actor) if r.code == value), None)
        if region is None:
            raise FieldError(_("请选择您有权创建医保机构账号的区划"), "region_code")
        return bureau_of_region(actor, region)
    if kind == "medical":
        return find_institution(actor, value)
    org = next((o for o in creatable_orgs(actor) if str(o.id) == value), None)
    if org is None:
        raise FieldError(_("请选择您有权创建账号的所属机构"), "organization_id")
    return org


def grantable_roles(actor):
    """授权: a super-admin grants any role, anyone else only roles it holds, never Admin; the
    base role is not a choice (every account keeps it)."""
    superadmin = is_superadmin(actor)
    roles = appbuilder.sm.get_all_roles() if superadmin else actor.roles
    return sorted((r for r in roles if r.name != BASE_ROLE
                   and (superadmin or r.name != ADMIN_ROLE)), key=lambda r: r.name)


def set_roles(actor, user, role_ids):
    """The ticked roles replace the grantable ones `user` holds; roles the actor may not grant
    stay as they are and the base role is always kept. The caller checked
    may_manage_account and commits."""
    grantable = {str(r.id): r for r in grantable_roles(actor)}
    wanted = set(role_ids)
    if wanted - set(grantable):
        raise FieldError(_("所选角色中有您无权授予的角色"), "role_id")
    roles = {r.id: r for r in user.roles if str(r.id) not in grantable}
    roles.update({r.id: r for key, r in grantable.items() if key in wanted})
    base = appbuilder.sm.find_role(BASE_ROLE)
    if base is not None:
        roles.setdefault(base.id, base)
    user.roles = list(roles.values())
    record(actor, "user_roles", obj=user,
           comment=f"{user.username}：" + "、".join(sorted(r.name for r in user.roles)))
    return user.roles


# ---- the screens' commands: each commits, or rolls back and raises ---------------------------

def _command(work):
    """Run `work()` as one transaction: committed, or rolled back and raised; an older rule's
    ValueError (e.g. 单位编码已用完) is invalid input like any InvalidError."""
    try:
        result = work()
        db.session.commit()
        return result
    except DomainError:
        db.session.rollback()
        raise
    except ValueError as exc:
        db.session.rollback()
        raise InvalidError(str(exc)) from exc
    except Exception:
        db.session.rollback()
        raise


def create_account(actor, kind, org_value, username, display_name, mobile=None, email=None):
    """新增账号 (SPEC P4, Q1): the organisation by 用户类型 (a 医保局 created when missing) and
    the account in it, audited, committed."""
    return _command(lambda: create_user(actor, account_org(actor, kind, org_value), username,
                                        display_name, mobile, email))


def generate_account(actor, org):
    """生成账户 (R2), committed: (user or None, message)."""
    return _command(lambda: generate_institution_account(actor, org))


def save_roles(actor, user, role_ids):
    """授权, committed; the caller checked may_manage_account."""
    return _command(lambda: set_roles(actor, user, role_ids))


def manage_account(actor, user, action):
    """重置密码 / 停用 / 启用 an account the caller manages (checked by the caller), audited,
    committed; the message for the user."""
    def work():
        if action == "reset_password":
            appbuilder.sm.reset_to_initial(user, actor)
            return _("密码已重置为系统初始密码，用户下次登录须修改密码")
        if action not in ("disable", "enable"):
            raise KeyError(action)
        user.active = action == "enable"
        if not user.active:
            appbuilder.sm.end_sessions(user)     # enabled again, old sessions stay ended
        record(actor, "user_" + action, obj=user, comment=user.username)
        return _("账号已启用") if user.active else _("账号已停用")
    return _command(work)


def change_password(user, new_password):
    """修改密码 once password_problem found nothing: the new password, audited, committed."""
    def work():
        appbuilder.sm.set_password(user, new_password)
        record(user, "password_change", obj=user)
    return _command(work)
