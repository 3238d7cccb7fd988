"""Which telephony backend runs: ``LEADCRM_TELEPHONY`` (local by default)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import CallerIdStatus, InboundText, ProviderError, Sent, StatusUpdate, TelephonyProvider

__all__ = ["CallerIdStatus", "InboundText", "ProviderError", "Sent", "StatusUpdate", "TelephonyProvider", "telephony"]


def telephony() -> TelephonyProvider:
    name = settings.LEADCRM_TELEPHONY
    if name == "local":
        from .local import LocalTelephony

        return LocalTelephony()
    if name == "twilio":
        from .twilio import TwilioTelephony

        return TwilioTelephony()
    raise ImproperlyConfigured(f"LEADCRM_TELEPHONY must be 'local' or 'twilio', not {name!r}.")
