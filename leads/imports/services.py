"""Importing a list: create the job (checked up front), then run it in batches.

Each batch is one transaction that also moves the job's ``rows_done``, so a worker killed
mid-file resumes after the last committed batch without doubling a row. Houses are found
by their address key, or by APN and county; two imports running at once take a lock per
key (PostgreSQL advisory locks, in key order) so the same house is never created twice.
"""

from __future__ import annotations

import csv
import itertools
import uuid
import zlib
from collections.abc import Iterable, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import DecimalField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from leadcrm.accounts.models import Team, TeamMembership, User

from ..models import (
    ColumnMapping,
    Contact,
    Email,
    ForeclosureRecord,
    ImportJob,
    ImportRowIssue,
    ImportStatus,
    Lead,
    LeadList,
    LeadSource,
    Lien,
    ListMembership,
    Phone,
    Property,
    Stage,
)
from . import columns as cols
from .copy import copy_insert
from .reading import NotATable, open_table
from .records import Record, read_record

BATCH_ROWS = 1000
# Which filing makes a lead more urgent: a merged lead takes the more urgent type.
URGENCY = {"auction_scheduled": 3, "lis_pendens": 2, "pre_foreclosure_nod": 1}
IMPORT_DIR = "imports"
TOO_LARGE = "The file is {size:,} bytes; the limit is {limit:,}."
NEEDS_LIST = "Name the list these leads come from."
MAPPING_UNKNOWN = "The mapping names columns the file does not have: {headers}."
AUCTION_TITLE = "Auction on {date:%b %d, %Y}: reach the homeowner now"
FAILED = "Stopped on an error after the rows counted above ({error}). Those rows are imported whole."
EMPTY_FILE = "{name} has a header but no rows."
LIST_OWNED = "A saved mapping named “{name}” belongs to someone else: pick another name."
ORPHAN = "This address is held without a lead (its lead was deleted); not imported."
MERGED_TWICE = "The same house as line {line}: merged into it."


class ImportRefused(ValidationError):
    pass


def _store(content) -> str:
    """Keep the upload under MEDIA_ROOT (never served) under a name of our own; an uploaded
    file is copied chunk by chunk, so a large list never sits in memory whole."""
    relative = f"{IMPORT_DIR}/{uuid.uuid4().hex}.bin"
    path = Path(settings.MEDIA_ROOT) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with path.open("wb") as out:
            for chunk in content.chunks():
                out.write(chunk)
    return relative


