"""医疗机构信息维护 screens (SPEC M1–M7) through the browser's requests: register → authorise
(search or 新增, PDF, stamped scan recognised) → agency review → 维护 → 提交审核 → national
审核赋码 → 定点协议 → agency 确认 → 入库, and the issue's bad input on the screens."""
import io
import random
import re

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from app.extensions import db
from app.models.core import Organization, User
from app.models.registry import (DesignatedInstitution, RegistryAgreement,
                                 RegistryAuthorization, RegistryInstitution, RegistryStaff)
from app.services.files import files_of
from app.services.registry import authorization as registry_auth
from app.services.registry import commands
from app.services.validators import _uscc_check_char
from tests.conftest import flashes, user

CLINIC = {"legal_name": "太原仁和医疗有限公司", "name": "太原仁和诊所",
          "uscc": "91140105MA0KXQ1P2X", "licence_no": "PDY00009914010521D2152",
          "province": "140000", "city": "140100", "county": "140105",
          "address": "山西省太原市小店区平阳路2号", "pooling_code": "140100",
          "uses_e_voucher": "1", "category": "诊所", "grade": "未定级",
          "phone": "0351-7770002"}
PASSWORD = "Reg@2026x"


def text(r):
    return r.get_data(as_text=True)


def valid_uscc(body17):
    return body17 + _uscc_check_char(body17)


def inst_named(name):
    return db.session.execute(select(RegistryInstitution).join(Organization).where(
        Organization.name == name)).scalar_one()


def count(model):
    return db.session.execute(select(func.count(model.id))).scalar()


def register(client, login="renhe_maint", role_kind="maintainer", **overrides):
    data = {"username": login, "name": "仁和信息员", "mobile": "13903519999",
            "password": PASSWORD, "confirm": PASSWORD, "role_kind": role_kind, **overrides}
    return client.post("/registry/register/", data=data)


def logged_in(app, login, password=PASSWORD):
    c = app.test_client()
    r = c.post("/login/", data={"username": login, "password": password})
    assert r.status_code == 302, text(r)[:300]
    return c


def new_clinic(c, **overrides):
    return c.post("/registry/authorizations/new-institution", data={**CLINIC, **overrides})


def scan_of(pdf, angle=0, jpeg=True):
    """Print → stamp → scan: page 1 at 150 dpi, a red stamp, rotated, noisy, as JPEG."""
    page = pdfium.PdfDocument(pdf)[0].render(scale=150 / 72).to_pil().convert("RGB")
    draw = ImageDraw.Draw(page)
    w, h = page.size
    draw.ellipse((w * 0.55, h * 0.62, w * 0.85, h * 0.80), outline=(220, 30, 30), width=8)
    rnd = random.Random(7)
    px = page.load()
    for _ in range(4000):
        x, y = rnd.randrange(w), rnd.randrange(h)
        px[x, y] = (0, 0, 0) if rnd.random() < 0.5 else (255, 255, 255)
    page = page.rotate(angle, expand=True, fillcolor=(255, 255, 255))
    buf = io.BytesIO()
    page.save(buf, "JPEG" if jpeg else "PNG", quality=60)
    return buf.getvalue()


