"""Reads of messaging: the Sent page, the inbox, one message, a lead's textable numbers.

Each takes the user and follows the lead, never the sender: the messages on the leads the user
may see (``Lead.objects.visible_to``), so a lead handed to another agent takes its messages
along; the inbox (texts nobody's lead matched) is for team leads and brokers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from compliance.models import Direction
from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leads.models import Lead, Phone, PhoneStatus, PhoneType
from leads.phones import search_digits
from leads.querysets import lead_scope
from pipeline.models import FAILED_STATUSES, InboxState, Message, MessageTemplate, TemplateKind

SENT_PAGE_SIZE = 50
INBOX_PAGE_SIZE = 30
INBOX_BADGE_UP_TO = 99


def may_work_inbox(user: User) -> bool:
    """Team leads and brokers file what nobody's lead matched; an agent could only guess."""
    return user.is_authenticated and (user.has_perm(Perm.VIEW_TEAM_LEADS) or user.has_perm(Perm.VIEW_ALL_LEADS))


def sent_messages(*, fetched_by: User):
    """Outbound texts, calls and emails the user may see, newest first (not yet cut): those on
    the leads they may see; one on no lead (a HELP answer) only its own agent's, or a broker's."""
    messages = Message.objects.filter(direction=Direction.OUTBOUND)
    if lead_scope(fetched_by) is None:
        return messages
    visible = Lead.objects.visible_to(fetched_by).values("pk")
    return messages.filter(Q(lead__in=visible) | Q(lead__isnull=True, agent=fetched_by))


@dataclass(frozen=True)
class MessagePage:
    rows: list[Message]
    next_cursor: str  # "" on the last page


# The largest key a cursor may name: PostgreSQL's bigint; past it the query itself would fail.
_MAX_PK = 2**63 - 1


def _cursor(before: str) -> tuple[datetime, int] | None:
    """The cursor ("<created_at iso>~<pk>") read, or None when it is not one this page made
    (edited by hand, cut short, a date that does not exist, no time zone): the first page."""
    created, _, pk = (before or "").rpartition("~")
    if not pk.isdigit() or len(pk) > 19 or int(pk) > _MAX_PK:
        return None
    try:
        at = parse_datetime(created)
    except ValueError:
        return None
    if at is None or timezone.is_naive(at):
        return None
    return at, int(pk)


def _keyset(queryset, *, before: str, size: int) -> MessagePage:
    """One page after the cursor, with no COUNT: one row more than the page says whether
    another follows."""
    cursor = _cursor(before)
    if cursor is not None:
        created, pk = cursor
        queryset = queryset.filter(Q(created_at__lt=created) | Q(created_at=created, pk__lt=pk))
    rows = list(queryset.order_by("-created_at", "-pk")[:size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return MessagePage(rows=rows, next_cursor=f"{rows[-1].created_at.isoformat()}~{rows[-1].pk}" if more else "")


def sent_page(*, fetched_by: User, before: str = "", failed_only: bool = False,
              size: int = SENT_PAGE_SIZE) -> MessagePage:
    messages = sent_messages(fetched_by=fetched_by).select_related("lead__property", "agent")
    if failed_only:
        messages = messages.filter(status__in=FAILED_STATUSES)
    return _keyset(messages, before=before, size=size)


def sent_message_get(*, fetched_by: User, pk: int) -> Message:
    """One outbound message the user may see, or 404."""
    return get_object_or_404(sent_messages(fetched_by=fetched_by).select_related("lead"), pk=pk)


def lead_message_get(*, fetched_by: User, pk: int) -> Message:
    """A message on a lead the user may see (its status, polled from the timeline), or 404."""
    return get_object_or_404(Message.objects.visible_to(fetched_by).filter(lead__isnull=False), pk=pk)


def inbox_page(*, before: str = "", size: int = INBOX_PAGE_SIZE) -> MessagePage:
    return _keyset(Message.objects.inbox(), before=before, size=size)


INBOX_COUNT_KEY = "messaging:inbox-count"
INBOX_COUNT_SECONDS = 20


def inbox_count() -> int:
    """Waiting in the inbox, counted up to 100 on the partial index, and kept 20 s: the menu
    shows it on every page, and a badge a few seconds behind costs nobody anything."""
    return cache.get_or_set(INBOX_COUNT_KEY, lambda: Message.objects.inbox().order_by()[:INBOX_BADGE_UP_TO + 1]
                            .count(), INBOX_COUNT_SECONDS)


def inbox_count_forget() -> None:
    cache.delete(INBOX_COUNT_KEY)


def inbox_message_get(*, pk: int) -> Message:
    """A text or email that came to the inbox: waiting there, or already filed or dismissed from
    it (the service then says so: two team leads may reach for the same one)."""
    came_to_inbox = Q(inbox_state__in=[InboxState.UNMATCHED, InboxState.DISMISSED]) | Q(filed_by__isnull=False)
    return get_object_or_404(Message.objects.filter(came_to_inbox, direction=Direction.INBOUND), pk=pk)


def inbox_candidates(*, fetched_by: User, messages: list[Message], search: str = "") -> dict[int, list[Lead]]:
    """For each inbox message, the leads the user may see that have its number (and, when
    searched, those whose street matches), in two queries at most."""
    numbers = {message.from_address for message in messages}
    visible = Lead.objects.visible_to(fetched_by)
    by_number: dict[str, list[Lead]] = {}
    phones = (Phone.objects.filter(number__in=numbers, contact__lead__in=visible.values("pk"))
              .exclude(status=PhoneStatus.ERASED).select_related("contact__lead__property")[:200])
    for phone in phones:
        leads = by_number.setdefault(phone.number, [])
        if phone.contact.lead not in leads:
            leads.append(phone.contact.lead)
    found: list[Lead] = []
    if search.strip():
        term = search.strip()
        digits = search_digits(term)
        match = Q(property__street__icontains=term)
        if len(digits) >= 4:
            match |= Q(contacts__phones__number__contains=digits)
        found = list(visible.filter(match).select_related("property").distinct()[:10])
    return {message.pk: by_number.get(message.from_address, []) + [lead for lead in found
                                                                   if lead not in by_number.get(message.from_address, [])]
            for message in messages}


def textable_phones(*, lead: Lead) -> list[Phone]:
    """The lead's numbers a text may go to: not erased, not a landline (the gate decides the rest)."""
    return list(Phone.objects.filter(contact__lead=lead).exclude(status=PhoneStatus.ERASED)
                .exclude(phone_type=PhoneType.LANDLINE).select_related("contact").order_by("contact_id", "position",
                                                                                             "pk"))


def text_templates_for(*, user: User) -> list[MessageTemplate]:
    """The text templates the user may use: theirs and the brokerage's, for their capacity."""
    templates = MessageTemplate.objects.usable_by(user).filter(kind=TemplateKind.TEXT)
    return sorted(templates.for_capacity(user.capacity), key=lambda template: template.name.lower())
