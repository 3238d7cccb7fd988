"""One batch of an import: its houses found or created, leads merged or created and
routed, owners, phones, emails, liens and filings written with COPY (the job's lifecycle
around it: services.py).

Houses are found by their address key, or by APN and county, under a lock per key (see
``_lock_keys``), so two imports running at once never create the same house twice.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadcrm.accounts.models import Team, TeamMembership, User

from ..models import (
    Contact,
    Email,
    ForeclosureRecord,
    ImportJob,
    ImportRowIssue,
    Lead,
    LeadAssignment,
    Lien,
    ListMembership,
    Phone,
    Property,
    RoutingMethod,
    Stage,
)
from ..scoring import LeadFacts, Score, motivation_score
from ..signals import import_auctions_found, leads_created
from .copy import copy_rows
from .merge import URGENCY, held_liens_write, held_people_write, held_rescore
from .records import MLS_FIELDS, Record, mls_changes
from .writers import Turn

AUCTION_TITLE = "Auction on {date:%b %d, %Y}: reach the homeowner now"
ORPHAN = "This address is held without a lead (its lead was deleted); not imported."
MERGED_TWICE = "The same house as line {line}: merged into it."
FOLLOW_UP_IN = timedelta(minutes=5)  # an auction follow-up is due at once


def _lock_keys(keys: Iterable[str]) -> None:
    """Serialise imports per house across processes; sorted, so two imports never deadlock."""
    if connection.vendor != "postgresql":
        return
    ids = sorted({zlib.crc32(key.encode()) - 2**31 for key in keys})
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::int[]) AS k ORDER BY k", [ids])


def _agents(job: ImportJob, created_before: int) -> Iterator[tuple[User | None, Team | None]]:
    """Who gets each new lead: one agent, a team's active agents weighted by capacity, or nobody.
    ``created_before``: the job's leads before this batch's, where a rotation carries on."""
    if job.assign_to_id:
        membership = TeamMembership.objects.filter(user_id=job.assign_to_id).select_related("team").first()
        return itertools.repeat((job.assign_to, membership.team if membership else None))
    if job.round_robin_team_id:
        members = list(TeamMembership.objects.filter(team_id=job.round_robin_team_id, is_active=True)
                       .select_related("user").order_by("pk"))
        turns = [(m.user, job.round_robin_team) for m in members for _ in range(max(m.capacity_weight, 1))]
        if turns:
            # Continue the rotation where the last batch left it.
            return itertools.islice(itertools.cycle(turns), created_before % len(turns), None)
    # Nobody to give them to: they stay in the team (its lead assigns them), if there is one.
    return itertools.repeat((None, job.team or job.round_robin_team))


def _plain(row: dict) -> dict:
    """The row as text, for the error report (spreadsheet cells may be numbers or dates)."""
    return {str(k): ("" if v is None else str(v)) for k, v in row.items()}


@dataclass
class Target:
    """The lead a row goes into: one this batch creates, or one already held (``is_new`` false).

    Plain values rather than ``Lead`` instances: building a model instance per row cost
    as much as reading the row."""

    pk: int
    lead_type: str
    assigned_agent_id: int | None
    team_id: int | None
    is_new: bool


ISSUE_COLUMNS = ("job_id", "row_number", "rejected", "reason", "row")
ASSIGNMENT_COLUMNS = ("lead_id", "method", "to_agent_id", "to_team_id", "actor_id", "reason", "created_at")
LEAD_COLUMNS = ("property_id", "lead_type", "source", "source_list_id", "stage", "stage_entered_at",
                "assigned_agent_id", "team_id", "lien_total", "score", "score_reasons", "next_follow_up_at")
MEMBERSHIP_COLUMNS = ("lead_id", "lead_list_id", "added_at")


def _auction_ahead(record: Record, today) -> bool:
    auction = (record.foreclosure or {}).get("auction_date")
    return bool(auction and auction >= today)


def _follow_up_assignee(job: ImportJob, agent_id: int | None, team_lead_id: int | None, sees_all: bool) -> int | None:
    """Someone who can see the lead: its agent, else its team's lead, else a broker importing."""
    return agent_id or team_lead_id or (job.created_by_id if sees_all else None)


