"""工伤定点医疗机构服务 through the screens (SPEC W2–W8): lookup, the five declarations,
materials, 我的待提交业务, employer and agency review, the timeout, 办理情况查询 and 重新申报."""
import datetime as dt
import io
import uuid

import openpyxl
from sqlalchemy import func, select

from app.extensions import db
from app.models.core import Region
from app.models.files import Attachment
from app.models.injury import InjuryDeclaration, InjuryDetermination, InjuryDeviceItem
from app.services import validators
from tests.conftest import flashes, png_bytes, user


def flashes_text(text):
    import re
    return re.findall(r'class="alert[^"]*"[^>]*>(.*?)</div>', text, re.S)


def id_number(body17):
    return body17 + validators._id_check_char(body17)


def determination(region_code="140105", number=None, employer="ty_employer", **kw):
    region = db.session.execute(select(Region).where(Region.code == region_code)).scalar_one()
    emp = user(employer).organization if employer else None
    det = InjuryDetermination(
        id_number=number or id_number("14010519870315" + str(uuid.uuid4().int)[:3]),
        person_name=kw.get("name", "测试职工"), employer_name=emp.name if emp else "外单位",
        employer_id=emp.id if emp else None, injury_type="injury",
        determination_no=f"测认〔2026〕{uuid.uuid4().hex[:10]}号",
        injury_date=dt.date(2025, 6, 18), region_id=region.id)
    det.copy_scope_from(region)
    db.session.add(det)
    db.session.commit()
    return det


def device(code=None, name="碳纤维小腿假肢"):
    item = InjuryDeviceItem(code=code or "T" + uuid.uuid4().hex[:8], name=name, category="假肢",
                            specification="储能脚", price="12800.00", usage_years=3)
    db.session.add(item)
    db.session.commit()
    return item


RELAPSE = {"diagnosis": "右胫骨骨折术后再骨折", "recurrence_date": "2026-10-08",
           "treatment_plan": "切开复位内固定", "department": "骨科", "opinion": "建议住院治疗"}


def save_relapse(c, det, **overrides):
    return c.post("/injury/declare/new/relapse",
                  data={"determination": det.id, **RELAPSE, **overrides})


def declaration(pk):
    db.session.expire_all()
    return db.session.get(InjuryDeclaration, pk)


def latest():
    return db.session.execute(select(InjuryDeclaration).order_by(
        InjuryDeclaration.id.desc()).limit(1)).scalar_one()


def upload(c, pk, slot, data=None, name="诊断.png"):
    return c.post(f"/injury/declare/materials/{pk}/{slot}",
                  data={"file": (io.BytesIO(data or png_bytes()), name)},
                  content_type="multipart/form-data", follow_redirects=True)


def complete_relapse(c, det):
    assert save_relapse(c, det).status_code == 302
    pk = latest().id
    for slot in ("determination_doc", "diagnosis_proof"):
        upload(c, pk, slot)
    return pk


def submitted(c, det):
    pk = complete_relapse(c, det)
    c.post("/injury/pending/batch/submit", data={"ids": [pk]})
    assert declaration(pk).state == "employer_review"
    return pk


# ---- W3 lookup ---------------------------------------------------------------------------


def test_lookup_rejects_a_bad_check_digit_and_says_when_nobody_is_found(login_as, ctx):
    c = login_as("ty_hosp1")
    good = id_number("14010519870315001")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    text = c.get(f"/injury/declare/?id_number={bad}").get_data(as_text=True)
    assert "校验位错误" in flashes(c.get(f"/injury/declare/?id_number={bad}")) or "校验位错误" in text
    text = c.get(f"/injury/declare/?id_number={good}").get_data(as_text=True)
    assert "未查询到身份证号" in text and 'id="business-menu"' not in text


