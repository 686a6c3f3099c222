"""The error contract on the 工伤 screens (docs/architecture.md): a refused hand-written form
comes back with its status, what was typed and each message beside its field; a refused
button goes back where it came from with the message; nothing refused is written."""
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models.files import Attachment
from app.models.injury import InjuryDeclaration
from tests.conftest import flashes
from tests.injury.injury_support import (RELAPSE, declaration, determination, id_number, latest,
                                        save_relapse, submitted, text_of)


def field_group(page, name):
    """The form-group holding the input named `name` (its value and its messages)."""
    match = re.search(r'<div class="form-group[^"]*">(?:(?!<div class="form-group).)*?'
                      rf'name="{name}".*?</div></div>', page, re.S)
    assert match, name
    return match.group(0)


def count_declarations():
    return db.session.execute(select(func.count()).select_from(InjuryDeclaration)).scalar()


def test_a_refused_declaration_form_comes_back_with_what_was_typed(login_as, ctx):
    det = determination()
    c = login_as("ty_hosp1")
    before = count_declarations()
    r = save_relapse(c, det, recurrence_date="2026-02-30", department="骨科急诊")
    page = text_of(r, 422)
    group = field_group(page, "recurrence_date")
    assert 'value="2026-02-30"' in group and "has-error" in group
    assert "复发日期：“2026-02-30”不是有效日期" in group
    assert 'value="骨科急诊"' in field_group(page, "department")
    assert RELAPSE["treatment_plan"] in field_group(page, "treatment_plan")
    assert "请检查填写的信息" in flashes(r)
    assert count_declarations() == before


def test_a_refused_lookup_shows_the_number_and_the_message_beside_it(login_as, ctx):
    good = id_number("14010519870315001")
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    page = text_of(login_as("ty_hosp1").get(f"/injury/declare/?id_number={bad}"), 422)
    group = field_group(page, "id_number")
    assert f'value="{bad}"' in group and "has-error" in group
    assert re.search(r'id="id_number-error">[^<]*校验位错误', group)
    assert 'id="business-menu"' not in page


def test_a_transition_in_the_wrong_state_flashes_and_goes_back(login_as, ctx):
    pk = submitted(login_as("ty_hosp1"), determination())
    agency = login_as("ty_agency")
    back = f"http://localhost/injury/agency/show/{pk}"
    r = agency.post(f"/injury/agency/transition/agency_approve/{pk}", data={"comment": "同意"},
                    headers={"Referer": back})
    assert r.status_code == 302 and r.headers["Location"] == back
    page = agency.get(back)
    assert page.status_code == 200
    assert "当前状态为“单位审核中”，不能审核通过" in flashes(page), flashes(page)
    assert declaration(pk).state == "employer_review"


def test_refused_buttons_of_the_hospital_flash_and_go_back(login_as, ctx):
    hosp = login_as("ty_hosp1")
    pk = submitted(hosp, determination())
    back = f"http://localhost/injury/declarations/show/{pk}"
    r = hosp.post(f"/injury/declarations/resubmit/{pk}", headers={"Referer": back})
    assert r.status_code == 302 and r.headers["Location"] == back
    assert "只有未通过的申报可以重新申报" in flashes(hosp.get(back))
    attachment = db.session.execute(select(Attachment).where(
        Attachment.owner_type == "injury_declaration", Attachment.owner_id == pk)
        .limit(1)).scalar_one()
    r = hosp.post(f"/injury/declare/materials/{pk}/remove/{attachment.id}",
                  headers={"Referer": back}, follow_redirects=True)
    assert r.status_code == 200 and "已提交的申报不能修改电子材料" in flashes(r)
    assert db.session.get(Attachment, attachment.id) is not None
    back = "http://localhost/injury/pending/"
    assert save_relapse(hosp, determination()).status_code == 302
    draft = latest().id
    r = hosp.post("/injury/pending/batch/submit", data={"ids": [draft]},
                  headers={"Referer": back})
    # the page again with the row still ticked (issue 21 item 9), the label said once
    page = r.get_data(as_text=True)
    assert r.status_code == 409 and f'name="ids" value="{draft}" checked' in page
    message = flashes(r)
    assert "缺少电子材料" in message and message.count("旧伤复发治疗申请") == 1, message
    assert declaration(draft).state == "draft"
