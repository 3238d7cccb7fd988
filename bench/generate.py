"""Synthetic brokerages at scale (100k, 1M leads) for the benchmarks, written with COPY.

A realistic spread: stages weighted like a real book (most leads on the list, few at
closing), 1-2 owners, 1-3 phones, 1-2 liens with some HELOCs and underwater houses,
hardships from qualify on, stage history and follow-ups. One agent per 10,000 leads,
ten agents per team. Rows are built from the models' own field lists, so a new column
with a default needs no change here.

The brokerage is a working one (``brokerage_make_working``): written Do Not Call
procedures every user has acknowledged (A4), a national registry subscription on record
(A1) with data a few days old for every area code its phones use (A3), about 12 % of the
numbers listed and their phones flagged, and a Texas registration (E4), so the call queue
measures the gate letting calls through, not refusing all of them.
"""

from __future__ import annotations

import csv
import io
import json
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection, models, transaction
from django.utils import timezone

from leadcrm.accounts.models import Team, TeamMembership, User
from leadcrm.accounts.roles import Role
from leadcrm.accounts.services import user_set_role
from leads.addresses import address_key
from leads.models import (
    Contact,
    HardshipRecord,
    Lead,
    LeadList,
    LeadSource,
    Lien,
    ListMembership,
    Phone,
    Property,
)
from pipeline.models import FollowUp, StageChange

CHUNK = 20_000
LEADS_PER_AGENT = 10_000
AGENTS_PER_TEAM = 10

STATES = {
    "OK": ["918", "405", "539", "580"], "KS": ["913", "316", "785", "620"],
    "FL": ["850", "305", "407", "813", "904", "561", "239", "727"],
    "AZ": ["602", "480", "520", "623"], "TX": ["214", "469", "512", "713", "817", "210", "972"],
    "GA": ["404", "678", "770", "912"], "MD": ["410", "301", "443"], "CA": ["213", "916", "619", "909"],
}
CITIES = ["Springfield", "Riverside", "Fairview", "Franklin", "Greenville", "Madison", "Clinton", "Salem"]
STREETS = ["Pine Rd", "Maple Dr", "Elm St", "Oak Ln", "Cedar Ct", "Birch Way", "Willow Dr", "Main St",
           "Park Ave", "Lake Blvd", "Hill Ter", "Sunset Pkwy", "River Rd", "Meadow Ln", "Forest Dr"]
FIRST = ["Robert", "Maria", "James", "Linda", "Michael", "Patricia", "David", "Jennifer", "Carlos", "Aisha"]
LAST = ["Smith", "Garcia", "Johnson", "Kowalski", "Williams", "Brown", "Martinez", "Davis", "Lopez", "Nguyen"]
LENDERS = ["Mr. Cooper", "Rocket Mortgage", "Specialized Loan Servicing", "Wells Fargo", "PennyMac"]
STAGES = [("list", 55), ("contact", 15), ("qualify", 10), ("negotiate", 7), ("close", 3), ("closed", 4), ("dead", 6)]
FUNNEL = ["list", "contact", "qualify", "negotiate", "close", "closed"]
LEAD_TYPES = [("pre_foreclosure_nod", 30), ("lis_pendens", 18), ("auction_scheduled", 10), ("absentee", 20),
              ("probate", 6), ("tax_delinquent", 10), ("referral", 3), ("inbound", 3)]


@dataclass
class Generated:
    leads: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    lead_rows_csv: str = ""  # the leads table's COPY data, for the raw-COPY baseline

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