def upload(c, auth_id, data, name="授权书.jpg"):
    return c.post(f"/registry/authorizations/upload-form/{auth_id}",
                  data={"file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")


def test_registration_and_help_pages_are_public(client):
    r = client.get("/registry/register/")
    assert r.status_code == 200 and "角色类型" in text(r) and "医疗机构维护人员" in text(r)
    help_page = client.get("/registry/register/help")
    assert help_page.status_code == 200 and "附件无法识别时，如何操作？" in text(help_page)
    assert "注册账号" in text(client.get("/login/"))


def test_registration_refuses_bad_input_and_creates_nothing(client, ctx):
    before = count(User)
    r = register(client, login="ty_maint", mobile="123", confirm="other", role_kind="")
    page = text(r)
    assert r.status_code == 422
    for message in ("已被使用", "请填写11位手机号", "请选择角色类型", "两次输入的密码不一致"):
        assert message in page
    assert count(User) == before


def ok(r, status=200):
    """One step of a chain: its status (a redirect after every successful POST)."""
    assert r.status_code == status, flashes(r) if status == 302 else text(r)[:1500]
    return r


def test_whole_chain_in_the_browser(app, client, login_as, ctx):
    # M1: register, asking for the maintainer role.
    ok(register(client), 302)
    reg = user("renhe_maint")
    assert reg.organization_id is None and reg.registry_role == "maintainer"
    c = logged_in(app, "renhe_maint")
    # M2: search finds nothing → 新增 the clinic, which opens the authorisation.
    assert "没有检索到可授权的机构" in text(ok(c.get("/registry/authorizations/list/?q=仁和")))
    ok(new_clinic(c), 302)
    inst = inst_named("太原仁和诊所")
    auth = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.institution_id == inst.id)).scalar_one()
    assert auth.state == "draft" and re.fullmatch(r"SQ\d{8}\d{6}", auth.auth_no)
    # 生成授权文件并下载: a PDF, the same bytes on every click.
    first = ok(c.get(f"/registry/authorizations/document/{auth.id}"))
    second = ok(c.get(f"/registry/authorizations/document/{auth.id}"))
    assert first.mimetype == "application/pdf" and first.data == second.data
    # 授权文书上传: a rotated, stamped, noisy scan of the printed file is recognised.
    ok(upload(c, auth.id, scan_of(first.data, angle=90)), 302)
    db.session.refresh(auth)
    assert auth.state == "uploaded"
    # The pooling area's agency approves: the account gets the role and the institution.
    agency = login_as("ty_agency")
    assert auth.auth_no in text(ok(agency.get("/registry/authorizations/list/")))
    ok(agency.post(f"/registry/authorizations/transition/approve/{auth.id}"), 302)
    assert "审核通过成功" in flashes(ok(agency.get("/registry/authorizations/list/")))
    db.session.expire_all()
    assert auth.state == "approved" and inst.maintainer_id == reg.id
    assert reg.organization_id == inst.organization_id
    assert "M 机构维护人员" in {role.name for role in user("renhe_maint").roles}
    # M3: maintain, then M4 提交审核 locks editing.
    c = logged_in(app, "renhe_maint")
    ok(c.post(f"/registry/institutions/maintain/{inst.id}",
              data={**CLINIC, "phone": "13800001111"}), 302)
    db.session.expire_all()
    assert inst.organization.phone == "13800001111"
    ok(c.post(f"/registry/institutions/transition/submit/{inst.id}"), 302)
    db.session.expire_all()
    assert inst.state == "submitted"
    ok(c.post(f"/registry/institutions/maintain/{inst.id}",
              data={**CLINIC, "phone": "13800002222"}), 302)
    assert "待审核，不能维护" in flashes(ok(c.get(f"/registry/institutions/show/{inst.id}")))
    db.session.expire_all()
    assert inst.organization.phone == "13800001111"
    # M5: national 审核赋码 assigns H + region + sequence.
    nhc = login_as("nhc")
    ok(nhc.post(f"/registry/institutions/transition/approve/{inst.id}"), 302)
    db.session.expire_all()
    assert inst.state == "coded"
    assert re.fullmatch(r"H14010500\d{3}", inst.organization.national_code)
    assert inst.organization.national_code != "H14010500001"     # 太原市第一人民医院's
    # M6: agreement with the 医保部门 chosen by region and name → 待确认 → 确认 → 入库.
    agency_org = user("ty_ybj").organization
    form = ok(c.post("/registry/agreements/new", data={
        "agency_search": "1", "agency_region": "140100", "agency_name": "太原"}))
    assert agency_org.name in text(form)
    ok(c.post("/registry/agreements/new", data={
        "institution_id": inst.id, "agency_org_id": agency_org.id, "agreement_no": "TY-RH-01",
        "agreement_type": "service", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "content": "服务协议", "file": (io.BytesIO(first.data), "协议.pdf")},
        content_type="multipart/form-data"), 302)
    agreement = db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.agreement_no == "TY-RH-01")).scalar_one()
    assert agreement.state == "pending"
    assert files_of(agreement).get("agreement_doc")
    ok(login_as("ty_ybj").post(f"/registry/agreements/transition/confirm/{agreement.id}"), 302)
    db.session.expire_all()
    assert agreement.state == "confirmed"
    assert commands.sync_agreements()[0] >= 1
    published = db.session.execute(select(DesignatedInstitution).where(
        DesignatedInstitution.agreement_id == agreement.id)).scalar_one()
    assert published.national_code == inst.organization.national_code
    listed = text(ok(agency.get("/registry/designated/list/")))
    assert "TY-RH-01" in listed and inst.organization.national_code in listed