def _new_lead_score(record: Record, lien_total: Decimal, now) -> Score:
    """A new lead's score from its row alone: its facts are all there (on one list, no
    hardship, never contacted), so this is what ``leads_rescore`` would write, without
    reading the lead back."""
    return motivation_score(LeadFacts(
        lead_type=record.lead_type, estimated_value=record.property["estimated_value"], lien_total=lien_total,
        selling_cost_rate=settings.LEADCRM_SELLING_COST_RATE, has_hardship=False, list_count=1,
        last_contacted_at=None, next_auction=_next_auction(record, timezone.localdate(now))), now=now)


def _next_auction(record: Record, today):
    auction = (record.foreclosure or {}).get("auction_date")
    return auction if auction and auction >= today else None


def write_batch(job: ImportJob, records: list[Record], *, turn: Turn | None = None) -> dict[str, int]:
    """Create or merge the leads of one batch; returns the counts it adds to the job.

    ``turn``: its place behind the batch before, when two are written at once (writers.py):
    it takes its house locks after that one's, and goes on with its round-robin after it."""
    turn = turn or Turn()
    from leads.services import leads_rescore

    counts = {"leads_created": 0, "leads_merged": 0, "rows_rejected": 0, "phones_valid": 0, "phones_invalid": 0}
    issues: list[tuple] = []
    good: list[Record] = []
    for record in records:
        for note in record.notes:
            issues.append((job.pk, record.line, False, note[:255], _plain(record.row)))
        if record.rejected:
            counts["rows_rejected"] += 1
            issues.append((job.pk, record.line, True, record.rejected, _plain(record.row)))
        else:
            good.append(record)
            counts["phones_valid"] += len(record.phones)
            counts["phones_invalid"] += len(record.rejected_phones)
    apn_keys = {f"apn:{r.apn}|{r.county.upper()}" for r in good if r.apn and r.county}
    turn.before_locks()
    _lock_keys([r.key for r in good] + sorted(apn_keys))

    # Which houses we already hold: by address key, then by APN and county.
    by_key = dict(Property.objects.filter(address_key__any_of={r.key for r in good}).values_list("address_key", "pk"))
    # APN and county: the APN as stored (normalize_apn, on every write), through the (apn,
    # county) index; the county compared without case here.
    wanted = {(r.apn, r.county.upper()) for r in good if r.apn and r.county and r.key not in by_key}
    by_apn = {}
    if wanted:
        for pk, apn, county in Property.objects.filter(apn__any_of={apn for apn, _ in wanted}).values_list(
                "pk", "apn", "county"):
            found = (apn, county.upper())
            if found in wanted:
                by_apn[found] = pk
    # A house held can be reached by two rows that share no key (one by its address, the
    # other by its parcel): lock it by its id too, before reading its lead, so two imports,
    # or two batches written at once, meet at one lock there as well.
    _lock_keys([f"property:{pk}" for pk in {*by_key.values(), *by_apn.values()}])
    turn.locks_taken()
    existing_leads = {
        property_id: Target(pk, lead_type, agent_id, team_id, is_new=False)
        for pk, property_id, lead_type, agent_id, team_id in Lead.objects.filter(
            property_id__any_of=[*by_key.values(), *by_apn.values()]).values_list(
            "pk", "property_id", "lead_type", "assigned_agent_id", "team_id")}

    # The same house twice in this batch merges into its first row.
    first_line: dict[str, int] = {}
    new_records: list[Record] = []
    targets: list[tuple[Record, Target | None]] = []
    parcel_of: dict[str, str] = {}  # "APN|COUNTY" -> the key of the first new house with it
    new_by_key: dict[str, Record] = {}
    listings: list[tuple[int, Record]] = []  # houses held, and the rows that may update their MLS listing
    for record in good:
        parcel = f"{record.apn}|{record.county.upper()}" if record.apn and record.county else ""
        property_id = by_key.get(record.key) or by_apn.get((record.apn, record.county.upper()))
        if property_id is not None and property_id not in existing_leads:
            counts["rows_rejected"] += 1
            issues.append((job.pk, record.line, True, ORPHAN, _plain(record.row)))
            continue
        if property_id is not None:
            targets.append((record, existing_leads[property_id]))
            listings.append((property_id, record))
            counts["leads_merged"] += 1
            continue
        first_key = record.key if record.key in first_line else (parcel_of.get(parcel) if parcel else None)
        if first_key is not None:
            record.key = first_key
            # The house is written once, from its first row: a later row's listing goes into it.
            first = new_by_key[first_key]
            first.property.update(mls_changes(first.property, record.property))
            issues.append((job.pk, record.line, False, MERGED_TWICE.format(line=first_line[first_key]),
                           _plain(record.row)))
            targets.append((record, None))  # resolved below, once the first row's lead exists
            counts["leads_merged"] += 1
        else:
            first_line[record.key] = record.line
            if parcel:
                parcel_of.setdefault(parcel, record.key)
            new_records.append(record)
            new_by_key[record.key] = record
            targets.append((record, None))

    now = timezone.now()
    _merge_listings(listings, now)
    # Every record's property dict has the same keys in the same order (one literal builds them).
    property_columns = ["address_key", *new_records[0].property] if new_records else []
    property_ids = copy_rows(Property, property_columns,
                             [(r.key, *r.property.values()) for r in new_records], ids=True)
    created_before = turn.before_draw(job.leads_created)
    assignees = _agents(job, created_before)
    # A new house with an auction ahead (on any of its rows here) gets its follow-up's time
    # on the lead row itself, rather than an UPDATE of the row (and its nine indexes) after.
    today, due = timezone.localdate(), now + FOLLOW_UP_IN
    auction_keys = {record.key for record, target in targets if target is None and _auction_ahead(record, today)}
    sees_all = job.created_by.has_perm("leads.view_all_leads")
    lead_rows, new_targets = [], []
    for record, property_id in zip(new_records, property_ids, strict=True):
        agent, team = next(assignees)
        agent_id, team_id = (agent.pk if agent else None), (team.pk if team else None)
        lien_total = sum((loan.balance or Decimal(0) for loan in record.loans), Decimal(0))
        score = _new_lead_score(record, lien_total, now)
        follow_up_at = due if record.key in auction_keys and _follow_up_assignee(
            job, agent_id, team.lead_id if team else None, sees_all) else None
        lead_rows.append((property_id, record.lead_type, job.source, job.lead_list_id, Stage.LIST, now,
                          agent_id, team_id, lien_total, score.value, score.reasons, follow_up_at))
        new_targets.append(Target(0, record.lead_type, agent_id, team_id, is_new=True))
    turn.drew(created_before + len(new_targets))
    for target, lead_id in zip(new_targets, copy_rows(Lead, LEAD_COLUMNS, lead_rows, ids=True), strict=True):
        target.pk = lead_id
    counts["leads_created"] = len(new_targets)
    leads_created.send(sender=ImportJob, lead_ids=[target.pk for target in new_targets], at=now)
    # The routing audit: who gave each new lead to whom (the importer, by the job's choice).
    how = (f"round-robin in {job.round_robin_team}" if job.round_robin_team_id else
           "to the agent picked" if job.assign_to_id else "")
    reason = f"Imported from {job.file_name}" + (f" ({how})" if how else "")
    unassigned = f"Imported from {job.file_name} (unassigned, for the team lead)"
    copy_rows(LeadAssignment, ASSIGNMENT_COLUMNS, [
        (target.pk, RoutingMethod.IMPORT, target.assigned_agent_id, target.team_id, job.created_by_id,
         (reason if target.assigned_agent_id else unassigned)[:300], now)
        for target in new_targets if target.assigned_agent_id or target.team_id])
    lead_by_key = {record.key: target for record, target in zip(new_records, new_targets, strict=True)}
    resolved = [(record, target or lead_by_key[record.key]) for record, target in targets]

    # A new lead cannot be on the list yet; a lead already held may be.
    old_ids = {target.pk for _, target in resolved if not target.is_new}
    copy_rows(ListMembership, MEMBERSHIP_COLUMNS, [(t.pk, job.lead_list_id, now) for t in new_targets])
    copy_rows(ListMembership, MEMBERSHIP_COLUMNS, [(pk, job.lead_list_id, now) for pk in sorted(old_ids)],
              ignore_conflicts=True)
    if old_ids and set_based():
        # Rows merged into held leads: matched in the database, where their rows are (merge.py).
        held = [(record, target) for record, target in resolved if not target.is_new]
        fresh = [(record, target) for record, target in resolved if target.is_new]
        _write_people(fresh)
        held_people_write(held)
        _write_liens_and_filings(job, fresh, due=due, auctions_of=resolved)
        held_liens_write(held)
    else:
        _write_people(resolved)
        _write_liens_and_filings(job, resolved, due=due)
    copy_rows(ImportRowIssue, ISSUE_COLUMNS, issues, ignore_conflicts=True)
    if old_ids:
        # Merged leads: another list, maybe an owner, a phone, a lien or a more urgent type,
        # so each moves its updated_at for the API's sync (docs/architecture.md#api-sync):
        # one statement, where finding which of them gained what would cost a query a kind.
        Lead.objects.filter(pk__any_of=old_ids).update(updated_at=now)
        # Rescored in this batch's transaction, so a resumed or cancelled import leaves no
        # score behind.
        if set_based():
            held_rescore(lead_ids=old_ids, now=now)
        else:
            leads_rescore(lead_ids=old_ids, now=now)
    return counts


