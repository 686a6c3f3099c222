"""工伤 master data (being written)."""
from app.views.injury import _Stub


class InjuryDeterminationView(_Stub):
    route_base = "/injury/determinations"


class InjuryDeviceItemView(_Stub):
    route_base = "/injury/devices"
