"""疾病应急救助 as a clerk meets it following the manual (issue 19): money keeps its fen,
the 数据上报 list offers 新增上报数据 and says why 提交 waits, no approval after 汇总, the
missing-units prompt names only units that take part in relief, one 审核 per row, 评价
opens the application's evaluations."""
import datetime as dt
from decimal import Decimal

from app.extensions import db
from app.models.relief import MONEY_FIGURES, REPORT_FIGURES, ReliefReport
from tests.conftest import make_application, user
from tests.relief.relief_support import (apply_steps, disbursed_application, in_period,
                                         make_report, new_task, report_id, text_of)


def _figures(page_values, **changes):
    return {**page_values, **changes}


def test_report_edit_form_keeps_the_fen(app, login_as):
    with app.app_context():
        task = new_task()
    hosp = login_as("ty_hosp1")
    assert hosp.post("/relief/reports/new", data={"task_id": task}).status_code == 302
    with app.app_context():
        rid = report_id("ty_hosp1", task)
        report = db.session.get(ReliefReport, rid)
        report.amount_requested = Decimal("66002.50")
        db.session.commit()
    page = text_of(hosp.get(f"/relief/reports/edit/{rid}"))
    assert 'value="66002.50"' in page
    form = {name: "0" for name in REPORT_FIGURES} | {"amount_requested": "66002.50",
                                                    "amount_recovered": "1200.00"}
    assert hosp.post(f"/relief/reports/edit/{rid}", data=form).status_code == 302
    with app.app_context():
        report = db.session.get(ReliefReport, rid)
        assert report.amount_requested == Decimal("66002.50")
        assert report.amount_recovered == Decimal("1200.00")
    page = text_of(hosp.post(f"/relief/reports/edit/{rid}",
                             data=form | {"amount_prepaid": "8000.505"}), 422)
    assert "最多两位小数" in page and 'value="8000.505"' in page
    with app.app_context():
        assert db.session.get(ReliefReport, rid).amount_prepaid == Decimal("0.00")


def test_three_decimal_amounts_are_refused_not_rounded(app, login_as):
    hosp = login_as("ty_hosp1")
    r = hosp.post("/relief/prepayments/add", data={"amount": "8000.505",
                                                   "paid_on": "2026-03-01"})
    assert "最多两位小数" in text_of(r, 422)
    with app.app_context():
        from app.models.relief import ReliefPrepayment
        assert not db.session.execute(db.select(ReliefPrepayment.id).where(
            ReliefPrepayment.amount == Decimal("8000.51"))).first()


def test_report_list_offers_new_and_says_why_submit_waits(app, login_as):
    with app.app_context():
        task = new_task("未结束", dt.date(2026, 1, 1), dt.date.today() + dt.timedelta(days=30))
    hosp = login_as("ty_hosp1")
    page = text_of(hosp.get("/relief/reports/list/"))
    assert 'href="/relief/reports/new"' in page and "新增上报数据" in page
    assert hosp.post("/relief/reports/new", data={"task_id": task}).status_code == 302
    page = text_of(hosp.get("/relief/reports/list/"))
    row = page.split("未结束")[1].split("</tr>")[0]
    assert "disabled" in row and "结束后才能提交" in row


def test_no_approval_after_the_aggregate_went_up(app, login_as):
    with app.app_context():
        task = new_task()
        for org in ("ty_hosp1", "ty_hosp2"):
            in_period(disbursed_application(org))
    h1, h2, ty = login_as("ty_hosp1"), login_as("ty_hosp2"), login_as("ty_agency")
    with app.app_context():
        r1 = make_report(h1, "ty_hosp1", task)
    assert ty.post(f"/relief/report-review/transition/approve/{r1}").status_code == 302
    assert ty.post(f"/relief/report-review/aggregate/{task}",
                   data={"confirm": "1"}).status_code == 302
    with app.app_context():
        agg = report_id("ty_agency", task)
    assert ty.post(f"/relief/reports/transition/submit/{agg}").status_code == 302
    with app.app_context():
        late = make_report(h2, "ty_hosp2", task)
    r = ty.post(f"/relief/report-review/transition/approve/{late}", follow_redirects=True)
    assert "本机构已汇总" in text_of(r)
    with app.app_context():
        assert db.session.get(ReliefReport, late).state == "submitted"


def test_missing_units_are_those_taking_part_in_relief(app, login_as):
    with app.app_context():
        task = new_task()
        in_period(disbursed_application())
    ty = login_as("ty_agency")
    with app.app_context():
        rid = make_report(login_as("ty_hosp1"), "ty_hosp1", task)
    assert ty.post(f"/relief/report-review/transition/approve/{rid}").status_code == 302
    missing = text_of(ty.post(f"/relief/report-review/aggregate/{task}")).split(
        'id="missing"')[1].split("</ul>")[0]
    assert "太原市中心医院" in missing                     # relief applications, relief role
    for unit in ("疾病预防控制中心", "口腔诊所", "社区卫生服务站", "西温庄乡卫生院"):
        assert unit not in missing, unit


