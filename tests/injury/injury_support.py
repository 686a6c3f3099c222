"""Helpers of the 工伤 screen tests: determinations and catalogue items of our own, a saved
relapse declaration, its materials, and one submitted to the employer."""
import datetime as dt
import io
import re
import uuid

from sqlalchemy import select

from app.extensions import db
from app.models.core import Region
from app.models.injury import InjuryDeclaration, InjuryDetermination, InjuryDeviceItem
from app.services import validators
from tests.conftest import png_bytes, user


def text_of(response, status=200):
    """The page's text, once its status is the expected one."""
    assert response.status_code == status, (response.status_code, response.location)
    return response.get_data(as_text=True)


def flashes_text(text):
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
        assert upload(c, pk, slot).status_code == 200
    return pk


def submitted(c, det):
    pk = complete_relapse(c, det)
    assert c.post("/injury/pending/batch/submit", data={"ids": [pk]}).status_code == 302
    assert declaration(pk).state == "employer_review"
    return pk