def set_based() -> bool:
    """Whether rows merged into held leads are matched in SQL (merge.py): on PostgreSQL.
    SQLite (``make run``) keeps the Python path; both give the same rows."""
    return connection.vendor == "postgresql"


def _merge_listings(listings: list[tuple[int, Record]], now) -> None:
    """Houses held that a row shows on the MLS: the listing fields its cells change (an
    empty cell blanks nothing), in one UPDATE per batch, and none when nothing changed
    (importing the same file twice changes nothing)."""
    listings = [(pk, record) for pk, record in listings
                if any(record.property[name] not in (None, "") for name in MLS_FIELDS)]
    if not listings:
        return
    held = {row["pk"]: row for row in Property.objects.filter(pk__any_of={pk for pk, _ in listings})
            .values("pk", *MLS_FIELDS)}
    changed = set()
    for pk, record in listings:
        changes = mls_changes(held[pk], record.property)
        if changes:
            held[pk].update(changes)
            changed.add(pk)
    if changed:
        Property.objects.bulk_update(
            [Property(pk=pk, updated_at=now, **{name: held[pk][name] for name in MLS_FIELDS}) for pk in sorted(changed)],
            [*MLS_FIELDS, "updated_at"])


@dataclass
class _Owner:
    """An owner of a lead in this batch: a contact already held (``pk``), or a new one (``row``)."""

    pk: int | None
    do_not_mail: bool
    deceased: bool
    rejected_phones: list
    row: tuple = ()
    changed: bool = False


