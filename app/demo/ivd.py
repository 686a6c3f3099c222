"""Demo data of the IVD module (SPEC §Y, Q): a running project with a 240-line catalogue
and 山西 hospitals in every state, moved there through the real services and workflows;
a project not yet started and one that has ended. All names are fictitious."""
import datetime as dt
import io

from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models.ivd import IvdCatalogItem, IvdHospitalReport, IvdProject
from app.services import files
from app.services.ivd import commands, queries, rules
from app.services.pdf import write_cert_summary_pdf
from app.workflows import engine
from app.workflows.ivd import IvdAreaReportFlow, IvdHospitalReportFlow

MAJORS = {"生化类": ("肝功能", "肾功能", "血脂", "血糖"), "免疫类": ("肿瘤标志物", "甲状腺功能", "传染病"),
          "分子诊断类": ("核酸检测", "基因分型"), "微生物类": ("细菌鉴定", "药敏试验"),
          "血液及体液类": ("血细胞分析", "凝血功能", "尿液分析")}
MAKERS = ("晋阳生物科技有限公司", "汾河诊断试剂有限公司", "太行医疗器械股份有限公司",
          "黄河生物工程有限公司", "五台山检验科技有限公司")
PRODUCTS = ("测定试剂盒", "检测试剂盒（化学发光法）", "检测试剂盒（酶联免疫法）",
            "检测试剂盒（荧光PCR法）", "校准品", "质控品")


def catalogue(project, certs=80, per_cert=3):
    minors = [(major, minor) for major, group in MAJORS.items() for minor in group]
    n = 0
    for c in range(certs):
        major, minor = minors[c % len(minors)]
        cert = f"国械注准2019340{c + 1:04d}"
        for s in range(per_cert):
            n += 1
            db.session.add(IvdCatalogItem(
                project_id=project.id, serial_no=f"IVD{n:06d}", major=major, minor=minor,
                manufacturer=MAKERS[c % len(MAKERS)], cert_no=cert,
                product_name=f"{minor}{PRODUCTS[(c + s) % len(PRODUCTS)]}",
                specification=f"{(s + 1) * 50}人份/盒"))
    db.session.flush()


def demo_pdf(name):
    buf = io.BytesIO()
    write_cert_summary_pdf(buf, name, [("说明", "演示用扫描件")], (("内容", 1, "left"),),
                           [("演示材料",)])
    buf.seek(0)
    return FileStorage(stream=buf, filename=f"{name}.pdf")


def fill(report, user, offset, lines=30):
    """Fill `lines` catalogue lines: whole 注册证 groups, rules kept, every tenth 注册证
    without an instrument in use (and no purchase last year)."""
    items = db.session.execute(db.select(IvdCatalogItem).where(
        IvdCatalogItem.project_id == report.project_id).order_by(IvdCatalogItem.serial_no)
        .offset(offset).limit(lines)).scalars().all()
    entries = []
    for n, item in enumerate(items):
        in_use = int(item.cert_no[-4:]) % 10 != 0
        last = (n * 37 + offset) % 500 + 20 if in_use else 0
        entries.append({"item_id": item.id, "last_year_qty": last,
                        "next_year_qty": last + (n % 4) * 3 if n % 9 else last * 2,
                        "in_use": in_use})
    commands.save_lines(report, entries, user)


def complete(report, user):
    """Everything 提交 needs: contact, 增降幅说明, the 说明文件 and the two PDFs."""
    notes = {line.id: "新增检测项目，需求量增加"
             for line in db.session.execute(queries.beyond_threshold(report)).scalars()}
    commands.save_submission_details(
        report, {"contact": "张主任", "contact_phone": "0351-4960000", "notes": notes}, user)
    for cert in queries.certs_not_in_use(report.id):
        files.attach(report, rules.cert_slot(cert), demo_pdf("在用仪器说明"), user)
    for slot in rules.HOSPITAL_SLOTS:
        files.attach(report, slot, demo_pdf(str(slot.label)), user)
    db.session.commit()


def load_ivd(orgs, users):
    today = dt.date.today()
    day = dt.timedelta(days=1)
    running = IvdProject(name=f"{today.year + 1}年度体外诊断试剂报量", year=today.year + 1,
                         fill_start=today - 20 * day, fill_end=today + 20 * day,
                         city_deadline=today + 30 * day, province_deadline=today + 45 * day,
                         threshold_pct=30)
    ended = IvdProject(name=f"{today.year}年度体外诊断试剂报量", year=today.year,
                       fill_start=today - 330 * day, fill_end=today - 300 * day,
                       city_deadline=today - 290 * day, province_deadline=today - 280 * day,
                       threshold_pct=20)
    planned = IvdProject(name=f"{today.year + 2}年度体外诊断试剂报量（预备）", year=today.year + 2,
                         fill_start=today + 300 * day, fill_end=today + 330 * day,
                         city_deadline=today + 340 * day, province_deadline=today + 350 * day,
                         threshold_pct=30)
    db.session.add_all([running, ended, planned])
    db.session.flush()
    catalogue(running)
    catalogue(ended, certs=10)
    db.session.commit()
    commands.ensure_hospital_reports(running.id)

    def report(login):
        return db.session.execute(db.select(IvdHospitalReport).where(
            IvdHospitalReport.project_id == running.id,
            IvdHospitalReport.organization_id == orgs[login].id)).scalar_one()

    # hospital → its city reviewer, and the steps that bring it to its demo state
    plan = [("ty_hosp1", "ty_ybj", []), ("ty_hosp2", "ty_ybj", ["submit", "approve"]),
            ("ty_mch", "ty_ybj", ["submit"]), ("ty_hosp3", "ty_ybj", ["submit", "reject"]),
            ("xd_town1", "ty_ybj", ["exempt"]), ("yc_hosp1", "yc_ybj", ["submit", "approve"]),
            ("yc_hosp2", "yc_ybj", ["submit", "approve"]),
            ("sx_hosp", "sx_sbj", ["submit", "approve"])]
    for n, (login, reviewer, steps) in enumerate(plan):
        r = report(login)
        if login != "xd_town1":
            fill(r, users[login], offset=n * 15)
        if "submit" in steps:
            complete(r, users[login])
        for step in steps:
            actor = users[login] if step == "submit" else users[reviewer]
            comment = "历史采购量与实际不符，请核实后重新填报" if step == "reject" else ""
            engine.apply(IvdHospitalReportFlow, r, step, actor, {"comment": comment})
    commands.ensure_area_reports(running.id)
    engine.apply(IvdAreaReportFlow, queries.area_report(running.id, "140800"), "submit",
                 users["yc_ybj"])
