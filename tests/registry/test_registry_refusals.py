"""医疗机构信息维护 screens under the error contract (app/errors.py, issue 16): a refused
hand-written form is drawn again with status 422, what was typed and each message beside its
field, and nothing is kept; a refused button (a transition in the wrong state) flashes the
message and goes back to the page it came from."""
import html
import re

from sqlalchemy import func, select

from app.extensions import db
from app.models.core import Organization
from app.models.registry import RegistryCertChange, RegistryInstitution, RegistryStaff
from tests.conftest import flashes

HOSP1 = "太原市第一人民医院"


def text(r):
    return html.unescape(r.get_data(as_text=True))


def hosp1():
    return db.session.execute(select(RegistryInstitution).join(Organization).where(
        Organization.name == HOSP1)).scalar_one()


def beside(page, field):
    """The message under a field of registry/_fields.html (its help-block)."""
    found = re.search(r'id="group-' + field + r'".*?<span class="help-block">([^<]*)</span>',
                      page, re.S)
    assert found is not None, page[:3000]
    return found.group(1)


def count(model):
    return db.session.scalar(select(func.count(model.id)))


def test_a_bad_staff_form_is_shown_again_with_what_was_typed(login_as, ctx):
    before = count(RegistryStaff)
    bad_id = "110101199003071234"                       # the check digit should be 5
    r = login_as("ty_maint").post("/registry/staff/new", data={
        "name": "周强", "id_number": bad_id, "staff_type": "doctor", "cert_no": "110140000007777"})
    page = text(r)
    assert r.status_code == 422
    assert 'value="周强"' in page and f'value="{bad_id}"' in page
    assert 'value="110140000007777"' in page
    assert "身份证号校验位错误" in beside(page, "id_number")
    assert 'class="form-group has-error" id="group-id_number"' in page
    assert count(RegistryStaff) == before


def test_a_bad_cert_change_is_shown_again_and_nothing_is_asked(login_as, ctx):
    inst = hosp1()
    before = count(RegistryCertChange)
    r = login_as("ty_maint").post(f"/registry/cert-changes/new/{inst.id}",
                                  data={"new_uscc": "12140100405814461X", "reason": ""})
    page = text(r)
    assert r.status_code == 422
    assert 'value="12140100405814461X"' in page
    assert "统一社会信用代码" in beside(page, "new_uscc")
    assert "请填写变更原因" in beside(page, "reason")
    assert count(RegistryCertChange) == before


def test_a_bad_maintenance_keeps_the_typed_values_and_the_record(login_as, ctx):
    inst = hosp1()
    r = login_as("ty_maint").post(f"/registry/institutions/maintain/{inst.id}", data={
        "legal_name": "太原市第一人民医院", "name": "太原市第一人民医院（新址）",
        "province": "140000", "city": "140100", "county": "140105",
        "address": "山西省太原市示例路1号", "pooling_code": "140100", "uses_e_voucher": "1",
        "category": "综合医院", "grade": "三级甲等", "phone": "12345"})
    page = text(r)
    assert r.status_code == 422
    assert 'value="太原市第一人民医院（新址）"' in page and 'value="12345"' in page
    assert beside(page, "phone") and re.search(r"[\u4e00-\u9fff]", beside(page, "phone"))
    db.session.expire_all()
    assert hosp1().organization.name == HOSP1


def test_a_refused_transition_flashes_and_goes_back(login_as, ctx):
    inst = hosp1()
    c = login_as("ty_maint")
    page = f"http://localhost/registry/institutions/show/{inst.id}"
    r = c.post(f"/registry/institutions/transition/submit/{inst.id}",
               headers={"Referer": page})             # coded: 提交审核 is not possible now
    assert r.status_code == 302 and r.headers["Location"] == page
    shown = c.get(page)
    assert shown.status_code == 200
    assert "当前状态为“已赋码”，不能提交审核" in flashes(shown)
    db.session.expire_all()
    assert hosp1().state == "coded"


def test_a_refused_delete_flashes_the_reason_and_goes_back(login_as, ctx):
    inst = hosp1()
    c = login_as("ty_maint")
    page = "http://localhost/registry/institutions/list/"
    r = c.post(f"/registry/institutions/transition/delete/{inst.id}", headers={"Referer": page})
    assert r.status_code == 302 and r.headers["Location"] == page
    assert "已赋码的机构不能删除" in flashes(c.get(page))
    db.session.expire_all()
    assert hosp1().state == "coded"


def test_an_out_of_scope_transition_stays_404(login_as, ctx):
    inst = hosp1()
    r = login_as("yc_agency").post(f"/registry/institutions/transition/archive/{inst.id}",
                                   data={"comment": "x"})
    assert r.status_code == 404
