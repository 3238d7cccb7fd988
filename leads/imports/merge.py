"""Rows merged into leads already held, set-based (PostgreSQL): the batch's cells are
COPYed into staging tables, and a few ``INSERT ... SELECT`` and ``UPDATE ... FROM``
statements do what batch.py's Python does row by row for them (docs/architecture.md,
"A new import column").

Reading every held owner, phone, email, lien and filing of a batch's leads into Python to
match them cost a re-import about 1.7 times a first import's time; here the database
matches them where they are, through their indexes, and nothing held is read back but the
score's facts. The outcome is the Python path's, row for row (the property tests in
tests/property/test_import_merge.py run both on the same cells):

- an owner is (lead, position), the first held contact there; a new one takes its names
  and mailing address from the batch's first row naming it; "Do Not Mail" and "Deceased"
  are set by any row and never cleared; numbers a row could not read are appended once;
- a phone or email is new when the lead has no contact with it; it goes to the row's first
  owner, numbered after the lead's others in the order the rows give them;
- a lien is (lead, position), the batch's first row's; a lead that gains one has its total
  summed again; a filing is new unless its type, recording and auction dates match one
  held (an empty date matches an empty one);
- a lead takes the most urgent type a row gives it, never a less urgent one.

No text is compared or case-folded in SQL: PostgreSQL's ``upper()`` follows the
database's collation (under ``C`` it leaves ``é`` alone, none maps ``ß`` to ``SS`` as
Python does), so everything compared here was normalised in Python by the reader
(E.164 numbers, lower-cased emails), and houses are matched in Python (batch.py).
Amounts arrive rounded to the cent by the reader (``cells.money``: half to even); a third
decimal left to a ``numeric(14, 2)`` column would round half away from zero instead
($0.005 to $0.01, where Python gives $0.00), so none reaches the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Subquery
from django.utils import timezone

from ..models import Contact, Email, ForeclosureRecord, HardshipRecord, Lead, Lien, Phone
from ..scoring import LeadFacts, motivation_score
from .copy import stage_rows
from .records import Record

# Which filing makes a lead more urgent: a merged lead takes the more urgent type.
URGENCY = {"auction_scheduled": 3, "lis_pendens": 2, "pre_foreclosure_nod": 1}


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _table(model) -> str:
    return _q(model._meta.db_table)


def _plain_list(names: list[str]) -> str:
    return ", ".join(names)


def _selected(names: list[str], alias: str, replace: dict[str, str]) -> str:
    """The staged columns as ``alias.column``, some replaced by an expression."""
    return ", ".join(replace.get(name, f"{alias}.{name}") for name in names)


def held_people_write(resolved: list[tuple[Record, object]]) -> None:
    """Owners, phones and emails of rows merged into held leads (``resolved``: record, target)."""
    owners: dict[tuple[int, int], list] = {}
    phones, emails = [], []
    for record, lead in resolved:
        mailing = record.mailing
        for index, person in enumerate(record.owners):
            unreadable = record.rejected_phones if index == 0 else []
            owner = owners.get((lead.pk, person.position))
            if owner is None:
                owners[(lead.pk, person.position)] = [
                    len(owners), lead.pk, person.position, person.first_name, person.last_name, person.company_name,
                    mailing["mailing_care_of"], mailing["mailing_street"], mailing["mailing_unit"],
                    mailing["mailing_city"], mailing["mailing_state"], mailing["mailing_zip"],
                    mailing["do_not_mail"], mailing["deceased"], list(map(_entry, unreadable))]
                continue
            owner[12] = owner[12] or mailing["do_not_mail"]
            owner[13] = owner[13] or mailing["deceased"]
            # A row's numbers not yet on the owner, all of them (a number twice in one row is
            # kept twice, as the Python path keeps it).
            owner[14] += [entry for entry in map(_entry, unreadable) if entry not in owner[14]]
        position = record.owners[0].position
        for phone in record.phones:
            phones.append((lead.pk, position, phone.e164, phone.raw, phone.phone_type))
        for address in record.emails:
            emails.append((lead.pk, position, address))
    rows = [(*owner[:-1], [json.loads(entry) for entry in owner[-1]]) for owner in owners.values()]
    stage, names = stage_rows(Contact, "contact", [("seq", "int")], (
        "lead_id", "position", "first_name", "last_name", "company_name", "mailing_care_of", "mailing_street",
        "mailing_unit", "mailing_city", "mailing_state", "mailing_zip", "do_not_mail", "deceased",
        "rejected_phones"), rows)
    contact = _table(Contact)
    with connection.cursor() as cursor:
        # Held owners: a flag set by a row, and the unreadable numbers not yet on them.
        cursor.execute(f"""
            WITH held AS (
                SELECT DISTINCT ON (c.lead_id, c.position) c.id, c.lead_id, c.position
                FROM {contact} c WHERE c.lead_id IN (SELECT lead_id FROM {stage})
                ORDER BY c.lead_id, c.position, c.id),
            merged AS (
                SELECT h.id, s.do_not_mail, s.deceased, coalesce((
                    SELECT jsonb_agg(e.value ORDER BY e.ordinality)
                    FROM jsonb_array_elements(s.rejected_phones) WITH ORDINALITY AS e(value, ordinality)
                    WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(c.rejected_phones) AS o(value)
                                      WHERE o.value = e.value)), '[]'::jsonb) AS fresh
                FROM {stage} s JOIN held h ON h.lead_id = s.lead_id AND h.position = s.position
                JOIN {contact} c ON c.id = h.id)
            UPDATE {contact} c SET do_not_mail = c.do_not_mail OR m.do_not_mail,
                deceased = c.deceased OR m.deceased, rejected_phones = c.rejected_phones || m.fresh,
                updated_at = %s
            FROM merged m
            WHERE c.id = m.id AND ((m.do_not_mail AND NOT c.do_not_mail) OR (m.deceased AND NOT c.deceased)
                                   OR m.fresh <> '[]'::jsonb)""", [timezone.now()])
        # New owners, in the batch's order.
        cursor.execute(f"""
            INSERT INTO {contact} ({_plain_list(names)})
            SELECT {_selected(names, 's', {})} FROM {stage} s
            WHERE NOT EXISTS (SELECT 1 FROM {contact} c WHERE c.lead_id = s.lead_id AND c.position = s.position)
            ORDER BY s.seq""")
    _held_contact_values(Phone, "phone", "number", phones, ("raw", "phone_type"))
    _held_contact_values(Email, "email", "address", emails, ())


def _entry(value: dict) -> str:
    """An unreadable number's entry as text: compared as the Python path compares dicts."""
    return json.dumps(value, sort_keys=True)


