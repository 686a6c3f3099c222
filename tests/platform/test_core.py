"""Organisations, import, accounts, audit (SPEC P2, P4, P9, P12, R1, R2)."""
import io

import openpyxl
from sqlalchemy import select

from app.extensions import db
from app.models.core import Organization, User


def _template(client):
    r = client.get("/system/organizations/import/template")
    assert r.status_code == 200
    return openpyxl.load_workbook(io.BytesIO(r.data))


def _upload(client, wb):
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    return client.post("/system/organizations/import/", data={"file": (buf, "机构.xlsx")},
                       content_type="multipart/form-data", follow_redirects=True)


def _names(app, *names):
    with app.app_context():
        return set(db.session.execute(select(Organization.name).where(
            Organization.name.in_(names))).scalars())


def test_institution_import_all_or_nothing(app, login_as):
    c = login_as("ty_agency")
    wb = _template(c)
    ws = wb.worksheets[0]
    ws.append(["导入医院甲", "140105", "县（区）", "综合医院", "二级甲等", "0351-7654321", "", "", ""])
    ws.append(["导入医院乙", "140106", "县（区）", "综合医院", "二级甲等", "7654321", "", "", ""])
    r = _upload(c, wb)
    text = r.get_data(as_text=True)
    assert "固定电话需包含区号" in text and "未导入任何数据" in text
    assert _names(app, "导入医院甲", "导入医院乙") == set()
    ws.cell(row=3, column=6, value="0351-7654322")
    ws.append(["外市医院", "140802", "县（区）", "", "", "", "", "", ""])
    r = _upload(c, wb)
    assert "该区划不在您的管辖范围内" in r.get_data(as_text=True)
    assert _names(app, "导入医院甲", "导入医院乙", "外市医院") == set()
    ws.delete_rows(4)
    r = _upload(c, wb)
    assert "导入成功，共 2 条" in r.get_data(as_text=True)
    with app.app_context():
        codes = sorted(db.session.execute(select(Organization.unit_code).where(
            Organization.name.in_(["导入医院甲", "导入医院乙"]))).scalars())
        assert codes[0].startswith("140105") and codes[1].startswith("140106")


def test_add_institution_under_selected_node(app, login_as):
    c = login_as("ty_agency")
    r = c.post("/system/organizations/add", data={"name": "无节点医院", "level": "county"},
               follow_redirects=True)
    assert "请先在左侧行政区划树上选中所属区域" in r.get_data(as_text=True)
    c.post("/system/organizations/add?region=140181", data={"name": "古交示例医院",
                                                            "level": "county"})
    with app.app_context():
        org = db.session.execute(select(Organization).where(
            Organization.name == "古交示例医院")).scalar_one()
        assert org.unit_code == "1401810001" and org.org_type == "medical"
    r = c.post("/system/organizations/add?region=140802", data={"name": "越权医院",
                                                            "level": "county"},
               follow_redirects=True)
    assert _names(app, "越权医院") == set()


def test_account_creation_respects_level_rules(app, login_as):
    with app.app_context():
        ty_agency_org = db.session.execute(select(Organization.id).where(
            Organization.name == "太原市疾病应急救助经办机构")).scalar()
        yc_agency_org = db.session.execute(select(Organization.id).where(
            Organization.name == "运城市疾病应急救助经办机构")).scalar()
    c = login_as("ty_hc")
    page = c.get("/system/accounts/create").get_data(as_text=True)
    assert "太原市疾病应急救助经办机构" in page and "运城市疾病应急救助经办机构" not in page
    r = c.post("/system/accounts/create", data={"organization_id": yc_agency_org,
                                                 "username": "越权账号"}, follow_redirects=True)
    assert "请选择您有权创建账号的所属机构" in r.get_data(as_text=True)
    c.post("/system/accounts/create", data={"organization_id": ty_agency_org,
                                             "username": "太原经办二号", "first_name": "王五"})
    with app.app_context():
        u = db.session.execute(select(User).where(User.username == "太原经办二号")).scalar_one()
        assert u.must_change_password and u.user_type == "agency"
        assert {r.name for r in u.roles} >= {"R 经办机构"}
    r = c.post("/system/accounts/create", data={"organization_id": ty_agency_org,
                                                 "username": "太原经办二号"}, follow_redirects=True)
    assert "已存在" in r.get_data(as_text=True)


def test_users_outside_the_region_are_404(app, login_as):
    with app.app_context():
        yc = db.session.execute(select(User.id).where(User.username == "yc_hosp1")).scalar()
    c = login_as("ty_agency")
    assert c.get(f"/system/accounts/show/{yc}").status_code == 404
    assert c.post(f"/system/accounts/reset_password/{yc}").status_code == 404
    assert c.post(f"/system/accounts/disable/{yc}").status_code == 404


def test_audit_log_only_for_superadmin(login_as):
    assert login_as("ty_agency").get("/system/audit/list/").status_code in (302, 403)
    page = login_as("admin").get("/system/audit/list/").get_data(as_text=True)
    assert "审计日志" in page


def test_region_tree_filters_the_list(login_as):
    c = login_as("nhc")
    page = c.get("/system/organizations/list/?region=140800").get_data(as_text=True)
    assert "运城市中心医院" in page and "太原市第一人民医院" not in page
    assert "运城市" in page   # the tree shows the path to the selected node


def test_announcement_attachment_for_every_user(app, login_as):
    with app.app_context():
        from app.models.core import Announcement
        pk = db.session.execute(select(Announcement.id)).scalars().first()
    admin = login_as("admin")
    pdf = (io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"), "通知.pdf")
    r = admin.post(f"/system/announcements/upload/{pk}/files", data={"file": pdf},
                   content_type="multipart/form-data", follow_redirects=True)
    assert "上传成功" in r.get_data(as_text=True)
    hosp = login_as("ty_hosp1")
    home = hosp.get("/").get_data(as_text=True)
    link = home.split('href="/attachments/')[1].split('"')[0]
    assert "通知.pdf" in home
    r = hosp.get(f"/attachments/{link}")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    assert hosp.post(f"/system/announcements/upload/{pk}/files",
                     data={"file": (io.BytesIO(b"%PDF-1.4"), "x.pdf")},
                     content_type="multipart/form-data").status_code in (302, 403)


def test_generic_edits_are_audited(app, login_as):
    with app.app_context():
        from app.models.audit import AuditLog
        from app.models.core import Announcement
        pk = db.session.execute(select(Announcement.id)).scalars().first()
    login_as("admin").post(f"/system/announcements/edit/{pk}",
                           data={"title": "新标题", "content": "内容", "published_on": "2026-01-01",
                                 "active": "y"})
    with app.app_context():
        row = db.session.execute(select(AuditLog).where(
            AuditLog.object_type == "announcement", AuditLog.object_id == pk)).scalars().first()
        assert row is not None and row.action == "update" and row.username == "admin"
