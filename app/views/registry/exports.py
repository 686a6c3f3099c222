"""导出查询数据 of the registry's lists: every field of a list's rows, and its standard
format (the columns the list shows)."""
from app.i18n import _l
from app.models.registry import (AGREEMENT_STATE_LABELS, AGREEMENT_TYPES, AUTH_STATE_LABELS,
                                 INSTITUTION_STATE_LABELS, REVIEW_STATE_LABELS, ROLE_KINDS,
                                 STAFF_STATE_LABELS, STAFF_TYPES)
from app.views.shared.export import ExportField as F, labelled

INSTITUTION_NAME = "institution.organization.name"

INSTITUTION_FIELDS = (
    F("organization.name", _l("医疗机构名称")), F("legal_name", _l("法人单位名称")),
    F("organization.uscc", _l("统一社会信用代码")),
    F("organization.licence_no", _l("医疗机构执业许可证登记号")),
    F("organization.address", _l("详细地址")), F("pooling_region.name", _l("医保统筹区")),
    F("uses_e_voucher", _l("是否应用医保电子凭证"), "bool"),
    F("organization.category", _l("医疗机构类别")), F("organization.grade", _l("医疗机构级别")),
    F("organization.phone", _l("联系电话")), F("organization.national_code", _l("国家编码")),
    F("state", _l("状态"), fmt=labelled(INSTITUTION_STATE_LABELS)),
    F("review_comment", _l("审核意见")), F("created_at", _l("创建时间")),
    F("submitted_at", _l("提交时间")), F("coded_at", _l("赋码时间")))
INSTITUTION_STANDARD = ("organization.name", "organization.uscc", "organization.licence_no",
                        "pooling_region.name", "organization.national_code", "state",
                        "submitted_at")

AUTHORIZATION_FIELDS = (
    F("auth_no", _l("授权文件编号")), F(INSTITUTION_NAME, _l("医疗机构")),
    F("user.first_name", _l("申请人")), F("user.username", _l("登录名")),
    F("role_kind", _l("角色类型"), fmt=labelled(ROLE_KINDS)),
    F("state", _l("状态"), fmt=labelled(AUTH_STATE_LABELS)),
    F("created_at", _l("申请时间")), F("uploaded_at", _l("上传时间")),
    F("reviewed_at", _l("审核时间")), F("review_comment", _l("审核意见")))
AUTHORIZATION_STANDARD = ("auth_no", INSTITUTION_NAME, "user.first_name", "role_kind", "state",
                          "uploaded_at")

CERT_CHANGE_FIELDS = (
    F(INSTITUTION_NAME, _l("医疗机构")), F("old_uscc", _l("原统一社会信用代码")),
    F("new_uscc", _l("新统一社会信用代码")), F("old_licence_no", _l("原许可证登记号")),
    F("new_licence_no", _l("新许可证登记号")), F("reason", _l("变更原因")),
    F("state", _l("状态"), fmt=labelled(REVIEW_STATE_LABELS)),
    F("review_comment", _l("审核意见")), F("created_at", _l("申请时间")))
CERT_CHANGE_STANDARD = (INSTITUTION_NAME, "old_uscc", "new_uscc", "old_licence_no",
                        "new_licence_no", "state", "created_at")

STAFF_FIELDS = (
    F(INSTITUTION_NAME, _l("医疗机构")), F("name", _l("姓名")), F("id_number", _l("身份证号")),
    F("staff_type", _l("人员类型"), fmt=labelled(STAFF_TYPES)), F("cert_no", _l("执业证书编号")),
    F("state", _l("审核状态"), fmt=labelled(STAFF_STATE_LABELS)),
    F("review_comment", _l("审核意见")), F("created_at", _l("创建时间")))
STAFF_STANDARD = (INSTITUTION_NAME, "name", "id_number", "staff_type", "cert_no", "state")

AGREEMENT_FIELDS = (
    F(INSTITUTION_NAME, _l("医疗机构")), F("agency.name", _l("经办机构")),
    F("agreement_no", _l("协议编号")),
    F("agreement_type", _l("协议类型"), fmt=labelled(AGREEMENT_TYPES)),
    F("start_date", _l("协议开始日期"), "date"), F("end_date", _l("协议结束日期"), "date"),
    F("content", _l("协议内容")), F("state", _l("状态"), fmt=labelled(AGREEMENT_STATE_LABELS)),
    F("confirmed_at", _l("确认时间")), F("changed_at", _l("最后修改时间")),
    F("synced_at", _l("入库时间")))
AGREEMENT_STANDARD = (INSTITUTION_NAME, "agency.name", "agreement_no", "agreement_type",
                      "start_date", "end_date", "state", "synced_at")

DESIGNATED_FIELDS = (
    F("national_code", _l("国家编码")), F("institution_name", _l("医疗机构名称")),
    F("agency_name", _l("经办机构")), F("agreement_no", _l("协议编号")),
    F("agreement_type", _l("协议类型"), fmt=labelled(AGREEMENT_TYPES)),
    F("start_date", _l("协议开始日期"), "date"), F("end_date", _l("协议结束日期"), "date"),
    F("published_at", _l("入库时间")))
DESIGNATED_STANDARD = tuple(f.key for f in DESIGNATED_FIELDS)
