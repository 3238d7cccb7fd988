"""The reports' brokerage: a million leads worked over two years, written with COPY.

The reports' target is "every report under 1 s with 1,000,000 leads and 5,000,000 outreach
attempts". This builds that book in a database of its own (``bench/run.py --only
reports``), with what the reports read:

- leads created evenly over the last two years, 95 % from twelve lists (a quarter of them
  on a second list, some on a third), each moving through the stages on its own clock:
  24 % reach Contact, 7 % Qualify, 1.25 % Negotiate; three in four of those reach Close
  and most of them close (``closing_date`` set); many die on the way (a dead reason
  fitting the stage). Leads still on their clock today stay in their stage.
  One ``StageChange`` row per move, by the lead's agent.
- one or two owners, one to three phones on the first, a tenth of them on a Do Not Call
  list (``on_dnc_list``); a first lien on every house and a HELOC on 30 %.
- a lender file per lien for every lead that reached Negotiate, with its milestones
  (authorization, package submitted, acknowledged, negotiator, valuation, then approved
  when the lead went on to Close, or denied for some of those that died).
- ``ATTEMPTS_PER_LEAD`` (5) outreach attempts a lead on average, 5,000,000 for a million
  leads: a few for a lead still on the list, many more once reached; calls, texts, mail,
  email and door knocks in calling hours (13:00 to 02:00 UTC) with outcomes fitting the
  lead's stage at the time (the move to Contact follows a conversation); one in 500 a
  correction of the lead's previous entry.
  Each rides on its own compliance check (mode ``log``, allowed or warned, evidence as
  the gate writes it, about 1.1 kB of JSON), and 6 % more checks were blocked previews
  with the rules that fired. Rows are in time order, as a live log's are.

Everything is built in Python and written with ``COPY`` (text format) into the real
tables, from a thread of its own so that PostgreSQL writes one chunk while Python builds
the next. It is written with ``session_replication_role = replica``, so no foreign key
and no trigger fires row by row (not the outreach gate's, not the reports' rollups'); the
outreach log and its checks get their secondary indexes built once afterwards. Then the
reports' rollups are recounted (``pipeline_report_rollups_rebuild()``) and what
the skipped checks would have refused is checked in bulk (``verify``): every reference
resolves, every attempt's check exists, passed, was made to log it and is its lead's, and
the rollups add up to the logs.
"""

from __future__ import annotations

import io
import json
import queue
import random
import threading
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db import connection, models, transaction

from compliance.models import ComplianceCheck
from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Role
from leadcrm.accounts.services import user_set_role
from leads.addresses import address_key
from leads.models import Contact, Lead, LeadList, Lien, ListMembership, Phone, Property
from pipeline.models import LenderFile, LenderMilestone, OutreachAttempt, StageChange

from .generate import CITIES, FIRST, LAST, LEAD_TYPES, LENDERS, STATES, STREETS, CopyWriter, _people

