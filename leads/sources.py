"""Leads a source posts through the API (``POST /api/lead-sources/leads/``), and its keys.

A posted lead is added exactly as a lead typed in by hand with no agent chosen
(``leads.intake.lead_create_by_hand``, ``route=True``): the address read and deduplicated
as an import reads it, a house already held given the new owners and numbers, the routing
rules deciding who works it, the new numbers flagged against the Do-Not-Call lists. The
one adding it is the broker who made the key. What the source adds of its own: its id for
the lead (a post sent twice is one lead, answered the second time with nothing added),
its key and kind recorded on a lead it created, and the homeowner's words as a hardship
record. See docs/architecture.md#lead-source-api.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.accounts.tokens import PREFIX_LENGTH, token_digest

from .intake import Added, Intake, lead_create_by_hand
from .models import HardshipCategory, Lead, LeadSourceKey, source_key_new
from .services import hardship_record_create

NO_EXTERNAL_ID = "Send the lead's id in your system as external_id: it makes a post sent twice one lead."
ALREADY_POSTED = "This source already posted this lead (the same external_id): nothing was added."


@dataclass
class Posted:
    """What a post did: ``created`` a lead, or matched one (already posted, or the house held)."""

    lead: Lead
    created: bool
    message: str = ""


def source_key_create(*, name: str, source: str, created_by: User, cost_per_lead: Decimal | None = None
                      ) -> tuple[LeadSourceKey, str]:
    """A new key and the key itself: shown once, never stored (only its digest)."""
    key = source_key_new()
    source_key = LeadSourceKey(name=name, source=source, cost_per_lead=cost_per_lead, created_by=created_by,
                               prefix=key[:PREFIX_LENGTH], digest=token_digest(key))
    source_key.full_clean()
    source_key.save()
    return source_key, key


def source_key_revoke(*, source_key: LeadSourceKey) -> LeadSourceKey:
    """From now on a post with it is a 401; the leads it posted keep it, for the reports."""
    if source_key.is_active:
        source_key.is_active = False
        source_key.revoked_at = timezone.now()
        source_key.save(update_fields=["is_active", "revoked_at"])
    return source_key


def source_key_find(key: str) -> LeadSourceKey | None:
    """The active key whose key this is, its maker still active; None for any other."""
    if len(key) < PREFIX_LENGTH:
        return None
    found = LeadSourceKey.objects.select_related("created_by").filter(prefix=key[:PREFIX_LENGTH]).first()
    if found is None or not found.matches(key) or not found.is_active or not found.created_by.is_active:
        return None
    return found


def _lock_external_id(source_key: LeadSourceKey, external_id: str) -> None:
    """The same post sent twice at once: the second waits, then finds the first's lead."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)",
                           [zlib.crc32(f"source:{source_key.pk}:{external_id}".encode()) - 2**31])


@transaction.atomic
def lead_post_from_source(*, source_key: LeadSourceKey, external_id: str, intake: Intake,
                          homeowner_words: str = "") -> Posted:
    """Add the posted lead, or answer the one already posted; nothing is written on a refusal.

    Raises ``ValidationError`` by field (the address, the phones ... as by hand).
    """
    external_id = external_id.strip()
    if not external_id:
        raise ValidationError({"external_id": [NO_EXTERNAL_ID]})
    _lock_external_id(source_key, external_id)
    posted = Lead.objects.filter(source_key=source_key, source_external_id=external_id).first()
    if posted is not None:
        return Posted(lead=posted, created=False, message=ALREADY_POSTED)
    intake.source = source_key.source
    intake.add_to_existing = True
    added: Added = lead_create_by_hand(actor=source_key.created_by, intake=intake, route=True)
    lead = added.lead
    if added.created:
        lead.source_key = source_key
        lead.source_external_id = external_id
        lead.full_clean()
        lead.save(update_fields=["source_key", "source_external_id", "updated_at"])
        if homeowner_words.strip():
            hardship_record_create(lead=lead, category=HardshipCategory.OTHER, narrative=homeowner_words.strip())
    return Posted(lead=lead, created=added.created, message=added.message)
