"""The local backend: no account, nothing leaves the machine.

Texts and calls are accepted at once and appear on the Sent page; a text is reported
delivered through the same status path a provider's callback takes. The demo plays
inbound replies through ``pipeline.messaging.services.inbound_text_receive``, which the
Twilio webhook calls too.
"""

from __future__ import annotations

import uuid

from django.conf import settings

from .base import Sent, TelephonyProvider

LOCAL_NUMBER = "+15005550006"  # Twilio's documented test "from" number, never a real line


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
