"""疾病应急救助 through HTTP and REST (SPEC R3–R5, P7, P8, P10, P11)."""
import io
import threading

import openpyxl
from sqlalchemy import select

from app.extensions import db
from app.models.relief import ReliefApplication
from tests.conftest import APPLICATION_FORM, make_application, png_bytes, user


def state_of(app, pk):
    with app.app_context():
        return db.session.get(ReliefApplication, pk).state


def test_new_application_is_saved_as_draft_with_age_from_id(app, login_as):
    c = login_as("ty_hosp1")
    r = c.post("/relief/applications/add", data=APPLICATION_FORM, follow_redirects=True)
    assert r.status_code == 200
    with app.app_context():
        item = db.session.execute(select(ReliefApplication).where(
            ReliefApplication.patient_name == "张三")).scalar_one()
        assert item.state == "draft" and item.age >= 35 and str(item.requested_amount) == "1200.30"
        assert item.city_code == "140100"


def _refused(app, login_as, message, **changes):
    c = login_as("ty_hosp1")
    form = dict(APPLICATION_FORM, patient_name="拒绝测试", **changes)
    r = c.post("/relief/applications/add", data=form)
    # the same form again, 422: the typed values kept, the message shown (nothing redirected)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and message in page
    assert 'value="拒绝测试"' in page
    assert 'value="山西省太原市"' in page
    with app.app_context():
        assert db.session.execute(select(ReliefApplication).where(
            ReliefApplication.patient_name == "拒绝测试")).first() is None


def test_wrong_id_check_digit_is_refused(app, login_as):
    _refused(app, login_as, "校验位错误", id_number="110105194912310021")


def test_amounts_must_add_up_exactly(app, login_as):
    _refused(app, login_as, "必须等于医疗费用 1000.10 元与生活费用 200.20 元之和",
             requested_amount="1200.31")


def test_end_before_start_is_refused(app, login_as):
    _refused(app, login_as, "不能早于", end_at="2026-04-30 08:00:00")


def test_other_disease_required_for_other(app, login_as):
    _refused(app, login_as, "必须填写其他疾病", disease="其他")


def test_unidentified_needs_no_basic_info(app, login_as):
    c = login_as("ty_hosp1")
    form = dict(APPLICATION_FORM, category="unidentified", patient_name="", id_number="",
                gender="", relief_place="身份不明测试")
    c.post("/relief/applications/add", data=form)
    with app.app_context():
        assert db.session.execute(select(ReliefApplication).where(
            ReliefApplication.relief_place == "身份不明测试")).scalar_one().state == "draft"


def test_attachment_slots_take_archives_only(app, login_as):
    with app.app_context():
        pk = make_application(with_files=False)
    c = login_as("ty_hosp1")
    fake = (io.BytesIO(png_bytes()), "病案.zip")
    r = c.post(f"/relief/applications/upload/{pk}/medical_record", data={"file": fake},
               content_type="multipart/form-data", follow_redirects=True)
    assert "不符" in r.get_data(as_text=True)
    evil = (io.BytesIO(b"PK\x05\x06" + b"\0" * 18), "../../etc/passwd.zip")
    r = c.post(f"/relief/applications/upload/{pk}/medical_record", data={"file": evil},
               content_type="multipart/form-data", follow_redirects=True)
    assert "上传成功" in r.get_data(as_text=True)
    with app.app_context():
        from app.models.files import Attachment
        row = db.session.execute(select(Attachment).where(Attachment.owner_id == pk)).scalar_one()
        assert "/" not in row.original_name and ".." not in row.stored_name


def test_oversized_upload_is_refused(app, login_as):
    with app.app_context():
        pk = make_application(with_files=False)
        from app.models.core import SystemParameter
        db.session.execute(db.update(SystemParameter).where(
            SystemParameter.key == "upload_max_mb").values(value="1"))
        db.session.commit()
    big = (io.BytesIO(b"PK\x03\x04" + b"\0" * (1024 * 1024 + 10)), "big.zip")
    r = login_as("ty_hosp1").post(f"/relief/applications/upload/{pk}/cost_list",
                                  data={"file": big}, content_type="multipart/form-data",
                                  follow_redirects=True)
    assert "大小限制" in r.get_data(as_text=True)


