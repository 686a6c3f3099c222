"""The portal's modules, in menu order: the one place that names the domains (the
composition root; config PORTAL_MODULES points here)."""
from app.views.injury.module import MODULE as INJURY
from app.views.ivd.module import MODULE as IVD
from app.views.phs.module import MODULE as PHS
from app.views.registry.module import MODULE as REGISTRY
from app.views.relief.module import MODULE as RELIEF

MODULES = (RELIEF, IVD, INJURY, PHS, REGISTRY)
