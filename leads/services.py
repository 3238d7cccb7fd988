"""Writes to leads, properties, owners, phones, hardships and liens.

Stage changes are not here: they belong to ``pipeline.deals.services.lead_stage_change``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Subquery, Sum
from django.utils import timezone

from leadcrm.accounts.models import Team, TeamMembership, User

from .addresses import address_key
from .models import (
    Contact,
    ContactSource,
    Email,
    ForeclosureRecord,
    HardshipRecord,
    Lead,
    LeadList,
    LeadSource,
    Lien,
    LienType,
    ListMembership,
    Phone,
    PhoneStatus,
    PhoneType,
    Property,
    Stage,
)
from .phones import parse_phone
from .scoring import LeadFacts, motivation_score
from .signals import lead_created

DUPLICATE_PROPERTY = "This property is already a lead: {address}."
AGENT_NOT_ON_TEAM = "{agent} is not on the team {team}."
RESCORE_BATCH = 2000


# Properties and leads ------------------------------------------------------------------


def mask_loan_number(loan_number: str | None) -> str:
    """Keep only the last four characters: ``'0012345678'`` -> ``'****5678'``.

    The full number is never stored; lender files quote the last four as lenders do.
    """
    cleaned = re.sub(r"[^0-9A-Za-z]", "", loan_number or "")
    if not cleaned:
        return ""
    return "****" + cleaned[-4:]


def check_address_free(*, key: str, exclude_pk: int | None = None) -> None:
    """Refuse a second property at the same door (same normalised address)."""
    existing = Property.objects.filter(address_key=key).exclude(pk=exclude_pk).first()
    if existing is not None:
        raise ValidationError(DUPLICATE_PROPERTY.format(address=existing.one_line))


def property_create(
    *, street: str, state: str, unit: str = "", city: str = "", zip_code: str = "", **fields
) -> Property:
    prop = Property(street=street, unit=unit, city=city, state=state, zip_code=zip_code, **fields)
    prop.address_key = address_key(
        street=street, unit=unit, city=city, state=state, zip_code=zip_code
    )
    check_address_free(key=prop.address_key)
    prop.full_clean()
    prop.save()
    return prop


@transaction.atomic
def lead_create(
    *,
    property: Property,
    lead_type: str,
    source: str = LeadSource.MANUAL,
    source_list: LeadList | None = None,
    assigned_agent: User | None = None,
    team: Team | None = None,
) -> Lead:
    lead = Lead(
        property=property,
        lead_type=lead_type,
        source=source,
        source_list=source_list,
        stage=Stage.LIST,
        stage_entered_at=timezone.now(),
    )
    lead.full_clean()
    lead.save()
    if source_list is not None:
        lead_list_add(lead=lead, lead_list=source_list)
    if assigned_agent is not None:
        lead_assign(lead=lead, agent=assigned_agent, **({"team": team} if team else {}))
    lead_rescore(lead=lead)
    lead_created.send(sender=Lead, lead=lead, at=lead.stage_entered_at)
    return lead


def check_agent_on_team(*, agent: User, team: Team) -> None:
    """An agent works a team's lead only as its member or its lead."""
    on_team = TeamMembership.objects.filter(user=agent, team=team).exists()
    if not on_team and team.lead_id != agent.pk:
        raise ValidationError(AGENT_NOT_ON_TEAM.format(agent=agent, team=team))


_AGENTS_TEAM = object()


def lead_assign(*, lead: Lead, agent: User | None, team=_AGENTS_TEAM, actor: User | None = None,
                reason: str = "") -> Lead:
    """Give the lead to an agent (or to nobody), by hand; the routing audit records it.

    Without ``team`` the lead follows the agent's team; unassigned, it stays with its
    team so the team lead keeps it in view. ``team`` (a Team, or None) sets it outright.
    Rules, round-robin and the pond are in ``leads.routing``.
    """
    from .models import RoutingMethod
    from .routing import _route

    if team is _AGENTS_TEAM:
        if agent is None:
            team = lead.team
        else:
            membership = TeamMembership.objects.filter(user=agent).select_related("team").first()
            team = membership.team if membership else None
    elif agent is not None and team is not None:
        check_agent_on_team(agent=agent, team=team)
    if lead.pk is None or (lead.assigned_agent_id, lead.team_id) != (getattr(agent, "pk", None), getattr(team, "pk", None)) \
            or lead.pond_since is not None:
        _route(lead=lead, agent=agent, team=team, method=RoutingMethod.MANUAL, actor=actor, reason=reason)
    return lead


def lead_list_add(*, lead: Lead, lead_list: LeadList) -> ListMembership:
    membership, _ = ListMembership.objects.get_or_create(lead=lead, lead_list=lead_list)
    return membership