def test_submit_needs_required_attachments(app, login_as):
    with app.app_context():
        pk = make_application(with_files=False)
    r = login_as("ty_hosp1").post(f"/relief/applications/transition/submit/{pk}",
                                  follow_redirects=True)
    assert "病案首页或抢救记录或门诊记录" in r.get_data(as_text=True)
    assert state_of(app, pk) == "draft"


def test_full_flow_submit_review_disburse(app, login_as):
    with app.app_context():
        pk = make_application()
    hosp, agency = login_as("ty_hosp1"), login_as("ty_agency")
    hosp.post(f"/relief/applications/transition/submit/{pk}")
    assert state_of(app, pk) == "submitted"
    page = agency.get(f"/relief/review/review/{pk}").get_data(as_text=True)
    assert "贫困对象" in page and "审核通过" in page
    r = agency.post(f"/relief/review/transition/approve/{pk}", data={"comment": "同意"},
                    follow_redirects=True)
    assert "请选择贫困对象" in r.get_data(as_text=True) and state_of(app, pk) == "submitted"
    r = agency.post(f"/relief/review/transition/send_back/{pk}", data={"poverty": "1"},
                    follow_redirects=True)
    assert "请填写审核退回意见" in r.get_data(as_text=True)
    agency.post(f"/relief/review/transition/approve/{pk}",
                data={"poverty": "1", "low_income": "0", "basic_insurance_amount": "10.50"})
    assert state_of(app, pk) == "approved"
    r = agency.post(f"/relief/review/transition/disburse/{pk}",
                    data={"disbursed_amount": "999999", "disbursed_on": "2026-06-01"},
                    follow_redirects=True)
    assert "不超过" in r.get_data(as_text=True) and state_of(app, pk) == "approved"
    agency.post(f"/relief/review/transition/disburse/{pk}",
                data={"disbursed_amount": "101.00", "disbursed_on": "2026-06-01"})
    assert state_of(app, pk) == "disbursed"
    history = hosp.get(f"/relief/applications/show/{pk}").get_data(as_text=True)
    assert "办理记录" in history and "已拨款" in history


def test_withdraw_only_before_the_agency_acts(app, login_as):
    with app.app_context():
        pk = make_application()
    hosp, agency = login_as("ty_hosp1"), login_as("ty_agency")
    hosp.post(f"/relief/applications/transition/submit/{pk}")
    hosp.post(f"/relief/applications/transition/withdraw/{pk}")
    assert state_of(app, pk) == "draft"
    hosp.post(f"/relief/applications/transition/submit/{pk}")
    agency.post(f"/relief/review/transition/send_back/{pk}", data={"poverty": "0", "comment": "补充"})
    assert state_of(app, pk) == "returned"
    hosp.post(f"/relief/applications/transition/submit/{pk}")
    assert state_of(app, pk) == "submitted"


def test_other_city_agency_cannot_review(app, login_as):
    with app.app_context():
        pk = make_application()
    login_as("ty_hosp1").post(f"/relief/applications/transition/submit/{pk}")
    yc = login_as("yc_agency")
    assert yc.get(f"/relief/review/review/{pk}").status_code == 404
    assert yc.post(f"/relief/review/transition/approve/{pk}", data={"poverty": "1"}).status_code == 404
    assert state_of(app, pk) == "submitted"


