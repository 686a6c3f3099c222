"""疾病应急救助 screens: exports, dossier, prepayments, accounts, language, jobs, list cost
(SPEC R3, P9, P11)."""
import io
import time
import zipfile

import openpyxl
from sqlalchemy import event, select

from app.extensions import db
from app.models.core import Organization, SystemParameter
from app.models.jobs import ExportJob
from app.services.accounts import may_create_account
from tests.conftest import make_application, user
from tests.relief.relief_support import text_of


def test_export_chosen_columns_in_order_and_standard(app, login_as):
    with app.app_context():
        pk = make_application(patient_name="=HYPERLINK(1)")
    c = login_as("ty_hosp1")
    r = c.get("/relief/applications/export/?col=patient_name&col=id&col=requested_amount")
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert [cell.value for cell in ws[1]] == ["姓名", "编号", "申请基金拨付金额"]
    rows = {row[1]: row for row in ws.iter_rows(min_row=2, values_only=True)}
    assert rows[pk][0].startswith("'") and float(rows[pk][2]) == 101.0
    r = c.get("/relief/applications/export/standard/")
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert ws[1][0].value == "编号" and ws.freeze_panes == "A2"


def test_prepayment_year_total(app, login_as):
    c = login_as("ty_hosp1")
    page = text_of(c.get("/relief/prepayments/list/?year=2026"))
    assert "年度拨付总金额" in page and "100000.00" in page
    r = c.post("/relief/prepayments/add", data={"amount": "0", "paid_on": "2026-02-01"})
    page = text_of(r, 422)
    assert "必须大于0" in page and 'value="2026-02-01"' in page


def test_generate_account_is_idempotent(app, login_as):
    with app.app_context():
        org_id = db.session.execute(select(Organization.id).where(
            Organization.name == "太原市第一人民医院")).scalar()
    r = login_as("ty_agency").post(f"/system/organizations/generate_account/{org_id}",
                                   follow_redirects=True)
    assert "账户已存在，无需再次创建" in text_of(r)


def test_account_creation_rights_by_level(app, ctx):
    org = lambda name: db.session.execute(select(Organization).where(Organization.name == name)).scalar_one()
    assert may_create_account(user("sx_hc"), org("太原市卫生健康委员会"))
    assert may_create_account(user("sx_hc"), org("山西省疾病应急救助经办机构"))
    assert may_create_account(user("ty_hc"), org("太原市疾病应急救助经办机构"))
    assert not may_create_account(user("ty_hc"), org("运城市疾病应急救助经办机构"))
    assert not may_create_account(user("ty_agency"), org("太原市卫生健康委员会"))
    assert may_create_account(user("ty_agency"), org("太原市第一人民医院"))
    assert not may_create_account(user("ty_hosp1"), org("太原市第一人民医院"))
    assert may_create_account(user("sx_ybj"), org("太原市医疗保障局"))


def test_large_export_runs_in_background_and_only_its_owner_downloads(app, login_as):
    with app.app_context():
        db.session.execute(db.update(SystemParameter).where(
            SystemParameter.key == "export_background_rows").values(value="1"))
        db.session.commit()
    c = login_as("ty_agency")
    r = c.get("/relief/review/export/standard/", follow_redirects=True)
    assert "后台导出" in text_of(r)
    for _ in range(100):
        with app.app_context():
            job = db.session.execute(select(ExportJob).order_by(ExportJob.id.desc())).scalars().first()
            if job.state in ("done", "failed"):
                break
        time.sleep(0.1)
    assert job.state == "done", job.error
    assert job.rows_written == job.rows_total and job.rows_total >= 1
    page = text_of(c.get("/exports/list/"))
    assert "已完成" in page and f"/exports/file/{job.id}" in page
    r = c.get(f"/exports/file/{job.id}")
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert ws.max_row == job.rows_total + 1
    assert login_as("yc_agency").get(f"/exports/file/{job.id}").status_code == 404


def test_english_ui(login_as):
    c = login_as("ty_hosp1")
    assert c.get("/lang/en").status_code == 302
    page = text_of(c.get("/relief/applications/list/"))
    assert "Relief fund applications" in page and "Submit" in page


def test_dossier_zip_holds_fields_and_attachments(app, login_as):
    with app.app_context():
        pk = make_application(patient_name="归档患者")
    r = login_as("ty_hosp1").post(f"/relief/applications/transition/submit/{pk}")
    assert r.status_code == 302
    agency = login_as("ty_agency")
    assert f"/relief/review/dossier/{pk}" in text_of(agency.get("/relief/review/list/"))
    r = agency.get(f"/relief/review/dossier/{pk}")
    assert r.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(r.data))
    names = zf.namelist()
    assert f"{pk}/申请信息.xlsx" in names and sum("/附件/" in n for n in names) == 2
    ws = openpyxl.load_workbook(io.BytesIO(zf.read(f"{pk}/申请信息.xlsx"))).active
    values = {row[0]: row[1] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert values["姓名"] == "归档患者" and values["申请状态"] == "已提交"
    assert login_as("yc_agency").get(f"/relief/review/dossier/{pk}").status_code == 404


def test_fab_reset_my_password_goes_to_the_change_form(login_as):
    r = login_as("admin").get("/resetmypassword/form")
    assert r.status_code == 302 and r.headers["Location"].endswith("/password/change")


def test_scheduled_jobs_command(app):
    result = app.test_cli_runner().invoke(args=["portal", "run-jobs"])
    assert result.exit_code == 0 and "export files removed" in result.output


def test_list_page_runs_few_queries(app, login_as):
    """Permissions are read once per request and row buttons do not query per row."""
    with app.app_context():
        for _ in range(3):
            make_application()
        engine = db.engine
    c = login_as("ty_hosp1")
    assert c.get("/relief/applications/list/").status_code == 200
    count = [0]

    def counter(*args):
        count[0] += 1
    event.listen(engine, "before_cursor_execute", counter)
    try:
        assert c.get("/relief/applications/list/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    assert count[0] <= 10, count[0]