class CopyWriter:
    """Buffers rows of one model and COPYs them in chunks; columns from the model itself."""

    def __init__(self, model: type[models.Model], keep_csv: bool = False):
        self.model = model
        self.fields = model._meta.concrete_fields
        self.columns = [f.column for f in self.fields]
        self.defaults = {f.attname: f.get_default() for f in self.fields}
        # Django fills auto_now fields on save; a COPY must say them (they are NOT NULL).
        self.stamped = [f.attname for f in self.fields if getattr(f, "auto_now", False)
                        or getattr(f, "auto_now_add", False)]
        self.now = timezone.now()
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)
        self.count = 0
        self.keep_csv = keep_csv
        self.kept = io.StringIO() if keep_csv else None
        self.next_id = (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1

    def add(self, **values) -> int:
        row_id = values.setdefault("id", self.next_id)
        self.next_id = row_id + 1
        for name in self.stamped:
            values.setdefault(name, values.get("created_at") or self.now)
        self.writer.writerow([self._format(values.get(f.attname, self.defaults[f.attname])) for f in self.fields])
        self.count += 1
        if self.count % CHUNK == 0:
            self.flush()
        return row_id

    @staticmethod
    def _format(value):
        if value is None:
            return r"\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, (list, dict)):
            return json.dumps(value)
        if isinstance(value, (datetime, date)):
            return value.isoformat()
        return value

    def flush(self) -> None:
        data = self.buffer.getvalue()
        if not data:
            return
        if self.kept is not None:
            self.kept.write(data)
        with connection.cursor() as cursor:
            cursor.copy_expert(
                f"COPY {self.model._meta.db_table} ({', '.join(self.columns)}) "
                "FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                io.StringIO(data),
            )
        self.buffer.seek(0)
        self.buffer.truncate()

    def finish(self) -> None:
        self.flush()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                [self.model._meta.db_table, max(self.next_id - 1, 1)],
            )