HISTORY_DAYS = 730
ATTEMPTS_PER_LEAD = 5
CHUNK = 50_000
DAY = 86_400
EPOCH = date(1970, 1, 1).toordinal()
LEAD_BITS = 24  # an attempt is (second << LEAD_BITS | lead index) until it is written
SERVICERS = [*LENDERS, "Ocwen", "Shellpoint", "Carrington", "Nationstar", "Freedom Mortgage"]
LISTS = [
    ("NOD Oklahoma County", "county", 10), ("Lis pendens Hillsborough", "county", 9),
    ("PropStream pre-foreclosure TX", "propstream", 14), ("PropStream absentee FL", "propstream", 10),
    ("BatchLeads tax delinquent", "batchleads", 8), ("DealMachine drive-by", "dealmachine", 5),
    ("Auction list Maricopa", "county", 7), ("Probate Fulton", "county", 4),
    ("PropStream high equity GA", "propstream", 9), ("Expired listings", "csv", 6),
    ("Skip-traced NOD KS", "csv", 8), ("Pre-foreclosure MD", "propstream", 6),
]
NO_LIST = [("referral", 2), ("inbound", 2), ("manual", 1)]  # 5 % came with no list
# stage -> (next stage, chance of going on, days to it, chance of dying if not, days to that, dead reasons)
CLOCK = {
    "list": ("contact", 0.25, (3, 25), 0.08, (10, 60), ["unreachable", "not_interested"]),
    "contact": ("qualify", 0.30, (2, 12), 0.50, (5, 30), ["not_interested", "listed_elsewhere", "reinstated"]),
    "qualify": ("negotiate", 0.18, (5, 15), 0.50, (10, 30), ["not_interested", "reinstated", "other"]),
    "negotiate": ("close", 0.75, (30, 60), 0.70, (60, 60), ["foreclosed", "reinstated", "other"]),
    "close": ("closed", 0.85, (15, 20), 0.80, (20, 20), ["foreclosed", "other"]),
}
REASONS = ["+20 Notice of default recorded", "+15 Equity under 10 %", "+10 On two lists", "+5 Absentee owner"]
BLOCK_RULES = [(["A5"], 30), (["A3"], 20), (["E1"], 20), (["A5", "D1"], 10), (["C2"], 10), (["E4"], 10)]
# The gate's evidence for an allowed call, as compliance.services writes it (about 1.1 kB).
EVIDENCE = (
    '{"mode": "%s", "zones": [{"from": ["phone number", "property ZIP", "mailing ZIP"], "zone": "America/Chicago", '
    '"local_time": "%s"}], "policy": {"id": 1, "adopted_on": "2020-01-02", "acknowledged": true}, '
    '"states": {"%s": "area code %s"}, "freshness": {"source": "National DNC Registry", "version": "%s", '
    '"age_days": 5, "area_code": "%s", "limit_days": 31}, "checked_at": "%s", "disclosure": {"capacity": '
    '"seller_agent", "sentence": "Hi, this is %s, a licensed real estate agent with Bench Realty. I help homeowners '
    "sell, including through short sales, and I'm reaching out about your home. Your lender decides on any short "
    'sale; I can\'t promise its outcome.", "confirmed": true, "license_status": "active", '
    '"written_interest_disclosure": false}, "registries": [{"san": "SAN-BENCH-1", "kind": "national", "listed": '
    'false, "source": "National DNC Registry", "data_as_of": "%s"}], "contact_point": "%s", "attempts_counted": '
    '{"%s": {"cap": 3, "count": %d, "hours": 24, "channels": ["call"]}}, "attempts_12_months": %d, '
    '"internal_dnc_entries": []}'
)
WARN_RULES = '["E2"]'  # the rule that warned (checks that warn still pass)
FINDING = '[{"rule": "%s", "severity": "block", "reason": "Blocked by rule %s."}]'


@dataclass
class Built:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


_days: dict[int, str] = {}
_clock = [f"{h:02d}:{m:02d}:{sec:02d}+00" for h in range(24) for m in range(60) for sec in range(60)]


def day_of(second: int) -> str:
    """The UTC date of seconds since 1970, as YYYY-MM-DD."""
    day = second // DAY
    text = _days.get(day)
    if text is None:
        text = _days[day] = date.fromordinal(EPOCH + day).isoformat()
    return text


def ts(second: int) -> str:
    """A UTC timestamp in COPY's text form, from seconds since 1970 (cheaper than isoformat)."""
    return f"{day_of(second)} {_clock[second % DAY]}"


def _text(value) -> str:
    return str(CopyWriter._format(value))


class Copier:
    """Writes COPY data in order on the transaction's own connection, from a thread of its
    own, so that Python builds the next rows while PostgreSQL takes the last (two cores;
    psycopg2 lets go of the GIL while it sends)."""

    def __init__(self):
        connection.ensure_connection()
        self.raw = connection.connection
        self.queue: queue.Queue = queue.Queue(maxsize=3)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="bench-copy", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                writer, data = item
                if self.error is None:
                    started = time.perf_counter()
                    with self.raw.cursor() as cursor:
                        cursor.copy_expert(writer.sql, io.StringIO(data), size=1 << 20)
                    writer.seconds += time.perf_counter() - started
            except BaseException as exc:  # handed to the main thread at the next put or drain
                self.error = exc
            finally:
                self.queue.task_done()

    def put(self, writer: Copy, data: str) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put((writer, data))

    def drain(self) -> None:
        self.queue.join()
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()


