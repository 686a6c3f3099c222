"""One draft per person, determination and kind; 重置 reloads the saved draft; 重新申报 once,
linked both ways, with the materials copied (issue 21 items 2 and 3)."""
from sqlalchemy import func, select

from app.extensions import db
from app.models.files import Attachment
from app.models.injury import InjuryDeclaration
from tests.conftest import flashes
from tests.injury.injury_support import (RELAPSE, declaration, determination, latest,
                                        save_relapse, submitted, text_of, upload)


def drafts_of(det, kind="relapse"):
    return db.session.execute(select(func.count()).select_from(InjuryDeclaration).where(
        InjuryDeclaration.determination_id == det.id, InjuryDeclaration.kind == kind,
        InjuryDeclaration.state == "draft")).scalar()


def test_opening_a_business_with_an_unsubmitted_draft_opens_that_draft(login_as, ctx):
    det = determination()
    c = login_as("ty_hosp1")
    assert save_relapse(c, det).status_code == 302
    pk = latest().id
    r = c.get(f"/injury/declare/new/relapse?determination={det.id}")
    assert r.status_code == 302 and r.location.endswith(f"/injury/declare/edit/{pk}")
    page = text_of(c.get(r.location))
    assert RELAPSE["diagnosis"] in page and 'value="骨科"' in page
    assert f'href="/injury/declare/edit/{pk}"' in page          # 重置 reloads the saved data
    r = save_relapse(c, det, diagnosis="第二份")                  # a blank form posted again
    assert r.status_code == 409 and f"#{pk}" in r.get_data(as_text=True)
    assert drafts_of(det) == 1 and declaration(pk).diagnosis == RELAPSE["diagnosis"]
    # another kind for the same determination is a business of its own
    assert c.get(f"/injury/declare/new/transfer?determination={det.id}").status_code == 200


def test_the_demo_transfer_draft_of_li_xiulan_is_opened_not_doubled(login_as, ctx):
    c = login_as("ty_hosp1")
    det_id = db.session.execute(select(InjuryDeclaration.determination_id).where(
        InjuryDeclaration.person_name == "李秀兰", InjuryDeclaration.kind == "transfer",
        InjuryDeclaration.state == "draft")).scalar_one()
    r = c.get(f"/injury/declare/new/transfer?determination={det_id}")
    assert r.status_code == 302 and "/injury/declare/edit/" in r.location
    assert "山西医科大学第二医院" in text_of(c.get(r.location))


def rejected(c, login_as, det):
    pk = submitted(c, det)
    assert login_as("ty_employer").post(f"/injury/employer/transition/employer_reject/{pk}",
                                        data={"comment": "材料不清晰"}).status_code == 302
    assert declaration(pk).state == "rejected"
    return pk


def test_redeclaring_once_copies_the_materials_and_links_both_ways(login_as, ctx):
    det = determination()
    hosp = login_as("ty_hosp1")
    pk = rejected(hosp, login_as, det)
    r = hosp.post(f"/injury/declarations/resubmit/{pk}")
    copy = latest()
    assert r.status_code == 302 and copy.resubmitted_from_id == pk
    slots = sorted(db.session.execute(select(Attachment.slot).where(
        Attachment.owner_type == "injury_declaration", Attachment.owner_id == copy.id)).scalars())
    assert slots == ["determination_doc", "diagnosis_proof"]
    original = dict(db.session.execute(select(Attachment.slot, Attachment.stored_name).where(
        Attachment.owner_type == "injury_declaration", Attachment.owner_id == pk)).all())
    copied = dict(db.session.execute(select(Attachment.slot, Attachment.stored_name).where(
        Attachment.owner_type == "injury_declaration", Attachment.owner_id == copy.id)).all())
    assert set(original.values()).isdisjoint(copied.values())     # files of its own
    # the clerk replaces one, the original keeps what was reviewed
    assert upload(hosp, copy.id, "diagnosis_proof", name="新诊断.png").status_code == 200
    # submitted: the original says so and 重新申报 is not offered again
    assert hosp.post("/injury/pending/batch/submit", data={"ids": [copy.id]}).status_code == 302
    assert declaration(copy.id).state == "employer_review"
    page = text_of(hosp.get(f"/injury/declarations/show/{pk}"))
    assert f"已重新申报：#{copy.id}（单位审核中）" in page and 'id="resubmit-box"' not in page
    r = hosp.post(f"/injury/declarations/resubmit/{pk}", follow_redirects=True)
    assert "已重新申报" in flashes(r)
    assert db.session.execute(select(func.count()).select_from(InjuryDeclaration).where(
        InjuryDeclaration.resubmitted_from_id == pk)).scalar() == 1
    assert f"/injury/declarations/show/{pk}" in text_of(
        hosp.get(f"/injury/declarations/show/{copy.id}"))


def test_redeclaring_while_another_draft_of_the_kind_is_open_is_refused(login_as, ctx):
    det = determination()
    hosp = login_as("ty_hosp1")
    pk = rejected(hosp, login_as, det)
    assert save_relapse(hosp, det).status_code == 302
    other = latest().id
    r = hosp.post(f"/injury/declarations/resubmit/{pk}", follow_redirects=True)
    assert f"#{other}" in flashes(r)
    assert drafts_of(det) == 1