def _people(lead_count: int, rng: random.Random) -> list[User]:
    agents_needed = max(6, lead_count // LEADS_PER_AGENT)
    agents = []
    for index in range(agents_needed):
        team_index = index // AGENTS_PER_TEAM
        team = Team.objects.filter(name=f"Bench team {team_index}").first()
        if team is None:
            lead_user = User.objects.create(username=f"bench.lead{team_index}", license_number="X", license_state="OK")
            user_set_role(user=lead_user, role=Role.TEAM_LEAD)
            team = Team.objects.create(name=f"Bench team {team_index}", lead=lead_user)
        agent, created = User.objects.get_or_create(
            username=f"bench.agent{index}", defaults={"license_number": "X", "license_state": "OK"}
        )
        if created:
            user_set_role(user=agent, role=Role.AGENT)
            TeamMembership.objects.create(team=team, user=agent)
        agent.bench_team_id = team.pk
        agents.append(agent)
    return agents


def _pick(rng: random.Random, weighted):
    values, weights = zip(*weighted)
    return rng.choices(values, weights=weights, k=1)[0]


@transaction.atomic
def generate_brokerage(lead_count: int, *, seed: int = 7, keep_lead_csv: bool = False) -> Generated:
    """Write ``lead_count`` leads with everything that hangs off them; returns counts and time."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The benchmarks need PostgreSQL (set BENCH_DATABASE_URL).")
    rng = random.Random(seed)
    started = time.perf_counter()
    agents = _people(lead_count, rng)
    lists = [LeadList.objects.get_or_create(name=name, defaults={"source": LeadSource.PROPSTREAM})[0]
             for name in ("Bench NOD", "Bench lis pendens", "Bench absentee")]
    now = datetime.now(UTC)

    properties = CopyWriter(Property)
    leads = CopyWriter(Lead, keep_csv=keep_lead_csv)
    contacts, phones, liens = CopyWriter(Contact), CopyWriter(Phone), CopyWriter(Lien)
    hardships, memberships = CopyWriter(HardshipRecord), CopyWriter(ListMembership)
    changes, follow_ups = CopyWriter(StageChange), CopyWriter(FollowUp)
    writers = [properties, leads, contacts, phones, liens, hardships, memberships, changes, follow_ups]

    base_id = properties.next_id
    for n in range(lead_count):
        state = rng.choice(list(STATES))
        city = rng.choice(CITIES)
        zip_code = f"{10000 + (base_id + n) % 89999:05d}"
        # The sequence number makes every street unique, so dedupe keys never collide.
        street = f"{base_id + n} {rng.choice(STREETS)}"
        value = Decimal(rng.randrange(90_000, 900_000, 1000))
        created = now - timedelta(days=rng.randint(1, 400))
        prop_id = properties.add(
            street=street, city=city, state=state, zip_code=zip_code, county=f"{city} County",
            apn=f"{base_id + n:010d}", address_key=address_key(street=street, city=city, state=state, zip_code=zip_code),
            property_type="single_family", bedrooms=rng.randint(1, 6), bathrooms=Decimal(rng.choice(["1", "2", "2.5", "3"])),
            building_sqft=rng.randint(700, 4200), year_built=rng.randint(1940, 2020), estimated_value=value,
            estimated_value_date=(now - timedelta(days=30)).date(), owner_occupied=rng.random() < 0.7,
            vacant=rng.random() < 0.1, created_at=created, updated_at=created,
        )
        stage = _pick(rng, STAGES)
        agent = rng.choice(agents)
        first_balance = (value * Decimal(str(round(rng.uniform(0.6, 1.3), 3)))).quantize(Decimal("1"))
        second = Decimal(rng.randrange(15_000, 90_000, 500)) if rng.random() < 0.3 else None
        lien_total = first_balance + (second or 0)
        path = FUNNEL[: FUNNEL.index(stage) + 1] if stage != "dead" else FUNNEL[: rng.randint(1, 4)] + ["dead"]
        stage_at = created + timedelta(days=len(path) * 7)
        follow_up_at = now + timedelta(hours=rng.randint(-72, 240)) if stage not in ("closed", "dead") else None
        lead_id = leads.add(
            property_id=prop_id, lead_type=_pick(rng, LEAD_TYPES), source="propstream",
            source_list_id=lists[n % 3].pk, assigned_agent_id=agent.pk, team_id=agent.bench_team_id,
            stage=stage, stage_entered_at=min(stage_at, now), dead_reason="not_interested" if stage == "dead" else "",
            score=rng.randint(5, 95), score_reasons=["+20 Notice of default recorded"], lien_total=lien_total,
            next_follow_up_at=follow_up_at,
            last_contacted_at=stage_at if stage != "list" else None, created_at=created, updated_at=created,
        )
        for position in range(1, 2 + (rng.random() < 0.3)):
            contact_id = contacts.add(
                lead_id=lead_id, position=position, first_name=rng.choice(FIRST), last_name=rng.choice(LAST),
                mailing_street=street, mailing_city=city, mailing_state=state, mailing_zip=zip_code, created_at=created,
            )
            if position == 1:
                # Drawn without replacement: one owner never has the same number twice.
                lines = rng.sample(range(10_000), rng.choice([1, 1, 2, 3]))
                for phone_position, line in enumerate(lines, start=1):
                    area = rng.choice(STATES[state])
                    phones.add(contact_id=contact_id, number=f"+1{area}555{line:04d}",
                               phone_type="mobile", source="skip_trace", status="good",
                               position=phone_position, created_at=created)
        liens.add(lead_id=lead_id, position=1, lien_type="mortgage", lender=rng.choice(LENDERS),
                  loan_number_masked=f"****{rng.randint(0, 9999):04d}", balance=first_balance,
                  created_at=created, updated_at=created)
        if second is not None:
            liens.add(lead_id=lead_id, position=2, lien_type="heloc", lender=rng.choice(LENDERS),
                      balance=second, created_at=created, updated_at=created)
        memberships.add(lead_id=lead_id, lead_list_id=lists[n % 3].pk, added_at=created)
        if rng.random() < 0.2:
            memberships.add(lead_id=lead_id, lead_list_id=lists[(n + 1) % 3].pk, added_at=created)
        if "qualify" in path:
            hardships.add(lead_id=lead_id, category="job_loss", narrative="Laid off.", created_at=created)
        for step, (source, target) in enumerate(zip(path, path[1:]), start=1):
            changes.add(lead_id=lead_id, from_stage=source, to_stage=target,
                        dead_reason="not_interested" if target == "dead" else "",
                        changed_by_id=agent.pk, changed_at=min(created + timedelta(days=step * 7), now))
        if follow_up_at is not None:
            follow_ups.add(lead_id=lead_id, assignee_id=agent.pk, kind="call", title="Call back",
                           due_at=follow_up_at, created_by_id=agent.pk, created_at=created)

    for writer in writers:
        writer.finish()
    result = Generated(
        leads=lead_count,
        rows={w.model._meta.db_table: w.count for w in writers},
        seconds=time.perf_counter() - started,
        lead_rows_csv=leads.kept.getvalue() if keep_lead_csv else "",
    )
    brokerage_make_working()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return result


LISTED_PER_MILLE = 120  # numbers on the national registry: about 12 %
REGISTRY_AGE_DAYS = 3  # the data's age when loaded; reloaded once older than REGISTRY_RELOAD_DAYS
REGISTRY_RELOAD_DAYS = 14
POLICY_TEXT = (
    "Bench Realty's Do Not Call procedures. Every number is checked against the national, state and "
    "internal do-not-call lists before it is called; a homeowner's request to stop is recorded at once "
    "and honoured by every agent; calls are made between 8 a.m. and 9 p.m. in the homeowner's time zone "
    "and within each state's own hours; agents are trained on these procedures before they call."
)


def _listed(number: str) -> bool:
    """Whether the bench's registry lists ``number``: a fixed share, the same in every run."""
    return int(number[2:]) * 2654435761 % 1000 < LISTED_PER_MILLE


def brokerage_make_working(*, today: date | None = None) -> dict[str, int]:
    """Make the bench brokerage one whose agents may call (A1, A3, A4, E4); cheap when it is.

    Run at the end of the generation and again before the pages are measured, so an older
    bench database (``--keep``) is brought up to date and the registry data never goes stale.
    """
    from compliance.models import AreaCodeVersion, DncPolicy, PolicyAcknowledgement, RegistryKind
    from compliance.rulebook import forget
    from compliance.services import ACKNOWLEDGEMENT, dnc_numbers_add, dnc_source_for, registry_version_record
    from leadcrm.accounts.models import Brokerage

    today = today or datetime.now(UTC).date()
    brokerage = Brokerage.objects.current()
    if not brokerage.texas_registration_number:
        brokerage.texas_registration_number = "BENCH-TX-0001"
        brokerage.save(update_fields=["texas_registration_number"])
    policy = DncPolicy.objects.in_force(today)
    if policy is None:
        broker, created = User.objects.get_or_create(username="bench.broker",
                                                     defaults={"license_number": "X", "license_state": "OK"})
        if created:
            user_set_role(user=broker, role=Role.BROKER)
        policy = DncPolicy.objects.create(text=POLICY_TEXT, adopted_on=today - timedelta(days=90), adopted_by=broker)
    trained = datetime.now(UTC) - timedelta(days=30)
    missing = User.objects.exclude(pk__in=PolicyAcknowledgement.objects.filter(policy=policy).values("user_id"))
    PolicyAcknowledgement.objects.bulk_create([
        PolicyAcknowledgement(policy=policy, user=user, acknowledged_at=trained,
                              statement=ACKNOWLEDGEMENT.format(date=policy.adopted_on))
        for user in missing.only("pk")
    ])
    source = dnc_source_for(kind=RegistryKind.NATIONAL)
    if not source.subscription_account_number or not source.subscription_expires_on \
            or source.subscription_expires_on < today + timedelta(days=30):
        source.subscription_account_number = "SAN-BENCH-0001"
        source.subscription_expires_on = today + timedelta(days=365)
        source.save(update_fields=["subscription_account_number", "subscription_expires_on"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT substr(number, 3, 3) FROM leads_phone WHERE number LIKE '+1%%'")
        area_codes = sorted(code for (code,) in cursor.fetchall())
    fresh = set(AreaCodeVersion.objects.filter(
        source=source, version_date__gte=today - timedelta(days=REGISTRY_RELOAD_DAYS)
    ).values_list("area_code", flat=True))
    listed = 0
    if set(area_codes) - fresh:
        with connection.cursor() as cursor:
            cursor.execute("SELECT DISTINCT number FROM leads_phone WHERE number LIKE '+1%%'")
            numbers = [number for (number,) in cursor.fetchall() if _listed(number)]
        version = today - timedelta(days=REGISTRY_AGE_DAYS)
        # The numbers listed, as a full list's load leaves them, and the phones flagged.
        listed = dnc_numbers_add(source=source, numbers=[n[2:] for n in numbers], as_of=version)
        registry_version_record(source=source, area_codes=area_codes, version_date=version)
    forget()
    return {"acknowledged": len(missing), "listed": listed, "area_codes": len(area_codes)}


def raw_copy_baseline(csv_data: str, columns: list[str]) -> float:
    """Seconds to COPY the same lead rows into a bare table with no index or constraint."""
    column_sql = ", ".join(f"{name} text" for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS bench_raw_leads; CREATE UNLOGGED TABLE bench_raw_leads ({column_sql})")
        started = time.perf_counter()
        cursor.copy_expert(
            f"COPY bench_raw_leads ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')",
            io.StringIO(csv_data),
        )
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_raw_leads")
    return elapsed
