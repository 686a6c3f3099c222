"""定点医疗机构审核 (issue 21 item 1): the agency vets the hospitals of its region that opened
their service by 马上注册 — list, details, 审核通过 / 审核不通过 with a reason, each through
the engine (audited); until 审核通过 the hospital's lookup and declarations are refused."""
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.i18n import _l
from app.models.injury import InjuryHospital
from app.views.shared.formatting import localtime
from app.views.shared.mixins import RegionScopedMixin, WorkflowActionsMixin
from app.workflows.injury import InjuryHospitalFlow

LABELS = {
    "organization": _l("医疗机构"), "organization.name": _l("医疗机构"),
    "organization.uscc": _l("统一社会信用代码"), "organization.region": _l("所属区划"),
    "organization.region.name": _l("所属区划"), "contact": _l("联系人"),
    "phone": _l("联系电话"), "state": _l("审核状态"), "state_label": _l("审核状态"),
    "reason": _l("审核意见"), "created_at": _l("注册时间"), "reviewed_at": _l("审核时间"),
}


class InjuryHospitalView(RegionScopedMixin, WorkflowActionsMixin, ModelView):
    """定点医疗机构审核: the agency's list of registered hospitals in its region."""
    route_base = "/injury/hospitals"
    datamodel = SQLAInterface(InjuryHospital)
    workflow = InjuryHospitalFlow
    list_title = _l("定点医疗机构审核")
    show_title = _l("定点医疗机构注册详情")
    label_columns = LABELS
    list_columns = ["organization.name", "organization.uscc", "organization.region.name",
                    "contact", "phone", "created_at", "state_label", "reason"]
    show_columns = ["organization.name", "organization.uscc", "organization.region.name",
                    "contact", "phone", "created_at", "state_label", "reason", "reviewed_at"]
    search_columns = ["state"]
    order_columns = ["created_at"]
    base_order = ("created_at", "desc")
    formatters_columns = {"created_at": localtime, "reviewed_at": localtime}
    editable_states = ()
    base_permissions = ["can_list", "can_show"]