def test_one_review_entry_per_row_and_no_disburse_form_after_disbursing(app, login_as):
    with app.app_context():
        pk = make_application()
        apply_steps(pk, "submit")
        paid = disbursed_application()
    agency = login_as("ty_agency")
    page = text_of(agency.get("/relief/review/list/"))
    row = page.split(f"/relief/review/show/{pk}")[1].split("</tr>")[0]
    assert row.count(f"/relief/review/review/{pk}") == 1 and ">审核<" in row
    assert "审核通过" not in row and "审核不通过" not in row
    closed = text_of(agency.get(f"/relief/review/disburse/{paid}"))
    assert 'id="disburse-form"' not in closed and "不能拨款" in closed
    shown = text_of(agency.get(f"/relief/review/show/{paid}"))
    assert "贫困对象" in shown and "True" not in shown


def test_evaluate_opens_the_applications_evaluations(app, login_as):
    with app.app_context():
        pk = disbursed_application()
    agency, hosp = login_as("ty_agency"), login_as("ty_hosp1")
    row = text_of(agency.get("/relief/review/list/")).split(
        f"/relief/review/show/{pk}")[1].split("</tr>")[0]
    assert f"/relief/evaluations/application/{pk}" in row
    page = text_of(agency.get(f"/relief/evaluations/application/{pk}?next=/relief/review/list/"))
    assert "新增评价" in page and f"/relief/evaluations/new/{pk}" in page and "暂无评价" in page
    r = agency.post(f"/relief/evaluations/new/{pk}",
                    data={"score": "90", "content": "材料齐全",
                          "next": f"/relief/evaluations/application/{pk}"})
    assert r.status_code == 302 and r.location.endswith(f"/relief/evaluations/application/{pk}")
    row = text_of(agency.get("/relief/review/list/")).split(
        f"/relief/review/show/{pk}")[1].split("</tr>")[0]
    assert "/relief/evaluations/application/" not in row      # this side has evaluated
    page = text_of(hosp.get(f"/relief/evaluations/application/{pk}"))
    assert "材料齐全" in page and f"/relief/evaluations/new/{pk}" in page   # the other side
    page = text_of(agency.get(f"/relief/evaluations/application/{pk}"))
    assert f"/relief/evaluations/new/{pk}" not in page and "本单位已评价" in page
    with app.app_context():
        from app.models.relief import ReliefEvaluation
        eid = db.session.execute(db.select(ReliefEvaluation.id).where(
            ReliefEvaluation.application_id == pk)).scalar()
    page = text_of(agency.get(f"/relief/evaluations/edit/{eid}"))
    about = page.split('id="evaluation-about"')[1].split("</dl>")[0]
    assert f"#{pk}" in about and "太原市第一人民医院" in about


def _prepayment_id(app, remark):
    from app.models.relief import ReliefPrepayment
    with app.app_context():
        return db.session.execute(db.select(ReliefPrepayment.id).where(
            ReliefPrepayment.remark == remark)).scalar()


def test_prepayment_summary_lists_direct_institutions_of_the_chosen_year(app, login_as):
    province = text_of(login_as("sx_agency").get("/relief/prepayments/list/?year=2026"))
    assert "2026年第1批预拨款" not in province          # 太原's institutions are 太原's agency's
    assert 'id="year-total">0.00<' in province
    city = login_as("ty_agency")
    page = text_of(city.get("/relief/prepayments/list/?year=2026"))
    assert "2026年第1批预拨款" in page and 'id="year-total">100000.00<' in page
    page = text_of(city.get("/relief/prepayments/list/?year=2025"))
    assert "2026年第1批预拨款" not in page and 'id="year-total">0.00<' in page


def test_prepayment_corrected_or_withdrawn_until_reported(app, login_as):
    from app.models.audit import AuditLog
    from app.models.relief import ReliefPrepayment
    hosp = login_as("ty_hosp1")
    first = _prepayment_id(app, "2026年第1批预拨款")
    form = {"amount": "50000.10", "paid_on": "2026-01-11", "remark": "2026年第1批预拨款"}
    assert hosp.post(f"/relief/prepayments/edit/{first}", data=form).status_code == 302
    with app.app_context():
        assert db.session.get(ReliefPrepayment, first).amount == Decimal("50000.10")
        assert db.session.execute(db.select(AuditLog.id).where(
            AuditLog.object_type == "relief_prepayment", AuditLog.object_id == first,
            AuditLog.action == "update")).first()
    # the agency may not touch it
    assert login_as("ty_agency").post(f"/relief/prepayments/edit/{first}",
                                      data=form).status_code in (403, 404)
    # once a submitted report of its period carried it up: refused, and the page says why
    with app.app_context():
        task = new_task("2026年一季度", dt.date(2026, 1, 1), dt.date(2026, 3, 31))
        make_report(hosp, "ty_hosp1", task)
    r = hosp.post(f"/relief/prepayments/edit/{first}", data=form | {"amount": "1.00"})
    assert "已计入上报数据" in text_of(r, 409)
    assert "已计入上报数据" in text_of(hosp.get(f"/relief/prepayments/show/{first}"))
    hosp.post(f"/relief/prepayments/delete/{first}")
    with app.app_context():
        assert db.session.get(ReliefPrepayment, first).amount == Decimal("50000.10")
    # one outside the reported period is withdrawn (audited)
    third = _prepayment_id(app, "2026年第3批预拨款")
    assert hosp.post(f"/relief/prepayments/delete/{third}").status_code == 302
    with app.app_context():
        assert db.session.get(ReliefPrepayment, third) is None
        assert db.session.execute(db.select(AuditLog.id).where(
            AuditLog.object_type == "relief_prepayment", AuditLog.object_id == third,
            AuditLog.action == "delete")).first()