def test_new_institution_with_wrong_uscc_check_character_changes_nothing(app, client, ctx):
    register(client)
    c = logged_in(app, "renhe_maint")
    before = (count(Organization), count(RegistryInstitution), count(RegistryAuthorization))
    r = new_clinic(c, uscc="91140105MA0KXQ1P2Y")
    assert r.status_code == 422 and "统一社会信用代码校验位错误" in text(r)
    assert (count(Organization), count(RegistryInstitution),
            count(RegistryAuthorization)) == before


def test_duplicate_institution_messages(app, client, ctx):
    register(client)
    c = logged_in(app, "renhe_maint")
    # 太原康宁口腔诊所 exists and nobody maintains it yet: choose it from the list.
    kangning = {**CLINIC, "name": "太原康宁口腔诊所", "uscc": "91140105MA0KXQ1P2X",
                "licence_no": "PDY00003114010521D2152"}
    before = count(Organization)
    assert "请在机构列表中搜索选择该机构" in text(new_clinic(c, **kangning))
    # 太原市第一人民医院 is maintained by ty_maint: invisible, the manual's message.
    hosp = user("ty_maint").organization
    r = new_clinic(c, name=hosp.name, uscc=hosp.uscc, licence_no=hosp.licence_no)
    assert "该机构已被其他维护用户授权维护" in text(r)
    assert hosp.name not in text(c.get("/registry/authorizations/list/?q=第一人民"))
    assert count(Organization) == before


def test_unrecognisable_and_foreign_scans_are_refused_with_help(app, client, login_as, ctx):
    register(client)
    c = logged_in(app, "renhe_maint")
    new_clinic(c)
    auth = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.user_id == user("renhe_maint").id)).scalar_one()
    blank = io.BytesIO()
    Image.new("RGB", (1200, 1600), "white").save(blank, "PNG")
    r = upload(c, auth.id, blank.getvalue(), "空白.png")
    assert r.status_code == 422
    assert "无法识别" in text(r) and "附件无法识别时，如何操作？" in text(r)
    # The stamped file of another authorisation (reg_demo's) names the other number.
    other = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.user_id == user("reg_demo").id)).scalar_one()
    r = upload(c, auth.id, registry_auth.document_pdf(other), "别人的.pdf")
    assert r.status_code == 422 and other.auth_no in text(r) and "不一致" in text(r)
    db.session.expire_all()
    assert auth.state == "draft" and not auth.uploaded_at


def test_no_uscc_needs_the_explanation_pdf_before_submission(app, client, login_as, ctx):
    register(client)
    c = logged_in(app, "renhe_maint")
    r = new_clinic(c, uscc="", no_uscc="1")
    assert r.status_code == 302, text(r)[:1500]
    inst = inst_named("太原仁和诊所")
    assert inst.no_uscc and inst.organization.uscc is None
    auth = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.institution_id == inst.id)).scalar_one()
    upload(c, auth.id, registry_auth.document_pdf(auth), "授权书.pdf")
    login_as("ty_agency").post(f"/registry/authorizations/transition/approve/{auth.id}")
    c = logged_in(app, "renhe_maint")
    r = c.post(f"/registry/institutions/transition/submit/{inst.id}",
               headers={"Referer": f"/registry/institutions/show/{inst.id}"})
    page = text(c.get(f"/registry/institutions/show/{inst.id}"))
    db.session.expire_all()
    assert inst.state == "draft" and "说明材料" in page
    pdf = registry_auth.document_pdf(auth)
    c.post(f"/registry/institutions/upload/{inst.id}/no_uscc_explanation",
           data={"file": (io.BytesIO(pdf), "说明.pdf")}, content_type="multipart/form-data")
    c.post(f"/registry/institutions/transition/submit/{inst.id}")
    db.session.expire_all()
    assert inst.state == "submitted"