# History ---------------------------------------------------------------------------------

HISTORY_BASELINE = "As it was before the first edit by hand"


def history_baseline(row) -> None:
    """Record the row as it is now when it has no history yet (an import wrote it, by COPY,
    keeping none), so the first change shows its old values (docs/architecture.md#history)."""
    history = type(row).history
    if not history.filter(id=row.pk).exists():
        history.bulk_history_create([row], default_change_reason=HISTORY_BASELINE,
                                    default_date=getattr(row, "created_at", None))


# Owners, phones and emails --------------------------------------------------------------


def contact_create(*, lead: Lead, position: int = 1, **fields) -> Contact:
    contact = Contact(lead=lead, position=position, **fields)
    contact.full_clean()
    contact.save()
    return contact


def contact_set_do_not_mail(*, contact: Contact) -> Contact:
    if not contact.do_not_mail:
        history_baseline(contact)
        contact.do_not_mail = True
        contact.version += 1
        contact.save(update_fields=["do_not_mail", "version"])
    return contact


def phone_add(
    *,
    contact: Contact,
    raw: str,
    phone_type: str = PhoneType.UNKNOWN,
    source: str = ContactSource.LIST,
    position: int | None = None,
) -> Phone:
    """Add a phone written any way; raises ValidationError with the reason if unparseable."""
    parsed = parse_phone(raw)
    if not parsed.ok:
        raise ValidationError({"number": parsed.error})
    existing = contact.phones.filter(number=parsed.e164).first()
    if existing:
        return existing
    if position is None:
        position = contact.phones.count() + 1
    phone = Phone(
        contact=contact,
        number=parsed.e164,
        raw=raw[:40],
        phone_type=phone_type,
        source=source,
        position=position,
    )
    phone.full_clean()
    phone.save()
    return phone


def phone_set_status(*, phone: Phone, status: PhoneStatus) -> Phone:
    if phone.status == status:
        return phone
    history_baseline(phone)
    phone.status = status
    phone.version += 1
    phone.full_clean()
    phone.save(update_fields=["status", "version"])
    # The phone is part of the lead's detail: a client syncing leads by change reads it again.
    Lead.objects.filter(pk=phone.contact.lead_id).update(updated_at=timezone.now())
    return phone


def email_add(
    *, contact: Contact, address: str, source: str = ContactSource.LIST, position: int | None = None
) -> Email:
    address = address.strip().lower()
    existing = contact.emails.filter(address=address).first()
    if existing:
        return existing
    if position is None:
        position = contact.emails.count() + 1
    email = Email(contact=contact, address=address, source=source, position=position)
    email.full_clean()
    email.save()
    return email


# Hardship and liens --------------------------------------------------------------------


@transaction.atomic
def hardship_record_create(
    *,
    lead: Lead,
    category: str,
    narrative: str = "",
    started_on: date | None = None,
    letter_received_on: date | None = None,
    recorded_by: User | None = None,
) -> HardshipRecord:
    record = HardshipRecord(
        lead=lead,
        category=category,
        narrative=narrative,
        started_on=started_on,
        letter_received_on=letter_received_on,
        recorded_by=recorded_by,
    )
    record.full_clean()
    record._history_user = recorded_by
    record.save()
    lead_rescore(lead=lead)
    return record


@transaction.atomic
def lien_create(
    *,
    lead: Lead,
    position: int,
    lien_type: str = LienType.MORTGAGE,
    lender: str = "",
    loan_number: str = "",
    balance: Decimal | None = None,
    monthly_payment: Decimal | None = None,
    arrears: Decimal | None = None,
    recording_date: date | None = None,
    loan_program: str = "",
    actor: User | None = None,
) -> Lien:
    lien = Lien(
        lead=lead,
        position=position,
        lien_type=lien_type,
        lender=lender,
        loan_number_masked=mask_loan_number(loan_number),
        balance=balance,
        monthly_payment=monthly_payment,
        arrears=arrears,
        recording_date=recording_date,
        loan_program=loan_program,
    )
    lien.full_clean()
    lien._history_user = actor
    lien.save()
    lead_refresh_lien_total(lead=lead)
    return lien


LIEN_EDITABLE = {
    "position", "lien_type", "lender", "balance", "monthly_payment", "arrears",
    "recording_date", "loan_program",
}