def _held_contact_values(model, name: str, column: str, items: list[tuple], more: tuple[str, ...]) -> None:
    """New phones (or emails) of held leads: the values no contact of the lead has, on the
    row's first owner, numbered after the lead's other values, first row first. ``items``:
    (lead, owner's position, value, *``more``), in the rows' order."""
    if not items:
        return
    rows = [(seq, *item) for seq, item in enumerate(items)]
    stage, names = stage_rows(model, name, [("seq", "int"), ("lead_id", "bigint"), ("owner", "int")],
                              (column, *more), rows)
    table, contact = _table(model), _table(Contact)
    value = _q(column)
    with connection.cursor() as cursor:
        cursor.execute(f"""
            WITH fresh AS (
                SELECT DISTINCT ON (s.lead_id, s.{value}) s.*
                FROM {stage} s
                WHERE NOT EXISTS (SELECT 1 FROM {table} t JOIN {contact} c ON c.id = t.contact_id
                                  WHERE c.lead_id = s.lead_id AND t.{value} = s.{value})
                ORDER BY s.lead_id, s.{value}, s.seq),
            held AS (
                SELECT c.lead_id, count(DISTINCT t.{value}) AS n
                FROM {table} t JOIN {contact} c ON c.id = t.contact_id
                WHERE c.lead_id IN (SELECT lead_id FROM fresh) GROUP BY c.lead_id),
            owner AS (
                SELECT DISTINCT ON (c.lead_id, c.position) c.id, c.lead_id, c.position
                FROM {contact} c WHERE c.lead_id IN (SELECT lead_id FROM fresh)
                ORDER BY c.lead_id, c.position, c.id)
            INSERT INTO {table} ({_plain_list(names)})
            SELECT {_selected(names, 'f', {
                '"contact_id"': 'o.id',
                '"position"': 'coalesce(h.n, 0) + row_number() OVER (PARTITION BY f.lead_id ORDER BY f.seq)'})}
            FROM fresh f JOIN owner o ON o.lead_id = f.lead_id AND o.position = f.owner
            LEFT JOIN held h ON h.lead_id = f.lead_id
            ORDER BY f.seq
            ON CONFLICT DO NOTHING""")


