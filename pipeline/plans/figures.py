"""What the plans' figures count, where the broker's report and the admin's lists must
agree (docs/action-plans.md)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Value
from django.db.models.functions import Coalesce, Greatest, Least

from compliance.models import Channel, Direction
from pipeline.models import OutreachAttempt


def replied_between(since: datetime, until: datetime) -> Exists:
    """An enrollment whose homeowner wrote back (a text or email in) between ``since`` and
    ``until`` while the lead was in the plan: from its start to its end, if it ended. Read
    from the outreach log, so a pause resumed since still counts; a corrected entry counts
    once, as its correction."""
    return Exists(OutreachAttempt.objects.filter(
        lead_id=OuterRef("lead_id"), direction=Direction.INBOUND, channel__in=[Channel.SMS, Channel.EMAIL],
        corrections__isnull=True,
        occurred_at__gte=Greatest(OuterRef("started_at"), Value(since)),
        occurred_at__lt=Least(Coalesce(OuterRef("ended_at"), Value(until)), Value(until))))