class Copy:
    """COPY (text format) into one model's table: each row gives ``columns`` already
    formatted and tab-separated; every other column takes the model's default, once."""

    def __init__(self, model: type[models.Model], columns: list[str], copier: Copier):
        fields = {f.attname: f for f in model._meta.concrete_fields}
        rest = [f for name, f in fields.items() if name not in columns]
        now = datetime.now(UTC)
        tail = [_text(now if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False) else f.get_default())
                for f in rest]
        self.model = model
        self.copier = copier
        self.table = model._meta.db_table
        self.sql = (f"COPY {self.table} ({', '.join([fields[c].column for c in columns] + [f.column for f in rest])})"
                    " FROM STDIN")
        self.tail = ("\t" + "\t".join(tail) if tail else "") + "\n"
        self.lines: list[str] = []
        self.count = 0
        self.next_id = (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1
        self.seconds = 0.0  # in COPY, on the copier's thread

    def take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def add(self, line: str) -> None:
        self.lines.append(line)
        self.count += 1
        if len(self.lines) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.lines:
            self.copier.put(self, self.tail.join(self.lines) + self.tail)
            self.lines = []

    def finish(self) -> None:
        self.flush()
        self.copier.drain()
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [self.table, max(self.next_id - 1, 1)])


def calling(second: int) -> int:
    """The same moment of the day squeezed into calling hours, 13:00 to 02:00 UTC (8 a.m. to
    9 p.m. Central): outreach happens in the daytime of the homeowners' zones."""
    start = second - second % DAY
    return start + 13 * 3600 + (second - start) * 13 // 24


def _days_after(rng: random.Random, spec: tuple[int, int]) -> int:
    """Seconds to wait: a floor plus an exponential tail, in days (spec = floor, mean of the tail)."""
    floor, mean = spec
    return int((floor + rng.expovariate(1 / mean)) * DAY) + rng.randrange(8 * 3600)


