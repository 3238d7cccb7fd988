"""The provider seam: what the app asks of a telephony provider, and what comes back.

Webhook parameters are Twilio's names (``MessageSid``, ``From``, ``Body``, ``MessageStatus``,
``CallStatus``...); the local backend speaks them too, so both go through the same parsing
and the same services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone


class ProviderError(Exception):
    """The provider refused the request or could not be reached.

    ``outcome_known``: False when the request may have reached the provider (a timeout
    after it was sent, a dropped connection): the message may have left, so it is never
    sent again. ``retryable``: the provider said "not now" (rate limited, briefly down)
    and nothing was sent: safe to try again later.
    """

    def __init__(self, message: str, *, code: str = "", outcome_known: bool = True, retryable: bool = False):
        super().__init__(message)
        self.message = message
        self.code = str(code or "")
        self.outcome_known = outcome_known
        self.retryable = retryable and outcome_known


@dataclass(frozen=True)
class Sent:
    """The provider took the message (or the call): its id and the status it reported."""

    provider_id: str
    status: str  # a MessageStatus value


@dataclass(frozen=True)
class InboundText:
    provider_id: str
    from_number: str
    to_number: str
    body: str
    received_at: datetime


@dataclass(frozen=True)
class CallerIdStatus:
    """Whether a number may be shown as caller ID (D2): the brokerage holds it at the
    provider, and a call back to it reaches our voice webhook (which takes a stop)."""

    number: str
    held: bool
    answers_on_our_line: bool
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.held and self.answers_on_our_line


@dataclass(frozen=True)
class StatusUpdate:
    provider_id: str
    status: str  # a MessageStatus value
    error_code: str = ""
    error_message: str = ""
    duration_seconds: int | None = None
    answered: bool | None = None


# Twilio's statuses, for texts and calls, as ours.
TWILIO_STATUSES = {
    "accepted": "queued", "scheduled": "queued", "queued": "sending", "sending": "sending", "sent": "sent",
    "delivered": "delivered", "read": "delivered", "undelivered": "undelivered", "failed": "failed",
    "canceled": "canceled", "receiving": "received", "received": "received",
    "initiated": "sending", "ringing": "ringing", "in-progress": "in_progress", "completed": "completed",
    "busy": "busy", "no-answer": "no_answer",
}


def inbound_text_from(params) -> InboundText:
    return InboundText(
        provider_id=params.get("MessageSid") or params.get("SmsSid") or "",
        from_number=params.get("From", ""),
        to_number=params.get("To", ""),
        body=params.get("Body", ""),
        received_at=timezone.now(),
    )


def status_update_from(params) -> StatusUpdate:
    """A text's or a call's status callback."""
    if params.get("CallSid") and params.get("CallStatus"):
        raw = params["CallStatus"]
        duration = params.get("CallDuration") or params.get("DialCallDuration")
        seconds = int(duration) if (duration or "").isdigit() else None
        if params.get("ParentCallSid"):
            # The homeowner's leg of a bridged call (the bridge's <Number statusCallback>): it
            # says whether they answered and how long they talked. The call's own progress is
            # the agent's leg; only a leg that never connected ends it (busy, no answer).
            return StatusUpdate(
                provider_id=params["ParentCallSid"],
                status=TWILIO_STATUSES[raw] if raw in ("busy", "no-answer", "failed", "canceled") else "",
                error_code=params.get("ErrorCode", ""), error_message=params.get("ErrorMessage", ""),
                duration_seconds=seconds,
                answered={"completed": True, "in-progress": True, "busy": False, "no-answer": False,
                          "failed": False, "canceled": False}.get(raw),
            )
        # The agent's own leg: its answering is not the homeowner's, and its length counts
        # the agent's ringing; only a leg that never connected says nobody was reached.
        return StatusUpdate(
            provider_id=params["CallSid"], status=TWILIO_STATUSES.get(raw, "failed"),
            error_code=params.get("ErrorCode", ""), error_message=params.get("ErrorMessage", ""),
            answered={"busy": False, "no-answer": False, "failed": False, "canceled": False}.get(raw),
        )
    raw = params.get("MessageStatus") or params.get("SmsStatus") or ""
    return StatusUpdate(
        provider_id=params.get("MessageSid") or params.get("SmsSid") or "",
        status=TWILIO_STATUSES.get(raw, "failed"),
        error_code=params.get("ErrorCode", ""),
        error_message=params.get("ErrorMessage", ""),
    )


class TelephonyProvider:
    """What a backend implements; ``pipeline.messaging.providers.telephony()`` picks one."""

    name = ""

    def send_text(self, *, to: str, from_: str, body: str, status_callback: str) -> Sent:
        raise NotImplementedError

    def place_call(self, *, agent_phone: str, to: str, caller_id: str, bridge_url: str,
                   status_callback: str) -> Sent:
        """Ring the agent's own phone; when they answer, ``bridge_url`` (our TwiML) dials ``to``."""
        raise NotImplementedError

    def is_authentic(self, request) -> bool:
        """Was this webhook request signed by the provider?"""
        raise NotImplementedError

    def caller_id_status(self, number: str, *, voice_url: str) -> CallerIdStatus:
        """Does the brokerage hold ``number`` here, set to answer calls at ``voice_url`` (D2)?

        Raises ``ProviderError`` when the provider cannot be asked: the caller then refuses
        the call (fail closed), it never guesses."""
        raise NotImplementedError

    def sending_numbers(self) -> list[str]:
        """The shared pool of numbers texts go out from."""
        return []