def stored_path(job: ImportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / job.stored_file


def import_job_create(
    *, content, file_name: str, created_by: User, source: str = LeadSource.CSV,
    list_name: str = "", lead_list: LeadList | None = None, columns: dict[str, str] | None = None,
    mapping: ColumnMapping | None = None, assign_to: User | None = None, round_robin_team: Team | None = None,
    draft: bool = False,
) -> ImportJob:
    """Check the file and its mapping, keep it outside the web root, count its rows.

    Refused up front (nothing stored, no job): a file that is not a table, and a mapping
    that lacks the columns to place a house, naming them. A ``draft`` job waits for a
    person to confirm or complete the detected mapping (``import_job_map``) instead.
    """
    limit = settings.LEADCRM_IMPORT_UPLOAD_MAX_BYTES
    size = len(content) if isinstance(content, bytes) else content.size
    if size > limit:
        raise ImportRefused({"file": TOO_LARGE.format(size=size, limit=limit)})
    if lead_list is None and not list_name.strip():
        raise ImportRefused({"list_name": NEEDS_LIST})
    relative = _store(content)
    path = Path(settings.MEDIA_ROOT) / relative
    try:
        table = open_table(path, file_name)
        if mapping is not None:
            columns = dict(mapping.columns)
        columns = dict(columns) if columns else cols.detect(table.headers)
        unknown = sorted(set(columns.values()) - set(table.headers))
        if unknown:
            raise ImportRefused({"file": MAPPING_UNKNOWN.format(headers=", ".join(unknown))})
        missing = cols.missing_required(columns)
        if missing and not draft:
            raise ImportRefused({"file": cols.MISSING_REQUIRED.format(fields=" and ".join(missing))})
        total = sum(1 for _ in table.rows())
        if not total:
            raise ImportRefused({"file": EMPTY_FILE.format(name=file_name)})
    except (NotATable, csv.Error, UnicodeDecodeError) as refusal:
        path.unlink(missing_ok=True)
        raise ImportRefused({"file": str(refusal)}) from None
    except ImportRefused:
        path.unlink(missing_ok=True)
        raise
    with transaction.atomic():
        if lead_list is None:
            # The same list name is the same list: uploading it again must not look like stacking.
            name = list_name.strip()[:120]
            lead_list = (LeadList.objects.filter(name__iexact=name).order_by("pk").first()
                         or LeadList.objects.create(name=name, source=source, created_by=created_by))
        return ImportJob.objects.create(
            lead_list=lead_list, source=source, file_name=file_name[:255], stored_file=relative, columns=columns,
            created_by=created_by, assign_to=assign_to, round_robin_team=round_robin_team, rows_total=total,
            headers=table.headers, status=ImportStatus.DRAFT if draft else ImportStatus.QUEUED,
        )


def import_job_map(*, job: ImportJob, columns: dict[str, str], save_as: str = "", user: User | None = None) -> ImportJob:
    """Confirm a draft job's mapping (field -> header) and queue it; optionally save the mapping."""
    columns = {name: header for name, header in columns.items() if header and name in cols.BY_NAME}
    unknown = sorted(set(columns.values()) - set(job.headers))
    if unknown:
        raise ImportRefused(MAPPING_UNKNOWN.format(headers=", ".join(unknown)))
    missing = cols.missing_required(columns)
    if missing:
        raise ImportRefused(cols.MISSING_REQUIRED.format(fields=" and ".join(missing)))
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportStatus.DRAFT:
            return locked
        if save_as.strip():
            name = save_as.strip()[:80]
            held = ColumnMapping.objects.filter(name=name).first()
            if held is not None and held.created_by_id != getattr(user, "pk", None) and not (
                    user is not None and user.has_perm("leads.change_columnmapping")):
                raise ImportRefused(LIST_OWNED.format(name=name))
            ColumnMapping.objects.update_or_create(
                name=name, defaults={"columns": columns, "source": locked.source, "created_by": user})
        locked.columns, locked.status = columns, ImportStatus.QUEUED
        locked.save(update_fields=["columns", "status"])
    return locked


def import_cancel(*, job: ImportJob) -> ImportJob:
    """Stop after the batch in progress; what is committed stays (every row in it is whole)."""
    ImportJob.objects.filter(pk=job.pk, status__in=[ImportStatus.DRAFT, ImportStatus.QUEUED, ImportStatus.RUNNING]
                             ).update(cancel_requested=True)
    job.refresh_from_db()
    if job.status in (ImportStatus.DRAFT, ImportStatus.QUEUED):
        ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.CANCELLED, finished_at=timezone.now())
        job.refresh_from_db()
    return job


def _batches(rows: Iterator, size: int) -> Iterator[list]:
    while batch := list(itertools.islice(rows, size)):
        yield batch


def import_run(*, job_id: int, batch_rows: int = BATCH_ROWS) -> ImportJob:
    """Import (or resume importing) one job's file. Safe to call twice: a finished job is left as is.

    An error stops the job as failed, with the reason on its page; the rows committed
    before it stay, whole.
    """
    try:
        return _import_run(job_id=job_id, batch_rows=batch_rows)
    except Exception as error:
        ImportJob.objects.filter(pk=job_id, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]).update(
            status=ImportStatus.FAILED, error=FAILED.format(error=str(error)[:500] or type(error).__name__),
            finished_at=timezone.now())
        raise


