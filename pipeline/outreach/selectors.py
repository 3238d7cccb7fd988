"""Reads of the outreach log, scoped by who is looking."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max, Q

from leadcrm.accounts.models import User
from leads.merging import lead_ids_with_merged
from leads.models import Lead
from pipeline.models import Outcome, OutreachAttempt


def recent_outreach(*, fetched_by: User, limit: int = 10) -> list[OutreachAttempt]:
    return list(
        OutreachAttempt.objects.visible_to(fetched_by)
        .select_related("lead__property", "agent", "message")
        .only("occurred_at", "channel", "outcome", "lead__property__street", "lead__property__unit",
              "agent__username", "agent__first_name", "agent__last_name", "message__keyword")
        .order_by("-occurred_at", "-pk")[:limit]
    )


# A conversation: the homeowner was reached, or wrote back.
CONVERSATION_OUTCOMES = frozenset({Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.REPLIED})
# What an inbound text asked for (pipeline.messaging.keywords) that makes a reply no conversation.
NOT_A_CONVERSATION = ("stop", "review")


def lead_last_conversation(*, lead: Lead) -> dict:
    """The latest conversation with the homeowner, and the attempts after it: how many and
    the latest (every attempt when nobody was reached yet). An entry a later one corrects
    no longer counts. Read from the log itself, not the timeline, which is cut at a
    hundred events of every kind: a long-worked lead's last talk may lie further back."""
    attempts = OutreachAttempt.objects.filter(lead_id__in=lead_ids_with_merged(lead), corrections__isnull=True)
    # A homeowner's text asking to stop (or that may mean it) is no conversation.
    conversation = (attempts.filter(outcome__in=CONVERSATION_OUTCOMES)
                    .exclude(message__keyword__in=NOT_A_CONVERSATION).select_related("agent").first())
    since = attempts if conversation is None else attempts.filter(
        Q(occurred_at__gt=conversation.occurred_at) | Q(occurred_at=conversation.occurred_at, pk__gt=conversation.pk))
    latest = since.first()
    return {"conversation": conversation, "latest": latest, "since_count": since.count() if latest else 0}


LAST_ACTIVITY_DAYS = 90


def agents_last_outreach(*, agent_ids: list[int], now: datetime) -> dict[int, datetime]:
    """The newest logged attempt by each agent, over the last 90 days only (an index
    range, not the whole log)."""
    return dict(OutreachAttempt.objects.filter(agent__in=agent_ids,
                                               occurred_at__gte=now - timedelta(days=LAST_ACTIVITY_DAYS))
                .order_by().values_list("agent").annotate(at=Max("occurred_at")).values_list("agent", "at"))
