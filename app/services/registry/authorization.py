"""机构维护授权 documents (SPEC M2): the 授权文件 PDF of an authorisation, and 授权文书上传 —
the stamped scan recognised by its QR code, stored, and the request sent to the agency in
one transaction (the engine commits it)."""
import hashlib

from flask_babel import force_locale

from app.errors import InvalidError
from app.extensions import db
from app.i18n import _
from app.services.audit import record
from app.services.files import attach, files_of, path_of
from app.services.registry import document, rules
from app.services.registry.commands import attached
from app.workflows.engine import apply
from app.workflows.registry import RegistryAuthorizationFlow


PRINTED = ("institution_name", "legal_name", "uscc", "licence_no", "pooling_area", "region",
           "address", "grantee_name", "grantee_login", "grantee_mobile", "role_label")


def data_digest(fields):
    """A short digest of the data the authorisation prints (its QR code carries it)."""
    text = "\x1f".join(str(fields.get(k) or "") for k in PRINTED)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _printed_fields(auth):
    inst, org, grantee = auth.institution, auth.institution.organization, auth.user
    created = rules.shanghai_date(auth.created_at)
    return {"auth_no": auth.auth_no, "institution_name": org.name,
            "legal_name": inst.legal_name or "", "uscc": org.uscc or "无",
            "licence_no": org.licence_no or ("部队医疗机构" if inst.military else ""),
            "pooling_area": inst.pooling_region.full_name, "region": org.region.full_name,
            "address": org.address or "", "grantee_name": grantee.first_name,
            "grantee_login": grantee.username, "grantee_mobile": grantee.mobile or "",
            "role_label": str(auth.role_label),
            "issued_on": f"{created.year}年{created.month}月{created.day}日"}


def document_fields(auth):
    with force_locale("zh"):        # the digest does not depend on the reader's language
        fields = _printed_fields(auth)
    fields["digest"] = data_digest(fields)
    return fields


def document_pdf(auth):
    """The same record gives the same bytes: repeated clicks download the same file —
    in Chinese whatever the clicking user's language (it is stamped and filed)."""
    with force_locale("zh"):
        return document.authorization_pdf(document_fields(auth))


def document_name(auth):
    return f"授权文件_{auth.auth_no}.pdf"


def upload_stamped(auth, user, upload):
    """授权文书上传: recognised (QR code of this authorisation), stored, and the request
    goes to the agency — all or nothing (the engine's apply commits)."""
    flow = RegistryAuthorizationFlow
    refusal = flow.get("upload").refusal(auth, user, flow)
    if refusal is not None:
        raise refusal
    if upload is None or not upload.filename:
        raise InvalidError(_("请选择要上传的文件"), fields={"file": [_("必填")]})
    data = upload.stream.read()
    upload.stream.seek(0)
    problem = rules.recognition_problem(auth, data, document_fields(auth)["digest"])
    if problem is not None:
        raise InvalidError(problem, fields={"file": [str(problem)]})
    row = attached(lambda: attach(auth, rules.STAMPED, upload, user))
    db.session.flush()
    record(user, "upload", obj=auth, comment=row.original_name)
    return apply(flow, auth, "upload", user)


def review_data(auth):
    """What the reviewer reads beside the scan: the data the document prints now, and
    whether the stored scan was printed from it (None: no scan, or its code unreadable)."""
    fields = document_fields(auth)
    scans = files_of(auth).get(rules.STAMPED.name, [])
    matches = None
    if scans:
        with open(path_of(scans[-1]), "rb") as handle:
            found = document.recognise(handle.read())
        printed = found.digests.get(auth.auth_no)
        if printed is not None:
            matches = printed == fields["digest"]
    return fields, matches
