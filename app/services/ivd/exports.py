"""汇总数据导出 of the IVD module as background jobs listed in 导出列表 (SPEC Q5, Q6):
the province's PDF by 注册证 and the national CSV. Both stream one GROUP BY."""

from itertools import chain

from flask import g, request

from app.extensions import db
from app.i18n import _
from app.models.core import Region
from app.models.ivd import IvdHospitalReport, IvdProject
from app.scope import region_in_scope, scope_of
from app.services.audit import record
from app.services.clock import now
from app.services.export import Column, write_csv
from app.services.export_jobs import run_file_job, start
from app.services.ivd.queries import area_sums, cert_summary, national_rows, province_digest
from app.services.jobs import job
from app.services.pdf import write_cert_summary_pdf

PROVINCE_PDF_COLUMNS = (("注册证号", 3, "left"), ("生产企业", 3, "left"), ("产品名称", 3, "left"),
                        ("医疗机构数量", 1.3, "right"), ("上年度采购总数量", 1.6, "right"),
                        ("下年度采购需求量", 1.6, "right"))
NATIONAL_COLUMNS = (Column("province", "省份"), Column("major", "大项"), Column("minor", "小项"),
                    Column("manufacturer", "生产企业"), Column("cert_no", "注册证"),
                    Column("last", "上年度采购总数量", "int"),
                    Column("next", "下年度采购总数量", "int"))
STREAM = {"stream_results": True, "yield_per": 2000}


def start_summary_export(project, user):
    """汇总数据导出 for the caller's level: the province's PDF, or (nation) the CSV; None
    for any other level."""
    kind, code = scope_of(user)
    if kind == "province":
        return start(user, f"{project.name}-汇总数据（按注册证）", "ivd_province_pdf",
                     f"project={project.id}&province={code}")
    if kind == "all":
        return start(user, f"{project.name}-全国报量数据", "ivd_national_csv",
                     f"project={project.id}")
    return None


def export_summary(project, user):
    """汇总数据导出 from the screens: the job and its audit row (导出), committed; None
    (nothing written) when the caller's level has no summary export."""
    job = start_summary_export(project, user)
    if job is not None:
        record(user, "export", object_type="ivd_area_report",
               comment=f"{project.name}：汇总数据导出")
        db.session.commit()
    return job


def _project():
    return db.session.get(IvdProject, request.args.get("project", type=int))


@job
def ivd_province_pdf(job_id):
    def produce(path, counted, total):
        project = _project()
        province = db.session.execute(db.select(Region).where(
            Region.code == request.args.get("province"))).scalar_one()
        if not region_in_scope(province, g.user):      # re-checked as the job's user
            raise PermissionError(_("该区域不在您的管辖范围内"))
        rows = db.session.execute(
            cert_summary(project.id, IvdHospitalReport.province_code == province.code)
            .execution_options(**STREAM))
        hospitals, last_sum, next_sum = area_sums(project.id, "province_code",
                                                  [province.code]).get(province.code, (0, 0, 0))
        total = (_("合计"), "", "", hospitals, last_sum, next_sum)   # the province's figures
        return write_cert_summary_pdf(
            path, _("%(p)s 汇总数据（按注册证）", p=project.name),
            [(_("省份"), province.name),
             (_("数据校验码"), province_digest(project.id, province.code)), (_("导出时间"), now())],
            PROVINCE_PDF_COLUMNS,
            chain(counted((cert, maker, product, n, int(last), int(nxt))
                          for cert, maker, product, n, _lines, last, nxt, _low, _high in rows),
                  [total]),
            footer_lines=[_("单位盖章：__________    日期：____年__月__日")])

    run_file_job(job_id, "pdf", produce)


@job
def ivd_national_csv(job_id):
    def produce(path, counted, total):
        project = _project()
        rows = db.session.execute(national_rows(project.id).execution_options(**STREAM))
        with open(path, "wb") as fh:
            return write_csv(fh, NATIONAL_COLUMNS, counted(rows))

    run_file_job(job_id, "csv", produce)
