"""医疗机构信息维护 REST resources (SPEC §X, M1–M7): registry_institution,
registry_authorization, registry_agreement, registry_staff. (Being written.)"""
from flask_appbuilder import ModelRestApi
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models.registry import (RegistryAgreement, RegistryAuthorization,
                                 RegistryInstitution, RegistryStaff)
from app.views.api_mixins import ScopedApiMixin


class RegistryInstitutionApi(ScopedApiMixin, ModelRestApi):
    resource_name = "registry_institution"
    datamodel = SQLAInterface(RegistryInstitution)
    base_permissions = ["can_get", "can_info"]


class RegistryAuthorizationApi(ScopedApiMixin, ModelRestApi):
    resource_name = "registry_authorization"
    datamodel = SQLAInterface(RegistryAuthorization)
    base_permissions = ["can_get", "can_info"]


class RegistryAgreementApi(ScopedApiMixin, ModelRestApi):
    resource_name = "registry_agreement"
    datamodel = SQLAInterface(RegistryAgreement)
    base_permissions = ["can_get", "can_info"]


class RegistryStaffApi(ScopedApiMixin, ModelRestApi):
    resource_name = "registry_staff"
    datamodel = SQLAInterface(RegistryStaff)
    base_permissions = ["can_get", "can_info"]
