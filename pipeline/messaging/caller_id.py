"""D2 caller ID: a call shows a working number of ours that takes a stop, or it is not placed.

Before "Call" asks the gate, the number the homeowner will see is checked: present
(never blocked), E.164, held by the brokerage at the provider, and set to answer on our
voice webhook, where a homeowner calling back hears who we are and can press 1 to stop
(pipeline.messaging.inbound_calls). The provider's answer is kept ``CALLER_ID_CACHE_SECONDS``
so a click seldom waits on an API round trip; a provider that cannot be asked refuses the
call (fail closed). See docs/messaging.md#caller-id and docs/compliance-rules.md#d2.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from compliance import rules
from leadcrm.accounts.models import User

from .providers import CallerIdStatus, ProviderError, telephony

RULE = rules.CALLER_ID.id
CALLER_ID_CACHE_SECONDS = 600
E164 = re.compile(r"^\+[1-9]\d{6,14}$")  # as User.sending_number is validated

CALLER_ID_BLOCKED = ("Not called (D2): no caller ID to show. A call must show a working number of the brokerage; "
                     "a broker sets your sending number on your user, or TWILIO_NUMBERS for the brokerage.")
CALLER_ID_NOT_E164 = "Not called (D2): the caller ID {number} is not a number in E.164 form (+1...)."
CALLER_ID_REFUSED = ("Not called (D2): the caller ID {number} is {reason}. A homeowner who calls it back must "
                     "reach us and be able to ask us to stop; a broker can check the numbers with "
                     "`manage.py caller_id_check`.")
CALLER_ID_UNKNOWN = ("Not called (D2): the provider could not tell whether {number} answers on our voice line "
                     "({reason}). Try again in a minute.")


def voice_url() -> str:
    """Our "A call comes in" address: every caller ID must point its voice calls here."""
    return settings.LEADCRM_WEBHOOK_BASE_URL + reverse("messaging:twilio_voice")


def _cache_key(provider: str, number: str, url: str) -> str:
    digest = hashlib.sha256(f"{provider}|{number}|{url}".encode()).hexdigest()[:32]
    return f"messaging:caller-id:{digest}"


def caller_id_status(number: str, *, fresh: bool = False) -> CallerIdStatus:
    """The provider's answer for ``number`` (kept briefly; ``fresh`` asks again).

    Raises ``ProviderError`` when the provider cannot be asked; that is never kept."""
    provider = telephony()
    url = voice_url()
    key = _cache_key(provider.name, number, url)
    if not fresh:
        kept = cache.get(key)
        if isinstance(kept, CallerIdStatus):
            return kept
    status = provider.caller_id_status(number, voice_url=url)
    cache.set(key, status, CALLER_ID_CACHE_SECONDS)
    return status


def caller_id_refusal(number: str) -> str:
    """Why ``number`` may not be shown to a homeowner (D2), or "" when it may."""
    if not number:
        return CALLER_ID_BLOCKED
    if not E164.match(number):
        return CALLER_ID_NOT_E164.format(number=number)
    try:
        status = caller_id_status(number)
    except ProviderError as error:
        return CALLER_ID_UNKNOWN.format(number=number, reason=error.message)
    if not status.ok:
        return CALLER_ID_REFUSED.format(number=number, reason=status.reason)
    return ""


@dataclass(frozen=True)
class CallerIdLine:
    """One number a call may show, for the broker's check: whose it is and whether it passes."""

    number: str
    used_by: str
    refusal: str

    @property
    def passes(self) -> bool:
        return not self.refusal


def caller_id_report() -> list[CallerIdLine]:
    """Every number calls may show (the shared pool, each agent's own), each asked afresh."""
    lines: dict[str, list[str]] = {number: ["the shared pool"] for number in telephony().sending_numbers()}
    for username, number in (User.objects.filter(is_active=True).exclude(sending_number="")
                             .order_by("username").values_list("username", "sending_number")):
        lines.setdefault(number, []).append(username)
    report = []
    for number, users in lines.items():
        if E164.match(number):
            try:
                caller_id_status(number, fresh=True)
            except ProviderError:
                pass  # caller_id_refusal says so
        report.append(CallerIdLine(number=number, used_by=", ".join(users), refusal=caller_id_refusal(number)))
    return report