def _import_run(*, job_id: int, batch_rows: int) -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return job
        if job.cancel_requested:
            job.status, job.finished_at = ImportStatus.CANCELLED, timezone.now()
            job.save(update_fields=["status", "finished_at"])
            return job
        job.status = ImportStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at"])
    table = open_table(stored_path(job), job.file_name)
    done = job.rows_done
    rows = itertools.islice(table.rows(), done, None)  # resume after the committed rows
    for batch in _batches(rows, batch_rows):
        records = [read_record(line, row, job.columns) for line, row in batch]
        with transaction.atomic():
            locked = ImportJob.objects.select_for_update().get(pk=job.pk)
            if locked.rows_done != done:
                return locked  # another worker took this job over (a redelivered task): leave it to it
            if locked.cancel_requested:
                locked.status, locked.finished_at = ImportStatus.CANCELLED, timezone.now()
                locked.save(update_fields=["status", "finished_at"])
                return locked
            counts = write_batch(locked, records)
            for name, value in counts.items():
                setattr(locked, name, getattr(locked, name) + value)
            locked.rows_done += len(records)
            locked.save(update_fields=["rows_done", *counts])
        done, job = locked.rows_done, locked
    return _finish(job)


def _finish(job: ImportJob) -> ImportJob:
    """Flag the phones and score the leads of the whole list, so counts are right at once."""
    from compliance.services import phones_reflag
    from leads.services import leads_rescore

    lead_ids = list(ListMembership.objects.filter(lead_list=job.lead_list).values_list("lead_id", flat=True))
    if lead_ids:  # a file whose every row was rejected has nothing to flag or score
        phones = Phone.objects.filter(contact__lead__list_memberships__lead_list=job.lead_list)
        phones_reflag(phones=phones)
        for start in range(0, len(lead_ids), 5000):
            leads_rescore(lead_ids=lead_ids[start:start + 5000])
        # Counted on the leads the importer may see: a colleague's lead on the same list is not theirs to count.
        job.phones_on_dnc = phones.filter(
            on_dnc_list=True, contact__lead__in=Lead.objects.visible_to(job.created_by)).count()
    job.status, job.finished_at = ImportStatus.DONE, timezone.now()
    job.save(update_fields=["phones_on_dnc", "status", "finished_at"])
    return job


# One batch ----------------------------------------------------------------------------------


def _lock_keys(keys: Iterable[str]) -> None:
    """Serialise imports per house across processes; sorted, so two imports never deadlock."""
    if connection.vendor != "postgresql":
        return
    ids = sorted({zlib.crc32(key.encode()) - 2**31 for key in keys})
    if ids:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(k) FROM unnest(%s::int[]) AS k ORDER BY k", [ids])


def _agents(job: ImportJob) -> Iterator[tuple[User | None, Team | None]]:
    """Who gets each new lead: one agent, a team's active agents weighted by capacity, or nobody."""
    if job.assign_to_id:
        membership = TeamMembership.objects.filter(user_id=job.assign_to_id).select_related("team").first()
        return itertools.repeat((job.assign_to, membership.team if membership else None))
    if job.round_robin_team_id:
        members = list(TeamMembership.objects.filter(team_id=job.round_robin_team_id, is_active=True)
                       .select_related("user").order_by("pk"))
        turns = [(m.user, job.round_robin_team) for m in members for _ in range(max(m.capacity_weight, 1))]
        if turns:
            # Continue the rotation where the last batch left it.
            return itertools.islice(itertools.cycle(turns), job.leads_created % len(turns), None)
    return itertools.repeat((None, None))


def _plain(row: dict) -> dict:
    """The row as text, for the error report (spreadsheet cells may be numbers or dates)."""
    return {str(k): ("" if v is None else str(v)) for k, v in row.items()}