def test_out_of_scope_is_404_everywhere(app, login_as, api):
    with app.app_context():
        pk = make_application()
        from app.models.files import Attachment
        att = db.session.execute(select(Attachment.id).where(Attachment.owner_id == pk)).scalars().first()
    other = login_as("yc_hosp1")
    for method, url in [("get", f"/relief/applications/show/{pk}"),
                        ("get", f"/relief/applications/edit/{pk}"),
                        ("post", f"/relief/applications/delete/{pk}"),
                        ("post", f"/relief/applications/transition/submit/{pk}"),
                        ("get", f"/attachments/{att}")]:
        assert getattr(other, method)(url).status_code == 404, url
    r = other.post("/relief/applications/action_post", data={"action": "submit", "rowid": [str(pk)]})
    assert r.status_code == 404
    c, headers = api("yc_hosp1")
    assert c.get(f"/api/v1/relief_application/{pk}", headers=headers).status_code == 404
    assert c.put(f"/api/v1/relief_application/{pk}", json={"patient_name": "x"},
                 headers=headers).status_code == 404
    assert c.post(f"/api/v1/relief_application/{pk}/submit", headers=headers).status_code == 404
    assert c.get(f"/api/v1/relief_application/{pk}/history", headers=headers).status_code == 404
    assert state_of(app, pk) == "draft"
    # the export of the other institution does not contain the row
    r = other.get("/relief/applications/export/?col=id&col=patient_name")
    ids = [row[0] for row in openpyxl.load_workbook(io.BytesIO(r.data)).active.iter_rows(
        min_row=2, values_only=True)]
    assert pk not in ids


def test_batch_submit_is_all_or_nothing(app, login_as):
    with app.app_context():
        good = make_application()
        bad = make_application(with_files=False)
    c = login_as("ty_hosp1")
    r = c.post("/relief/applications/action_post",
               data={"action": "submit", "rowid": [str(good), str(bad)]}, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "未做任何修改" in text and "请上传附件" in text
    assert state_of(app, good) == "draft" and state_of(app, bad) == "draft"
    c.post("/relief/applications/action_post", data={"action": "delete", "rowid": [str(bad)]})
    assert state_of(app, bad) == "deleted"
    c.post("/relief/applications/action_post", data={"action": "submit", "rowid": [str(good)]})
    assert state_of(app, good) == "submitted"


def test_rest_flow_and_batch_conflict(app, api):
    c, h = api("ty_hosp1")
    body = {k: v for k, v in APPLICATION_FORM.items() if v != ""}
    r = c.post("/api/v1/relief_application/", json=dict(body, requested_amount="1.00"), headers=h)
    assert r.status_code == 422 and "requested_amount" in r.json["fields"]
    r = c.post("/api/v1/relief_application/", json=body, headers=h)
    assert r.status_code == 201, r.json
    pk = r.json["id"]
    r = c.post(f"/api/v1/relief_application/{pk}/submit", headers=h)
    assert r.status_code == 409 and "请上传附件" in r.json["message"]
    with app.app_context():
        ready = make_application()
    r = c.post("/api/v1/relief_application/batch/submit", json={"ids": [ready, pk]}, headers=h)
    assert r.status_code == 409 and [x["id"] for x in r.json["ineligible"]] == [pk]
    assert state_of(app, ready) == "draft"
    r = c.post(f"/api/v1/relief_application/{ready}/submit", headers=h)
    assert r.status_code == 200 and r.json["state"] == "submitted"
    r = c.post(f"/api/v1/relief_application/{ready}/approve", json={"poverty": "1"}, headers=h)
    assert r.status_code == 403
    ca, ha = api("ty_agency")
    r = ca.post(f"/api/v1/relief_application/{ready}/approve", json={"poverty": "1"}, headers=ha)
    assert r.status_code == 200 and r.json["state"] == "approved"
    r = ca.post(f"/api/v1/relief_application/{ready}/approve", json={"poverty": "1"}, headers=ha)
    assert r.status_code == 409
    hist = c.get(f"/api/v1/relief_application/{ready}/history", headers=h).json["result"]
    assert [x["transition"] for x in hist] == ["submit", "approve"]


def test_two_concurrent_approvals_exactly_one_wins(app):
    with app.app_context():
        pk = make_application()
        from app.workflows.engine import apply
        from app.workflows.relief import ApplicationFlow
        apply(ApplicationFlow, pk, "submit", user("ty_hosp1"))
    results, barrier = [], threading.Barrier(2)

    def approve():
        with app.app_context():
            from app.workflows.engine import Refusal, apply
            from app.workflows.relief import ApplicationFlow
            actor = user("ty_agency")
            item = db.session.get(ReliefApplication, pk)
            barrier.wait()
            try:
                apply(ApplicationFlow, item, "approve", actor, {"poverty": "1"})
                results.append("ok")
            except Refusal as exc:
                results.append(exc.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=approve) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results)[0] == "ok" and results.count("ok") == 1
    assert any("状态已变更" in r for r in results)
    with app.app_context():
        from app.models.audit import AuditLog
        n = db.session.execute(select(db.func.count()).select_from(AuditLog).where(
            AuditLog.object_id == pk, AuditLog.transition == "approve")).scalar()
        assert n == 1


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
    page = c.get("/relief/prepayments/list/?year=2026").get_data(as_text=True)
    assert "年度拨付总金额" in page and "100000.00" in page
    r = c.post("/relief/prepayments/add", data={"amount": "0", "paid_on": "2026-02-01"},
               follow_redirects=True)
    assert "必须大于0" in r.get_data(as_text=True)


