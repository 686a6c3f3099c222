"""基本公共卫生服务 医疗卫生机构信息报送 (SPEC H1–H7): the institutions that carry out the
national basic public-health service items, with their ten data items; each reporting
unit's report per round, reviewed up the hierarchy (the reporting pattern's columns);
and a county's change requests after it has reported."""

import json

from flask_appbuilder import Model
from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Index, Integer, String,
                        Text, UniqueConstraint)
from sqlalchemy.orm import relationship

from app.i18n import _l
from app.models.core import ScopedMixin, utcnow
from app.models.states import State
from app.summaries import Summary
from app.models.reporting import ReportMixin

# 表2 item 6: the dropdown of enums.md §1a (WS 218-2002 in brackets there).
INSTITUTION_TYPES = {
    "township_hospital": _l("乡镇卫生院"), "community_center": _l("社区卫生服务中心"),
    "street_hospital": _l("街道卫生院"), "community_station": _l("社区卫生服务站"),
    "village_clinic": _l("村卫生室"), "general_hospital": _l("综合医院"),
    "tcm_hospital": _l("中医医院"), "integrated_hospital": _l("中西医结合医院"),
    "ethnic_hospital": _l("民族医院"), "specialty_hospital": _l("专科医院"),
    "rehab_hospital": _l("康复医院"), "sanatorium": _l("疗养院"), "nursing_home": _l("护理院（站）"),
    "outpatient": _l("门诊部"), "clinic": _l("诊所"), "health_room": _l("卫生所（室） / 医务室"),
    "school_health": _l("中小学卫生保健所"), "emergency": _l("急救中心（站）"),
    "blood": _l("采供血机构"), "mch": _l("妇幼保健院（所、站）"),
    "disease_prevention": _l("专科疾病防治院（所、站）"), "cdc": _l("疾病预防控制中心"),
    "supervision": _l("卫生监督所（局）"), "lab": _l("临床检验中心"), "other": _l("其他"),
}
# 表2 item 7 (enums.md §4).
SPONSOR_TYPES = {"1": _l("政府办"), "2": _l("社会办"), "3": _l("私人办")}
# 表2 item 10: the 15 service items in the manual's order (enums.md §6).
SERVICE_ITEMS = {
    "01": _l("居民健康档案管理"), "02": _l("健康教育"), "03": _l("预防接种"),
    "04": _l("0-6岁儿童健康管理"), "05": _l("孕产妇健康管理"), "06": _l("老年人健康管理"),
    "07": _l("高血压健康管理"), "08": _l("2型糖尿病健康管理"), "09": _l("严重精神障碍患者管理"),
    "10": _l("肺结核健康管理"), "11": _l("中医药健康管理"),
    "12": _l("传染病及突发公共卫生事件报告和处理"), "13": _l("卫生计生监督协管"),
    "14": _l("免费提供避孕药具"), "15": _l("健康素养促进"),
}
# unit: 社区卫生服务中心 / 乡镇卫生院 / 县级专业机构 / 独立的社区卫生服务站 — has an account,
#       its superior is the county;
# station: 村卫生室 / 社区卫生服务站 under a unit, no account, filled by the unit;
# area: a city's or province's own professional institution, filled by that level.
# excluded: an existing institution a county marked 不参与本次报送 (services/phs/affiliation).
TIERS = {"unit": _l("基层机构（有账号）"), "station": _l("村卫生室/社区卫生服务站"),
         "area": _l("本级专业机构"), "excluded": _l("不参与本次报送")}
# The data items in 表2 order: column → label.
DATA_ITEMS = {
    "name": _l("机构名称"), "code": _l("机构编码"), "contact": _l("联系人"),
    "phone": _l("联系电话"), "address": _l("机构地址"), "inst_type": _l("机构类型"),
    "sponsor": _l("主办类型"), "coordinates": _l("经纬度"), "superior": _l("上级机构"),
    "services": _l("承担项目内容"),
}



class PhsReportState(State):
    """A report's states (the reporting pattern's, without deletion: institutions are
    deleted, reports never), labelled as an area's report reads to its superior; a unit's
    report reads as its county reviews it (UNIT_STATE_LABELS)."""
    DRAFT = "draft", _l("待上报")
    SUBMITTED = "submitted", _l("已上报")
    APPROVED = "approved", _l("已确认")
    RETURNED = "returned", _l("已退回")


