"""医疗机构信息维护 demo (SPEC §Y, M1–M7): 太原市第一人民医院 maintained by ty_maint, coded,
with staff and agreements in every state; 太原市中心医院 submitted for national coding by
ty_maint2; a self-registered account (reg_demo) whose new clinic's authorisation waits for
太原市经办机构. Everything goes through the services and the engine, as users would."""
import io

from werkzeug.datastructures import FileStorage

from app.extensions import appbuilder, db
from app.models.core import User
from app.services.registry import authorization as registry_auth
from app.services.registry import commands, rules
from app.workflows import engine
from app.workflows.registry import (RegistryAgreementFlow, RegistryAuthorizationFlow,
                                    RegistryInstitutionFlow, RegistryStaffFlow)

DEMO_PASSWORD = "Demo@2026"


def _fields(org, **extra):
    values = {"legal_name": org.name, "name": org.name, "uscc": org.uscc or "",
              "licence_no": org.licence_no or "", "region_code": org.region.code,
              "address": org.address or "山西省太原市示例路1号", "pooling_code": "140100",
              "uses_e_voucher": True, "category": org.category or "综合医院",
              "grade": org.grade or "三级甲等", "phone": org.phone or "0351-4960001"}
    values.update(extra)
    return values


def _authorised(user, inst, agency_user, role_kind="maintainer", approve=True):
    """授权 as a user does it: request, download the PDF, upload it "stamped", reviewed."""
    role = appbuilder.sm.find_role(rules.REGISTRANT)
    if role not in user.roles:
        user.roles.append(role)
    auth = commands.request_authorization(user, inst, role_kind)
    pdf = registry_auth.document_pdf(auth)
    registry_auth.upload_stamped(auth, user, FileStorage(io.BytesIO(pdf),
                                                         filename="授权书（已盖章）.pdf"))
    if approve:
        engine.apply(RegistryAuthorizationFlow, auth, "approve", agency_user)
    return auth


def _registrant(login, name, mobile, role_kind="maintainer"):
    return commands.register({"username": login, "name": name, "mobile": mobile,
                              "role_kind": role_kind, "password": DEMO_PASSWORD,
                              "confirm": DEMO_PASSWORD})


def load_registry(orgs, users):
    ty_maint = db.session.execute(db.select(User).where(User.username == "ty_maint")).scalar()
    agency, nhc = users["ty_agency"], users["nhc"]

    hosp1 = orgs["ty_hosp1"]
    hosp1.uscc, hosp1.licence_no = "12140100405814452W", "PDY00001914010511A1001"
    inst1 = commands.institution_for(hosp1, ty_maint)
    _authorised(ty_maint, inst1, agency)
    commands.update_institution(inst1, ty_maint, _fields(hosp1, legal_name="太原市第一人民医院"))
    engine.apply(RegistryInstitutionFlow, inst1, "submit", ty_maint)
    engine.apply(RegistryInstitutionFlow, inst1, "approve", nhc, {"comment": "信息完整，同意赋码"})

    staff = [("李明", "140105198001010011", "doctor", "110140000001234"),
             ("王芳", "140105198505050025", "doctor", "110140000005678"),
             ("赵丽", "140105199002020048", "nurse", "202014000001111")]
    rows = [commands.save_staff(inst1, ty_maint, dict(zip(
        ("name", "id_number", "staff_type", "cert_no"), s))) for s in staff]
    engine.apply_batch(RegistryStaffFlow, [rows[0].id, rows[1].id], "submit", ty_maint)
    engine.apply(RegistryStaffFlow, rows[0], "approve", agency)

    # 定点协议 are signed with the 医保部门 (太原市医疗保障局), which confirms them (ty_ybj).
    insurer = users["ty_ybj"]
    base = {"agency_org_id": orgs["ty_ybj"].id, "agreement_type": "service"}
    signed = commands.add_agreement(inst1, ty_maint, {
        **base, "agreement_no": "TY-YB-2025-0001", "start_date": "2025-01-01",
        "end_date": "2025-12-31", "content": "2025年度医疗保障定点医疗机构服务协议"})
    renewed = commands.add_agreement(inst1, ty_maint, {
        **base, "agreement_no": "TY-YB-2026-0001", "start_date": "2026-01-01",
        "end_date": "2026-12-31", "content": "2026年度医疗保障定点医疗机构服务协议"})
    draft = commands.add_agreement(inst1, ty_maint, {
        **base, "agreement_type": "supplement", "agreement_no": "TY-YB-2026-0001-B1",
        "start_date": "2026-07-01", "end_date": "2026-12-31", "content": "门诊慢特病补充协议"})
    engine.apply_batch(RegistryAgreementFlow, [signed.id, renewed.id], "confirm", insurer)
    commands.sync_agreements()
    # The 医保部门 corrects the 2026 agreement after confirming: published at the next run.
    commands.edit_agreement(renewed, insurer, {
        "agreement_no": renewed.agreement_no, "agreement_type": "service",
        "start_date": "2026-01-01", "end_date": "2026-12-31",
        "content": "2026年度医疗保障定点医疗机构服务协议（经办机构修订）"})
    assert draft.state == "pending"

    # 太原市中心医院: maintained by ty_maint2, submitted, waiting for 审核赋码.
    ty_maint2 = _registrant("ty_maint2", "中心医院信息员", "13903510002")
    hosp2 = orgs["ty_hosp2"]
    hosp2.uscc, hosp2.licence_no = "12140100405814479L", "PDY00002014010611A1001"
    inst2 = commands.institution_for(hosp2, ty_maint2)
    _authorised(ty_maint2, inst2, agency)
    commands.update_institution(inst2, ty_maint2, _fields(hosp2, grade="三级乙等",
                                                          address="山西省太原市解放路10号"))
    engine.apply(RegistryInstitutionFlow, inst2, "submit", ty_maint2)

    # A self-registered account adds a clinic; its authorisation waits for the agency.
    reg = _registrant("reg_demo", "康宁口腔信息员", "13903510003")
    clinic = commands.add_institution(reg, {
        "legal_name": "太原康宁口腔医疗有限公司", "name": "太原康宁口腔诊所",
        "uscc": "91140105MA0KXQ1P2X", "licence_no": "PDY00003114010521D2152",
        "region_code": "140105", "address": "山西省太原市小店区长风街8号",
        "pooling_code": "140100", "category": "诊所", "grade": "未定级",
        "phone": "0351-7770001", "uses_e_voucher": False})
    _authorised(reg, clinic, agency, approve=False)