@transaction.atomic
def lien_update(*, lien: Lien, loan_number: str | None = None, actor: User | None = None, **changes) -> Lien:
    """Change a lien (``actor``: who, for its history); every save moves its version on,
    so an edit opened before is refused (``leads.editing``)."""
    unknown = set(changes) - LIEN_EDITABLE
    if unknown:
        raise TypeError(f"Not editable on a lien: {', '.join(sorted(unknown))}")
    for field, value in changes.items():
        setattr(lien, field, value)
    fields = list(changes)
    if loan_number is not None:
        lien.loan_number_masked = mask_loan_number(loan_number)
        fields.append("loan_number_masked")
    lien.version += 1
    lien.full_clean()
    lien._history_user = actor
    lien.save(update_fields=[*fields, "version", "updated_at"])
    lead_refresh_lien_total(lead=lien.lead)
    return lien


@transaction.atomic
def lien_delete(*, lien: Lien, actor: User | None = None, reason: str = "") -> None:
    lead = lien.lead
    lien._history_user = actor
    lien._change_reason = reason
    lien.delete()
    lead_refresh_lien_total(lead=lead)


def lead_refresh_lien_total(*, lead: Lead) -> Lead:
    """Recompute the stored lien total, then the score that depends on it."""
    total = lead.liens.aggregate(total=Sum("balance"))["total"] or Decimal("0")
    if total != lead.lien_total:
        lead.lien_total = total
        lead.save(update_fields=["lien_total", "updated_at"])
    return lead_rescore(lead=lead)


# Scores --------------------------------------------------------------------------------


def _facts_queryset(lead_ids: Iterable[int], today):
    next_auction = (
        ForeclosureRecord.objects.filter(lead=OuterRef("pk"), auction_date__gte=today)
        .order_by("auction_date").values("auction_date")[:1]
    )
    return (
        Lead.objects.filter(pk__in=list(lead_ids))
        .select_related("property")
        .annotate(
            has_hardship=Exists(HardshipRecord.objects.filter(lead=OuterRef("pk"))),
            list_count=Count("list_memberships", distinct=True),
            next_auction=Subquery(next_auction),
        )
    )


def _score(lead: Lead, now: datetime):
    return motivation_score(
        LeadFacts(
            lead_type=lead.lead_type,
            estimated_value=lead.property.estimated_value,
            lien_total=lead.lien_total,
            selling_cost_rate=settings.LEADCRM_SELLING_COST_RATE,
            has_hardship=lead.has_hardship,
            list_count=lead.list_count,
            last_contacted_at=lead.last_contacted_at,
            next_auction=lead.next_auction,
        ),
        now=now,
    )


def leads_rescore(*, lead_ids: Iterable[int], now: datetime | None = None) -> int:
    """Recompute the motivation score of many leads in one read and one bulk write."""
    now = now or timezone.now()
    changed = []
    for lead in _facts_queryset(lead_ids, timezone.localdate(now)):
        score = _score(lead, now)
        if (score.value, score.reasons) != (lead.score, lead.score_reasons):
            lead.score, lead.score_reasons = score.value, score.reasons
            changed.append(lead)
    _scores_write(changed)
    return len(changed)


def _scores_write(leads: list[Lead]) -> None:
    """Write new scores: on PostgreSQL one UPDATE ... FROM (VALUES ...) per thousand leads,
    several times faster than ``bulk_update``'s CASE WHEN for each row. Only changed scores
    come here, and each moves the lead's ``updated_at`` (docs/architecture.md#api-sync)."""
    now = timezone.now()
    if connection.vendor != "postgresql":
        for lead in leads:
            lead.updated_at = now
        Lead.objects.bulk_update(leads, ["score", "score_reasons", "updated_at"], batch_size=500)
        return
    table = Lead._meta.db_table
    with connection.cursor() as cursor:
        for start in range(0, len(leads), 1000):
            chunk = leads[start:start + 1000]
            values = ", ".join(["(%s, %s, %s::jsonb)"] * len(chunk))
            params = [item for lead in chunk for item in (lead.pk, lead.score, json.dumps(lead.score_reasons))]
            cursor.execute(
                f"UPDATE {table} AS l SET score = v.score, score_reasons = v.reasons, updated_at = %s "
                f"FROM (VALUES {values}) AS v(id, score, reasons) WHERE l.id = v.id",
                [now, *params],
            )


def lead_rescore(*, lead: Lead, now: datetime | None = None) -> Lead:
    leads_rescore(lead_ids=[lead.pk], now=now)
    lead.refresh_from_db(fields=["score", "score_reasons"])
    return lead


def open_leads_rescore(*, now: datetime | None = None, batch_size: int = RESCORE_BATCH) -> int:
    """Rescore every open lead in bounded batches: scores age (auctions near, calls get old)."""
    now = now or timezone.now()
    changed, last_pk = 0, 0
    while True:
        ids = list(
            Lead.objects.open()
            .filter(pk__gt=last_pk)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return changed
        changed += leads_rescore(lead_ids=ids, now=now)
        last_pk = ids[-1]