def write_batch(job: ImportJob, records: list[Record]) -> dict[str, int]:
    """Create or merge the leads of one batch; returns the counts it adds to the job."""
    counts = {"leads_created": 0, "leads_merged": 0, "rows_rejected": 0, "phones_valid": 0, "phones_invalid": 0}
    issues: list[ImportRowIssue] = []
    good: list[Record] = []
    for record in records:
        for note in record.notes:
            issues.append(ImportRowIssue(job=job, row_number=record.line, rejected=False, reason=note[:255],
                                         row=_plain(record.row)))
        if record.rejected:
            counts["rows_rejected"] += 1
            issues.append(ImportRowIssue(job=job, row_number=record.line, reason=record.rejected, row=_plain(record.row)))
        else:
            good.append(record)
            counts["phones_valid"] += len(record.phones)
            counts["phones_invalid"] += len(record.rejected_phones)
    apn_keys = {f"apn:{r.apn.upper()}|{r.county.upper()}" for r in good if r.apn and r.county}
    _lock_keys([r.key for r in good] + sorted(apn_keys))

    # Which houses we already hold: by address key, then by APN and county.
    by_key = {p.address_key: p for p in Property.objects.filter(address_key__in={r.key for r in good})}
    # APN and county, compared without case; looked up through the (apn, county) index by the
    # spellings lists use, then matched here.
    wanted = {(r.apn.upper(), r.county.upper()) for r in good if r.apn and r.county and r.key not in by_key}
    by_apn = {}
    if wanted:
        spellings = {variant for apn, _ in wanted for variant in (apn, apn.lower())}
        for prop in Property.objects.filter(apn__in=spellings):
            found = (prop.apn.upper(), prop.county.upper())
            if found in wanted:
                by_apn[found] = prop
    existing_leads = {lead.property_id: lead for lead in Lead.objects.filter(
        property_id__in=[p.pk for p in (*by_key.values(), *by_apn.values())])}

    # The same house twice in this batch merges into its first row.
    first_line: dict[str, int] = {}
    new_records: list[Record] = []
    targets: list[tuple[Record, Lead | None]] = []
    parcel_of: dict[str, str] = {}  # "APN|COUNTY" -> the key of the first new house with it
    for record in good:
        parcel = f"{record.apn.upper()}|{record.county.upper()}" if record.apn and record.county else ""
        prop = by_key.get(record.key) or by_apn.get((record.apn.upper(), record.county.upper()))
        if prop is not None and prop.pk not in existing_leads:
            counts["rows_rejected"] += 1
            issues.append(ImportRowIssue(job=job, row_number=record.line, reason=ORPHAN, row=_plain(record.row)))
            continue
        if prop is not None:
            targets.append((record, existing_leads[prop.pk]))
            counts["leads_merged"] += 1
            continue
        first_key = record.key if record.key in first_line else (parcel_of.get(parcel) if parcel else None)
        if first_key is not None:
            record.key = first_key
            issues.append(ImportRowIssue(job=job, row_number=record.line, rejected=False,
                                         reason=MERGED_TWICE.format(line=first_line[first_key]),
                                         row=_plain(record.row)))
            targets.append((record, None))  # resolved below, once the first row's lead exists
            counts["leads_merged"] += 1
        else:
            first_line[record.key] = record.line
            if parcel:
                parcel_of.setdefault(parcel, record.key)
            new_records.append(record)
            targets.append((record, None))

    now = timezone.now()
    assignees = _agents(job)
    properties = [Property(address_key=r.key, **r.property) for r in new_records]
    copy_insert(Property, properties)
    new_leads = []
    for record, prop in zip(new_records, properties, strict=True):
        agent, team = next(assignees)
        new_leads.append(Lead(
            property=prop, lead_type=record.lead_type, source=job.source, source_list=job.lead_list,
            stage=Stage.LIST, stage_entered_at=now, assigned_agent=agent, team=team,
            lien_total=sum((loan.balance or Decimal(0) for loan in record.loans), Decimal(0)),
        ))
    copy_insert(Lead, new_leads)
    counts["leads_created"] = len(new_leads)
    lead_by_key = {record.key: lead for record, lead in zip(new_records, new_leads, strict=True)}
    resolved = [(record, lead or lead_by_key[record.key]) for record, lead in targets]

    ListMembership.objects.bulk_create(
        [ListMembership(lead=lead, lead_list=job.lead_list, added_at=now)
         for lead in {target.pk: target for _, target in resolved}.values()],
        ignore_conflicts=True,
    )
    _write_people(resolved, new_lead_ids={lead.pk for lead in new_leads})
    _write_liens_and_filings(job, resolved, new_lead_ids={lead.pk for lead in new_leads})
    ImportRowIssue.objects.bulk_create(issues, ignore_conflicts=True)
    return counts


