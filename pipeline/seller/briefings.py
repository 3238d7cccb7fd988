"""What the seller was told, and the lead page's seller card."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadcrm.accounts.models import User
from leads.models import Lead, Stage
from pipeline.models import (
    BriefingTopic,
    SellerBriefing,
    SellerLink,
)

from .access import LINK_DAYS

# What the seller was told ---------------------------------------------------------------


def briefings_of(lead: Lead) -> dict[str, SellerBriefing]:
    return {briefing.topic: briefing for briefing in lead.briefings.select_related("told_by")}


@transaction.atomic
def seller_briefings_set(*, lead: Lead, actor: User, told: dict[str, date]) -> None:
    """Record the topics the seller has been told, each with its day; a topic left out is
    unset (a box ticked by mistake)."""
    today = timezone.localdate()
    for topic, day in told.items():
        BriefingTopic(topic)  # ValueError for anything else: the form offers only these
        if day > today:
            raise ValidationError({topic: "That day is in the future."})
    lead.briefings.exclude(topic__in=list(told)).delete()
    existing = briefings_of(lead)
    for topic, day in told.items():
        briefing = existing.get(topic)
        if briefing is None:
            SellerBriefing.objects.create(lead=lead, topic=topic, told_on=day, told_by=actor)
        elif briefing.told_on != day:
            briefing.told_on, briefing.told_by = day, actor
            briefing.save(update_fields=["told_on", "told_by", "recorded_at"])


# Once the seller is being qualified, they should know what a short sale takes.
BRIEFING_EXPECTED_FROM = (Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE)


def seller_card(*, lead: Lead, session) -> dict:
    """The lead page's card: the link's state (and a new link, shown once), and the topics
    the seller has been told, warning when none is recorded from Qualify on."""
    link = SellerLink.objects.filter(lead=lead).first()
    briefings = briefings_of(lead)
    return {
        "link": link,
        "link_open": link is not None and link.is_open_at(timezone.now()),
        "new_url": session.pop(f"seller_link_new_{lead.pk}", None),
        "link_days": LINK_DAYS,
        "topics": [{"value": topic.value, "label": topic.label, "briefing": briefings.get(topic.value)}
                   for topic in BriefingTopic],
        "warn_briefing": not briefings and lead.stage in BRIEFING_EXPECTED_FROM,
        "today": timezone.localdate(),
    }


def briefing_missing(lead: Lead) -> list[str]:
    """The topics the seller has not been told yet, in words."""
    told = set(lead.briefings.values_list("topic", flat=True))
    return [topic.label for topic in BriefingTopic if topic.value not in told]
