"""应急救助基金申请 form and its R4 rules through HTTP (SPEC R4, P7): a refused form comes
back 422 with what was typed; attachments."""
import io

from sqlalchemy import select

from app.extensions import db
from app.models.core import SystemParameter
from app.models.files import Attachment
from app.models.relief import ReliefApplication
from tests.conftest import APPLICATION_FORM, make_application, png_bytes
from tests.relief.relief_support import state_of, text_of


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
    assert c.post("/relief/applications/add", data=form).status_code == 302
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
    assert "不符" in text_of(r)
    evil = (io.BytesIO(b"PK\x05\x06" + b"\0" * 18), "../../etc/passwd.zip")
    r = c.post(f"/relief/applications/upload/{pk}/medical_record", data={"file": evil},
               content_type="multipart/form-data", follow_redirects=True)
    assert "上传成功" in text_of(r)
    with app.app_context():
        row = db.session.execute(select(Attachment).where(Attachment.owner_id == pk)).scalar_one()
        assert "/" not in row.original_name and ".." not in row.stored_name


def test_oversized_upload_is_refused(app, login_as):
    with app.app_context():
        pk = make_application(with_files=False)
        db.session.execute(db.update(SystemParameter).where(
            SystemParameter.key == "upload_max_mb").values(value="1"))
        db.session.commit()
    big = (io.BytesIO(b"PK\x03\x04" + b"\0" * (1024 * 1024 + 10)), "big.zip")
    r = login_as("ty_hosp1").post(f"/relief/applications/upload/{pk}/cost_list",
                                  data={"file": big}, content_type="multipart/form-data",
                                  follow_redirects=True)
    assert "大小限制" in text_of(r)


def test_submit_needs_required_attachments(app, login_as):
    with app.app_context():
        pk = make_application(with_files=False)
    r = login_as("ty_hosp1").post(f"/relief/applications/transition/submit/{pk}",
                                  follow_redirects=True)
    assert "病案首页或抢救记录或门诊记录" in text_of(r)
    assert state_of(app, pk) == "draft"


def test_typed_dates_in_the_ways_people_write_them_are_accepted(app, login_as):
    """2026/11/01, 2026-11-01 08:00 and a date alone (that day's 00:00) are all understood
    (issue 18 item 2); a value that is no date is refused in Chinese with the rest kept."""
    c = login_as("ty_hosp1")
    form = dict(APPLICATION_FORM, patient_name="日期格式", start_at="2026/11/01 08:00",
                end_at="2026-11-03")
    assert c.post("/relief/applications/add", data=form).status_code == 302
    with app.app_context():
        saved = db.session.execute(select(ReliefApplication).where(
            ReliefApplication.patient_name == "日期格式")).scalar_one()
        assert saved.start_at.strftime("%Y-%m-%d %H:%M:%S") == "2026-11-01 08:00:00"
        assert saved.end_at.strftime("%Y-%m-%d %H:%M:%S") == "2026-11-03 00:00:00"
    r = c.post("/relief/applications/add",
               data=dict(APPLICATION_FORM, patient_name="日期错误", start_at="11月1日上午"))
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "不是有效的日期时间，请按 2026-11-01 08:00 的格式填写" in page and 'value="日期错误"' in page
