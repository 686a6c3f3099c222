"""体外诊断试剂报量 (SPEC Q2–Q6): a project with its catalogue, each hospital's report of
quantities per catalogue line, and the city / province reports above the hospitals."""
import datetime as dt

from flask_appbuilder import Model
from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, ForeignKey, Index,
                        Integer, String, Text, UniqueConstraint)
from sqlalchemy.orm import relationship

from app.i18n import _l
from app.models.core import ScopedMixin, utcnow
from app.models.states import State
from app.summaries import Summary

PROJECT_STATUS_LABELS = {"not_started": _l("未开始"), "running": _l("执行中"),
                         "ended": _l("已结束")}


class HospitalReportState(State):
    """States of a hospital's report (IvdHospitalReportFlow)."""
    UNSUBMITTED = "unsubmitted", _l("未提交")
    SUBMITTED = "submitted", _l("已提交")
    APPROVED = "approved", _l("审核通过")
    REJECTED = "rejected", _l("审核不通过")
    EXEMPT = "exempt", _l("无需上报")          # left out of every sum


class AreaReportState(State):
    """States of a city's or province's report (IvdAreaReportFlow)."""
    DRAFT = "draft", _l("待提交")
    SUBMITTED = "submitted", _l("已提交")
    APPROVED = "approved", _l("审核通过")
    REJECTED = "rejected", _l("审核不通过")


HOSPITAL_STATE_LABELS = HospitalReportState.labels()
AREA_STATE_LABELS = AreaReportState.labels()
IN_USE_LABELS = {True: _l("是"), False: _l("否")}


class IvdProject(Model):
    """报量项目: visible to every signed-in user, configured by the super-admin."""
    __tablename__ = "ivd_project"
    __scope_public__ = True
    id = Column(Integer, primary_key=True)
    name = Column(String(128), nullable=False, unique=True)
    year = Column(Integer, nullable=False, index=True)
    fill_start = Column(Date, nullable=False)
    fill_end = Column(Date, nullable=False)
    city_deadline = Column(Date, nullable=False)
    province_deadline = Column(Date, nullable=False)
    threshold_pct = Column(Integer, nullable=False)      # 需求量阈值 (%)
    created_at = Column(DateTime, default=utcnow, nullable=False)

    def status_on(self, day):
        if day < self.fill_start:
            return "not_started"
        return "ended" if day > self.province_deadline else "running"

    @property
    def status(self):
        return self.status_on(dt.date.today())

    @property
    def status_label(self):
        return PROJECT_STATUS_LABELS[self.status]

    def __repr__(self):
        return self.name


class IvdCatalogItem(Model):
    """One catalogue line (流水号) of a project."""
    __tablename__ = "ivd_catalog_item"
    __scope_public__ = True
    __table_args__ = (UniqueConstraint("project_id", "serial_no"),
                      Index("ix_ivd_item_project_cert", "project_id", "cert_no"))
    id = Column(Integer, primary_key=True)
    project_id = Column(Integer, ForeignKey("ivd_project.id"), nullable=False)
    project = relationship("IvdProject")
    serial_no = Column(String(32), nullable=False)
    major = Column(String(64), nullable=False)            # 大项
    minor = Column(String(64), nullable=False)            # 小项
    manufacturer = Column(String(128), nullable=False)    # 生产企业
    cert_no = Column(String(64), nullable=False)          # 注册证号
    product_name = Column(String(128), nullable=False)
    specification = Column(String(256))

    def __repr__(self):
        return f"{self.serial_no} {self.product_name}"


class IvdHospitalReport(ScopedMixin, Model):
    """A hospital's report for a project. The totals are kept by 暂存 so that summaries
    are a GROUP BY over one row per hospital."""
    __tablename__ = "ivd_hospital_report"
    __table_args__ = (UniqueConstraint("project_id", "organization_id"),
                      Index("ix_ivd_hr_project_city", "project_id", "city_code", "state"),
                      Index("ix_ivd_hr_project_province", "project_id", "province_code"))
    id = Column(Integer, primary_key=True)
    project_id = Column(Integer, ForeignKey("ivd_project.id"), nullable=False)
    project = relationship("IvdProject", lazy="joined")
    organization_id = Column(Integer, ForeignKey("organization.id"), nullable=False, index=True)
    organization = relationship("Organization", lazy="joined")
    state = Column(String(12), nullable=False, default=HospitalReportState.UNSUBMITTED.value)
    contact = Column(String(32))
    contact_phone = Column(String(32))
    last_year_total = Column(BigInteger, nullable=False, default=0)
    next_year_total = Column(BigInteger, nullable=False, default=0)
    filled_lines = Column(Integer, nullable=False, default=0)
    submitted_at = Column(DateTime)
    reviewed_at = Column(DateTime)
    review_opinion = Column(Text)
    updated_at = Column(DateTime, default=utcnow)

    @property
    def state_label(self):
        return HOSPITAL_STATE_LABELS.get(self.state, self.state)

    def __repr__(self):
        return f"{self.organization} {self.project}"