@transaction.atomic
def generate_reports_brokerage(lead_count: int, *, seed: int = 8, attempts: int | None = None) -> Built:
    if connection.vendor != "postgresql":
        raise RuntimeError("The benchmarks need PostgreSQL (set BENCH_DATABASE_URL).")
    attempts = lead_count * ATTEMPTS_PER_LEAD if attempts is None else attempts
    rng = random.Random(seed)
    built = Built()
    started = time.perf_counter()
    now = int(time.time())
    agents = _people(lead_count, rng)
    broker, created = User.objects.get_or_create(username="bench.broker", defaults={"license_number": "X",
                                                                                   "license_state": "OK"})
    if created:
        user_set_role(user=broker, role=Role.BROKER)
    lists = [(LeadList.objects.get_or_create(name=name, defaults={"source": source})[0].pk, source, weight)
             for name, source, weight in LISTS]
    list_weights = [weight for *_, weight in lists] + [weight for _, weight in NO_LIST]
    list_choices = [(pk, source) for pk, source, _ in lists] + [(None, source) for source, _ in NO_LIST]
    lead_types, lead_type_weights = zip(*LEAD_TYPES, strict=True)
    tables = [m._meta.db_table for m in (Property, Lead, Contact, Phone, Lien, ListMembership, StageChange,
                                         LenderFile, LenderMilestone)]
    with connection.cursor() as cursor:
        # No foreign-key or trigger firing row by row (verify() checks them all at the end).
        cursor.execute("SET LOCAL session_replication_role = replica")
    copier = Copier()

    properties = Copy(Property, ["id", "street", "city", "state", "zip_code", "county", "apn", "address_key",
                                 "bedrooms", "building_sqft", "year_built", "estimated_value", "created_at",
                                 "updated_at"], copier)
    leads = Copy(Lead, ["id", "property_id", "lead_type", "source", "source_list_id", "assigned_agent_id", "team_id",
                        "stage", "stage_entered_at", "dead_reason", "score", "score_reasons", "lien_total",
                        "last_contacted_at", "closing_date", "created_at", "updated_at"], copier)
    contacts = Copy(Contact, ["id", "lead_id", "position", "first_name", "last_name", "mailing_street", "mailing_city",
                              "mailing_state", "mailing_zip", "created_at"], copier)
    phones = Copy(Phone, ["id", "contact_id", "number", "phone_type", "source", "position", "on_dnc_list",
                          "dnc_flagged_at", "created_at"], copier)
    liens = Copy(Lien, ["id", "lead_id", "position", "lien_type", "lender", "balance", "created_at", "updated_at"], copier)
    memberships = Copy(ListMembership, ["id", "lead_id", "lead_list_id", "added_at"], copier)
    changes = Copy(StageChange, ["id", "lead_id", "from_stage", "to_stage", "dead_reason", "changed_by_id",
                                 "changed_at"], copier)
    files = Copy(LenderFile, ["id", "lien_id", "lead_id", "servicer", "portal", "created_at", "updated_at"], copier)
    milestones = Copy(LenderMilestone, ["id", "lender_file_id", "kind", "occurred_on", "recorded_by_id",
                                        "recorded_at"], copier)
    writers = [properties, leads, contacts, phones, liens, memberships, changes, files, milestones]

    # What the outreach log needs of each lead, by its index (ids are contiguous).
    first_lead = leads.next_id
    agent_of = array("i", [0]) * lead_count
    contact_of = array("i", [0]) * lead_count
    first_phone = array("i", [0]) * lead_count
    reached_at = array("q", [0]) * lead_count  # when it moved to Contact; 0: never
    numbers: list[tuple[str, ...]] = [()] * lead_count
    keys: list[int] = []
    agent_names = {agent.pk: f"{agent.first_name or 'Bench'} {agent.last_name or agent.username}" for agent in agents}

    for n in range(lead_count):
        agent = agents[n % len(agents)] if n % 7 else rng.choice(agents)
        state = rng.choice(list(STATES))
        city = rng.choice(CITIES)
        zip_code = f"{10000 + n % 89999:05d}"
        street = f"{n + 1} {rng.choice(STREETS)}"
        created = now - rng.randrange(HISTORY_DAYS * DAY)
        created_text = ts(created)
        value = rng.randrange(90_000, 900_000, 1000)
        prop_id = properties.take_id()
        properties.add(
            f"{prop_id}\t{street}\t{city}\t{state}\t{zip_code}\t{city} County\t{prop_id:010d}\t"
            f"{address_key(street=street, city=city, state=state, zip_code=zip_code)}\t{rng.randint(1, 6)}\t"
            f"{rng.randint(700, 4200)}\t{rng.randint(1940, 2020)}\t{value}\t{created_text}\t{created_text}")

        # The lead's clock: how far it gets, and when each move happened (none after now).
        lead_id = first_lead + n
        stage, at, dead_reason, path = "list", created, "", []
        while stage in CLOCK:
            following, go_on, go_days, die, die_days, reasons = CLOCK[stage]
            draw = rng.random()
            if draw < go_on:
                target, moved_at = following, at + _days_after(rng, go_days)
            elif draw < go_on + (1 - go_on) * die:
                target, moved_at = "dead", at + _days_after(rng, die_days)
            else:
                break
            if moved_at >= now:
                break
            path.append((stage, target, moved_at))
            if target == "dead":
                dead_reason = rng.choice(reasons)
            stage, at = target, moved_at
        stage_times = {target: moved_at for _, target, moved_at in path}
        for source, target, moved_at in path:
            changes.add(f"{changes.take_id()}\t{lead_id}\t{source}\t{target}\t"
                        f"{dead_reason if target == 'dead' else ''}\t{agent.pk}\t{ts(moved_at)}")

        first_balance = int(value * rng.uniform(0.6, 1.3))
        second = rng.randrange(15_000, 90_000, 500) if rng.random() < 0.3 else 0
        list_pk, source = rng.choices(list_choices, weights=list_weights, k=1)[0]
        contacted = stage_times.get("contact")
        leads.add(
            f"{lead_id}\t{prop_id}\t{rng.choices(lead_types, weights=lead_type_weights, k=1)[0]}\t{source}\t"
            f"{list_pk if list_pk else chr(92) + 'N'}\t{agent.pk}\t{agent.bench_team_id}\t{stage}\t{ts(at)}\t"
            f"{dead_reason}\t{rng.randint(5, 95)}\t{json.dumps(rng.sample(REASONS, 2))}\t"
            f"{first_balance + second}\t{ts(contacted) if contacted else chr(92) + 'N'}\t"
            f"{day_of(stage_times['closed']) if stage == 'closed' else chr(92) + 'N'}\t{created_text}\t{ts(at)}")
        if list_pk:
            memberships.add(f"{memberships.take_id()}\t{lead_id}\t{list_pk}\t{created_text}")
            extra = 1 if rng.random() < 0.25 else 0
            extra += 1 if extra and rng.random() < 0.2 else 0
            for other in rng.sample([pk for pk, *_ in lists if pk != list_pk], extra):
                memberships.add(f"{memberships.take_id()}\t{lead_id}\t{other}\t{created_text}")

        first_name, last_name = rng.choice(FIRST), rng.choice(LAST)
        contact_id = contacts.take_id()
        contacts.add(f"{contact_id}\t{lead_id}\t1\t{first_name}\t{last_name}\t{street}\t{city}\t{state}\t{zip_code}\t"
                     f"{created_text}")
        if rng.random() < 0.3:
            contacts.add(f"{contacts.take_id()}\t{lead_id}\t2\t{rng.choice(FIRST)}\t{last_name}\t{street}\t{city}\t"
                         f"{state}\t{zip_code}\t{created_text}")
        line = rng.randrange(2_000_000, 9_999_000)
        lead_numbers = []
        phone_ids = []
        for position in range(1, 1 + rng.choice((1, 1, 2, 3))):
            number = f"+1{rng.choice(STATES[state])}{line + position * 97}"
            listed = rng.random() < 0.1
            phone_id = phones.take_id()
            phones.add(f"{phone_id}\t{contact_id}\t{number}\tmobile\tskip_trace\t{position}\t{'t' if listed else 'f'}\t"
                       f"{created_text if listed else chr(92) + 'N'}\t{created_text}")
            lead_numbers.append(number)
            phone_ids.append(phone_id)

        lien_ids = [liens.take_id()]
        lender = rng.choice(LENDERS)
        liens.add(f"{lien_ids[0]}\t{lead_id}\t1\tmortgage\t{lender}\t{first_balance}\t{created_text}\t{created_text}")
        if second:
            lien_ids.append(liens.take_id())
            liens.add(f"{lien_ids[1]}\t{lead_id}\t2\theloc\t{rng.choice(LENDERS)}\t{second}\t{created_text}\t"
                      f"{created_text}")

        negotiating = stage_times.get("negotiate")
        if negotiating:
            closing = stage_times.get("close")
            for lien_id in lien_ids:
                file_id = files.take_id()
                servicer = "" if rng.random() < 0.1 else rng.choice(SERVICERS)
                files.add(f"{file_id}\t{lien_id}\t{lead_id}\t{servicer}\tequator\t{ts(negotiating)}\t{ts(negotiating)}")
                day = negotiating + rng.randrange(DAY)
                steps = [("auth_sent", 0), ("auth_received", rng.randint(2, 10)), ("package_submitted",
                         rng.randint(3, 20)), ("acknowledged", rng.randint(2, 10)),
                         ("negotiator_assigned", rng.randint(5, 30)), ("valuation_ordered", rng.randint(3, 15)),
                         ("valuation_completed", rng.randint(7, 21))]
                for kind, wait in steps:
                    day += wait * DAY
                    if day >= now:
                        break
                    milestones.add(f"{milestones.take_id()}\t{file_id}\t{kind}\t{day_of(day)}\t{agent.pk}\t{ts(day)}")
                else:
                    ended = closing or (at if stage == "dead" else None)
                    if ended and (closing or rng.random() < 0.5):
                        decided = max(ended - rng.randrange(10 * DAY), day + DAY)
                        if decided < now:
                            milestones.add(f"{milestones.take_id()}\t{file_id}\t{'approved' if closing else 'denied'}\t"
                                           f"{day_of(decided)}\t{agent.pk}\t{ts(decided)}")

        # The outreach: a few attempts while on the list, many more once reached.
        agent_of[n], contact_of[n], first_phone[n], numbers[n] = agent.pk, contact_id, phone_ids[0], tuple(lead_numbers)
        ended = at if stage in ("dead", "closed") else now
        if contacted:
            reached_at[n] = contacted
            keys.append((contacted - 120) << LEAD_BITS | n)  # the conversation that moved it
            before, after = rng.randint(1, 5), rng.randint(3, 14)
            span = max(contacted - 120 - created, 1)
            keys.extend(calling(created + rng.randrange(span)) << LEAD_BITS | n for _ in range(before))
            span = max(ended - contacted, 1)
            keys.extend(calling(contacted + rng.randrange(span)) << LEAD_BITS | n for _ in range(after))
        else:
            span = max(ended - created, 1)
            keys.extend(calling(created + rng.randrange(span)) << LEAD_BITS | n for _ in range(rng.randint(0, 6)))

    for writer in writers:
        writer.finish()
    for writer in writers:
        built.rows[writer.table] = writer.count
    built.seconds["leads and what hangs off them"] = time.perf_counter() - started
    built.seconds["of which COPY"] = sum(writer.seconds for writer in writers)

    # Exactly ``attempts``, none in the future: top up with list-stage attempts, or leave
    # random ones out.
    keys = [key for key in keys if key >> LEAD_BITS < now]
    while len(keys) < attempts:
        second = calling(rng.randrange(now - HISTORY_DAYS * DAY, now))
        if second < now:
            keys.append(second << LEAD_BITS | rng.randrange(lead_count))
    if len(keys) > attempts:
        rng.shuffle(keys)
        del keys[attempts:]
    keys.sort()
    started = time.perf_counter()
    counts, copying = _write_outreach(keys, copier=copier, rng=rng, first_lead=first_lead, agent_of=agent_of, contact_of=contact_of,
                             first_phone=first_phone, numbers=numbers, reached_at=reached_at, agent_names=agent_names)
    built.rows.update(counts)
    built.seconds["outreach log and checks"] = time.perf_counter() - started
    built.seconds.update(copying)
    copier.close()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        # The triggers that keep the reports' rollups did not fire either (the
        # function is there from pipeline's migration 0014 on).
        cursor.execute("SELECT to_regproc('pipeline_report_rollups_rebuild') IS NOT NULL")
        rollups = cursor.fetchone()[0]
        if rollups:
            cursor.execute("SELECT pipeline_report_rollups_rebuild()")
    built.seconds["report rollups"] = time.perf_counter() - started
    started = time.perf_counter()
    verify([*tables, ComplianceCheck._meta.db_table, OutreachAttempt._meta.db_table], rollups=rollups)
    built.seconds["checked"] = time.perf_counter() - started
    return built


