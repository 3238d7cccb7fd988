"""What a delivery says: small, stable JSON, the same fields for every event of a type
(docs/webhooks.md#events). Never the homeowner's phone numbers, emails or notes."""

from __future__ import annotations

import json
from datetime import datetime

from leadcrm.accounts.models import User
from leads.models import Lead
from pipeline.models import WebhookDelivery

API_VERSION = "2026-12-01"


def when(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.get_full_name() or user.username}


def lead_data(lead: Lead) -> dict:
    house = lead.property
    return {"id": lead.pk, "address": house.one_line if house else "", "stage": lead.stage,
            "assigned_agent": person(lead.assigned_agent)}


def envelope(delivery: WebhookDelivery) -> dict:
    return {"id": delivery.pk, "type": delivery.event, "api_version": API_VERSION,
            "occurred_at": when(delivery.occurred_at), "data": delivery.data}


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes sent and signed (compact, keys in a fixed order)."""
    return json.dumps(envelope(delivery), separators=(",", ":"), sort_keys=True, default=str).encode()
