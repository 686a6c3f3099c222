"""医疗机构信息维护 look-ups (SPEC M2, M3, M6): regions and pooling areas, the registry row of
an organisation, the 授权 search, an institution's authorisations, staff, agreements and
证号变更申请, and the agencies an agreement may name. They read; they never write."""
from sqlalchemy import func, select, true

from app.extensions import db
from app.models.core import Organization, Region
from app.models.registry import (AGREEMENT_COUNTERPARTS, RegistryAgreement, RegistryAuthorization, RegistryCertChange,
                                 RegistryInstitution, RegistryStaff)
from app.scope import LEVEL_COLUMN


def region_by_code(code):
    if not code:
        return None
    return db.session.execute(select(Region).where(Region.code == code)).scalar()


def province(code):
    """The province of that code, or None."""
    return db.session.execute(select(Region).where(Region.code == code,
                                                   Region.level == "province")).scalar()


def pooling_areas(province_code):
    """Pooling areas of one province (the province itself, its cities, any others)."""
    return db.session.execute(
        select(Region).where(Region.province_code == province_code,
                             Region.is_pooling_area.is_(True))
        .order_by(Region.code)).scalars().all()


def code_region(org):
    """The region part of a national code: the county, or the province for 省本级."""
    region = org.region
    return region.province_code if region.is_synthetic else region.code


def registry_row(org):
    return db.session.execute(select(RegistryInstitution).where(
        RegistryInstitution.organization_id == org.id)).scalar()


def institution_of_organization(org_id):
    """The registry row of the caller's own organisation (staff screens), or None."""
    if not org_id:
        return None
    return db.session.execute(select(RegistryInstitution).where(
        RegistryInstitution.organization_id == org_id)).scalar()


def held_institutions(user):
    """Coded institutions `user` maintains (the 新增协议 choice)."""
    return db.session.execute(select(RegistryInstitution).where(
        RegistryInstitution.maintainer_id == user.id,
        RegistryInstitution.state == "coded")).scalars().all()


def archived_held(user):
    """Archived institutions `user` maintained (新增协议 says why it is refused)."""
    return db.session.execute(select(RegistryInstitution.id).where(
        RegistryInstitution.maintainer_id == user.id,
        RegistryInstitution.state == "archived")).first() is not None


def competing_authorizations():
    """{institution id: number of 待审核 maintainer requests} where more than one waits
    (two accounts each asking to be the one maintainer)."""
    q = (select(RegistryAuthorization.institution_id, func.count(RegistryAuthorization.id))
         .where(RegistryAuthorization.state == "uploaded",
                RegistryAuthorization.role_kind == "maintainer")
         .group_by(RegistryAuthorization.institution_id)
         .having(func.count(RegistryAuthorization.id) > 1))
    return dict(db.session.execute(q).all())


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


def registry_rows_of(orgs):
    """{organization id: registry row} of the organisations a search found."""
    if not orgs:
        return {}
    return {r.organization_id: r for r in db.session.execute(select(RegistryInstitution).where(
        RegistryInstitution.organization_id.in_([o.id for o in orgs]))).scalars()}


def authorizations_of(inst):
    return db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.institution_id == inst.id)
        .order_by(RegistryAuthorization.id)).scalars().all()


def institution_details(inst):
    """What the details page lists under an institution: its staff and agreements (not
    deleted), its authorisations and its 证号变更申请."""
    return {
        "staff": db.session.execute(select(RegistryStaff).where(
            RegistryStaff.institution_id == inst.id, RegistryStaff.state != "deleted")
            .order_by(RegistryStaff.id)).scalars().all(),
        "agreements": db.session.execute(select(RegistryAgreement).where(
            RegistryAgreement.institution_id == inst.id, RegistryAgreement.state != "deleted")
            .order_by(RegistryAgreement.id)).scalars().all(),
        "authorizations": authorizations_of(inst),
        "changes": db.session.execute(select(RegistryCertChange).where(
            RegistryCertChange.institution_id == inst.id)
            .order_by(RegistryCertChange.id)).scalars().all()}


def pending_cert_change(inst):
    return db.session.execute(select(RegistryCertChange.id).where(
        RegistryCertChange.institution_id == inst.id,
        RegistryCertChange.state == "pending")).first() is not None


def agencies(region_code=None, name=None, limit=50):
    """The 医保部门 an agreement is signed with (M6: 医疗保障局 / 医保经办机构), chosen by
    region and name — never the relief agency."""
    q = select(Organization).where(Organization.org_type.in_(AGREEMENT_COUNTERPARTS),
                                   Organization.active.is_(True))
    region = region_by_code(region_code) if region_code else None
    if region is not None and region.level != "nation":
        q = q.where(getattr(Organization, LEVEL_COLUMN[region.level]) == region.code)
    if name:
        q = q.where(Organization.name.contains(name.strip(), autoescape=True))
    return db.session.execute(q.order_by(Organization.name).limit(limit)).scalars().all()