def _write_people(resolved: list[tuple[Record, Lead]], new_lead_ids: set[int]) -> None:
    """Owners, phones and emails: new ones added, those already held left as they are."""
    old_ids = {lead.pk for _, lead in resolved} - new_lead_ids
    contacts: dict[tuple[int, int], Contact] = {}
    numbers: dict[int, set[str]] = {}
    addresses: dict[int, set[str]] = {}
    for contact in Contact.objects.filter(lead_id__in=old_ids).prefetch_related("phones", "emails"):
        contacts.setdefault((contact.lead_id, contact.position), contact)
        numbers.setdefault(contact.lead_id, set()).update(p.number for p in contact.phones.all())
        addresses.setdefault(contact.lead_id, set()).update(e.address for e in contact.emails.all())
    new_contacts, changed = [], {}
    for record, lead in resolved:
        for index, owner in enumerate(record.owners):
            key = (lead.pk, owner.position)
            contact = contacts.get(key)
            # The first owner named on the row gets its phones, and the numbers that could not be read.
            unreadable = record.rejected_phones if index == 0 else []
            if contact is None:
                contact = Contact(lead=lead, position=owner.position, first_name=owner.first_name,
                                  last_name=owner.last_name, company_name=owner.company_name,
                                  rejected_phones=list(unreadable), **record.mailing)
                contacts[key] = contact
                new_contacts.append(contact)
                continue
            if (record.mailing["do_not_mail"] and not contact.do_not_mail) or (
                    record.mailing["deceased"] and not contact.deceased):
                # A list saying "Do Not Mail" or "Deceased" is honoured; a later list never clears it.
                contact.do_not_mail = contact.do_not_mail or record.mailing["do_not_mail"]
                contact.deceased = contact.deceased or record.mailing["deceased"]
                changed[contact.pk] = contact
            fresh = [entry for entry in unreadable if entry not in contact.rejected_phones]
            if fresh:
                contact.rejected_phones = [*contact.rejected_phones, *fresh]
                changed[contact.pk] = contact
    copy_insert(Contact, new_contacts)
    if changed:
        Contact.objects.bulk_update(list(changed.values()), ["do_not_mail", "deceased", "rejected_phones"])
    phones, emails = [], []
    for record, lead in resolved:
        owner_contact = contacts[(lead.pk, record.owners[0].position)]
        held = numbers.setdefault(lead.pk, set())
        next_position = len(held) + 1
        for phone in record.phones:
            if phone.e164 in held:
                continue
            held.add(phone.e164)
            phones.append(Phone(contact=owner_contact, number=phone.e164, raw=phone.raw, phone_type=phone.phone_type,
                                position=next_position))
            next_position += 1
        held_emails = addresses.setdefault(lead.pk, set())
        for address in record.emails:
            if address not in held_emails:
                held_emails.add(address)
                emails.append(Email(contact=owner_contact, address=address, position=len(held_emails)))
    # New numbers and addresses only (checked against those held, under the house's lock).
    copy_insert(Phone, phones)
    copy_insert(Email, emails)