class PhsChangeRequestState(State):
    PENDING = "pending", _l("待审核")
    APPROVED = "approved", _l("已通过")
    REJECTED = "rejected", _l("未通过")
    WITHDRAWN = "withdrawn", _l("已撤回")


def _labels(pairs):
    """{state value: label}: the database's and the API's strings as keys."""
    return {state.value: label for state, label in pairs}


_R = PhsReportState
# A unit's report reads as its county reviews it; an area's as its superior confirms it.
UNIT_STATE_LABELS = _labels(((_R.DRAFT, _l("填报中")), (_R.SUBMITTED, _l("已上报")),
                             (_R.APPROVED, _l("通过")), (_R.RETURNED, _l("不通过"))))
AREA_STATE_LABELS = PhsReportState.labels()
# A report still being filled: the institutions it carries may change, rows may be added.
OPEN_STATES = (_R.DRAFT.value, _R.RETURNED.value)
CHANGE_KINDS = {"add": _l("新增"), "modify": _l("修改"), "delete": _l("删除")}
CHANGE_STATE_LABELS = PhsChangeRequestState.labels()
# The label colour of a report's state on the screens (Bootstrap label-<style>).
REPORT_STATE_STYLES = _labels(((_R.DRAFT, "default"), (_R.SUBMITTED, "info"),
                               (_R.APPROVED, "success"), (_R.RETURNED, "danger")))


class PhsRound(Model):
    """报送轮次: one collection from townships up to the nation. The newest is current."""
    __tablename__ = "phs_round"
    id = Column(Integer, primary_key=True)
    name = Column(String(64), nullable=False, unique=True)
    created_at = Column(DateTime, default=utcnow, nullable=False)

    def __repr__(self):
        return self.name


class PhsInstitution(ScopedMixin, Model):
    """A 医疗卫生机构 with the ten data items of 表2. `organization_id` is who fills it (the
    unit itself, the unit for its stations, the city or province for its own)."""
    __tablename__ = "phs_institution"
    id = Column(Integer, primary_key=True)
    tier = Column(String(10), nullable=False, index=True)
    name = Column(String(128), nullable=False)
    code = Column(String(32))
    contact = Column(String(32))
    phone = Column(String(32))
    region_id = Column(Integer, ForeignKey("region.id"), nullable=False)
    region = relationship("Region", lazy="joined")
    township = Column(String(64))           # 所在乡镇（街道）
    address_detail = Column(String(128))
    inst_type = Column(String(24))
    sponsor = Column(String(2))
    longitude = Column(Float)
    latitude = Column(Float)
    services = Column(String(64))           # comma-separated codes of SERVICE_ITEMS
    superior_org_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    superior_org = relationship("Organization", foreign_keys=[superior_org_id], lazy="joined")
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    organization = relationship("Organization", foreign_keys=[organization_id])
    # The organisation this row describes (a unit's own, or an existing one attached by
    # 机构隶属关系维护): each organisation is described once.
    source_org_id = Column(Integer, ForeignKey("organization.id"))
    source_org = relationship("Organization", foreign_keys=[source_org_id])
    is_complete = Column(Boolean, nullable=False, default=False)
    deleted = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, default=utcnow, nullable=False)
    updated_at = Column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def tier_label(self):
        return TIERS.get(self.tier, self.tier)

    @property
    def inst_type_label(self):
        return INSTITUTION_TYPES.get(self.inst_type or "", self.inst_type or "")

    @property
    def sponsor_label(self):
        return SPONSOR_TYPES.get(self.sponsor or "", self.sponsor or "")

    @property
    def service_codes(self):
        return [c for c in (self.services or "").split(",") if c]

    @property
    def services_label(self):
        return "、".join(str(SERVICE_ITEMS.get(c, c)) for c in self.service_codes)

    @property
    def address(self):
        prefix = self.region.full_name if self.region is not None else ""
        return prefix + (self.township or "") + (self.address_detail or "")

    @property
    def coordinates(self):
        if self.longitude is None or self.latitude is None:
            return ""
        return f"{self.longitude:.6f}, {self.latitude:.6f}"

    @property
    def superior_label(self):
        """A county, city or province superior reads as its region (“×××县”), a unit by name."""
        org = self.superior_org
        if org is None:
            return ""
        return org.region.name if org.org_type == "health_commission" else org.name

    @property
    def complete_label(self):
        return _l("完整") if self.is_complete else _l("不完整")

    def __repr__(self):
        return self.name