def test_generate_account_is_idempotent(app, login_as):
    with app.app_context():
        from app.models.core import Organization
        org_id = db.session.execute(select(Organization.id).where(
            Organization.name == "太原市第一人民医院")).scalar()
    r = login_as("ty_agency").post(f"/system/organizations/generate_account/{org_id}",
                                   follow_redirects=True)
    assert "账户已存在，无需再次创建" in r.get_data(as_text=True)


def test_account_creation_rights_by_level(app, ctx):
    from app.models.core import Organization
    from app.services.accounts import may_create_account
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
    import time
    with app.app_context():
        from app.models.core import SystemParameter
        db.session.execute(db.update(SystemParameter).where(
            SystemParameter.key == "export_background_rows").values(value="1"))
        db.session.commit()
    c = login_as("ty_agency")
    r = c.get("/relief/review/export/standard/", follow_redirects=True)
    assert "后台导出" in r.get_data(as_text=True)
    from app.models.jobs import ExportJob
    for _ in range(100):
        with app.app_context():
            job = db.session.execute(select(ExportJob).order_by(ExportJob.id.desc())).scalars().first()
            if job.state in ("done", "failed"):
                break
        time.sleep(0.1)
    assert job.state == "done", job.error
    assert job.rows_written == job.rows_total and job.rows_total >= 1
    page = c.get("/exports/list/").get_data(as_text=True)
    assert "已完成" in page and f"/exports/file/{job.id}" in page
    r = c.get(f"/exports/file/{job.id}")
    ws = openpyxl.load_workbook(io.BytesIO(r.data)).active
    assert ws.max_row == job.rows_total + 1
    assert login_as("yc_agency").get(f"/exports/file/{job.id}").status_code == 404


def test_list_shows_the_allowed_transitions_per_row(app, login_as):
    with app.app_context():
        pk = make_application()
    page = login_as("ty_hosp1").get("/relief/applications/list/").get_data(as_text=True)
    assert f"/relief/applications/transition/submit/{pk}" in page
    assert f"/relief/applications/transition/withdraw/{pk}" not in page
    review = login_as("ty_agency").get("/relief/review/list/").get_data(as_text=True)
    assert "/relief/review/review/" in review and "transition/submit" not in review


def test_english_ui(login_as):
    c = login_as("ty_hosp1")
    c.get("/lang/en")
    page = c.get("/relief/applications/list/").get_data(as_text=True)
    assert "Relief fund applications" in page and "Submit" in page


