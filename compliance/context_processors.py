"""What every page needs to know about the signed-in user's compliance standing."""

from django.db.models import Exists, OuterRef
from django.utils import timezone

from .models import DncPolicy, PolicyAcknowledgement


def procedures(request) -> dict:
    """Whether the user must still acknowledge the Do Not Call procedures in force (A4).

    One indexed query per page: the newest version, and whether this user acknowledged it.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    newest = (
        DncPolicy.objects.filter(adopted_on__lte=timezone.localdate()).order_by("-adopted_on", "-created_at", "-id")
        .annotate(acknowledged=Exists(PolicyAcknowledgement.objects.filter(policy=OuterRef("pk"), user=user)))
        .values_list("acknowledged", flat=True)
        .first()
    )
    if newest is None:
        return {"procedures_missing": True}
    return {"procedures_pending": not newest}
