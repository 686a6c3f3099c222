"""定点医疗机构审核 (issue 21 item 1): a hospital opened by 马上注册 is 待审核 until the agency
of its region approves it; until then the person lookup, the forms and the API are refused."""
from sqlalchemy import select

from app.extensions import db
from app.models.audit import AuditLog
from app.models.core import User
from app.models.injury import InjuryHospital
from tests.injury.injury_support import determination, text_of
from tests.injury.test_injury_register import GOOD_PASSWORD, form, uscc

URL = "/injury/register/"


def registered(client, serial, name="新注册工伤医院", county="140105", city="140100"):
    username = f"{name}{serial}"
    r = client.post(URL, data=form(name=name, uscc=uscc(serial), username=username,
                                   county=county, city=city))
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    db.session.expire_all()
    user = db.session.execute(select(User).where(User.username == username)).scalar_one()
    return user, db.session.execute(select(InjuryHospital).where(
        InjuryHospital.organization_id == user.organization_id)).scalar_one()


def test_a_registered_hospital_waits_for_its_agency_before_any_lookup(client, login_as, api,
                                                                     ctx):
    det = determination()
    user, hospital = registered(client, 7101)
    assert hospital.state == "pending" and hospital.city_code == "140100"
    c = login_as(user.username, GOOD_PASSWORD)
    text = text_of(c.get(f"/injury/declare/?id_number={det.id_number}"), 403)
    assert "等待所属经办机构审核" in text and det.determination_no not in text
    assert c.get(f"/injury/declare/new/relapse?determination={det.id}").status_code == 403
    assert c.post("/injury/declare/new/relapse", data={"determination": det.id}).status_code \
        in (302, 403)
    assert "待审核" in text_of(c.get("/injury/hall/"))
    rest, headers = api(user.username, GOOD_PASSWORD)
    r = rest.get(f"/api/v1/injury_determination/lookup?id_number={det.id_number}",
                 headers=headers)
    assert r.status_code == 403 and "等待所属经办机构审核" in r.get_json()["message"]

    # The agency of another city sees nothing; the agency of its region refuses with a reason.
    assert hospital.organization.name not in text_of(
        login_as("yc_agency").get("/injury/hospitals/list/"))
    agency = login_as("ty_agency")
    listing = text_of(agency.get("/injury/hospitals/list/"))
    assert hospital.organization.name in listing and "待审核" in listing
    details = text_of(agency.get(f"/injury/hospitals/show/{hospital.id}"))
    assert hospital.organization.name in details and "审核不通过" in details
    r = agency.post(f"/injury/hospitals/transition/reject/{hospital.id}", data={"comment": ""})
    assert r.status_code in (302, 422)
    assert db.session.get(InjuryHospital, hospital.id).state == "pending"
    r = agency.post(f"/injury/hospitals/transition/reject/{hospital.id}",
                    data={"comment": "执业许可证已过期"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(InjuryHospital, hospital.id).state == "rejected"
    hall = text_of(c.get("/injury/hall/"))
    assert "审核不通过" in hall and "执业许可证已过期" in hall
    assert "执业许可证已过期" in text_of(c.get(f"/injury/declare/?id_number={det.id_number}"), 403)

    assert agency.post(f"/injury/hospitals/transition/approve/{hospital.id}").status_code == 302
    db.session.expire_all()
    assert db.session.get(InjuryHospital, hospital.id).state == "approved"
    assert db.session.execute(select(AuditLog).where(
        AuditLog.object_type == "injury_hospital", AuditLog.object_id == hospital.id)
    ).scalars().all()
    text = text_of(c.get(f"/injury/declare/?id_number={det.id_number}"))
    assert det.determination_no in text


def test_hospitals_set_up_by_an_administrator_are_not_held_back(login_as, ctx):
    det = determination()
    text = text_of(login_as("ty_hosp1").get(f"/injury/declare/?id_number={det.id_number}"))
    assert det.determination_no in text


def test_the_agency_sees_pending_hospitals_among_its_todos(client, login_as, ctx):
    registered(client, 7102)
    text = text_of(login_as("ty_agency").get("/"))
    assert "待审核定点医疗机构" in text
