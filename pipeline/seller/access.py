"""The status page's private link: made, revoked, opened, the phone-digits check, visits.

The page is opened by a long random token (only its hash is kept) that expires, can be
revoked, is one per lead, and may ask for the last four digits of a phone on file. Every
visit lands on the lead's timeline (``SellerEvent``).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.shared.queue import enqueue_on_commit
from leads.models import Lead, Phone, PhoneStatus
from pipeline.models import (
    EmailState,
    Notification,
    NotificationKind,
    SellerEvent,
    SellerEventKind,
    SellerLink,
)

LINK_DAYS = (7, 30, 60, 90)


DEFAULT_LINK_DAYS = 30


PHONE_CHECK_TRIES = 5


LOCK_MINUTES = 60


# Three locks (fifteen wrong tries) and the link is revoked: four digits must not be
# guessable over a link's 90 days at five tries an hour.
LOCKS_BEFORE_REVOKING = 3


# Reloads and clicks within half an hour are one visit on the timeline, not fifty.
VISIT_GAP = timedelta(minutes=30)


LINK_DAYS_INVALID = "Pick how long the link stays open: 7, 30, 60 or 90 days."


NO_PHONE_FOR_CHECK = "There is no phone number on file to ask the last four digits of: add one, or send the link without it."


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def seller_event_record(*, lead: Lead, kind: str, at: datetime, actor: User | None = None, upload=None, detail: str = "") -> SellerEvent:
    return SellerEvent.objects.create(lead=lead, kind=kind, at=at, actor=actor, upload=upload, detail=detail[:300])


def seller_agent_notify(lead: Lead, *, key: str, at: datetime, title: str, body: str, url: str = "") -> None:
    from pipeline.reminders.notifications import raise_once

    agent = lead.assigned_agent
    if agent is None or not agent.is_active:
        return
    wants_email = agent.email_reminders and bool(agent.email)
    note = Notification(
        recipient=agent, kind=NotificationKind.SELLER, key=key[:160], lead=lead, title=title[:200], body=body,
        url=url or reverse("leads:detail", args=[lead.pk]), created_at=at,
        email_state=EmailState.PENDING if wants_email else EmailState.NONE,
    )
    # Once per key, even with two uploads at the same moment (a savepoint: the upload stands).
    if not raise_once(note):
        return
    if wants_email:
        from pipeline.tasks import notification_emails_send

        # Pending until sent: the minute's sweeper sends it if the broker is down now.
        enqueue_on_commit(notification_emails_send, [note.pk], swept=True)


# Links (the agent's side) ---------------------------------------------------------------


def seller_link_url(token: str) -> str:
    return f"{settings.LEADCRM_BASE_URL}{reverse('pipeline:seller_page', args=[token])}"


def _phone_endings(lead: Lead) -> set[str]:
    # Good numbers only: a skip-traced wrong party's or a dead number's digits prove nothing.
    numbers = Phone.objects.filter(contact__lead=lead, status=PhoneStatus.GOOD).values_list("number", flat=True)
    return {number[-4:] for number in numbers if number and len(number) >= 4}


@transaction.atomic
def seller_link_create(*, lead: Lead, actor: User, days: int = DEFAULT_LINK_DAYS, asks_phone_digits: bool = False,
                       now: datetime | None = None) -> str:
    """A new private link to the lead's status page; any earlier one stops working. The
    token is returned once, to be sent to the homeowner, and never stored."""
    now = now or timezone.now()
    if days not in LINK_DAYS:
        raise ValidationError({"days": LINK_DAYS_INVALID})
    if asks_phone_digits and not _phone_endings(lead):
        raise ValidationError({"asks_phone_digits": NO_PHONE_FOR_CHECK})
    token = secrets.token_urlsafe(32)
    replaced = SellerLink.objects.filter(lead=lead, revoked_at__isnull=True, expires_at__gt=now).exists()
    link, _ = SellerLink.objects.update_or_create(lead=lead, defaults={
        "token_hash": _hash(token), "created_by": actor, "created_at": now, "expires_at": now + timedelta(days=days),
        "revoked_at": None, "asks_phone_digits": asks_phone_digits, "failed_checks": 0, "locked_until": None,
        "last_visit_at": None,
    })
    detail = f"Open until {timezone.localtime(link.expires_at):%b %-d, %Y}"
    detail += "; asks for the last four digits of a phone on file" if asks_phone_digits else ""
    detail += "; the earlier link no longer works" if replaced else ""
    seller_event_record(lead=lead, kind=SellerEventKind.LINK_CREATED, at=now, actor=actor, detail=detail)
    return token


@transaction.atomic
def seller_link_revoke(*, lead: Lead, actor: User, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    revoked = SellerLink.objects.filter(lead=lead, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        seller_event_record(lead=lead, kind=SellerEventKind.LINK_REVOKED, at=now, actor=actor)
    return bool(revoked)


# Links (the seller's side) --------------------------------------------------------------


def seller_link_open(token: str, now: datetime | None = None) -> SellerLink | None:
    """The open link this token is, or None: a guess, another lead's old link, an expired
    or revoked one all look the same to whoever holds it."""
    if not token or len(token) > 100:
        return None
    now = now or timezone.now()
    link = (SellerLink.objects.filter(token_hash=_hash(token))
            .select_related("lead__property", "lead__assigned_agent").first())
    return link if link is not None and link.is_open_at(now) else None


def seller_link_is_locked(link: SellerLink, now: datetime | None = None) -> bool:
    return link.locked_until is not None and link.locked_until > (now or timezone.now())


def seller_phone_check(*, link: SellerLink, digits: str, now: datetime | None = None) -> bool:
    """The second factor: the last four digits of a good phone on file. Every five wrong
    tries lock the link for an hour (logged, the agent told the first time); the third
    lock revokes it."""
    now = now or timezone.now()
    digits = "".join(ch for ch in (digits or "") if ch.isdigit())
    with transaction.atomic():
        link = SellerLink.objects.select_for_update(of=("self",)).select_related("lead__assigned_agent").get(pk=link.pk)
        if seller_link_is_locked(link, now):
            return False
        if len(digits) == 4 and digits in _phone_endings(link.lead):
            return True
        link.failed_checks += 1  # never reset by a lock: it counts towards revoking
        seller_event_record(lead=link.lead, kind=SellerEventKind.CHECK_FAILED, at=now,
               detail=f"Wrong try {link.failed_checks} of {PHONE_CHECK_TRIES * LOCKS_BEFORE_REVOKING}")
        if link.failed_checks >= PHONE_CHECK_TRIES * LOCKS_BEFORE_REVOKING:
            link.revoked_at = now
            seller_event_record(lead=link.lead, kind=SellerEventKind.LINK_REVOKED, at=now,
                   detail=f"Revoked after {link.failed_checks} wrong phone digits")
            seller_agent_notify(link.lead, key=f"seller_revoked:{link.pk}:{now:%Y%m%d%H%M%S}", at=now,
                          title="A seller's status page was revoked after fifteen wrong phone digits",
                          body="Someone kept guessing. If your seller still needs the page, send them a new link.")
        elif link.failed_checks % PHONE_CHECK_TRIES == 0:
            link.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            seller_event_record(lead=link.lead, kind=SellerEventKind.LOCKED, at=now,
                   detail=f"Locked until {timezone.localtime(link.locked_until):%b %-d, %-I:%M %p %Z}")
            if link.failed_checks == PHONE_CHECK_TRIES:  # told once; the revocation is told too
                seller_agent_notify(link.lead, key=f"seller_locked:{link.pk}:{now:%Y%m%d%H%M%S}", at=now,
                              title="A seller's status page was locked after five wrong phone digits",
                              body="If it was not your seller, consider revoking the link and sending a new one.")
        link.save(update_fields=["failed_checks", "locked_until", "revoked_at"])
        return False


def seller_visit_record(*, link: SellerLink, now: datetime | None = None) -> bool:
    """Note the visit; a new one (after a half-hour's quiet) goes on the timeline."""
    now = now or timezone.now()
    started = SellerLink.objects.filter(
        Q(last_visit_at__isnull=True) | Q(last_visit_at__lt=now - VISIT_GAP), pk=link.pk
    ).update(last_visit_at=now)
    if started:
        seller_event_record(lead=link.lead, kind=SellerEventKind.VISIT, at=now)
    else:
        SellerLink.objects.filter(pk=link.pk).update(last_visit_at=now)
    return bool(started)


def seller_guide_downloaded(*, link: SellerLink, now: datetime | None = None) -> None:
    seller_event_record(lead=link.lead, kind=SellerEventKind.GUIDE, at=now or timezone.now())