def _write_people(resolved: list[tuple[Record, Target]]) -> None:
    """Owners, phones and emails: new ones added, those already held left as they are."""
    old_ids = {target.pk for _, target in resolved if not target.is_new}
    owners: dict[tuple[int, int], _Owner] = {}
    numbers: dict[int, set[str]] = {}
    addresses: dict[int, set[str]] = {}
    for contact in Contact.objects.filter(lead_id__any_of=old_ids).prefetch_related("phones", "emails"):
        owners.setdefault((contact.lead_id, contact.position), _Owner(
            contact.pk, contact.do_not_mail, contact.deceased, list(contact.rejected_phones)))
        numbers.setdefault(contact.lead_id, set()).update(p.number for p in contact.phones.all())
        addresses.setdefault(contact.lead_id, set()).update(e.address for e in contact.emails.all())
    new_owners: list[_Owner] = []
    for record, lead in resolved:
        for index, person in enumerate(record.owners):
            key = (lead.pk, person.position)
            owner = owners.get(key)
            # The first owner named on the row gets its phones, and the numbers that could not be read.
            unreadable = record.rejected_phones if index == 0 else []
            mailing = record.mailing
            if owner is None:
                row = (lead.pk, person.position, person.first_name, person.last_name, person.company_name,
                       mailing["mailing_care_of"], mailing["mailing_street"], mailing["mailing_unit"],
                       mailing["mailing_city"], mailing["mailing_state"], mailing["mailing_zip"])
                owners[key] = owner = _Owner(None, mailing["do_not_mail"], mailing["deceased"], list(unreadable), row)
                new_owners.append(owner)
                continue
            if (mailing["do_not_mail"] and not owner.do_not_mail) or (mailing["deceased"] and not owner.deceased):
                # A list saying "Do Not Mail" or "Deceased" is honoured; a later list never clears it.
                owner.do_not_mail = owner.do_not_mail or mailing["do_not_mail"]
                owner.deceased = owner.deceased or mailing["deceased"]
                owner.changed = True
            fresh = [entry for entry in unreadable if entry not in owner.rejected_phones]
            if fresh:
                owner.rejected_phones = [*owner.rejected_phones, *fresh]
                owner.changed = True
    # New owners are written once every row of the batch has had its say on them.
    new_ids = copy_rows(Contact, CONTACT_COLUMNS, [
        (*owner.row, owner.do_not_mail, owner.deceased, owner.rejected_phones) for owner in new_owners], ids=True)
    for owner, contact_id in zip(new_owners, new_ids, strict=True):
        owner.pk = contact_id
    # Held owners a row changed (new ones were written with every row's say above).
    changed = [Contact(pk=o.pk, do_not_mail=o.do_not_mail, deceased=o.deceased, rejected_phones=o.rejected_phones)
               for o in owners.values() if o.changed and not o.row]
    if changed:
        Contact.objects.bulk_update(changed, ["do_not_mail", "deceased", "rejected_phones"])
    phones, emails = [], []
    for record, lead in resolved:
        contact_id = owners[(lead.pk, record.owners[0].position)].pk
        held = numbers.setdefault(lead.pk, set())
        next_position = len(held) + 1
        for phone in record.phones:
            if phone.e164 in held:
                continue
            held.add(phone.e164)
            phones.append((contact_id, phone.e164, phone.raw, phone.phone_type, next_position))
            next_position += 1
        held_emails = addresses.setdefault(lead.pk, set())
        for address in record.emails:
            if address not in held_emails:
                held_emails.add(address)
                emails.append((contact_id, address, len(held_emails)))
    # New numbers and addresses only (checked against those held, under the house's lock).
    copy_rows(Phone, ("contact_id", "number", "raw", "phone_type", "position"), phones)
    copy_rows(Email, ("contact_id", "address", "position"), emails)


