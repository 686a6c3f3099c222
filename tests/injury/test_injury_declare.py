"""工伤 hospital screens (SPEC W3–W5, app/views/injury/screens.py): person lookup, the
declaration forms, 采集电子材料 and 我的待提交业务."""
import datetime as dt

from sqlalchemy import func, select

from app.extensions import db
from app.models.files import Attachment
from app.models.injury import InjuryDeclaration
from tests.conftest import flashes
from tests.injury.injury_support import (RELAPSE, complete_relapse, declaration, determination,
                                        device, id_number, latest, save_relapse, text_of,
                                        upload)


# ---- W3 lookup ---------------------------------------------------------------------------


def test_lookup_rejects_a_bad_check_digit_and_says_when_nobody_is_found(login_as, ctx):
    c = login_as("ty_hosp1")
    good = id_number("14010519870315001")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    text = text_of(c.get(f"/injury/declare/?id_number={bad}"), 422)
    assert "校验位错误" in text
    text = text_of(c.get(f"/injury/declare/?id_number={good}"))
    assert "未查询到身份证号" in text and 'id="business-menu"' not in text


def test_two_determinations_give_a_picker_and_the_business_menu(login_as, ctx):
    number = id_number("14010519800101002")
    first, second = determination(number=number), determination(number=number)
    other_region = determination(region_code="140802", number=number)
    text = text_of(login_as("ty_hosp1").get(f"/injury/declare/?id_number={number}"))
    assert "2条工伤认定信息" in text and 'id="business-menu"' in text
    assert first.determination_no in text and second.determination_no in text
    assert other_region.determination_no not in text
    for label in ("旧伤复发治疗申请", "职工转诊转院申请", "职工康复申请", "职工辅助器具配置申请",
                  "职工延长就医申请"):
        assert label in text


def test_the_form_is_filled_from_the_determination_and_another_region_is_404(login_as, ctx):
    det = determination()
    c = login_as("ty_hosp1")
    text = text_of(c.get(f"/injury/declare/new/transfer?determination={det.id}"))
    assert det.determination_no in text and "太原重型机械有限公司" in text and "2025-06-18" in text
    elsewhere = determination(region_code="140802", employer=None)
    assert c.get(f"/injury/declare/new/transfer?determination={elsewhere.id}").status_code == 404
    assert save_relapse(c, elsewhere).status_code == 404
    assert db.session.execute(select(func.count()).select_from(InjuryDeclaration).where(
        InjuryDeclaration.determination_id == elsewhere.id)).scalar() == 0


# ---- W4 saving ---------------------------------------------------------------------------


def test_save_copies_the_determination_and_reset_reloads_the_saved_data(login_as, ctx):
    det = determination()
    c = login_as("ty_hosp1")
    r = save_relapse(c, det)
    assert r.status_code == 302
    item = latest()
    assert (item.kind, item.state, item.determination_no, item.employer_id, item.department) == \
        ("relapse", "draft", det.determination_no, det.employer_id, "骨科")
    r = c.post(f"/injury/declare/edit/{item.id}",
               data={"determination": det.id, **RELAPSE, "department": "", "diagnosis": "改"})
    assert r.status_code == 422 and "请填写就诊科室" in r.get_data(as_text=True)
    assert declaration(item.id).diagnosis == RELAPSE["diagnosis"]     # nothing changed
    text = text_of(c.get(f"/injury/declare/edit/{item.id}"))   # 重置
    assert RELAPSE["diagnosis"] in text and 'value="骨科"' in text


def test_dates_in_the_wrong_order_are_refused(login_as, ctx):
    det = determination()
    r = login_as("ty_hosp1").post("/injury/declare/new/rehab", data={
        "determination": det.id, "rehab_items": "运动疗法", "start_date": "2026-11-10",
        "end_date": "2026-11-01", "rehab_institution": "康复中心", "opinion": "同意"})
    assert r.status_code == 422 and "康复结束日期不能早于开始日期" in r.get_data(as_text=True)


