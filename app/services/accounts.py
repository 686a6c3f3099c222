"""Who may create whom (SPEC P4), unit codes (SPEC P2) and account generation (R2)."""
from sqlalchemy import func

from app.extensions import appbuilder, db
from app.i18n import _
from app.models.core import INSTITUTION_TYPES, Organization, User
from app.scope import is_superadmin, org_in_scope
from app.services.audit import record
from app.services.parameters import param

USER_TYPE_OF_ORG = {"health_commission": "health_commission", "agency": "agency",
                    "insurance_bureau": "insurance_bureau", "medical": "medical",
                    "employer": "employer", "public_health": "public_health",
                    "national": "national"}
# The module roles an account gets by organisation type (SPEC P6).
DEFAULT_ROLES = {"medical": ["R 医疗机构"], "agency": ["R 经办机构"],
                 "health_commission": ["R 卫健委"], "insurance_bureau": ["R 卫健委"],
                 "national": ["R 卫健委"], "employer": [], "public_health": []}


def may_create_account(actor, org):
    """SPEC P4: scoped to the actor's region subtree and to the types its level allows."""
    if is_superadmin(actor):
        return True
    mine = actor.organization
    if mine is None or org is None or not org_in_scope(org, actor) or mine.is_institution:
        return False
    if org.org_type in INSTITUTION_TYPES:
        return mine.org_type in ("health_commission", "agency", "insurance_bureau", "national")
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
    """Create an account in `org`; caller checked may_create_account and commits."""
    sm = appbuilder.sm
    username = (username or "").strip()
    if not username:
        raise ValueError(_("请填写登录名"))
    if db.session.execute(db.select(User.id).where(User.username == username)).first():
        raise ValueError(_("登录名“%(name)s”已存在", name=username))
    role_names = roles if roles is not None else DEFAULT_ROLES.get(org.org_type, [])
    user = User(username=username, first_name=display_name or username, last_name="",
                email=(email or "").strip() or f"{username}@users.invalid", active=True,
                organization=org, mobile=mobile, must_change_password=must_change,
                user_type=USER_TYPE_OF_ORG.get(org.org_type))
    user.copy_scope_from(org)
    user.roles = [r for r in (sm.find_role(n) for n in role_names) if r is not None]
    sm.set_password(user, password or param("initial_password"))
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