CONTACT_COLUMNS = ("lead_id", "position", "first_name", "last_name", "company_name", "mailing_care_of",
                   "mailing_street", "mailing_unit", "mailing_city", "mailing_state", "mailing_zip",
                   "do_not_mail", "deceased", "rejected_phones")
LIEN_COLUMNS = ("lead_id", "position", "lien_type", "loan_program", "lender", "balance", "recording_date")


def _write_liens_and_filings(job: ImportJob, resolved: list[tuple[Record, Target]], *, due,
                             auctions_of: list[tuple[Record, Target]] | None = None) -> None:
    """Liens, filings and lead types of ``resolved``; the auction calls of ``auctions_of``
    (every row of the batch; by default ``resolved``)."""
    old_ids = {lead.pk for _, lead in resolved if not lead.is_new}
    held = set(Lien.objects.filter(lead_id__any_of=old_ids).values_list("lead_id", "position"))
    liens, changed_totals = [], set()
    for record, lead in resolved:
        for loan in record.loans:
            if (lead.pk, loan.position) in held:
                continue
            held.add((lead.pk, loan.position))
            liens.append((lead.pk, loan.position, loan.lien_type, loan.loan_program[:40], loan.lender, loan.balance,
                          loan.recording_date))
            if not lead.is_new:
                changed_totals.add(lead.pk)
    copy_rows(Lien, LIEN_COLUMNS, liens)
    if changed_totals:
        # Merged leads that gained a lien: their totals in one statement (rescored at the batch's end).
        Lead.objects.filter(pk__any_of=changed_totals).update(lien_total=Coalesce(
            Subquery(Lien.objects.filter(lead=OuterRef("pk")).values("lead").annotate(total=Sum("balance"))
                     .values("total")), Value(Decimal(0)), output_field=DecimalField()))
    # A filing is the same filing when its type, recording date and auction date match; the
    # constraint alone would not see it when the recording date is empty (NULLs differ).
    seen = set(ForeclosureRecord.objects.filter(lead_id__any_of=old_ids).values_list(
        "lead_id", "record_type", "recording_date", "auction_date"))
    filings, filing_columns = [], ()
    for record, lead in resolved:
        filing = record.foreclosure
        if not filing:
            continue
        signature = (lead.pk, filing["record_type"], filing["recording_date"], filing["auction_date"])
        if signature not in seen:
            seen.add(signature)
            filing_columns = ("lead_id", *filing)  # the same keys in every record (one literal builds them)
            filings.append((lead.pk, *filing.values()))
    copy_rows(ForeclosureRecord, filing_columns, filings, ignore_conflicts=True)
    # A list showing a filing makes a merged lead more urgent, never less (rescored at the batch's end).
    upgrades: dict[str, set[int]] = {}
    for record, lead in resolved:
        if not lead.is_new and URGENCY.get(record.lead_type, 0) > URGENCY.get(lead.lead_type, 0):
            lead.lead_type = record.lead_type
            upgrades.setdefault(record.lead_type, set()).add(lead.pk)
    for lead_type, ids in upgrades.items():
        Lead.objects.filter(pk__any_of=ids).update(lead_type=lead_type)

    # An auction date ahead is an urgent call, once per lead and date: pipeline writes it
    # (``import_auctions_found``) for someone who can see the lead.
    today = timezone.localdate()
    wanted = {}
    for record, lead in resolved if auctions_of is None else auctions_of:
        if _auction_ahead(record, today):
            wanted[lead.pk] = (lead, AUCTION_TITLE.format(date=record.foreclosure["auction_date"]))
    if not wanted:
        return
    team_leads = dict(Team.objects.filter(pk__in={lead.team_id for lead, _ in wanted.values() if lead.team_id})
                      .values_list("pk", "lead_id"))
    sees_all = job.created_by.has_perm("leads.view_all_leads")
    calls = [AuctionCall(lead.pk, _follow_up_assignee(job, lead.assigned_agent_id, team_leads.get(lead.team_id),
                                                      sees_all), title, held=not lead.is_new)
             for lead, title in wanted.values()]
    import_auctions_found.send(sender=ImportJob, job=job, due=due, auctions=calls)


@dataclass(frozen=True)
class AuctionCall:
    """A house of the batch with an auction ahead: whom to tell (None: nobody who can see
    the lead), what, and whether the lead was held before this batch."""

    lead_id: int
    assignee_id: int | None
    title: str
    held: bool
