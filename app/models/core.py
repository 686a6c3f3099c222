"""Region tree, organisations, users, system parameters, announcements (SPEC P1, P2, P3, P5, P13)."""
import datetime as dt

from flask_appbuilder import Model
# FAB's security APIs configure the mappers when imported; the string "User" in FAB's own
# relationships must resolve before our User subclass exists, so import them first.
import flask_appbuilder.security.sqla.manager  # noqa: F401,E402
from flask_appbuilder.security.sqla.models import User as FabUser
from sqlalchemy import (Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer,
                        String, Text, UniqueConstraint)
from sqlalchemy.orm import relationship

from app.i18n import _l

LEVELS = ("nation", "province", "city", "county", "township", "village")
LEVEL_LABELS = {"nation": _l("全国"), "province": _l("省"), "city": _l("市"),
                "county": _l("县（区）"), "township": _l("乡镇"), "village": _l("村")}

NATION_CODE = "000000"
PROVINCE_OWN_SUFFIX = "9900"  # synthetic 省本级 child: XX9900 (no GB/T 2260 code ends so)


def utcnow():
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class ScopedMixin:
    """Ancestor region codes copied onto every scoped row, so that "everything under
    region X" is an equality on one indexed column (DESIGN §3)."""

    province_code = Column(String(6), index=True)
    city_code = Column(String(6), index=True)
    county_code = Column(String(6), index=True)

    def copy_scope_from(self, org):
        self.province_code = org.province_code
        self.city_code = org.city_code
        self.county_code = org.county_code


class Region(Model):
    __tablename__ = "region"
    id = Column(Integer, primary_key=True)
    code = Column(String(6), unique=True, nullable=False)
    name = Column(String(64), nullable=False)
    level = Column(String(10), nullable=False, index=True)
    parent_id = Column(Integer, ForeignKey("region.id"), index=True)
    parent = relationship("Region", remote_side=[id])
    province_code = Column(String(6), index=True)
    city_code = Column(String(6), index=True)
    county_code = Column(String(6), index=True)
    # Materialised path of codes, e.g. 000000/140000/140100/140105 (display, not filtering).
    path = Column(String(40), nullable=False)
    is_synthetic = Column(Boolean, default=False, nullable=False)
    is_pooling_area = Column(Boolean, default=False, nullable=False)

    @property
    def level_label(self):
        return LEVEL_LABELS.get(self.level, self.level)

    @property
    def unit_code_prefix(self):
        """Region code with trailing 00 pairs removed; 省本级 uses its province."""
        code = self.province_code if self.is_synthetic else self.code
        while code.endswith("00") and len(code) > 2:
            code = code[:-2]
        return code

    @property
    def full_name(self):
        names, node = [], self
        while node is not None and node.level != "nation":
            names.append(node.name)
            node = node.parent
        return "".join(reversed(names))

    def __repr__(self):
        return self.name


ORG_TYPES = {
    "national": _l("国家级"),
    "health_commission": _l("卫健委"),
    "insurance_bureau": _l("医保局"),
    "agency": _l("经办机构"),
    "medical": _l("医疗机构"),
    "employer": _l("用人单位"),
    "public_health": _l("专业公共卫生机构"),
}
# Organisations whose users see only their own organisation's rows (SPEC P7).
INSTITUTION_TYPES = ("medical", "employer", "public_health")


class Organization(ScopedMixin, Model):
    __tablename__ = "organization"
    __scope_org_column__ = "id"
    __table_args__ = (UniqueConstraint("unit_code"),)
    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False, index=True)
    org_type = Column(String(20), nullable=False, index=True)
    level = Column(String(10), nullable=False)
    region_id = Column(Integer, ForeignKey("region.id"), nullable=False, index=True)
    region = relationship("Region")
    parent_id = Column(Integer, ForeignKey("organization.id"), index=True)
    parent = relationship("Organization", remote_side=[id])
    unit_code = Column(String(10), nullable=False)
    category = Column(String(32))
    grade = Column(String(8))
    phone = Column(String(32))
    address = Column(String(256))
    uscc = Column(String(18))
    licence_no = Column(String(32))
    national_code = Column(String(12), unique=True)
    active = Column(Boolean, default=True, nullable=False)
    created_at = Column(DateTime, default=utcnow)

    @property
    def org_type_label(self):
        return ORG_TYPES.get(self.org_type, self.org_type)

    @property
    def is_institution(self):
        return self.org_type in INSTITUTION_TYPES

    def __repr__(self):
        return self.name


USER_TYPES = {
    "health_commission": _l("卫健委用户"),
    "agency": _l("经办机构用户"),
    "insurance_bureau": _l("医保机构用户"),
    "medical": _l("医疗机构用户"),
    "employer": _l("用人单位用户"),
    "public_health": _l("专业公共卫生机构用户"),
    "national": _l("国家级用户"),
}


class User(ScopedMixin, FabUser):
    """FAB's user plus organisation, user type and the password/lock-out state."""

    __tablename__ = "ab_user"
    organization_id = Column(Integer, ForeignKey("organization.id"), index=True)
    organization = relationship("Organization", lazy="joined",
                                foreign_keys=[organization_id])
    user_type = Column(String(20))
    mobile = Column(String(20))
    must_change_password = Column(Boolean, default=False, nullable=False)
    locked_until = Column(DateTime)
    password_changed_at = Column(DateTime)
    # Credential stamp: one more on every password change, reset and disable. A web session
    # and a JWT carry the value they were issued under and stop working once it differs.
    auth_version = Column(Integer, default=0, server_default="0", nullable=False)
    # Subject of a client certificate passed by a trusted proxy (SPEC W1, off by default).
    cert_subject = Column(String(256), unique=True, index=True)
    # 医疗机构信息维护: the role a self-registered account asked for (SPEC M1).
    registry_role = Column(String(12))

    @property
    def display_name(self):
        return self.first_name

    @property
    def user_type_label(self):
        return USER_TYPES.get(self.user_type or "", self.user_type or "")

    @property
    def is_locked(self):
        return bool(self.locked_until and self.locked_until > utcnow())

    @property
    def is_active(self):
        # Flask-Login and FAB's auth both read is_active: a locked account is inactive.
        return bool(self.active) and not self.is_locked


class SystemParameter(Model):
    __tablename__ = "system_parameter"
    id = Column(Integer, primary_key=True)
    key = Column(String(64), unique=True, nullable=False)
    label = Column(String(64), nullable=False)
    value = Column(String(256), nullable=False)
    value_type = Column(String(10), nullable=False, default="str")
    description = Column(String(256))
    updated_at = Column(DateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self):
        return self.label


class Announcement(Model):
    __tablename__ = "announcement"
    __scope_public__ = True
    id = Column(Integer, primary_key=True)
    title = Column(String(128), nullable=False)
    content = Column(Text)
    published_on = Column(Date, default=dt.date.today, nullable=False)
    active = Column(Boolean, default=True, nullable=False)
    created_at = Column(DateTime, default=utcnow)

    def __repr__(self):
        return self.title


class RateLimitCounter(Model):
    """A fixed-window counter of the login rate limit (app/services/rate_limit_storage.py),
    shared by every web process: `count` hits in the window that ends at `expires_at`."""
    __tablename__ = "rate_limit_counter"
    key = Column(String(255), primary_key=True)
    count = Column(Integer, nullable=False)
    expires_at = Column(Float, nullable=False)    # epoch seconds


Index("ix_region_parent_level", Region.parent_id, Region.level)
