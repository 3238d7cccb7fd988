"""The local backend: no account, nothing leaves the machine.

Texts and calls are accepted at once and appear on the Sent page; a text is reported
delivered through the same status path a provider's callback takes. The demo plays
inbound replies through ``pipeline.messaging.services.inbound_text_receive``, which the
Twilio webhook calls too.
"""

from __future__ import annotations

import uuid

from django.conf import settings

from .base import CallerIdStatus, Sent, TelephonyProvider

LOCAL_NUMBER = "+15005550006"  # Twilio's documented test "from" number, never a real line
NOT_LOCAL_NUMBER = "not one of the local backend's numbers (TWILIO_NUMBERS, else +15005550006)"


class LocalTelephony(TelephonyProvider):
    name = "local"

    def send_text(self, *, to, from_, body, status_callback) -> Sent:
        return Sent(provider_id=f"LM{uuid.uuid4().hex}", status="delivered")

    def place_call(self, *, agent_phone, to, caller_id, bridge_url, status_callback) -> Sent:
        return Sent(provider_id=f"LC{uuid.uuid4().hex}", status="ringing")

    def is_authentic(self, request) -> bool:
        # The local inbound page is a signed-in form (CSRF and permission checked there);
        # nothing outside may post as the local provider.
        return False

    def sending_numbers(self) -> list[str]:
        return list(settings.TWILIO_NUMBERS) or [LOCAL_NUMBER]

    def caller_id_status(self, number, *, voice_url) -> CallerIdStatus:
        # Nothing rings anywhere: its own numbers pass, so the demo's calls go out, and an
        # agent's own number (a Twilio one, set for later) is refused as Twilio would refuse it.
        held = number in self.sending_numbers()
        return CallerIdStatus(number=number, held=held, answers_on_our_line=held,
                              reason="" if held else NOT_LOCAL_NUMBER)