def _secondary_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes that back no constraint."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = "
            "x.indexrelid)", [table])
        return list(cursor.fetchall())


def _write_outreach(keys, *, copier, rng, first_lead, agent_of, contact_of, first_phone, numbers, reached_at,
                    agent_names) -> dict[str, int]:
    checks = Copy(ComplianceCheck, ["id", "checked_at", "actor_id", "lead_id", "channel", "purpose", "contact_point",
                                    "mode", "verdict", "rule_ids", "findings", "evidence"], copier)
    log = Copy(OutreachAttempt, ["id", "lead_id", "contact_id", "phone_id", "contact_point", "channel", "purpose",
                                 "outcome", "role_disclosed", "agent_id", "occurred_at", "logged_at",
                                 "compliance_check_id", "corrects_id"], copier)
    tables = [checks.table, log.table]
    dropped = [index for table in tables for index in _secondary_indexes(table)]
    with connection.cursor() as cursor:
        for name, _ in dropped:
            cursor.execute(f'DROP INDEX "{name}"')
    mask = (1 << LEAD_BITS) - 1
    last_attempt = array("i", [0]) * len(agent_of)
    rules, rule_weights = zip(*BLOCK_RULES, strict=True)
    null = "\\N"
    for key in keys:
        second, n = key >> LEAD_BITS, key & mask
        lead_id, agent_id = first_lead + n, agent_of[n]
        contacted = reached_at[n]
        reached = contacted and second >= contacted - 120
        draw = rng.random()
        phone_id = null
        if draw < 0.72:
            channel = "call"
            which = rng.randrange(len(numbers[n]))
            point, phone_id = numbers[n][which], first_phone[n] + which
            if second == contacted - 120:
                outcome = "talked"
            elif reached:
                outcome = rng.choices(("talked", "no_answer", "left_voicemail", "appointment_set"), (45, 25, 20, 10))[0]
            else:
                outcome = rng.choices(("no_answer", "left_voicemail", "wrong_number", "bad_number", "dnc_request",
                                       "do_not_contact"), (55, 35, 4, 3, 2, 1))[0]
        elif draw < 0.84:
            channel, point, phone_id = "sms", numbers[n][0], first_phone[n]
            outcome = rng.choice(("talked", "replied", "appointment_set")) if reached else rng.choice(("sent", "sent",
                                                                                                         "replied"))
        elif draw < 0.94:
            channel, point, outcome = "mail", f"{lead_id} mailing address", "sent"
        elif draw < 0.97:
            channel, point = "email", f"owner{lead_id}@example.com"
            outcome = rng.choice(("replied", "talked")) if reached else "sent"
        else:
            channel, point = "door", f"{lead_id} property address"
            outcome = rng.choice(("talked", "appointment_set")) if reached else rng.choice(("no_answer", "talked"))
        purpose = "follow_up" if reached else "short_sale_listing"
        area = numbers[n][0][2:5]
        state = "OK"
        checked = second - 5
        counted = rng.randrange(3)
        if rng.random() < 0.06:
            blocked = rng.choices(rules, rule_weights)[0]
            checks.add(f"{checks.take_id()}\t{ts(checked - 25)}\t{agent_id}\t{lead_id}\t{channel}\t{purpose}\t{point}\t"
                       f"preview\tblock\t{json.dumps(blocked)}\t{FINDING % (blocked[0], blocked[0])}\t{{}}")
        verdict = "warn" if rng.random() < 0.03 else "allow"
        check_id = checks.take_id()
        checked_text = ts(checked)
        checks.add(
            f"{check_id}\t{checked_text}\t{agent_id}\t{lead_id}\t{channel}\t{purpose}\t{point}\tlog\t{verdict}\t"
            f"{WARN_RULES if verdict == 'warn' else '[]'}\t[]\t"
            + EVIDENCE % ("log", checked_text, state, area, day_of(second - 5 * DAY), area, checked_text,
                          agent_names[agent_id], day_of(second), point, state, counted, counted + 3))
        attempt_id = log.take_id()
        corrects = last_attempt[n] if last_attempt[n] and rng.random() < 0.002 else null
        occurred = ts(second)
        log.add(f"{attempt_id}\t{lead_id}\t{contact_of[n]}\t{phone_id}\t{point}\t{channel}\t{purpose}\t{outcome}\tt\t"
                f"{agent_id}\t{occurred}\t{occurred}\t{check_id}\t{corrects}")
        last_attempt[n] = attempt_id
    checks.finish()
    log.finish()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        for _, statement in dropped:
            cursor.execute(statement)
    indexed = time.perf_counter() - started
    return {checks.table: checks.count, log.table: log.count}, {
        "of which COPY ": checks.seconds + log.seconds, f"{len(dropped)} indexes built": indexed}