class IvdSummary(Model):
    """Hospital reports per project, county and state (app/summaries.py): the province and
    national summaries (Q5/Q6) read these rows, not one row per hospital. Kept by triggers."""
    __tablename__ = "ivd_summary"
    project_id = Column(Integer, primary_key=True)
    province_code = Column(String(6), primary_key=True)
    city_code = Column(String(6), primary_key=True)
    county_code = Column(String(6), primary_key=True)
    state = Column(String(12), primary_key=True)
    hospitals = Column(BigInteger, nullable=False, default=0)
    last_year_total = Column(BigInteger, nullable=False, default=0)
    next_year_total = Column(BigInteger, nullable=False, default=0)
    __table_args__ = (Index("ix_ivd_summary_city", "project_id", "city_code"),)


IVD_SUMMARY = Summary(
    table="ivd_summary", source="ivd_hospital_report",
    keys={"project_id": "{r}.project_id",
          "province_code": "COALESCE({r}.province_code, '')",
          "city_code": "COALESCE({r}.city_code, '')",
          "county_code": "COALESCE({r}.county_code, '')", "state": "{r}.state"},
    measures={"hospitals": "1", "last_year_total": "{r}.last_year_total",
              "next_year_total": "{r}.next_year_total"},
    watched=("project_id", "province_code", "city_code", "county_code", "state",
             "last_year_total", "next_year_total"))


class IvdReportLine(Model):
    """A hospital's figures for one catalogue line; only filled lines are stored."""
    __tablename__ = "ivd_report_line"
    __table_args__ = (UniqueConstraint("report_id", "item_id"),)
    id = Column(Integer, primary_key=True)
    report_id = Column(Integer, ForeignKey("ivd_hospital_report.id"), nullable=False)
    item_id = Column(Integer, ForeignKey("ivd_catalog_item.id"), nullable=False, index=True)
    item = relationship("IvdCatalogItem", lazy="joined")
    last_year_qty = Column(Integer)        # 上年度采购总数量
    next_year_qty = Column(Integer)        # 下年度采购需求量
    in_use = Column(Boolean)               # 是否有在用仪器
    change_note = Column(Text)             # 增降幅说明


class IvdAreaReport(ScopedMixin, Model):
    """A city's (or 省本级's) or a province's report for a project: its review state and
    submission upward; the figures are always summed live from the hospitals."""
    __tablename__ = "ivd_area_report"
    __table_args__ = (UniqueConstraint("project_id", "region_id"),
                      Index("ix_ivd_ar_project_province", "project_id", "province_code",
                            "level"))
    id = Column(Integer, primary_key=True)
    project_id = Column(Integer, ForeignKey("ivd_project.id"), nullable=False)
    project = relationship("IvdProject", lazy="joined")
    region_id = Column(Integer, ForeignKey("region.id"), nullable=False)
    region = relationship("Region", lazy="joined")
    level = Column(String(10), nullable=False)        # city | province
    state = Column(String(10), nullable=False, default=AreaReportState.DRAFT.value)
    organization_id = Column(Integer, ForeignKey("organization.id"))   # who submitted
    submitted_at = Column(DateTime)
    reviewed_at = Column(DateTime)
    review_opinion = Column(Text)
    sums = (0, 0, 0)   # set by the screens from one GROUP BY over the hospitals

    @property
    def hospital_count(self):
        return self.sums[0]

    @property
    def last_year_sum(self):
        return self.sums[1]

    @property
    def next_year_sum(self):
        return self.sums[2]

    @property
    def state_label(self):
        return AREA_STATE_LABELS.get(self.state, self.state)

    def __repr__(self):
        return f"{self.region} {self.project}"
