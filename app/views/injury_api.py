"""工伤 REST resources (SPEC §X): injury_determination, injury_declaration,
injury_device_item. (Being written; see issue 5.)"""
from flask_appbuilder import ModelRestApi
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.models.injury import InjuryDeclaration, InjuryDetermination, InjuryDeviceItem
from app.views.api_mixins import ScopedApiMixin


class InjuryDeterminationApi(ScopedApiMixin, ModelRestApi):
    resource_name = "injury_determination"
    datamodel = SQLAInterface(InjuryDetermination)
    base_permissions = ["can_get", "can_info"]


class InjuryDeclarationApi(ScopedApiMixin, ModelRestApi):
    resource_name = "injury_declaration"
    datamodel = SQLAInterface(InjuryDeclaration)
    base_permissions = ["can_get", "can_info"]


class InjuryDeviceItemApi(ScopedApiMixin, ModelRestApi):
    resource_name = "injury_device_item"
    datamodel = SQLAInterface(InjuryDeviceItem)
    base_permissions = ["can_get", "can_info"]
