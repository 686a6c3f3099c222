"""评价 and 追缴 through HTTP (SPEC R7, R8)."""
import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models.relief import ReliefEvaluation, ReliefRecovery
from tests.conftest import make_application, user, zip_upload
from tests.relief.relief_support import disbursed_application


def test_evaluation_once_per_side_after_disbursement(app, login_as):
    with app.app_context():
        early = make_application()
        pk = disbursed_application()
    hosp, agency = login_as("ty_hosp1"), login_as("ty_agency")
    r = hosp.post(f"/relief/evaluations/new/{early}", data={"score": "80"})
    assert r.status_code == 409 and "拨款完成后才能评价" in r.get_data(as_text=True)
    r = agency.post(f"/relief/evaluations/new/{pk}", data={"score": "101", "content": "很好"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'value="101"' in page and "很好</textarea>" in page
    assert "分值必须是1到100之间的整数</span>" in page
    r = agency.post(f"/relief/evaluations/new/{pk}", data={"score": "90", "content": "好"})
    assert r.status_code == 302
    r = hosp.post(f"/relief/evaluations/new/{pk}", data={"score": "70", "content": "一般"})
    assert r.status_code == 302
    r = agency.post(f"/relief/evaluations/new/{pk}", data={"score": "60"})
    assert r.status_code == 409 and "不能重复评价" in r.get_data(as_text=True)
    with app.app_context():
        rows = {e.side: e for e in db.session.execute(select(ReliefEvaluation).where(
            ReliefEvaluation.application_id == pk)).scalars()}
        assert rows["agency"].score == 90 and rows["agency"].evaluated_org.name == "太原市第一人民医院"
        assert rows["institution"].evaluated_org.name == "太原市疾病应急救助经办机构"
        assert rows["agency"].year == dt.date.today().year
    assert login_as("yc_agency").get(f"/relief/evaluations/new/{pk}").status_code == 404
    r = agency.get("/relief/evaluations/overview")
    assert r.status_code == 200 and "太原市第一人民医院" in r.get_data(as_text=True)
    with app.app_context():
        mine = rows["institution"].id
    r = hosp.post(f"/relief/evaluations/edit/{mine}", data={"score": "0", "content": "改"})
    assert r.status_code == 422 and "分值必须是1到100之间的整数" in r.get_data(as_text=True)
    r = hosp.post(f"/relief/evaluations/edit/{mine}", data={"score": "75", "content": "改"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(ReliefEvaluation, mine).score == 75
    assert agency.get(f"/relief/evaluations/edit/{mine}").status_code == 404


def test_overview_counts_and_averages(app, login_as):
    with app.app_context():
        a, b = disbursed_application(), disbursed_application()
    agency = login_as("ty_agency")
    assert agency.post(f"/relief/evaluations/new/{a}", data={"score": "80"}).status_code == 302
    assert agency.post(f"/relief/evaluations/new/{b}", data={"score": "91"}).status_code == 302
    with app.app_context():
        E = ReliefEvaluation
        n, avg = db.session.execute(select(db.func.count(E.id), db.func.avg(E.score)).where(
            E.organization_id == user("ty_agency").organization_id,
            E.evaluated_org_id == user("ty_hosp1").organization_id)).one()
    r = agency.get("/relief/evaluations/overview")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and f"<td>{n}</td><td>{round(float(avg), 1)}</td>" in page


def test_recovery_rules_and_statistics(app, login_as):
    with app.app_context():
        ok = disbursed_application()
        draft = make_application()
        other = disbursed_application("yc_hosp1")
    agency = login_as("ty_agency")
    form = {"app_id": [str(ok)], "amount": "500.50", "recovered_on": "2025-05-01", "remark": "追回"}
    r = agency.post("/relief/recoveries/new", data=form)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "请选择要上传的文件" in page
    assert 'value="500.50"' in page and 'value="追回"' in page
    r = agency.post("/relief/recoveries/new", data=dict(form, app_id=[str(draft)], file=zip_upload()),
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "只能关联审核通过或已拨款的申请" in r.get_data(as_text=True)
    for bad in ("-1", "0"):
        r = agency.post("/relief/recoveries/new", data=dict(form, amount=bad, file=zip_upload()),
                        content_type="multipart/form-data")
        assert r.status_code == 422 and "追缴金额必须" in r.get_data(as_text=True)
    r = agency.post("/relief/recoveries/new", data=dict(form, app_id=[str(other)], file=zip_upload()),
                    content_type="multipart/form-data")
    assert r.status_code == 404
    with app.app_context():
        assert db.session.execute(select(db.func.count()).select_from(ReliefRecovery)).scalar() == 0
    r = agency.post("/relief/recoveries/new", data=dict(form, file=zip_upload()),
                    content_type="multipart/form-data", follow_redirects=True)
    assert r.status_code == 200 and "追缴记录已保存" in r.get_data(as_text=True)
    later = dict(form, amount="100", recovered_on="2026-02-01", file=zip_upload())
    r = agency.post("/relief/recoveries/new", data=later, content_type="multipart/form-data")
    assert r.status_code == 302
    r = agency.get("/relief/recoveries/list/")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "<strong>2</strong>" in page and "600.50" in page
    assert "2025年：1 条 / 500.50" in page and "2026年：1 条 / 100.00" in page
    assert "<strong>0</strong>" in login_as("yc_agency").get("/relief/recoveries/list/").get_data(
        as_text=True)