def _write_liens_and_filings(job: ImportJob, resolved: list[tuple[Record, Lead]], new_lead_ids: set[int]) -> None:
    from pipeline.models import FollowUp, FollowUpKind

    lead_ids = {lead.pk for _, lead in resolved}
    held = set(Lien.objects.filter(lead_id__in=lead_ids - new_lead_ids).values_list("lead_id", "position"))
    liens, changed_totals = [], set()
    for record, lead in resolved:
        for loan in record.loans:
            if (lead.pk, loan.position) in held:
                continue
            held.add((lead.pk, loan.position))
            liens.append(Lien(lead=lead, position=loan.position, lien_type=loan.lien_type,
                              loan_program=loan.loan_program[:40], lender=loan.lender, balance=loan.balance,
                              recording_date=loan.recording_date))
            if lead.pk not in new_lead_ids:
                changed_totals.add(lead.pk)
    copy_insert(Lien, liens)
    if changed_totals:
        # Merged leads that gained a lien: their totals in one statement (scores follow in _finish).
        Lead.objects.filter(pk__in=changed_totals).update(lien_total=Coalesce(
            Subquery(Lien.objects.filter(lead=OuterRef("pk")).values("lead").annotate(total=Sum("balance"))
                     .values("total")), Value(Decimal(0)), output_field=DecimalField()))
    # A filing is the same filing when its type, recording date and auction date match; the
    # constraint alone would not see it when the recording date is empty (NULLs differ).
    seen = set(ForeclosureRecord.objects.filter(lead_id__in=lead_ids - new_lead_ids).values_list(
        "lead_id", "record_type", "recording_date", "auction_date"))
    filings = []
    for record, lead in resolved:
        filing = record.foreclosure
        if not filing:
            continue
        signature = (lead.pk, filing["record_type"], filing["recording_date"], filing["auction_date"])
        if signature not in seen:
            seen.add(signature)
            filings.append(ForeclosureRecord(lead=lead, **filing))
    ForeclosureRecord.objects.bulk_create(filings, ignore_conflicts=True)
    # A list showing a filing makes a merged lead more urgent, never less (scored in _finish).
    upgrades: dict[str, set[int]] = {}
    for record, lead in resolved:
        if lead.pk not in new_lead_ids and URGENCY.get(record.lead_type, 0) > URGENCY.get(lead.lead_type, 0):
            lead.lead_type = record.lead_type
            upgrades.setdefault(record.lead_type, set()).add(lead.pk)
    for lead_type, ids in upgrades.items():
        Lead.objects.filter(pk__in=ids).update(lead_type=lead_type)

    # An auction date ahead is an urgent follow-up, once per lead and date.
    today = timezone.localdate()
    wanted = {}
    for record, lead in resolved:
        auction = (record.foreclosure or {}).get("auction_date")
        if auction and auction >= today:
            wanted[lead.pk] = (lead, AUCTION_TITLE.format(date=auction))
    if not wanted:
        return
    exists = set(FollowUp.objects.filter(lead_id__in=wanted, title__in={t for _, t in wanted.values()})
                 .values_list("lead_id", "title"))
    due = timezone.now() + timedelta(minutes=5)
    team_leads = dict(Team.objects.filter(pk__in={lead.team_id for lead, _ in wanted.values() if lead.team_id})
                      .values_list("pk", "lead_id"))
    importer_sees_all = job.created_by.has_perm("leads.view_all_leads")
    follow_ups = []
    for lead, title in wanted.values():
        # Someone who can see the lead: its agent, else its team's lead, else a broker importing.
        assignee = lead.assigned_agent_id or team_leads.get(lead.team_id) or (
            job.created_by_id if importer_sees_all else None)
        if assignee and (lead.pk, title) not in exists:
            follow_ups.append(FollowUp(lead=lead, assignee_id=assignee, kind=FollowUpKind.CALL, title=title,
                                       due_at=due, created_by_id=job.created_by_id))
    FollowUp.objects.bulk_create(follow_ups)
    Lead.objects.filter(pk__in=[f.lead_id for f in follow_ups]).filter(
        Q(next_follow_up_at__isnull=True) | Q(next_follow_up_at__gt=due)).update(next_follow_up_at=due)