Index("ix_phs_institution_source", PhsInstitution.source_org_id, unique=True)
Index("ix_phs_institution_county_tier", PhsInstitution.county_code, PhsInstitution.tier)


class PhsProgress(Model):
    """Live institutions and complete ones per owning unit and tier (app/summaries.py): the
    上报进度 tree (H5) reads these rows, not the institutions. Kept by triggers."""
    __tablename__ = "phs_progress"
    organization_id = Column(Integer, primary_key=True)
    province_code = Column(String(6), primary_key=True)
    city_code = Column(String(6), primary_key=True, index=True)
    county_code = Column(String(6), primary_key=True, index=True)
    tier = Column(String(10), primary_key=True)
    total = Column(Integer, nullable=False, default=0)
    complete = Column(Integer, nullable=False, default=0)
    __table_args__ = (Index("ix_phs_progress_province", "province_code"),)


PHS_PROGRESS = Summary(
    table="phs_progress", source="phs_institution",
    keys={"organization_id": "{r}.organization_id",
          "province_code": "COALESCE({r}.province_code, '')",
          "city_code": "COALESCE({r}.city_code, '')",
          "county_code": "COALESCE({r}.county_code, '')", "tier": "{r}.tier"},
    measures={"total": "CASE WHEN {r}.deleted THEN 0 ELSE 1 END",
              "complete": "CASE WHEN {r}.deleted OR NOT {r}.is_complete THEN 0 ELSE 1 END"},
    watched=("organization_id", "province_code", "city_code", "county_code", "tier",
             "deleted", "is_complete"))


class PhsReport(ReportMixin, Model):
    """A reporting unit's report in a round: a unit's own (kind unit: its institution and
    its stations) or an area's (kind aggregate: the county, city or province confirming
    what is below it)."""
    __tablename__ = "phs_report"
    __table_args__ = (UniqueConstraint("task_id", "organization_id"),)
    task_id = Column(Integer, ForeignKey("phs_round.id"), nullable=False, index=True)
    task = relationship("PhsRound", lazy="joined")
    aggregate_id = Column(Integer, ForeignKey("phs_report.id"), index=True)

    @property
    def state_label(self):
        labels = UNIT_STATE_LABELS if self.kind == "unit" else AREA_STATE_LABELS
        return labels.get(self.state, self.state)

    @property
    def state_style(self):
        return REPORT_STATE_STYLES.get(self.state, "default")

    def __repr__(self):
        return f"{self.organization} · {self.task.name if self.task else ''}"


class PhsChangeRequest(ScopedMixin, Model):
    """申请修改 (SPEC H6): a county's 新增 / 修改 / 删除 of an institution after reporting. It
    travels up one level at a time (`reviewer_org_id`) to the level holding the county's
    data, which approves (merged, before/after audited) or rejects it."""
    __tablename__ = "phs_change_request"
    id = Column(Integer, primary_key=True)
    kind = Column(String(10), nullable=False)
    institution_id = Column(Integer, ForeignKey("phs_institution.id"), index=True)
    institution = relationship("PhsInstitution", lazy="joined")
    content = Column(Text)                   # JSON: the proposed values of the data items
    reason = Column(Text, nullable=False)
    before = Column(Text)                    # JSON snapshot when approved
    state = Column(String(10), nullable=False, default=PhsChangeRequestState.PENDING.value,
                   index=True)
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    organization = relationship("Organization", foreign_keys=[organization_id], lazy="joined")
    reviewer_org_id = Column(Integer, ForeignKey("organization.id"), index=True)
    reviewer_org = relationship("Organization", foreign_keys=[reviewer_org_id], lazy="joined")
    review_opinion = Column(Text)
    submitted_at = Column(DateTime, default=utcnow, nullable=False)
    reviewed_at = Column(DateTime)

    @property
    def kind_label(self):
        return CHANGE_KINDS.get(self.kind, self.kind)

    @property
    def target_name(self):
        """The institution it concerns; a 新增 names the one it proposes."""
        if self.institution is not None:
            return self.institution.name
        try:
            return (json.loads(self.content or "{}") or {}).get("name") or ""
        except ValueError:
            return ""

    @property
    def state_label(self):
        return CHANGE_STATE_LABELS.get(self.state, self.state)

    def __repr__(self):
        target = self.institution.name if self.institution is not None else ""
        return f"{self.kind_label} {target}".strip()
