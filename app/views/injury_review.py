"""工伤 declaration lists (being written)."""
from app.views.injury import _Stub


class InjuryDeclarationView(_Stub):
    route_base = "/injury/declarations"


class InjuryEmployerReviewView(_Stub):
    route_base = "/injury/employer"


class InjuryAgencyReviewView(_Stub):
    route_base = "/injury/agency"