def test_two_determinations_give_a_picker_and_the_business_menu(login_as, ctx):
    number = id_number("14010519800101002")
    first, second = determination(number=number), determination(number=number)
    other_region = determination(region_code="140802", number=number)
    text = login_as("ty_hosp1").get(f"/injury/declare/?id_number={number}").get_data(as_text=True)
    assert "2条工伤认定信息" in text and 'id="business-menu"' in text
    assert first.determination_no in text and second.determination_no in text
    assert other_region.determination_no not in text
    for label in ("旧伤复发治疗申请", "职工转诊转院申请", "职工康复申请", "职工辅助器具配置申请",
                  "职工延长就医申请"):
        assert label in text


def test_the_form_is_filled_from_the_determination_and_another_region_is_404(login_as, ctx):
    det = determination()
    c = login_as("ty_hosp1")
    text = c.get(f"/injury/declare/new/transfer?determination={det.id}").get_data(as_text=True)
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
    text = c.get(f"/injury/declare/edit/{item.id}").get_data(as_text=True)   # 重置
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
    found = c.get("/injury/declare/devices?q=小腿").json
    assert item.code in [d["code"] for d in found]
    assert item.code in [d["code"] for d in c.get(f"/injury/declare/devices?q={item.code[1:5]}").json]
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
    save_relapse(c, det)
    pk = latest().id
    page = c.get("/injury/pending/").get_data(as_text=True)
    assert "btn-warning attachments-button" in page
    r = upload(c, pk, "diagnosis_proof", data=b"%PDF-1.4 not an image", name="诊断.png")
    assert "诊断.png" not in flashes(r) or "成功" not in flashes(r)
    assert db.session.execute(select(func.count()).select_from(Attachment).where(
        Attachment.owner_type == "injury_declaration", Attachment.owner_id == pk)).scalar() == 0
    for slot in ("determination_doc", "diagnosis_proof"):
        assert "已上传1张图片" in flashes(upload(c, pk, slot))
    assert "btn-success attachments-button" in c.get("/injury/pending/").get_data(as_text=True)
    page = c.get(f"/injury/declare/materials/{pk}").get_data(as_text=True)
    assert 'accept="image/*"' in page and "capture" in page


def test_submit_is_all_or_nothing_and_names_the_missing_material(login_as, ctx):
    det = determination()
    c = login_as("ty_hosp1")
    ready = complete_relapse(c, det)
    save_relapse(c, det)
    lacking = latest().id
    r = c.post("/injury/pending/batch/submit", data={"ids": [ready, lacking]},
               follow_redirects=True)
    assert "诊断证明书" in flashes(r) and "未做任何修改" in flashes(r)
    assert declaration(ready).state == declaration(lacking).state == "draft"
    c.post("/injury/pending/batch/delete", data={"ids": [lacking]})
    r = c.post("/injury/pending/batch/submit", data={"ids": [ready]}, follow_redirects=True)
    item = declaration(ready)
    assert item.state == "employer_review" and item.submitted_at is not None
    assert declaration(lacking).state == "deleted"
    assert f"<td>{ready}</td>" not in c.get("/injury/pending/").get_data(as_text=True)


def test_another_hospital_cannot_touch_a_draft(login_as, ctx):
    det = determination()
    save_relapse(login_as("ty_hosp1"), det)
    pk = latest().id
    other = login_as("ty_hosp2")
    assert other.get(f"/injury/declare/edit/{pk}").status_code == 404
    assert other.get(f"/injury/declare/materials/{pk}").status_code == 404
    assert other.post("/injury/pending/batch/delete", data={"ids": [pk]}).status_code == 404
    assert declaration(pk).state == "draft"


# ---- W6 employer, W7 agency ----------------------------------------------------------------