def test_institution_sees_recoveries_against_its_applications(app, login_as):
    import io
    with app.app_context():
        pk = disbursed_application()
    agency = login_as("ty_agency")
    r = agency.post("/relief/recoveries/new", data={
        "app_id": [str(pk)], "amount": "120.00", "recovered_on": "2026-05-01", "remark": "重复报销",
        "file": (io.BytesIO(b"PK\x05\x06" + b"\0" * 18), "追缴.zip")},
        content_type="multipart/form-data")
    assert r.status_code == 302
    from app.models.relief import ReliefRecovery
    with app.app_context():
        rid = db.session.execute(db.select(ReliefRecovery.id).where(
            ReliefRecovery.remark == "重复报销")).scalar()
    hosp = login_as("ty_hosp1")
    assert "重复报销" in text_of(hosp.get("/relief/recoveries/list/"))
    page = text_of(hosp.get(f"/relief/recoveries/show/{rid}"))
    linked = page.split('id="linked-applications"')[1].split("</ul>")[0]
    assert f'href="/relief/applications/show/{pk}"' in linked
    assert "办理记录" in page
    assert login_as("ty_hosp2").get(f"/relief/recoveries/show/{rid}").status_code == 404


def test_phone_is_checked(app, login_as):
    from tests.conftest import APPLICATION_FORM
    c = login_as("ty_hosp1")
    page = text_of(c.post("/relief/applications/add",
                          data=dict(APPLICATION_FORM, patient_name="电话患者", phone="abc")), 422)
    assert "联系电话格式无效" in page and 'value="abc"' in page


def test_photo_and_attachments_on_the_form_and_removed_before_submission(app, login_as):
    import io
    from app.models.files import Attachment
    from app.models.relief import ReliefApplication
    from tests.conftest import APPLICATION_FORM, png_bytes
    zipped = b"PK\x05\x06" + b"\0" * 18
    c = login_as("ty_hosp1")
    form = dict(APPLICATION_FORM, patient_name="照片患者",
                photo=(io.BytesIO(png_bytes()), "患者照片.png"),
                medical_record=(io.BytesIO(zipped), "病案首页.zip"),
                cost_list=(io.BytesIO(zipped), "费用清单.zip"))
    assert 'enctype="multipart/form-data"' in text_of(c.get("/relief/applications/add"))
    r = c.post("/relief/applications/add", data=form, content_type="multipart/form-data")
    assert r.status_code == 302
    with app.app_context():
        pk = db.session.execute(db.select(ReliefApplication.id).where(
            ReliefApplication.patient_name == "照片患者")).scalar()
        slots = dict(db.session.execute(db.select(Attachment.slot, Attachment.id).where(
            Attachment.owner_type == "relief_application", Attachment.owner_id == pk)).all())
    assert set(slots) == {"photo", "medical_record", "cost_list"}
    page = text_of(c.get("/relief/applications/list/?_flt_0_patient_name=照片患者"))
    assert f'/attachments/{slots["photo"]}/thumbnail' in page
    shown = text_of(c.get(f"/relief/applications/show/{pk}"))
    assert f'/attachments/{slots["photo"]}/preview' in shown
    assert f"/relief/applications/remove-file/{pk}/{slots['cost_list']}" in shown
    r = c.post(f"/relief/applications/remove-file/{pk}/{slots['cost_list']}")
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Attachment, slots["cost_list"]) is None
    # not another institution's, and not once submitted
    assert login_as("ty_hosp2").post(
        f"/relief/applications/remove-file/{pk}/{slots['photo']}").status_code == 404
    bad = dict(form, patient_name="错误附件", cost_list=(io.BytesIO(b"text"), "清单.txt"),
               photo=(io.BytesIO(png_bytes()), "照片.png"),
               medical_record=(io.BytesIO(zipped), "病案首页.zip"))
    page = text_of(c.post("/relief/applications/add", data=bad,
                          content_type="multipart/form-data"), 422)
    assert 'value="错误附件"' in page
    with app.app_context():
        assert not db.session.execute(db.select(ReliefApplication.id).where(
            ReliefApplication.patient_name == "错误附件")).first()


def test_the_manuals_button_words(app, login_as):
    hosp = login_as("ty_hosp1")
    assert 'href="/relief/applications/add">新增申请<' in text_of(
        hosp.get("/relief/applications/list/"))
    assert 'href="/relief/prepayments/add">新增拨付记录<' in text_of(
        hosp.get("/relief/prepayments/list/"))
    assert "新增拨付记录" not in text_of(login_as("ty_agency").get("/relief/prepayments/list/"))