def test_military_institution_may_omit_the_licence_number(app, client, ctx):
    register(client)
    c = logged_in(app, "renhe_maint")
    assert "必填（部队医疗机构可不填）" in text(new_clinic(c, licence_no=""))
    r = new_clinic(c, licence_no="", military="1")
    assert r.status_code == 302
    assert inst_named("太原仁和诊所").organization.licence_no is None


def test_coded_institution_cannot_be_deleted(login_as, ctx):
    inst = inst_named("太原市第一人民医院")
    c = login_as("ty_maint")
    c.post(f"/registry/institutions/transition/delete/{inst.id}")
    page = text(c.get(f"/registry/institutions/show/{inst.id}"))
    assert "已赋码的机构不能删除" in page
    db.session.expire_all()
    assert inst.state == "coded"


def test_coded_institution_certificates_change_only_by_request(login_as, ctx):
    inst = inst_named("太原市第一人民医院")
    c = login_as("ty_maint")
    form = text(c.get(f"/registry/institutions/maintain/{inst.id}"))
    assert "证号变更申请" in form and 'name="uscc"' not in form
    new_uscc = valid_uscc("12140100405814461")
    r = c.post(f"/registry/cert-changes/new/{inst.id}",
               data={"new_uscc": new_uscc, "reason": "营业执照换发"})
    assert r.status_code == 302, text(r)[:1000]
    assert inst.organization.uscc == "12140100405814452W"
    change_id = int(r.headers["Location"].rstrip("/").split("/")[-1])
    assert login_as("yc_agency").post(
        f"/registry/cert-changes/transition/approve/{change_id}").status_code == 404
    login_as("ty_agency").post(f"/registry/cert-changes/transition/approve/{change_id}")
    db.session.expire_all()
    assert inst.organization.uscc == new_uscc


def test_name_change_resets_staff_and_archive_archives_them(login_as, ctx):
    inst = inst_named("太原市第一人民医院")
    c = login_as("ty_maint")
    values = {"legal_name": "太原市第一人民医院", "name": "太原市第一人民医院（总院）",
              "province": "140000", "city": "140100", "county": "140105",
              "address": "山西省太原市示例路1号", "pooling_code": "140100", "uses_e_voucher": "1",
              "category": "综合医院", "grade": "三级甲等", "phone": "0351-4960001"}
    r = c.post(f"/registry/institutions/maintain/{inst.id}", data=values)
    assert r.status_code == 302, text(r)[:1500]
    assert "人员信息重置为待提交" in flashes(c.get(f"/registry/institutions/show/{inst.id}"))
    states = set(db.session.execute(select(RegistryStaff.state).where(
        RegistryStaff.institution_id == inst.id)).scalars())
    assert states == {"draft"}
    agency = login_as("ty_agency")
    assert "意见" in text(agency.get(f"/registry/institutions/transition/archive/{inst.id}"))
    agency.post(f"/registry/institutions/transition/archive/{inst.id}",
                data={"comment": "机构已注销"})
    db.session.expire_all()
    assert inst.state == "archived"
    assert set(db.session.execute(select(RegistryStaff.state).where(
        RegistryStaff.institution_id == inst.id)).scalars()) == {"archived"}


def test_another_agency_cannot_see_or_confirm_an_agreement(login_as, ctx):
    pending = db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.state == "pending")).scalars().first()
    yc = login_as("yc_ybj")
    assert yc.get(f"/registry/agreements/show/{pending.id}").status_code == 404
    assert yc.post(f"/registry/agreements/transition/confirm/{pending.id}").status_code == 404
    assert pending.agreement_no not in text(yc.get("/registry/agreements/list/"))
    db.session.expire_all()
    assert pending.state == "pending"


def test_institution_edit_returns_agreement_to_pending(login_as, ctx):
    confirmed = db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.agreement_no == "TY-YB-2026-0001")).scalar_one()
    data = {"institution_id": confirmed.institution_id, "agency_org_id": confirmed.agency_org_id,
            "agreement_no": confirmed.agreement_no, "agreement_type": "service",
            "start_date": "2026-01-01", "end_date": "2026-11-30", "content": "提前终止"}
    agency = login_as("ty_ybj")
    agency.post(f"/registry/agreements/change/{confirmed.id}", data=data)
    db.session.expire_all()
    assert confirmed.state == "confirmed" and str(confirmed.end_date) == "2026-11-30"
    login_as("ty_maint").post(f"/registry/agreements/change/{confirmed.id}", data=data)
    db.session.expire_all()
    assert confirmed.state == "pending"