def test_employer_then_agency_approve(login_as, ctx):
    det = determination()
    pk = submitted(login_as("ty_hosp1"), det)
    employer = login_as("ty_employer")
    assert f"/injury/employer/review/{pk}" in employer.get(
        "/injury/employer/list/?status=employer_review").get_data(as_text=True)
    r = employer.post(f"/injury/employer/transition/employer_reject/{pk}", data={"comment": ""},
                      follow_redirects=True)
    assert "请填写审核不通过意见" in flashes(r) and declaration(pk).state == "employer_review"
    employer.post(f"/injury/employer/transition/employer_approve/{pk}",
                  data={"comment": "情况属实"})
    assert (declaration(pk).state, declaration(pk).employer_opinion) == ("agency_review", "情况属实")
    assert login_as("yc_agency").get(f"/injury/agency/show/{pk}").status_code == 404
    agency = login_as("ty_agency")
    listing = agency.get("/injury/agency/list/").get_data(as_text=True)
    assert f"/injury/agency/review/{pk}" in listing and 'name="action" value="submit"' not in \
        listing and "action_post" not in listing
    agency.post(f"/injury/agency/transition/agency_approve/{pk}", data={"comment": "同意"})
    assert declaration(pk).state == "approved"
    text = login_as("ty_hosp1").get(f"/injury/declarations/show/{pk}").get_data(as_text=True)
    assert "情况属实" in text and "同意" in text and "通过" in text


def test_another_employer_gets_404(app, login_as, ctx):
    from app.services import accounts
    from tests.conftest import PASSWORD
    det = determination()
    pk = submitted(login_as("ty_hosp1"), det)
    org = accounts.Organization(name="另一家用人单位", org_type="employer", level="county",
                                region_id=user("ty_employer").organization.region_id,
                                unit_code=accounts.next_unit_code(
                                    user("ty_employer").organization.region))
    org.copy_scope_from(user("ty_employer").organization)
    db.session.add(org)
    db.session.flush()
    accounts.create_user(user("admin"), org, "other_employer", "另一家", password=PASSWORD,
                         must_change=False)
    db.session.commit()
    other = login_as("other_employer")
    assert other.get(f"/injury/employer/show/{pk}").status_code == 404
    assert other.post(f"/injury/employer/transition/employer_approve/{pk}").status_code == 404
    assert declaration(pk).state == "employer_review"


def test_employer_timeout_is_approved_by_the_system_when_read(login_as, ctx, monkeypatch):
    from app.services import clock
    det = determination()
    pk = submitted(login_as("ty_hosp1"), det)
    employer = login_as("ty_employer")
    real_now = clock.now
    monkeypatch.setattr(clock, "now", lambda: real_now() + dt.timedelta(hours=23))
    employer.get("/injury/employer/list/")
    assert declaration(pk).state == "employer_review"
    monkeypatch.setattr(clock, "now", lambda: real_now() + dt.timedelta(hours=24, minutes=1))
    employer.get("/injury/employer/list/")
    item = declaration(pk)
    assert item.state == "agency_review" and item.employer_auto_approved
    r = employer.post(f"/injury/employer/transition/employer_approve/{pk}", follow_redirects=True)
    assert "经办审核中" in flashes(r) and declaration(pk).employer_opinion is None
    history = login_as("ty_hosp1").get(f"/injury/declarations/show/{pk}").get_data(as_text=True)
    assert "超时自动通过" in history and "系统" in history
    assert f"/injury/agency/review/{pk}" in login_as("ty_agency").get(
        "/injury/agency/list/?status=agency_review").get_data(as_text=True)


def test_auto_approve_command_moves_the_clock(app, login_as, ctx):
    det = determination()
    pk = submitted(login_as("ty_hosp1"), det)
    runner = app.test_cli_runner()
    soon = (declaration(pk).submitted_at + dt.timedelta(hours=1)).isoformat(" ", "minutes")
    assert "auto-approved: 0" in runner.invoke(args=["injury", "auto-approve", "--at", soon]).output
    later = (declaration(pk).submitted_at + dt.timedelta(hours=25)).isoformat(" ", "minutes")
    out = runner.invoke(args=["injury", "auto-approve", "--at", later]).output
    assert "auto-approved: 1" in out and declaration(pk).state == "agency_review"
    assert runner.invoke(args=["injury", "auto-approve", "--at", "20191332"]).exit_code != 0


# ---- W8 办理情况查询 and 重新申报 ---------------------------------------------------------------