def test_rest_export_is_scoped_and_filtered(app, api):
    with app.app_context():
        mine = make_application(patient_name="导出甲")
        other = make_application("yc_hosp1", patient_name="导出乙")
    c, h = api("ty_hosp1")
    r = c.get("/api/v1/relief_application/export?columns=id,patient_name,state", headers=h)
    assert r.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(r.data)).active.iter_rows(min_row=2, values_only=True))
    ids = {row[0] for row in rows}
    assert mine in ids and other not in ids
    q = "(filters:!((col:patient_name,opr:eq,value:导出甲)))"
    r = c.get(f"/api/v1/relief_application/export?columns=id&q={q}", headers=h)
    rows = list(openpyxl.load_workbook(io.BytesIO(r.data)).active.iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == [mine]
    assert c.get("/api/v1/relief_application/export?columns=password", headers=h).status_code == 400


def test_dossier_zip_holds_fields_and_attachments(app, login_as):
    import zipfile
    with app.app_context():
        pk = make_application(patient_name="归档患者")
    login_as("ty_hosp1").post(f"/relief/applications/transition/submit/{pk}")
    agency = login_as("ty_agency")
    assert f"/relief/review/dossier/{pk}" in agency.get("/relief/review/list/").get_data(as_text=True)
    r = agency.get(f"/relief/review/dossier/{pk}")
    assert r.status_code == 200
    zf = zipfile.ZipFile(io.BytesIO(r.data))
    names = zf.namelist()
    assert f"{pk}/申请信息.xlsx" in names and sum("/附件/" in n for n in names) == 2
    ws = openpyxl.load_workbook(io.BytesIO(zf.read(f"{pk}/申请信息.xlsx"))).active
    values = {row[0]: row[1] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert values["姓名"] == "归档患者" and values["申请状态"] == "已提交"
    assert login_as("yc_agency").get(f"/relief/review/dossier/{pk}").status_code == 404


def test_prepayment_api_validates_and_keeps_records(app, api):
    c, h = api("ty_hosp1")
    assert c.post("/api/v1/relief_prepayment/", json={"amount": "-5", "paid_on": "2026-03-01"},
                  headers=h).status_code == 422
    r = c.post("/api/v1/relief_prepayment/", json={"amount": "12.34", "paid_on": "2026-03-01"},
               headers=h)
    assert r.status_code == 201
    pk = r.json["id"]
    assert c.put(f"/api/v1/relief_prepayment/{pk}", json={"amount": "0"}, headers=h).status_code == 422
    assert c.delete(f"/api/v1/relief_prepayment/{pk}", headers=h).status_code in (403, 405)
    co, ho = api("yc_hosp1")
    assert co.get(f"/api/v1/relief_prepayment/{pk}", headers=ho).status_code == 404


def test_fab_reset_my_password_goes_to_the_change_form(login_as):
    r = login_as("admin").get("/resetmypassword/form")
    assert r.status_code == 302 and r.headers["Location"].endswith("/password/change")


def test_rest_post_cannot_place_a_row_in_another_organisation(app, api):
    with app.app_context():
        from app.models.core import Organization
        other = db.session.execute(select(Organization.id).where(
            Organization.name == "运城市中心医院")).scalar()
    c, h = api("ty_hosp1")
    body = {k: v for k, v in APPLICATION_FORM.items() if v != ""}
    r = c.post("/api/v1/relief_application/", json=dict(body, organization_id=other,
                                                        city_code="140800"), headers=h)
    if r.status_code == 201:
        with app.app_context():
            item = db.session.get(ReliefApplication, r.json["id"])
            assert item.organization.name == "太原市第一人民医院" and item.city_code == "140100"
    else:
        assert r.status_code in (400, 422)


def test_openapi_document_lists_the_resources(api):
    c, h = api("admin")
    r = c.get("/api/v1/_openapi", headers=h)
    assert r.status_code == 200 and "/relief_application/" in str(r.json["paths"])


def test_scheduled_jobs_command(app):
    result = app.test_cli_runner().invoke(args=["portal", "run-jobs"])
    assert result.exit_code == 0 and "export files removed" in result.output


def test_list_page_runs_few_queries(app, login_as):
    """Permissions are read once per request and row buttons do not query per row."""
    from sqlalchemy import event
    with app.app_context():
        for _ in range(3):
            make_application()
        engine = db.engine
    c = login_as("ty_hosp1")
    c.get("/relief/applications/list/")
    count = [0]

    def counter(*args):
        count[0] += 1
    event.listen(engine, "before_cursor_execute", counter)
    try:
        assert c.get("/relief/applications/list/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", counter)
    assert count[0] <= 10, count[0]