def verify(tables: list[str], *, rollups: bool = True) -> None:
    """What the foreign keys and the outreach gate's trigger would have refused, in bulk:
    every reference of the written tables resolves, and every attempt rides on a check of
    its own lead, made to log it, that did not block."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, fa.attname "
            "FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1] "
            "WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND c.conrelid::regclass::text = ANY(%s)", [tables])
        references = cursor.fetchall()
        checks = {f"{table}.{column} -> {target}": (
            f"SELECT count(*) FROM {table} t WHERE t.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {target} f WHERE f.{target_column} = t.{column})")
            for table, column, target, target_column in references}
        checks["attempts whose check is missing, blocked, a preview or another lead's"] = (
            "SELECT count(*) FROM pipeline_outreachattempt a LEFT JOIN compliance_compliancecheck c "
            "ON c.id = a.compliance_check_id WHERE c.id IS NULL OR c.verdict = 'block' OR c.mode <> 'log' "
            "OR c.lead_id <> a.lead_id")
        if rollups:
            checks.update(_rollup_checks())
        for what, sql in checks.items():
            cursor.execute(sql)
            bad = cursor.fetchone()[0]
            if bad:
                raise RuntimeError(f"The generated brokerage is wrong: {bad:,} rows of {what}.")


def _rollup_checks() -> dict[str, str]:
    return {
        "attempts the rollup does not count": (
            "SELECT abs((SELECT count(*) FROM pipeline_outreachattempt) "
            "- (SELECT coalesce(sum(attempts), 0) FROM pipeline_outreachcount))"),
        # Decisions on real attempts only: the outreach form's previews are not counted.
        "compliance checks the rollup does not count": (
            "SELECT abs((SELECT count(*) FROM compliance_compliancecheck WHERE mode = 'log') "
            "- (SELECT coalesce(sum(checks), 0) FROM pipeline_checkcount))"),
    }


def dataset_period_end(zone) -> date | None:
    """The last day the log holds, in ``zone`` (the broker's: the bench's periods end there,
    so a kept database ages well; its UTC date is a day later for calls made after 6 p.m. in
    Chicago)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(occurred_at) FROM pipeline_outreachattempt")
        last = cursor.fetchone()[0]
    return last.astimezone(zone).date() if last else None