def test_rejected_declaration_is_resubmitted_as_a_linked_prefilled_draft(login_as, ctx):
    det = determination()
    hosp = login_as("ty_hosp1")
    pk = submitted(hosp, det)
    login_as("ty_employer").post(f"/injury/employer/transition/employer_reject/{pk}",
                                 data={"comment": "非本单位职工"})
    assert declaration(pk).state == "rejected"
    month = (declaration(pk).submitted_at + dt.timedelta(hours=8)).strftime("%Y-%m")
    listing = hosp.get(f"/injury/declarations/list/?month={month}&status=rejected")
    assert f"/injury/declarations/show/{pk}" in listing.get_data(as_text=True)
    assert f"/injury/declarations/show/{pk}" not in hosp.get(
        "/injury/declarations/list/?status=approved").get_data(as_text=True)
    assert f"/injury/declarations/show/{pk}" not in hosp.get(
        "/injury/declarations/list/?month=2001-01").get_data(as_text=True)
    assert "提交年月格式" in hosp.get("/injury/declarations/list/?month=2026-13").get_data(
        as_text=True)
    r = hosp.post(f"/injury/declarations/resubmit/{pk}")
    copy = latest()
    assert r.status_code == 302 and f"/injury/declare/edit/{copy.id}" in r.location
    assert (copy.state, copy.resubmitted_from_id, copy.diagnosis) == ("draft", pk,
                                                                      RELAPSE["diagnosis"])
    hosp.post(f"/injury/declarations/resubmit/{pk}")
    assert latest().id == copy.id                      # one open copy, not two
    assert login_as("ty_hosp2").post(f"/injury/declarations/resubmit/{pk}").status_code == 404


def test_hall_and_home_show_the_hospital_figures(login_as, ctx):
    det = determination()
    hosp = login_as("ty_hosp1")
    save_relapse(hosp, det)
    for page in ("/injury/hall/", "/"):
        text = hosp.get(page).get_data(as_text=True)
        assert "太原市第一人民医院" in text and 'id="hall-pending"' in text
        assert 'id="hall-month"' in text and 'id="hall-results"' in text
        assert "/injury/declare/?kind=device" in text
    assert 'id="hall-news"' in hosp.get("/injury/hall/").get_data(as_text=True)
    assert 'id="hall-pending"' not in login_as("ty_agency").get("/").get_data(as_text=True)


# ---- determinations import (P12) ------------------------------------------------------------


def test_determination_import_is_all_or_nothing_and_scoped(login_as, ctx):
    c = login_as("ty_agency")
    wb = openpyxl.load_workbook(io.BytesIO(c.get("/injury/determinations/import/template").data))
    ws = wb.worksheets[0]
    good = id_number("14010619900202003")
    no = f"导认{uuid.uuid4().hex[:8]}"
    ws.append([good, "导入职工", "太原重型机械有限公司", None, "工伤", no, "2025-01-02", "140106"])
    ws.append([good[:17] + ("1" if good[17] == "0" else "0"), "错号", "某单位", None, "工伤",
               no + "b", "2025-01-02", "140106"])
    ws.append([good, "外地", "某单位", None, "职业病", no + "c", "2025-01-02", "140802"])

    def send():
        buf = io.BytesIO()
        wb.save(buf)
        buf.seek(0)
        return c.post("/injury/determinations/import/", data={"file": (buf, "认定.xlsx")},
                      content_type="multipart/form-data", follow_redirects=True
                      ).get_data(as_text=True)

    text = send()
    assert "未导入任何数据" in text, flashes_text(text) and "校验位错误" in text and "不在本机构管辖范围内" in text
    count = select(func.count()).select_from(InjuryDetermination).where(
        InjuryDetermination.determination_no.like(no + "%"))
    assert db.session.execute(count).scalar() == 0
    ws.delete_rows(3, 2)
    assert "导入成功" in send()
    row = db.session.execute(select(InjuryDetermination).where(
        InjuryDetermination.determination_no == no)).scalar_one()
    assert (row.city_code, row.employer_id) == ("140100", user("ty_employer").organization_id)
