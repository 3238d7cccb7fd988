"""Leads a source posts through the API (``POST /api/lead-sources/leads/``), and its keys.

A posted lead is added exactly as a lead typed in by hand with no agent chosen
(``leads.intake.lead_create_by_hand``, ``route=True``): the address read and deduplicated
as an import reads it, a house already held given the new owners and numbers, the routing
rules deciding who works it, the new numbers flagged against the Do-Not-Call lists. The
one adding it is the broker who made the key. What the source adds of its own: its id for
the lead (a post sent twice is one lead, answered the second time with nothing added),
its key and kind recorded on a lead it created, and the homeowner's words as a hardship
record. The source's id is kept for every post (``LeadSourcePost``), the lead it made or
the lead already holding the house, with the key's cost per lead of that day for the
source report. ``PUT /api/lead-sources/leads/<id>/`` adds to the lead under an id what the
source learned since. See docs/architecture.md#lead-source-api.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.accounts.tokens import PREFIX_LENGTH, token_digest

from .addresses import address_key
from .intake import Added, Intake, lead_create_by_hand, lead_people_add, people_check, place_of
from .models import Email, HardshipCategory, Lead, LeadSourceKey, LeadSourcePost, Phone, source_key_new
from .services import hardship_record_create

EXTERNAL_ID_MAX = 100  # LeadSourcePost.external_id
EXTERNAL_ID_TOO_LONG = "An external_id has at most {limit} characters."
NO_EXTERNAL_ID = "Send the lead's id in your system as external_id: it makes a post sent twice one lead."
ALREADY_POSTED = "This source already posted this lead (the same external_id): nothing was added."
OTHER_HOUSE = ("This external_id was posted for {house}: a different house is a different lead, so send it under an "
               "id of its own.")
NOTHING_NEW = "The lead already had every owner, number and address sent: nothing was added."


@dataclass
class Posted:
    """What a post did: ``created`` a lead, or matched one (already posted, or the house held)."""

    lead: Lead
    created: bool
    message: str = ""
    added: dict[str, int] = field(default_factory=dict)  # an update's new owners, phones, emails
    # A first post of this id whose house was already a lead: the homeowner reached us again.
    matched: bool = False


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


def _lead_of(post: LeadSourcePost) -> Lead:
    """The lead a post is on now: a lead merged away is worked as the one it joined."""
    lead = post.lead
    return lead.merged_into if lead.merged_into_id else lead


def _post_new(*, source_key: LeadSourceKey, external_id: str, intake: Intake, homeowner_words: str) -> Posted:
    intake.source = source_key.source
    intake.add_to_existing = True
    added: Added = lead_create_by_hand(actor=source_key.created_by, intake=intake, route=True)
    lead = added.lead
    LeadSourcePost.objects.create(source_key=source_key, external_id=external_id, lead=lead,
                                  created_lead=added.created, cost=source_key.cost_per_lead)
    if added.created:
        lead.source_key = source_key
        lead.source_external_id = external_id
        lead.full_clean()
        lead.save(update_fields=["source_key", "source_external_id", "updated_at"])
    _words_keep(lead, homeowner_words)
    return Posted(lead=lead, created=added.created, message=added.message, matched=not added.created)


def _words_keep(lead: Lead, homeowner_words: str) -> bool:
    """The homeowner's words as a hardship record, unless the lead's last record says just that."""
    words = homeowner_words.strip()
    if not words:
        return False
    last = lead.hardships.order_by("-pk").values_list("narrative", flat=True).first()
    if last is not None and last.strip() == words:
        return False
    hardship_record_create(lead=lead, category=HardshipCategory.OTHER, narrative=words)
    return True


def _external_id(external_id: str) -> str:
    external_id = external_id.strip()
    if not external_id:
        raise ValidationError({"external_id": [NO_EXTERNAL_ID]})
    if len(external_id) > EXTERNAL_ID_MAX:
        raise ValidationError({"external_id": [EXTERNAL_ID_TOO_LONG.format(limit=EXTERNAL_ID_MAX)]})
    return external_id


@transaction.atomic
def lead_post_from_source(*, source_key: LeadSourceKey, external_id: str, intake: Intake,
                          homeowner_words: str = "") -> Posted:
    """Add the posted lead, or answer the one already posted; nothing is written on a refusal.

    A house already held gets the post's owners and numbers, and the source's id for it, so
    the post sent again finds it. Raises ``ValidationError`` by field (the address, the phones
    ... as by hand).
    """
    external_id = _external_id(external_id)
    _lock_external_id(source_key, external_id)
    post = LeadSourcePost.objects.select_related("lead__merged_into").filter(
        source_key=source_key, external_id=external_id).first()
    if post is not None:
        return Posted(lead=_lead_of(post), created=False, message=ALREADY_POSTED)
    return _post_new(source_key=source_key, external_id=external_id, intake=intake, homeowner_words=homeowner_words)


@transaction.atomic
def lead_upsert_from_source(*, source_key: LeadSourceKey, external_id: str, intake: Intake,
                            homeowner_words: str = "") -> Posted:
    """The person and the house under the source's id: a new lead the first time (as a post),
    then the owners, numbers, addresses and words sent added to it. Nothing is removed: a
    number the source no longer sends may be the one that answers. A different house under
    the same id is refused (a house is one lead; another house is another id).
    """
    external_id = _external_id(external_id)
    _lock_external_id(source_key, external_id)
    post = LeadSourcePost.objects.select_related("lead__merged_into").filter(
        source_key=source_key, external_id=external_id).first()
    if post is None:
        return _post_new(source_key=source_key, external_id=external_id, intake=intake,
                         homeowner_words=homeowner_words)
    lead = _lead_of(post)
    house = lead.property
    place = None
    if intake.street.strip():
        place = place_of(street=intake.street, state=intake.state or house.state, unit=intake.unit,
                         city=intake.city or house.city, zip_code=intake.zip_code or house.zip_code)
        key = address_key(street=place["street"], unit=place["unit"], city=place["city"], state=place["state"],
                          zip_code=place["zip_code"])
        if key != house.address_key:
            raise ValidationError({"street": [OTHER_HOUSE.format(house=house)]})
    people_check(intake)
    before = _counts(lead)
    lead_people_add(lead=lead, intake=intake, place=place)
    words = _words_keep(lead, homeowner_words)
    added = {name: count - before[name] for name, count in _counts(lead).items()}
    LeadSourcePost.objects.filter(pk=post.pk).update(updated_at=timezone.now())
    what = [f"{n} {name if n != 1 else name[:-1]}" for name, n in added.items() if n]
    if words:
        what.append("the homeowner's words")
    message = f"Added to the lead: {', '.join(what)}." if what else NOTHING_NEW
    return Posted(lead=lead, created=False, message=message, added=added)


def _counts(lead: Lead) -> dict[str, int]:
    return {"owners": lead.contacts.count(), "phones": Phone.objects.filter(contact__lead=lead).count(),
            "emails": Email.objects.filter(contact__lead=lead).count()}
