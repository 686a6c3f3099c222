"""基本公卫 REST resources (SPEC §X, H2–H7): phs_institution, phs_report, phs_change_request.
(Skeleton: reads and the report/change-request transitions; writes through the services
are added with their tests.)"""
from flask_appbuilder import ModelRestApi
from flask_appbuilder.models.sqla.filters import FilterEqual
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models.phs import PhsChangeRequest, PhsInstitution, PhsReport
from app.views.api_mixins import ExportApiMixin, ScopedApiMixin, WorkflowApiMixin
from app.workflows.phs import ChangeRequestFlow, PhsReportFlow


class PhsInstitutionApi(ScopedApiMixin, ExportApiMixin, ModelRestApi):
    resource_name = "phs_institution"
    datamodel = SQLAInterface(PhsInstitution)
    base_filters = [["deleted", FilterEqual, False]]
    list_columns = ["id", "tier", "name", "code", "contact", "phone", "township",
                    "address_detail", "inst_type", "sponsor", "longitude", "latitude",
                    "services", "superior_org_id", "organization_id", "is_complete"]
    show_columns = list_columns
    base_order = ("id", "asc")
    base_permissions = ["can_get", "can_info"]
    max_page_size = 100


class PhsReportApi(ScopedApiMixin, WorkflowApiMixin, ExportApiMixin, ModelRestApi):
    resource_name = "phs_report"
    datamodel = SQLAInterface(PhsReport)
    workflow = PhsReportFlow
    list_columns = ["id", "task_id", "kind", "state", "organization_id", "reviewer_org_id",
                    "submitted_at", "reviewed_at", "review_opinion"]
    show_columns = list_columns
    base_order = ("id", "asc")
    base_permissions = ["can_get", "can_info", "can_put"]
    max_page_size = 100


class PhsChangeRequestApi(ScopedApiMixin, WorkflowApiMixin, ExportApiMixin, ModelRestApi):
    resource_name = "phs_change_request"
    datamodel = SQLAInterface(PhsChangeRequest)
    workflow = ChangeRequestFlow
    list_columns = ["id", "kind", "institution_id", "content", "reason", "state",
                    "organization_id", "reviewer_org_id", "review_opinion", "submitted_at",
                    "reviewed_at"]
    show_columns = list_columns
    base_order = ("id", "desc")
    base_permissions = ["can_get", "can_info", "can_put"]
    max_page_size = 100