def test_bad_agreement_dates_change_nothing(login_as, ctx):
    inst = inst_named("太原市第一人民医院")
    before = count(RegistryAgreement)
    r = login_as("ty_maint").post("/registry/agreements/new", data={
        "institution_id": inst.id, "agency_org_id": user("ty_agency").organization_id,
        "agreement_no": "X-1", "agreement_type": "service", "start_date": "2026-12-31",
        "end_date": "2026-01-01"})
    assert "协议结束日期不能早于开始日期" in text(r)
    assert count(RegistryAgreement) == before


@pytest.mark.parametrize("login,url", [
    ("yc_agency", "/registry/institutions/show/{inst}"),
    ("ty_maint2", "/registry/institutions/maintain/{inst}"),
    ("reg_demo", "/registry/institutions/show/{inst}"),
    ("ty_maint", "/registry/authorizations/document/{auth}"),
])
def test_out_of_scope_is_404(login_as, ctx, login, url):
    inst = inst_named("太原市第一人民医院")
    auth = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.user_id == user("reg_demo").id)).scalar_one()
    assert login_as(login).get(url.format(inst=inst.id, auth=auth.id)).status_code == 404


def test_doctor_editor_cannot_add_a_nurse(app, client, login_as, ctx):
    register(client, login="doc_editor", role_kind="doctor")
    c = logged_in(app, "doc_editor")
    hosp = user("ty_maint").organization
    c.post("/registry/authorizations/apply", data={"organization_id": hosp.id,
                                                   "role_kind": "doctor"})
    auth = db.session.execute(select(RegistryAuthorization).where(
        RegistryAuthorization.user_id == user("doc_editor").id)).scalar_one()
    upload(c, auth.id, registry_auth.document_pdf(auth), "授权书.pdf")
    login_as("ty_agency").post(f"/registry/authorizations/transition/approve/{auth.id}")
    c = logged_in(app, "doc_editor")
    before = count(RegistryStaff)
    nurse = {"name": "孙静", "id_number": "140105199002020048", "staff_type": "nurse",
             "cert_no": "202014000002222"}
    c.post("/registry/staff/new", data=nurse)
    assert count(RegistryStaff) == before
    r = c.post("/registry/staff/new", data={**nurse, "name": "周强", "staff_type": "doctor",
                                             "id_number": "140105198505050025"})
    assert "本机构已有该身份证号的人员" in text(r)
    r = c.post("/registry/staff/new", data={**nurse, "name": "周强", "staff_type": "doctor",
                                             "id_number": "110101199003071234"})
    assert r.status_code == 422 and "身份证" in text(r)
    assert count(RegistryStaff) == before


@pytest.mark.parametrize("login,label,expected", [
    ("ty_agency", "待审核的机构维护授权", 1), ("ty_ybj", "待确认的定点协议", 1),
    ("ty_agency", "待审核的人员信息", 1), ("nhc", "待审核赋码的机构", 1),
    ("reg_demo", "待上传的授权文书", 0), ("yc_agency", "待审核的机构维护授权", 0),
])
def test_home_page_counts_what_awaits_the_user(login_as, ctx, login, label, expected):
    page = text(login_as(login).get("/"))
    row = re.search(r'todo-count">(\d+)</div><a [^>]*>[^<]*' + re.escape(label), page)
    assert row is not None, page[:3000]
    assert int(row.group(1)) == expected


@pytest.mark.parametrize("login,url,button,shown", [
    ("ty_maint", "/registry/agreements/list/", "新增协议", True),
    ("ty_ybj", "/registry/agreements/list/", "新增协议", False),
    ("ty_maint", "/registry/staff/list/", "新增人员", True),
    ("ty_agency", "/registry/staff/list/", "新增人员", False),
])
def test_add_buttons_only_for_the_institution(login_as, login, url, button, shown):
    assert (button in text(login_as(login).get(url))) is shown
