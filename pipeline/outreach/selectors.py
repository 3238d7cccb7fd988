"""Reads of the outreach log, scoped by who is looking."""

from __future__ import annotations

from django.db.models import Q

from leadcrm.accounts.models import User
from leads.models import Lead
from pipeline.models import Outcome, OutreachAttempt


def recent_outreach(*, fetched_by: User, limit: int = 10) -> list[OutreachAttempt]:
    return list(
        OutreachAttempt.objects.visible_to(fetched_by)
        .select_related("lead__property", "agent")
        .only("occurred_at", "channel", "outcome", "lead__property__street", "lead__property__unit",
              "agent__username", "agent__first_name", "agent__last_name")
        .order_by("-occurred_at", "-pk")[:limit]
    )


# A conversation: the homeowner was reached, or wrote back.
CONVERSATION_OUTCOMES = frozenset({Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.REPLIED})


def lead_last_conversation(*, lead: Lead) -> dict:
    """The latest conversation with the homeowner, and the attempts after it: how many and
    the latest (every attempt when nobody was reached yet). An entry a later one corrects
    no longer counts. Read from the log itself, not the timeline, which is cut at a
    hundred events of every kind: a long-worked lead's last talk may lie further back."""
    attempts = lead.outreach_attempts.filter(corrections__isnull=True)
    conversation = attempts.filter(outcome__in=CONVERSATION_OUTCOMES).select_related("agent").first()
    since = attempts if conversation is None else attempts.filter(
        Q(occurred_at__gt=conversation.occurred_at) | Q(occurred_at=conversation.occurred_at, pk__gt=conversation.pk))
    latest = since.first()
    return {"conversation": conversation, "latest": latest, "since_count": since.count() if latest else 0}