def held_liens_write(resolved: list[tuple[Record, object]]) -> None:
    """Liens, filings and lead types of rows merged into held leads; totals summed again."""
    liens, filings, upgrades = [], [], {}
    for seq, (record, lead) in enumerate(resolved):
        for loan in record.loans:
            liens.append((seq, lead.pk, loan.position, loan.lien_type, loan.loan_program[:40], loan.lender,
                          loan.balance, loan.recording_date))
        if record.foreclosure:
            filings.append((seq, lead.pk, *record.foreclosure.values()))
        rank = URGENCY.get(record.lead_type, 0)
        if rank > upgrades.get(lead.pk, ("", 0))[1]:
            upgrades[lead.pk] = (record.lead_type, rank)
    gained: list[int] = []
    lead, lien = _table(Lead), _table(Lien)
    with connection.cursor() as cursor:
        if liens:
            stage, names = stage_rows(Lien, "lien", [("seq", "int")], (
                "lead_id", "position", "lien_type", "loan_program", "lender", "balance", "recording_date"), liens)
            cursor.execute(f"""
                INSERT INTO {lien} ({_plain_list(names)})
                SELECT {_plain_list(names)} FROM (
                    SELECT DISTINCT ON (s.lead_id, s.position) s.* FROM {stage} s
                    ORDER BY s.lead_id, s.position, s.seq) f
                ORDER BY f.seq
                ON CONFLICT (lead_id, position) DO NOTHING
                RETURNING lead_id""")
            gained = sorted({lead_id for (lead_id,) in cursor.fetchall()})
        if filings:
            # The same keys in every record's filing (one literal builds them).
            keys = ("lead_id", *next(r.foreclosure for r, _ in resolved if r.foreclosure))
            stage, names = stage_rows(ForeclosureRecord, "filing", [("seq", "int")], keys, filings)
            filing = _table(ForeclosureRecord)
            cursor.execute(f"""
                INSERT INTO {filing} ({_plain_list(names)})
                SELECT {_plain_list(names)} FROM (
                    SELECT DISTINCT ON (s.lead_id, s.record_type, s.recording_date, s.auction_date) s.*
                    FROM {stage} s
                    WHERE NOT EXISTS (
                        SELECT 1 FROM {filing} h WHERE h.lead_id = s.lead_id AND h.record_type = s.record_type
                        AND h.recording_date IS NOT DISTINCT FROM s.recording_date
                        AND h.auction_date IS NOT DISTINCT FROM s.auction_date)
                    ORDER BY s.lead_id, s.record_type, s.recording_date, s.auction_date, s.seq) f
                ORDER BY f.seq
                ON CONFLICT DO NOTHING""")
        if not gained and not upgrades:
            return
        # One UPDATE: the totals of leads that gained a lien, the types a row made more urgent.
        urgency = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in URGENCY.items())
        values = [(pk, *upgrades.get(pk, ("", 0)), pk in gained) for pk in sorted({*gained, *upgrades})]
        cursor.execute(f"""
            UPDATE {lead} l SET
                lien_total = CASE WHEN v.gained THEN coalesce(
                    (SELECT sum(balance) FROM {lien} WHERE lead_id = l.id), 0) ELSE l.lien_total END,
                lead_type = CASE WHEN v.rank > (CASE l.lead_type {urgency} ELSE 0 END) THEN v.lead_type
                                 ELSE l.lead_type END
            FROM (SELECT * FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::bool[])) AS v(id, lead_type, rank, gained)
            WHERE l.id = v.id""", [[v[0] for v in values], [v[1] for v in values], [v[2] for v in values],
                                   [v[3] for v in values]])


def held_rescore(*, lead_ids: Iterable[int], now: datetime) -> int:
    """The held leads' scores, from their facts read in one query, written in one UPDATE.

    The same facts and the same ``motivation_score`` as ``leads.services.leads_rescore``,
    read as plain values rather than lead and property instances."""
    today = timezone.localdate(now)
    next_auction = (ForeclosureRecord.objects.filter(lead=OuterRef("pk"), auction_date__gte=today)
                    .order_by("auction_date").values("auction_date")[:1])
    facts = (Lead.objects.filter(pk__in=list(lead_ids))
             .annotate(has_hardship=Exists(HardshipRecord.objects.filter(lead=OuterRef("pk"))),
                       list_count=Count("list_memberships", distinct=True), next_auction=Subquery(next_auction))
             .values_list("pk", "lead_type", "property__estimated_value", "lien_total", "has_hardship", "list_count",
                          "last_contacted_at", "next_auction", "score", "score_reasons"))
    rate: Decimal = settings.LEADCRM_SELLING_COST_RATE
    changed = []
    for pk, lead_type, value, lien_total, hardship, lists, contacted, auction, held, reasons in facts:
        score = motivation_score(LeadFacts(
            lead_type=lead_type, estimated_value=value, lien_total=lien_total, selling_cost_rate=rate,
            has_hardship=hardship, list_count=lists, last_contacted_at=contacted, next_auction=auction), now=now)
        if (score.value, score.reasons) != (held, reasons):
            changed.append((pk, score.value, json.dumps(score.reasons)))
    if changed:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_table(Lead)} l SET score = v.score, score_reasons = v.reasons::jsonb "
                "FROM unnest(%s::bigint[], %s::int[], %s::text[]) AS v(id, score, reasons) WHERE l.id = v.id",
                [[c[0] for c in changed], [c[1] for c in changed], [c[2] for c in changed]])
    return len(changed)
