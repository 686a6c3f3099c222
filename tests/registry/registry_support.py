"""Helpers of the 医疗机构信息维护 service tests (test_registry_workflow, _institution,
_agreements, _regressions).

Demo (app/demo/registry.py): ty_maint maintains 太原市第一人民医院 (coded H14010500001, staff
李明 approved / 王芳 submitted / 赵丽 draft, agreements TY-YB-2025-0001 and TY-YB-2026-0001
confirmed by 太原市医疗保障局 (ty_ybj), TY-YB-2026-0001-B1 pending); ty_maint2 maintains 太原市中心医院 (140106,
submitted); reg_demo added 太原康宁口腔诊所 and uploaded its authorisation (not approved)."""
import io
import re

import pytest
from sqlalchemy import select, text
from werkzeug.datastructures import FileStorage

from app.extensions import db
from app.models.core import Organization
from app.models.registry import (DesignatedInstitution, RegistryAgreement, RegistryInstitution,
                                 RegistryStaff)
from app.services import validators
from app.services.registry import commands, rules
from app.services.registry import authorization as registry_auth
from app.workflows.engine import Refusal, apply
from app.workflows.registry import RegistryAuthorizationFlow, RegistryInstitutionFlow
from tests.conftest import PASSWORD, user


M, R, A, N = rules.MAINTAINER, rules.REGISTRANT, rules.AGENCY, rules.NATIONAL
D, NU, I = rules.DOCTOR_EDITOR, rules.NURSE_EDITOR, rules.INSURER
ROLES = (M, R, A, N, D, NU, I)
HOSP1 = "太原市第一人民医院"
HOSP2 = "太原市中心医院"
CLINIC = "太原康宁口腔诊所"
HOSP1_USCC, HOSP1_LICENCE = "12140100405814452W", "PDY00001914010511A1001"
CLINIC_USCC, CLINIC_LICENCE = "91140105MA0KXQ1P2X", "PDY00003114010521D2152"
CODE_RE = re.compile(r"^H\d{6}\d{5}$")


# ---- helpers ------------------------------------------------------------------------------------
def uscc(n, region="140105"):
    body = f"91{region}{n:09d}"
    return body + validators._uscc_check_char(body)


def form(n, **over):
    """A valid 新增 form for a clinic numbered n in 小店区 (140105), pooling area 太原市."""
    data = {"legal_name": f"太原测试医疗有限公司{n}", "name": f"太原测试诊所{n}",
            "uscc": uscc(n), "licence_no": f"PDY{n:05d}14010521D2152",
            "region_code": "140105", "address": f"山西省太原市小店区测试路{n}号",
            "pooling_code": "140100", "category": "诊所", "grade": "未定级",
            "phone": "0351-7770001", "uses_e_voucher": False}
    data.update(over)
    return data


def inst(name):
    return db.session.execute(select(RegistryInstitution).join(RegistryInstitution.organization)
                              .where(Organization.name == name)).scalar_one()


def fresh(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def staff(name):
    return db.session.execute(select(RegistryStaff).where(RegistryStaff.name == name)).scalar_one()


def agreement(no):
    return db.session.execute(select(RegistryAgreement).where(
        RegistryAgreement.agreement_no == no)).scalar_one()


def registrant(login, kind="maintainer", n=0):
    u = commands.register({"username": login, "name": f"{login}信息员",
                           "mobile": f"139{n % 10 ** 8:08d}", "role_kind": kind,
                           "password": PASSWORD, "confirm": PASSWORD})
    return u


def pdf_upload(data, name="授权书（已盖章）.pdf"):
    return FileStorage(io.BytesIO(data), filename=name)


def uploaded(u, institution, kind="maintainer"):
    """授权 as a user does it: request, download the PDF, upload it stamped."""
    auth = commands.request_authorization(u, institution, kind)
    registry_auth.upload_stamped(auth, u, pdf_upload(registry_auth.document_pdf(auth)))
    return auth


def authorised(u, institution, kind="maintainer"):
    auth = uploaded(u, institution, kind)
    apply(RegistryAuthorizationFlow, auth, "approve", user("ty_agency"))
    return auth


def maintained(n, **over):
    """A new institution added by a new registrant who is then approved as its maintainer."""
    u = registrant(f"maint{n}", n=n)
    new = commands.add_institution(u, form(n, **over))
    authorised(u, new)
    return fresh(new), u


def submitted(n, **over):
    new, u = maintained(n, **over)
    apply(RegistryInstitutionFlow, new, "submit", u)
    return fresh(new), u


def refused(call, *args, **kwargs):
    with pytest.raises(Refusal) as exc:
        call(*args, **kwargs)
    db.session.rollback()
    db.session.expire_all()
    return exc.value


def code_of(institution):
    return fresh(institution).organization.national_code


def counter(region):
    return db.session.execute(text("SELECT last_seq FROM registry_code_counter "
                                    "WHERE region_code = :r"), {"r": region}).scalar()


def ag_data(agency_login="ty_ybj", **over):
    data = {"agency_org_id": user(agency_login).organization_id, "agreement_type": "service",
            "agreement_no": "TY-YB-2027-0001", "start_date": "2027-01-01",
            "end_date": "2027-12-31", "content": "2027年度医疗保障定点医疗机构服务协议"}
    data.update(over)
    return data


def ag_form(a, **over):
    data = {"agency_org_id": a.agency_org_id, "agreement_type": a.agreement_type,
            "agreement_no": a.agreement_no, "start_date": a.start_date.isoformat(),
            "end_date": a.end_date.isoformat(), "content": a.content}
    data.update(over)
    return data


def published():
    return {r.agreement_id: r for r in db.session.execute(select(DesignatedInstitution))
            .scalars()}


STAFF_FORM = {"name": "孙强", "id_number": "110101199003070011", "staff_type": "doctor",
              "cert_no": "110140000009999"}


def id_number(first17):
    return first17 + validators._id_check_char(first17)

