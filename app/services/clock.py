"""The time business rules read (deadlines, timeouts). One function, so that a test or a
command (`flask injury auto-approve --at …`) can move the clock instead of sleeping."""
from app.models.core import utcnow


def now():
    """Naive UTC, like every stored timestamp."""
    return utcnow()
