"""报量项目配置 and its catalogue (SPEC Q2), through the screens and the REST API."""
import io

import openpyxl
from sqlalchemy import func, select

from app.extensions import db
from app.models.ivd import IvdHospitalReport, IvdProject
from tests.ivd.ivd_support import DAY, TODAY, items, new_project, projects_named


def test_project_dates_in_order_and_threshold_frozen_once_running(app, login_as, ctx):
    c = login_as("admin")
    form = {"name": "顺序错误项目", "year": "2027", "fill_start": str(TODAY + 10 * DAY),
            "fill_end": str(TODAY + 5 * DAY), "city_deadline": str(TODAY + 20 * DAY),
            "province_deadline": str(TODAY + 30 * DAY), "threshold_pct": "30"}
    r = c.post("/ivd/projects/add", data=form)
    # the same form again, 422, with what was typed and the message (nothing lost)
    assert r.status_code == 422 and "填报开始日期不能晚于填报结束日期" in r.get_data(as_text=True)
    assert 'value="顺序错误项目"' in r.get_data(as_text=True)
    assert projects_named("顺序错误项目") == []
    form.update(name="新项目", fill_end=str(TODAY + 15 * DAY))
    assert c.post("/ivd/projects/add", data=form).status_code == 302
    project, = projects_named("新项目")
    assert project.status == "not_started"
    hospitals = db.session.execute(select(func.count(IvdHospitalReport.id)).where(
        IvdHospitalReport.project_id == project.id)).scalar()
    assert hospitals >= 8          # every demo hospital has its report row
    r = c.post(f"/ivd/projects/edit/{project.id}", data={**form, "threshold_pct": "40"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(IvdProject, project.id).threshold_pct == 40
    running = new_project()
    r = c.post(f"/ivd/projects/edit/{running}",
               data={**form, "name": "改名", "fill_start": str(TODAY - 5 * DAY),
                     "threshold_pct": "99"})
    assert r.status_code == 422 and "需求量阈值不可修改" in r.get_data(as_text=True)
    assert 'value="改名"' in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(IvdProject, running).threshold_pct == 30
    r = c.get(f"/ivd/projects/edit/{running}")
    assert r.status_code == 200 and 'readonly' in r.get_data(as_text=True)
    r = c.get("/ivd/projects/list/?status=not_started")
    assert r.status_code == 200
    assert "新项目" in r.get_data(as_text=True) and "改名" not in r.get_data(as_text=True)
    assert login_as("ty_hosp1").get("/ivd/projects/list/").status_code in (302, 403)


def test_catalogue_import_is_all_or_nothing(app, login_as, ctx):
    project_id = new_project(certs=1)
    c = login_as("admin")
    template = c.get("/ivd/catalog/import/template")
    assert template.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(template.data))
    ws = wb.worksheets[0]
    ws.append(["NEW001", "生化类", "肝功能", "示例企业", "国械注准20990000001", "试剂盒", "1盒"])
    ws.append(["NEW001", "生化类", "肝功能", "示例企业", "国械注准20990000001", "试剂盒", ""])
    ws.append(["IVD000001", "生化类", "", "示例企业", "国械注准20990000001", "试剂盒", ""])

    def upload():
        buf = io.BytesIO()
        wb.save(buf)
        buf.seek(0)
        r = c.post(f"/ivd/catalog/import/?project={project_id}",
                   data={"file": (buf, "目录.xlsx")}, content_type="multipart/form-data",
                   follow_redirects=True)
        assert r.status_code in (200, 422), r.status_code
        return r.get_data(as_text=True)

    text = upload()
    assert "未导入任何数据" in text and "与第 2 行重复" in text and "必填" in text
    assert len(items(project_id)) == 3
    ws.delete_rows(3)
    ws.cell(row=3, column=3, value="肝功能")
    text = upload()
    assert "未导入任何数据" in text and "该流水号已在目录中" in text
    assert len(items(project_id)) == 3
    ws.delete_rows(3)
    assert "导入成功，共 1 条" in upload()
    assert len(items(project_id)) == 4


def test_rest_project_configuration(app, api, ctx):
    c, h = api("admin")
    body = {"name": "接口项目", "year": 2028, "fill_start": str(TODAY + 40 * DAY),
            "fill_end": str(TODAY + 10 * DAY), "city_deadline": str(TODAY + 50 * DAY),
            "province_deadline": str(TODAY + 60 * DAY), "threshold_pct": 25}
    r = c.post("/api/v1/ivd_project/", headers=h, json=body)
    assert r.status_code == 422 and "不能晚于" in r.json["message"]
    assert "不能晚于" in r.json["fields"]["fill_start"][0]
    assert projects_named("接口项目") == []
    r = c.post("/api/v1/ivd_project/", headers=h, json={**body, "fill_end": str(TODAY + 45 * DAY)})
    assert r.status_code == 201, r.json
    pk = r.json["id"]
    r = c.get(f"/api/v1/ivd_project/{pk}", headers=h)
    assert r.status_code == 200 and r.json["result"]["status"] == "not_started"
    running = new_project()
    r = c.put(f"/api/v1/ivd_project/{running}", headers=h, json={"threshold_pct": 80})
    assert r.status_code == 422 and "不可修改" in r.json["message"]


def _project_form(p, **changes):
    form = {"name": p.name, "year": str(p.year), "fill_start": str(p.fill_start),
            "fill_end": str(p.fill_end), "city_deadline": str(p.city_deadline),
            "province_deadline": str(p.province_deadline), "threshold_pct": str(p.threshold_pct)}
    return {**form, **{k: str(v) for k, v in changes.items()}}


def test_dates_cannot_unstart_or_reopen_a_project_nor_free_its_threshold(app, login_as, ctx):
    """Issue 20 item 3: 填报开始 moved into the future (未开始), the threshold changed, the
    date moved back — refused at the first step; an ended project is not reopened by a later
    省级审核截止日期; blank names are refused; a bad 年度 in 查询 is named."""
    c = login_as("admin")
    running = db.session.get(IvdProject, new_project())
    r = c.post(f"/ivd/projects/edit/{running.id}", data=_project_form(
        running, fill_start=TODAY + 2 * DAY, fill_end=TODAY + 12 * DAY))
    assert r.status_code == 422 and "填报开始日期不能改到今天之后" in r.get_data(as_text=True)
    r = c.post(f"/ivd/projects/edit/{running.id}", data=_project_form(
        running, fill_start=TODAY + 2 * DAY, fill_end=TODAY + 12 * DAY, threshold_pct=90))
    assert r.status_code == 422 and "需求量阈值不可修改" in r.get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(IvdProject, running.id).fill_start,
            db.session.get(IvdProject, running.id).threshold_pct) == (running.fill_start, 30)
    ended = db.session.get(IvdProject, new_project(fill_start=-40, fill_end=-30, city=-20,
                                                   province=-10))
    assert ended.status == "ended"
    r = c.post(f"/ivd/projects/edit/{ended.id}", data=_project_form(
        ended, province_deadline=TODAY + 10 * DAY))
    assert r.status_code == 422 and "项目已结束，不能通过修改日期重新开放" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(IvdProject, ended.id).status == "ended"
    r = c.post(f"/ivd/projects/edit/{ended.id}", data=_project_form(ended, name="   "))
    assert r.status_code == 422 and "请填写项目名称" in r.get_data(as_text=True)
    r = c.post("/ivd/projects/add", data=_project_form(ended, name="   "))
    assert r.status_code == 422 and "请填写项目名称" in r.get_data(as_text=True)
    r = c.post("/ivd/projects/add", data=_project_form(ended))
    assert r.status_code == 422 and "存在" in r.get_data(as_text=True)    # the name is taken
    r = c.get("/ivd/projects/list/?year=abc")
    assert r.status_code == 200 and "年度须为2000至2100之间的整数" in r.get_data(as_text=True)
    r = c.get(f"/ivd/projects/list/?year={ended.year}")
    assert r.status_code == 200 and ended.name in r.get_data(as_text=True)


def test_threshold_frozen_once_a_hospital_reported_even_before_the_start(app, login_as, ctx):
    """A project not started by its dates but with reported figures keeps its threshold."""
    project_id = new_project(fill_start=3, fill_end=10)
    p = db.session.get(IvdProject, project_id)
    rep = db.session.execute(select(IvdHospitalReport).where(
        IvdHospitalReport.project_id == project_id)).scalars().first()
    rep.filled_lines = 1
    db.session.commit()
    c = login_as("admin")
    r = c.post(f"/ivd/projects/edit/{project_id}", data=_project_form(p, threshold_pct=50))
    assert r.status_code == 422 and "需求量阈值不可修改" in r.get_data(as_text=True)
