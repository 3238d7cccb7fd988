"""What every page shows of messaging: the inbox count by its menu link (team leads, brokers)."""

from django.utils.functional import SimpleLazyObject

from .selectors import inbox_count, may_work_inbox


def inbox(request) -> dict:
    """Whether the user works the inbox, and how many wait there, read only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not may_work_inbox(user):
        return {}
    return {"works_inbox": True, "inbox_waiting": SimpleLazyObject(inbox_count)}
