"""Source strings are written in Chinese (the manuals' wording); English is a catalogue."""
from flask_babel import gettext as _, lazy_gettext as _l  # noqa: F401