def test_device_lines_validate_dates_and_search_is_fuzzy(login_as, ctx):
    det, item = determination(), device(name="碳纤维小腿假肢")
    c = login_as("ty_hosp1")
    for query in ("小腿", item.code[1:5]):
        r = c.get(f"/injury/declare/devices?q={query}")
        assert r.status_code == 200 and item.code in [d["code"] for d in r.json["items"]]
    before = db.session.execute(select(func.count()).select_from(InjuryDeclaration)).scalar()
    data = {"determination": det.id, "opinion": "", "line_item": [item.code],
            "line_quantity": ["1"], "line_price": ["12800.00"],
            "line_configured_on": ["20191332"], "line_usage_years": ["3"]}
    r = c.post("/injury/declare/new/device", data=data)
    assert r.status_code == 422 and "20191332" in r.get_data(as_text=True)
    assert db.session.execute(select(func.count()).select_from(InjuryDeclaration)).scalar() == before
    data["line_configured_on"] = ["20191107"]
    assert c.post("/injury/declare/new/device", data=data).status_code == 302
    saved = latest()
    assert [(ln.item_id, ln.configured_on) for ln in saved.lines] == [(item.id, dt.date(2019, 11, 7))]


# ---- materials and 我的待提交业务 -------------------------------------------------------------


def test_materials_accept_images_only_and_the_button_turns_green(login_as, ctx, app):
    det = determination()
    c = login_as("ty_hosp1")
    assert save_relapse(c, det).status_code == 302
    pk = latest().id
    page = text_of(c.get("/injury/pending/"))
    assert "btn-warning attachments-button" in page
    r = upload(c, pk, "diagnosis_proof", data=b"%PDF-1.4 not an image", name="诊断.png")
    assert r.status_code == 200 and "成功" not in flashes(r)
    assert db.session.execute(select(func.count()).select_from(Attachment).where(
        Attachment.owner_type == "injury_declaration", Attachment.owner_id == pk)).scalar() == 0
    for slot in ("determination_doc", "diagnosis_proof"):
        r = upload(c, pk, slot)
        assert r.status_code == 200 and "已上传1张图片" in flashes(r)
    assert "btn-success attachments-button" in text_of(c.get("/injury/pending/"))
    page = text_of(c.get(f"/injury/declare/materials/{pk}"))
    assert 'accept="image/*"' in page and "capture" in page


def test_submit_is_all_or_nothing_and_names_the_missing_material(login_as, ctx):
    det = determination()
    c = login_as("ty_hosp1")
    ready = complete_relapse(c, det)
    assert save_relapse(c, determination()).status_code == 302      # one draft per person
    lacking = latest().id
    r = c.post("/injury/pending/batch/submit", data={"ids": [ready, lacking]},
               follow_redirects=True)
    assert r.status_code == 409             # the page again, both rows still ticked
    assert "诊断证明书" in flashes(r) and "未做任何修改" in flashes(r)
    assert declaration(ready).state == declaration(lacking).state == "draft"
    assert c.post("/injury/pending/batch/delete", data={"ids": [lacking]}).status_code == 302
    r = c.post("/injury/pending/batch/submit", data={"ids": [ready]}, follow_redirects=True)
    assert r.status_code == 200
    item = declaration(ready)
    assert item.state == "employer_review" and item.submitted_at is not None
    assert declaration(lacking).state == "deleted"
    assert f"<td>{ready}</td>" not in text_of(c.get("/injury/pending/"))


def test_another_hospital_cannot_touch_a_draft(login_as, ctx):
    det = determination()
    assert save_relapse(login_as("ty_hosp1"), det).status_code == 302
    pk = latest().id
    other = login_as("ty_hosp2")
    assert other.get(f"/injury/declare/edit/{pk}").status_code == 404
    assert other.get(f"/injury/declare/materials/{pk}").status_code == 404
    assert other.post("/injury/pending/batch/delete", data={"ids": [pk]}).status_code == 404
    assert declaration(pk).state == "draft"


def test_device_search_matches_the_category_and_says_when_more_match(login_as, ctx):
    c = login_as("ty_hosp1")
    answer = c.get("/injury/declare/devices?q=拐杖").json
    assert {"腋拐", "肘拐"} <= {d["name"] for d in answer["items"]} and not answer["more"]
    for n in range(21):
        device(code=f"MORE{n:03d}", name=f"测试轮椅{n}")
    answer = c.get("/injury/declare/devices?q=测试轮椅").json
    assert len(answer["items"]) == 20 and answer["more"] and "仅显示前20条" in answer["message"]
