"""The reviewers' lists: 医疗机构 shown and filtered, the last 审核意见, the device total, and
back to the list the reviewer came from after the review form (issue 21 item 6, issue 18)."""
import io
from urllib.parse import quote

import openpyxl
from sqlalchemy import select

from app.extensions import db
from app.models.injury import InjuryDeclaration
from tests.conftest import user
from tests.injury.injury_support import declaration, determination, submitted, text_of


def rows_of(page):
    return page.count('href="/injury/agency/show/')


def test_reviewers_see_and_filter_by_the_hospital_and_the_last_opinion(login_as, ctx):
    det = determination()
    pk = submitted(login_as("ty_hosp1"), det)
    employer = login_as("ty_employer")
    page = text_of(employer.get("/injury/employer/list/"))
    assert 'id="hospital"' in page and "太原市第一人民医院" in page and "医疗机构" in page
    assert employer.post(f"/injury/employer/transition/employer_approve/{pk}",
                         data={"comment": "情况属实"}).status_code == 302
    agency = login_as("ty_agency")
    hosp1 = user("ty_hosp1").organization_id
    hosp2 = user("ty_hosp2").organization_id
    mine = text_of(agency.get(f"/injury/agency/list/?hospital={hosp1}&psize_InjuryAgencyReviewView=100"))
    assert f"/injury/agency/show/{pk}" in mine and "用人单位：情况属实" in mine
    other = text_of(agency.get(f"/injury/agency/list/?hospital={hosp2}&psize_InjuryAgencyReviewView=100"))
    assert f"/injury/agency/show/{pk}" not in other and rows_of(other) >= 1
    assert "太原市第一人民医院" not in other.split('id="hospital"')[1].split("</select>")[1]
    # the export of the filtered list names the hospital and the opinions
    r = agency.get(f"/injury/agency/export/standard/?hospital={hosp2}")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    flat = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    assert "医疗机构" in flat and "单位审核意见" in flat and "太原市第一人民医院" not in flat
    assert "太原市第二人民医院" in flat or user("ty_hosp2").organization.name in flat
    # the hospital's own 办理情况查询 shows the 审核意见 column
    hospital_list = text_of(login_as("ty_hosp1").get("/injury/declarations/list/"))
    assert "审核意见" in hospital_list and "用人单位：情况属实" in hospital_list


def test_the_device_declaration_shows_its_total(login_as, ctx):
    pk = db.session.execute(select(InjuryDeclaration.id).where(
        InjuryDeclaration.kind == "device", InjuryDeclaration.state == "employer_review")
    ).scalars().first()
    page = text_of(login_as("ty_employer").get(f"/injury/employer/show/{pk}"))
    item = declaration(pk)
    total = sum(ln.quantity * ln.price for ln in item.lines)
    assert "合计金额" in page and f'id="total-amount">{total:.2f}<' in page


def test_the_review_form_goes_back_to_the_filtered_list(login_as, ctx):
    det = determination()
    pk = submitted(login_as("ty_hosp1"), det)
    employer = login_as("ty_employer")
    back = "/injury/employer/list/?status=employer_review"
    page = text_of(employer.get(f"/injury/employer/review/{pk}?next={quote(back)}"))
    assert f'name="next" value="{back}"' in page.replace("&amp;", "&")
    r = employer.post(f"/injury/employer/transition/employer_approve/{pk}",
                      data={"comment": "同意", "next": back},
                      headers={"Referer": f"http://localhost/injury/employer/review/{pk}"})
    assert r.status_code == 302 and r.location.endswith(back)
    assert declaration(pk).state == "agency_review"
