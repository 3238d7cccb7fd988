"""What every page shows of the user's notifications: the unread count by the bell."""

from django.utils.functional import SimpleLazyObject

from pipeline.models import Notification

SHOWN_UP_TO = 99


def notifications(request) -> dict:
    """The unread count, read only when a page shows it; counted up to 99 (one indexed query)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    def unread() -> int:
        return Notification.objects.filter(recipient=user, read_at__isnull=True)[:SHOWN_UP_TO + 1].count()

    return {"unread_notifications": SimpleLazyObject(unread)}
