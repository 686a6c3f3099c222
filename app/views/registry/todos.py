"""机构信息维护's 我的待办 (SPEC P13): the agency's reviews and confirmations, national coding,
and what waits for the maintainers and the doctor / nurse editors (records still to submit,
returned or not passed, authorisations still to upload). One scoped COUNT each, linking to
the list filtered by that state."""
from flask import url_for
from sqlalchemy import func

from app.extensions import db
from app.i18n import _l
from app.models import registry as m
from app.scope import region_scope
from app.services.registry import rules
from app.workflows.engine import user_has_role

STAFF_EDITORS = {rules.MAINTAINER, rules.DOCTOR_EDITOR, rules.NURSE_EDITOR}
# role(s) → (label, model, state, list endpoint)
WANTED = (
    ({rules.AGENCY}, _l("待审核的机构维护授权"), m.RegistryAuthorization, "uploaded",
     "RegistryAuthorizationView.list"),
    ({rules.AGENCY}, _l("待审核的人员信息"), m.RegistryStaff, "submitted", "RegistryStaffView.list"),
    ({rules.INSURER}, _l("待确认的定点协议"), m.RegistryAgreement, "pending",
     "RegistryAgreementView.list"),
    ({rules.AGENCY}, _l("待审核的证号变更申请"), m.RegistryCertChange, "pending",
     "RegistryCertChangeView.list"),
    ({rules.NATIONAL}, _l("待审核赋码的机构"), m.RegistryInstitution, "submitted",
     "RegistryInstitutionView.list"),
    ({rules.MAINTAINER}, _l("待提交的机构信息"), m.RegistryInstitution, "draft",
     "RegistryInstitutionView.list"),
    ({rules.MAINTAINER}, _l("退回修改的机构信息"), m.RegistryInstitution, "returned",
     "RegistryInstitutionView.list"),
    ({rules.MAINTAINER}, _l("审核不通过的证号变更申请"), m.RegistryCertChange, "rejected",
     "RegistryCertChangeView.list"),
    (STAFF_EDITORS, _l("待提交的人员信息"), m.RegistryStaff, "draft", "RegistryStaffView.list"),
    (STAFF_EDITORS, _l("审核不通过的人员信息"), m.RegistryStaff, "rejected",
     "RegistryStaffView.list"),
    ({rules.REGISTRANT}, _l("待上传的授权文书"), m.RegistryAuthorization, "draft",
     "RegistryAuthorizationView.list"),
    ({rules.REGISTRANT}, _l("审核不通过的授权"), m.RegistryAuthorization, "rejected",
     "RegistryAuthorizationView.list"),
)


def todos(user):
    rows = []
    for roles, label, model, state, endpoint in WANTED:
        if not user_has_role(user, roles):
            continue
        n = db.session.execute(db.select(func.count(model.id)).where(
            region_scope(model, user), model.state == state)).scalar()
        rows.append({"label": label, "count": n,
                     "url": url_for(endpoint) + f"?_flt_0_state={state}"})
    return rows
