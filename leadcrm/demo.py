"""Demo data: a small brokerage with a realistic book of short-sale leads.

Deterministic (a fixed random seed), so running it twice gives the same rows: a lead
whose property already exists is skipped. Every phone number is in the fictional
555-0100..0199 range of its area code. Outreach goes through the real gate and stage
moves through the real service, so the demo shows what the product would record.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial

from django.urls import reverse
from django.utils import timezone

from compliance.models import (
    Channel,
    ComplianceCheck,
    DncSource,
    InterestDisclosure,
    InternalDncEntry,
    Purpose,
    RegistryKind,
)
from compliance.services import (
    dnc_numbers_add,
    dnc_policy_adopt,
    dnc_policy_current,
    dnc_policy_template,
    internal_dnc_add,
    policy_acknowledge,
    registry_version_record,
)
from leadcrm.accounts.models import Brokerage, Capacity, LicenseStatus, Team, User
from leadcrm.accounts.roles import Role
from leadcrm.accounts.services import team_create, team_member_set, user_create, user_set_role
from leads.addresses import address_key
from leads.models import (
    ContactSource,
    DeadReason,
    HardshipCategory,
    Lead,
    LeadList,
    LeadSource,
    LeadSourceKey,
    LeadType,
    LienType,
    Phone,
    PhoneStatus,
    PhoneType,
    Property,
    PropertyType,
    Stage,
)
from leads.services import (
    contact_create,
    email_add,
    hardship_record_create,
    lead_create,
    lead_list_add,
    lien_create,
    phone_add,
    property_create,
)
from pipeline.deals.services import lead_stage_change
from pipeline.models import Outcome
from pipeline.outreach.services import OutreachBlocked, outreach_log
from pipeline.reminders.services import follow_up_create

DEMO_PASSWORD = "shortsale-demo"
DEMO_SEED = 2026

BROKERAGE = {
    "name": "Sunbelt Short Sale Realty",
    "license_number": "BRK-0042719",
    "license_state": "OK",
    "office_street": "4100 S Harvard Ave, Suite 200",
    "office_city": "Tulsa",
    "office_state": "OK",
    "office_zip": "74135",
    "phone": "+19185550100",
    "email": "office@sunbelt-demo.example.com",
    # Texas homeowners may be called only under a Texas registration (E4).
    "texas_registration_number": "TX-TSR-DEMO-0042",
}

# username, first, last, role, team, time zone, capacity
PEOPLE = [
    ("broker", "Dana", "Whitfield", Role.BROKER, None, "America/Chicago", Capacity.SELLER_AGENT),
    ("lead.east", "Marcus", "Reed", Role.TEAM_LEAD, "Heartland", "America/Chicago", Capacity.SELLER_AGENT),
    ("lead.south", "Priya", "Shah", Role.TEAM_LEAD, "Gulf & Desert", "America/New_York", Capacity.SELLER_AGENT),
    ("agent.ana", "Ana", "Torres", Role.AGENT, "Heartland", "America/Chicago", Capacity.SELLER_AGENT),
    ("agent.ben", "Ben", "Okafor", Role.AGENT, "Heartland", "America/Chicago", Capacity.SELLER_AGENT),
    ("agent.carla", "Carla", "Nguyen", Role.AGENT, "Heartland", "America/New_York", Capacity.SELLER_AGENT),
    ("agent.dev", "Dev", "Patel", Role.AGENT, "Gulf & Desert", "America/Phoenix", Capacity.SELLER_AGENT),
    ("agent.elena", "Elena", "Brooks", Role.AGENT, "Gulf & Desert", "America/New_York", Capacity.SELLER_AGENT),
    ("agent.frank", "Frank", "Molina", Role.AGENT, "Gulf & Desert", "America/Chicago", Capacity.PRINCIPAL),
]

# state -> (area codes, [(city, county, zip)], time zone)
PLACES = {
    "OK": (["918", "405", "539"], [("Tulsa", "Tulsa", "74130"), ("Broken Arrow", "Tulsa", "74012"),
                                   ("Oklahoma City", "Oklahoma", "73112"), ("Norman", "Cleveland", "73069")]),
    "KS": (["913", "316", "785"], [("Overland Park", "Johnson", "66212"), ("Olathe", "Johnson", "66061"),
                                   ("Wichita", "Sedgwick", "67203"), ("Topeka", "Shawnee", "66604")]),
    "FL": (["850", "305", "407", "813"], [("Pensacola", "Escambia", "32507"), ("Orlando", "Orange", "32807"),
                                          ("Tampa", "Hillsborough", "33610"), ("Miami", "Miami-Dade", "33157")]),
    "AZ": (["602", "480", "520"], [("Phoenix", "Maricopa", "85033"), ("Mesa", "Maricopa", "85204"),
                                   ("Tucson", "Pima", "85710")]),
    "TX": (["214", "469", "512", "713"], [("Dallas", "Dallas", "75217"), ("Austin", "Travis", "78744"),
                                          ("Houston", "Harris", "77045")]),
    "GA": (["404", "678", "770"], [("Atlanta", "Fulton", "30315"), ("Marietta", "Cobb", "30060"),
                                   ("Decatur", "DeKalb", "30032")]),
    "MD": (["410", "301"], [("Baltimore", "Baltimore City", "21215"), ("Silver Spring", "Montgomery", "20906")]),
}
TEAM_STATES = {"Heartland": ["OK", "KS", "MD", "GA"], "Gulf & Desert": ["FL", "AZ", "TX"]}

FIRST_NAMES = [
    "Robert", "Maria", "James", "Linda", "Michael", "Patricia", "David", "Jennifer", "William",
    "Elizabeth", "Carlos", "Aisha", "Nguyễn", "Tyrone", "Megan", "Luis", "Sofia", "Darnell",
    "Heather", "Jamal", "Rosa", "Kevin", "Tamika", "Brian", "Yolanda", "Gregory", "Mei", "Andre",
]
LAST_NAMES = [
    "Smith", "Garcia", "Johnson", "Kowalski", "Williams", "Brown", "Martinez", "Davis", "Lopez",
    "Wilson", "Anderson", "Thomas", "Jackson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hernandez", "Moore", "Nguyen", "Baker",
]
STREETS = [
    "Pine Rd", "Maple Dr", "Troost Ave", "Elm St", "Oak Ln", "Cedar Ct", "Birch Way", "Willow Dr",
    "Sycamore St", "Magnolia Blvd", "Juniper Pl", "Hickory Rd", "Aspen Cir", "Cypress Ave",
    "Dogwood Ln", "Laurel St", "Spruce Ter", "Chestnut Dr", "Palmetto Way", "Mesquite Trl",
]
LENDERS = [
    "Mr. Cooper", "Rocket Mortgage", "Specialized Loan Servicing", "Wells Fargo Home Mortgage",
    "PennyMac Loan Services", "Freedom Mortgage", "Carrington Mortgage Services",
    "NewRez / Shellpoint", "Real Time Resolutions", "Bank of America",
]
HARDSHIP_STORIES = {
    HardshipCategory.JOB_LOSS: "Laid off from the plant in the spring; unemployment ran out.",
    HardshipCategory.MEDICAL: "Surgery and six weeks off work; the medical bills came first.",
    HardshipCategory.DIVORCE: "Divorce final this year; one income cannot carry the payment.",
    HardshipCategory.INCOME_REDUCTION: "Hours cut to part time; behind since the winter.",
    HardshipCategory.DEATH: "Spouse passed away; the survivor cannot keep up the payments.",
    HardshipCategory.RELOCATION: "Transferred out of state for work; the house has not sold.",
    HardshipCategory.BUSINESS_FAILURE: "Restaurant closed; personal savings went into it.",
}
STAGE_WEIGHTS = [
    (Stage.LIST, 40), (Stage.CONTACT, 20), (Stage.QUALIFY, 12), (Stage.NEGOTIATE, 10),
    (Stage.CLOSE, 5), (Stage.CLOSED, 5), (Stage.DEAD, 8),
]
FUNNEL_ORDER = [Stage.LIST, Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE, Stage.CLOSED]
LEAD_TYPE_WEIGHTS = [
    (LeadType.NOD, 30), (LeadType.LIS_PENDENS, 18), (LeadType.AUCTION, 12), (LeadType.ABSENTEE, 14),
    (LeadType.PROBATE, 6), (LeadType.TAX_DELINQUENT, 8), (LeadType.REFERRAL, 6), (LeadType.INBOUND, 6),
]


@dataclass
class SeedSummary:
    users: int = 0
    leads_created: int = 0
    leads_skipped: int = 0
    counts: dict = field(default_factory=dict)
    seller_form: str = ""  # the demo seller form's public path


def _pick(rng: random.Random, weighted):
    choices, weights = zip(*weighted, strict=False)
    return rng.choices(choices, weights=weights, k=1)[0]


def _seed_refused_calls(leads: list[Lead], numbers: set, now: datetime, how_many: int = 8) -> None:
    """A few calls the gate refused, as agents do dial a listed number now and then: the
    compliance page and the broker's reports then show real blocks under their rules. A
    refusal is kept as a check of its own; no attempt is written. Only on the leads this
    run created, so loading the demo again adds nothing."""
    phones = (Phone.objects.filter(number__in=numbers, contact__lead__in=leads,
                                   contact__lead__assigned_agent__isnull=False)
              .select_related("contact__lead__assigned_agent").order_by("pk")[:how_many])
    for index, phone in enumerate(phones):
        lead, agent = phone.contact.lead, phone.contact.lead.assigned_agent
        try:
            outreach_log(
                lead=lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.NO_ANSWER, actor=agent,
                role_disclosed=True,
                purpose=Purpose.OFFER_TO_BUY if agent.capacity == Capacity.PRINCIPAL else Purpose.LISTING,
                occurred_at=_lawful_past_time(random.Random(index), now, 1 + index * 3),
            )
        except OutreachBlocked:
            pass


# What the demo lists cost, for the broker's list and source report (cost per lead and closing).
LIST_COSTS = {"nod": Decimal("450"), "lis": Decimal("300"), "absentee": Decimal("600")}


def seed_lead_sources(broker: User, lists: dict) -> str:
    """The ways leads come in besides lists: a seller form on the brokerage's site, a lead
    vendor's key (its cost per lead), and what the lists cost. Once only; the form's path."""
    from leads.sources import source_key_create
    from pipeline.intake.services import default_consent_text, default_thank_you_text, seller_form_save
    from pipeline.models import SellerForm

    for name, cost in LIST_COSTS.items():
        LeadList.objects.filter(pk=lists[name].pk, cost__isnull=True).update(cost=cost)
    if not LeadSourceKey.objects.exists():
        source_key_create(name="Zapier: Facebook ads", source=LeadSource.INBOUND, created_by=broker,
                          cost_per_lead=Decimal("35"))
    form = SellerForm.objects.order_by("pk").first() or seller_form_save(
        actor=broker, name="Short-sale help on our website", consent_text=default_consent_text(),
        thank_you_text=default_thank_you_text(), allowed_origins="https://www.sunbeltrealty.example")
    return reverse("intake:public", args=[form.key])


def _lawful_past_time(rng: random.Random, now: datetime, days_ago: int) -> datetime:
    """A weekday afternoon in every continental US zone (18:00-22:00 UTC), ``days_ago`` back."""
    day = (now - timedelta(days=days_ago)).date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    moment = datetime(day.year, day.month, day.day, rng.randint(18, 21), rng.randint(0, 59),
                      tzinfo=UTC)
    return min(moment, now - timedelta(minutes=5))


def seed_people() -> dict[str, User]:
    brokerage = Brokerage.objects.current()
    for name, value in BROKERAGE.items():
        setattr(brokerage, name, value)
    brokerage.save()

    users: dict[str, User] = {}
    for index, (username, first, last, role, _team, tz, capacity) in enumerate(PEOPLE):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                role=role,
                password=DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                email=f"{username}@sunbelt-demo.example.com",
                phone=f"+1580555{101 + index:04d}",  # 580 is not a demo lead area code
                time_zone=tz,
                capacity=capacity,
                license_number=f"OK-{170000 + index * 37}",
                license_state="OK",
                license_status=LicenseStatus.ACTIVE,
            )
        else:
            user_set_role(user=user, role=role)
        users[username] = user

    teams: dict[str, Team] = {}
    for username, _first, _last, role, team_name, *_rest in PEOPLE:
        if role == Role.TEAM_LEAD:
            teams[team_name] = Team.objects.filter(name=team_name).first() or team_create(
                name=team_name, lead=users[username]
            )
    for username, _first, _last, role, team_name, *_rest in PEOPLE:
        if role == Role.AGENT:
            # Ana works part-time for the team lead too: she takes twice the leads.
            weight = 2 if username == "agent.ana" else 1
            team_member_set(team=teams[team_name], user=users[username], capacity_weight=weight)

    # Written procedures adopted before the first demo call, acknowledged by everyone (A4).
    policy = dnc_policy_current() or dnc_policy_adopt(
        text=dnc_policy_template(brokerage.name), adopted_by=users["broker"],
        adopted_on=timezone.localdate() - timedelta(days=240),
    )
    trained_at = timezone.make_aware(datetime.combine(policy.adopted_on, time(9)))
    for user in users.values():
        policy_acknowledge(user=user, policy=policy, at=trained_at)
    return users


def seed_registries(numbers: list[str], litigators: list[str], now: datetime) -> None:
    national, _ = DncSource.objects.get_or_create(
        name="National DNC Registry (demo extract)",
        defaults={"kind": RegistryKind.NATIONAL, "subscription_account_number": "DEMO-SAN-0001",
                  "subscription_expires_on": (now + timedelta(days=200)).date()},
    )
    dnc_numbers_add(source=national, numbers=numbers, as_of=(now - timedelta(days=9)).date())
    # The brokerage refreshes its national data every two weeks (A3): versions back to
    # before the oldest demo call, the newest nine days old.
    area_codes = [code for codes, _places in PLACES.values() for code in codes]
    for days_back in range(9, 220, 14):
        registry_version_record(source=national, area_codes=area_codes,
                                version_date=(now - timedelta(days=days_back)).date())
    litigator, _ = DncSource.objects.get_or_create(
        name="Known TCPA litigators (demo)", defaults={"kind": RegistryKind.LITIGATOR}
    )
    dnc_numbers_add(source=litigator, numbers=litigators, as_of=(now - timedelta(days=20)).date())


def seed_demo(*, lead_count: int = 500, seed: int = DEMO_SEED, now: datetime | None = None) -> SeedSummary:
    """Create (or complete) the demo brokerage; existing demo leads are left as they are.

    Not one transaction: outreach goes through ``outreach_log``, whose evidence is
    committed on its own (a durable transaction), exactly as in real use.
    """
    now = now or timezone.now()
    rng = random.Random(seed)
    summary = SeedSummary()
    users = seed_people()
    summary.users = len(users)
    seed_templates(users["broker"])
    agents_by_team = {
        team: [users[p[0]] for p in PEOPLE if p[3] == Role.AGENT and p[4] == team] for team in TEAM_STATES
    }
    lists = {
        "nod": LeadList.objects.get_or_create(
            name="PropStream NOD pull, Oct 2026", defaults={"source": LeadSource.PROPSTREAM})[0],
        "lis": LeadList.objects.get_or_create(
            name="County lis pendens filings, Q3 2026", defaults={"source": LeadSource.COUNTY})[0],
        "absentee": LeadList.objects.get_or_create(
            name="BatchLeads absentee + high LTV", defaults={"source": LeadSource.BATCHLEADS})[0],
    }

    # Deterministic pools of fictional numbers per state, drawn without repeats.
    pools = {}
    for state, (area_codes, _places) in PLACES.items():
        pool = [f"+1{ac}555{n:04d}" for ac in area_codes for n in range(100, 200)]
        rng.shuffle(pool)
        pools[state] = pool

    dnc_numbers, litigators, internal_requests, planned = [], [], [], []
    used_keys = set()
    for index in range(lead_count):
        team_name = _pick(rng, [("Heartland", 55), ("Gulf & Desert", 45)])
        state = rng.choice(TEAM_STATES[team_name])
        area_codes, places = PLACES[state]
        city, county, zip_code = rng.choice(places)
        while True:
            street = f"{rng.randint(100, 9899)} {rng.choice(STREETS)}"
            key = address_key(street=street, city=city, state=state, zip_code=zip_code)
            if key not in used_keys:
                used_keys.add(key)
                break
        owners = [(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))]
        if rng.random() < 0.35:
            owners.append((rng.choice(FIRST_NAMES), owners[0][1]))
        phones = [pools[state].pop() for _ in range(rng.choice([1, 1, 2, 2, 3])) if pools[state]]
        for number in phones:
            roll = rng.random()
            if roll < 0.10:
                dnc_numbers.append(number)
            elif roll < 0.115:
                litigators.append(number)
        value = Decimal(rng.randrange(140_000, 560_000, 1000))
        ltv = rng.uniform(0.72, 1.28)
        first_balance = (value * Decimal(str(round(ltv * (0.82 if rng.random() < 0.3 else 1.0), 3)))).quantize(Decimal("1"))
        second = None
        if rng.random() < 0.3:
            second = (
                rng.choice([LienType.HELOC, LienType.MORTGAGE]),
                Decimal(rng.randrange(18_000, 85_000, 500)),
            )
        planned.append({
            "index": index,
            "team": team_name,
            "agent": rng.choice(agents_by_team[team_name]),
            "street": street, "city": city, "county": county, "state": state, "zip": zip_code,
            "owners": owners, "phones": phones,
            "value": value, "first_balance": first_balance, "second": second,
            "lender": rng.choice(LENDERS), "second_lender": rng.choice(LENDERS),
            "lead_type": _pick(rng, LEAD_TYPE_WEIGHTS),
            "stage": _pick(rng, STAGE_WEIGHTS),
            "dead_from": rng.choice(FUNNEL_ORDER[:4]),
            # A duplicate is only ever marked by a merge, never by a stage move.
            "dead_reason": rng.choice([r for r in DeadReason if r not in (DeadReason.OTHER, DeadReason.DUPLICATE)]),
            "hardship": rng.choice(list(HARDSHIP_STORIES)),
            "age_days": rng.randint(5, 160),
            "type": _pick(rng, [(PropertyType.SINGLE_FAMILY, 80), (PropertyType.CONDO, 10), (PropertyType.TOWNHOUSE, 10)]),
            "beds": rng.randint(2, 5), "baths": Decimal(rng.choice(["1", "1.5", "2", "2.5", "3"])),
            "sqft": rng.randint(900, 3400), "year": rng.randint(1958, 2016),
            "occupied": rng.random() < 0.7, "vacant": rng.random() < 0.12,
            "list": "nod" if rng.random() < 0.5 else "lis",
            "stacked": rng.random() < 0.2,
            "follow_up_days": rng.choice([-3, -1, 0, 0, 1, 2, 4, 6, 9]),
            "follow_up_hour": rng.randint(14, 22),
            "email": rng.random() < 0.6,
            "mailing_elsewhere": rng.random() < 0.2,
            "dnc_request": rng.random() < 0.03,
        })

    seed_registries(dnc_numbers, litigators, now)
    blocked = set(dnc_numbers) | set(litigators)

    created = []
    for plan in planned:
        key = address_key(street=plan["street"], city=plan["city"], state=plan["state"], zip_code=plan["zip"])
        if Property.objects.filter(address_key=key).exists():
            summary.leads_skipped += 1
            continue
        created.append(_seed_lead(plan, lists, now, blocked, internal_requests))
        summary.leads_created += 1

    for number, words, agent, lead in internal_requests:
        if not InternalDncEntry.objects.filter(phone_number=number).exists():
            internal_dnc_add(phone_number=number, channel=Channel.CALL, homeowner_words=words,
                             recorded_by=agent, lead=lead, requested_at=now - timedelta(days=3))
    _seed_refused_calls(created, blocked | {number for number, *_ in internal_requests}, now)

    seed_routing(now)
    seed_tags()
    seed_possible_duplicate()
    seed_messages(users["agent.ana"], now)
    seed_plans(users["agent.ana"], now)
    summary.seller_form = seed_lead_sources(users["broker"], lists)
    # The deadline rules' follow-ups (lender chases, auctions, approval expiries...) as beat
    # would raise them; the worker then tells each agent within their working hours.
    from pipeline.reminders.rules import follow_ups_generate

    follow_ups_generate(now)
    summary.counts = demo_counts()
    return summary


def seed_tags() -> None:
    """A few tags on Ana's vacant houses and a smart list of them shared with Heartland:
    the lead list's tag filter and the dashboard's smart lists have something to show."""
    from leads.models import LeadTag, SavedSearch, Tag

    if Tag.objects.exists():
        return
    ana, heartland = User.objects.get(username="agent.ana"), Team.objects.get(name="Heartland")
    vacant = Tag.objects.create(name="Vacant", team=heartland, colour="danger", created_by=ana)
    Tag.objects.create(name="Spanish speaker", team=heartland, colour="info", created_by=ana)
    Tag.objects.create(name="Probate court", team=None, colour="dark",
                       created_by=User.objects.get(username="broker"))
    houses = Lead.objects.filter(assigned_agent=ana, property__vacant=True).order_by("pk")[:8]
    LeadTag.objects.bulk_create([LeadTag(lead=lead, tag=vacant, added_by=ana) for lead in houses])
    SavedSearch.objects.create(owner=ana, team=heartland, name="Vacant houses", query=f"tag={vacant.pk}")


def seed_possible_duplicate() -> None:
    """One homeowner on two of Ben's leads, under the same name and number (a list that
    had them at the house and at a rental), so the possible-duplicates page has a pair to
    show and merge. No lead, phone count or figure of the demo changes: the second lead's
    owner takes the first's name and its number becomes the first's."""
    from leads.models import Contact, Phone

    ben = User.objects.get(username="agent.ben")
    pair = list(Lead.objects.filter(assigned_agent=ben, stage=Stage.LIST, contacts__phones__isnull=False)
                .distinct().order_by("pk")[:2])
    if len(pair) < 2:
        return
    first, second = (lead.contacts.order_by("position", "pk").first() for lead in pair)
    phone = first.phones.order_by("position", "pk").first()
    # Updates, not saves: as a list would have brought them, with no edit in the history.
    Contact.objects.filter(pk=second.pk).update(first_name=first.first_name, last_name=first.last_name)
    Phone.objects.filter(pk=second.phones.order_by("position", "pk").values("pk")[:1]).update(
        number=phone.number, phone_type=phone.phone_type, on_dnc_list=phone.on_dnc_list,
        dnc_flagged_at=phone.dnc_flagged_at)


def seed_routing(now: datetime) -> None:
    """Two routing rules, and a few list-stage leads of each team in its pond to claim."""
    from leads.models import RoutingMethod, RoutingRule, RoutingTarget
    from leads.routing import lead_to_pond

    if RoutingRule.objects.exists():
        return
    broker = User.objects.get(username="broker")
    heartland, gulf = Team.objects.get(name="Heartland"), Team.objects.get(name="Gulf & Desert")
    RoutingRule.objects.create(name="Oklahoma and Kansas: Heartland round-robin", priority=10, state="OK",
                               target=RoutingTarget.ROUND_ROBIN, team=heartland, created_by=broker)
    RoutingRule.objects.create(name="Texas probate to Gulf & Desert's pond", priority=20, state="TX",
                               lead_type="probate", target=RoutingTarget.POND, team=gulf, created_by=broker)
    RoutingRule.objects.create(name="Everything else: Gulf & Desert round-robin", priority=90,
                               target=RoutingTarget.ROUND_ROBIN, team=gulf, created_by=broker)
    for team in (heartland, gulf):
        for lead in Lead.objects.filter(team=team, stage=Stage.LIST, last_contacted_at__isnull=True).order_by("pk")[:6]:
            lead_to_pond(lead=lead, team=team, actor=team.lead, method=RoutingMethod.POND_RELEASE,
                         reason="Untouched for weeks: up for grabs")


def _seed_lead(plan: dict, lists: dict, now: datetime, blocked: set, internal_requests: list) -> Lead:
    agent: User = plan["agent"]
    created_at = now - timedelta(days=plan["age_days"])
    prop = property_create(
        street=plan["street"], city=plan["city"], state=plan["state"], zip_code=plan["zip"],
        county=plan["county"], apn=f"{plan['index'] * 7919 % 900000000:09d}",
        property_type=plan["type"], bedrooms=plan["beds"], bathrooms=plan["baths"],
        building_sqft=plan["sqft"], year_built=plan["year"], estimated_value=plan["value"],
        estimated_value_date=(now - timedelta(days=20)).date(), owner_occupied=plan["occupied"],
        vacant=plan["vacant"],
    )
    lead = lead_create(
        property=prop, lead_type=plan["lead_type"], source=lists[plan["list"]].source,
        source_list=lists[plan["list"]], assigned_agent=agent,
    )
    Lead.objects.filter(pk=lead.pk).update(created_at=created_at, stage_entered_at=created_at)
    lead.stage_entered_at = created_at
    if plan["stacked"]:
        lead_list_add(lead=lead, lead_list=lists["absentee"])

    contacts = []
    for position, (first, last) in enumerate(plan["owners"], start=1):
        mailing = (
            (f"PO Box {1000 + plan['index']}", plan["city"], plan["state"], plan["zip"])
            if plan["mailing_elsewhere"] and position == 1
            else (plan["street"], plan["city"], plan["state"], plan["zip"])
        )
        contacts.append(contact_create(
            lead=lead, position=position, first_name=first, last_name=last,
            mailing_street=mailing[0], mailing_city=mailing[1], mailing_state=mailing[2],
            mailing_zip=mailing[3],
        ))
    owner = contacts[0]
    phones = []
    for position, number in enumerate(plan["phones"], start=1):
        raw = f"({number[2:5]}) {number[5:8]}-{number[8:]}"
        phones.append(phone_add(
            contact=owner, raw=raw, position=position,
            phone_type=PhoneType.MOBILE if position == 1 else PhoneType.LANDLINE,
            source=ContactSource.SKIP_TRACE,
        ))
    if plan["email"]:
        local = f"{owner.first_name}.{owner.last_name}{plan['index']}".lower().encode("ascii", "ignore").decode()
        email_add(contact=owner, address=f"{local}@example.com")

    lien_create(
        lead=lead, position=1, lien_type=LienType.MORTGAGE, lender=plan["lender"],
        loan_number=f"00{plan['index'] * 104729 % 10**8:08d}", balance=plan["first_balance"],
        monthly_payment=(plan["first_balance"] * Decimal("0.0065")).quantize(Decimal("1")),
        arrears=(plan["first_balance"] * Decimal("0.0065") * (3 + plan["index"] % 6)).quantize(Decimal("1")),
        recording_date=date(2006 + plan["index"] % 15, 1 + plan["index"] % 12, 15),
        loan_program="Conventional" if plan["index"] % 4 else "FHA",
    )
    if plan["second"]:
        lien_type, balance = plan["second"]
        lien_create(
            lead=lead, position=2, lien_type=lien_type, lender=plan["second_lender"],
            loan_number=f"77{plan['index'] * 7307 % 10**6:06d}", balance=balance,
            recording_date=date(2012 + plan["index"] % 10, 1 + plan["index"] % 12, 1),
        )

    target = plan["stage"]
    path = FUNNEL_ORDER[: FUNNEL_ORDER.index(plan["dead_from"]) + 1] if target == Stage.DEAD else (
        FUNNEL_ORDER[: FUNNEL_ORDER.index(target) + 1]
    )
    callable_phones = [p for p in phones if p.number not in blocked]
    days_back = plan["age_days"]
    step_days = max(1, days_back // (len(path) + 1))

    # A first attempt that did not reach anyone, for most leads on the list.
    if callable_phones and (len(path) > 1 or plan["index"] % 3 == 0):
        outreach_log(
            lead=lead, channel=Channel.CALL, contact_point=callable_phones[0],
            outcome=Outcome.LEFT_VOICEMAIL, actor=agent, role_disclosed=True,
            purpose=Purpose.OFFER_TO_BUY if agent.capacity == Capacity.PRINCIPAL else Purpose.LISTING,
            notes="Left a short message with my name, brokerage and number.",
            occurred_at=_lawful_past_time(random.Random(plan["index"]), now, days_back - 1),
        )
    for step, stage in enumerate(path[1:], start=1):
        at = _lawful_past_time(random.Random(plan["index"] * 31 + step), now, max(0, days_back - step * step_days))
        if stage == Stage.CONTACT:
            point = callable_phones[0] if callable_phones else None
            outreach_log(
                lead=lead, channel=Channel.CALL if point else Channel.DOOR,
                contact_point=point or prop, outcome=Outcome.TALKED, actor=agent, role_disclosed=True,
                purpose=Purpose.OFFER_TO_BUY if agent.capacity == Capacity.PRINCIPAL else Purpose.LISTING,
                notes="Talked through how a short sale works and what the lender will ask for. "
                      "Offered the free guide.",
                occurred_at=at,
            )
        if stage == Stage.QUALIFY:
            hardship_record_create(
                lead=lead, category=plan["hardship"], narrative=HARDSHIP_STORIES[plan["hardship"]],
                started_on=(at - timedelta(days=200)).date(),
                letter_received_on=at.date() if plan["index"] % 2 else None, recorded_by=agent,
            )
        if stage in (Stage.NEGOTIATE, Stage.CLOSE, Stage.CLOSED):
            _seed_deal_for(lead=lead, agent=agent, stage=stage, at=at, plan=plan)
        lead_stage_change(lead=lead, to_stage=stage, actor=agent, at=at,
                          closing_date=at.date() if stage == Stage.CLOSED else None,
                          note="" if stage != Stage.CLOSED else "Closed; all lienholders released.")
    if target == Stage.DEAD:
        lead_stage_change(lead=lead, to_stage=Stage.DEAD, actor=agent, dead_reason=plan["dead_reason"],
                          at=now - timedelta(days=max(1, days_back // 4)))

    if lead.is_open() and (plan["stage"] != Stage.LIST or plan["index"] % 4 == 0):
        due = (now + timedelta(days=plan["follow_up_days"])).replace(
            hour=plan["follow_up_hour"], minute=0, second=0, microsecond=0)
        follow_up_create(
            lead=lead, assignee=agent, due_at=due, created_by=agent,
            title={Stage.LIST: "First call", Stage.CONTACT: "Ask for the hardship letter",
                   Stage.QUALIFY: "Get the listing agreement signed",
                   Stage.NEGOTIATE: "Chase the lender on the BPO",
                   Stage.CLOSE: "Confirm closing date with title"}.get(Stage(lead.stage), "Follow up"),
        )
    if plan["dnc_request"] and callable_phones and len(callable_phones) > 1:
        internal_requests.append((callable_phones[-1].number, "Take this number off your list.", agent, lead))
    return lead


# A letter is laid out by the mail merge (date, the owners and their address, "Dear ...",
# "Sincerely", the agent's signature and role in writing): the template is what goes between.
DEMO_LETTER = """I'm writing about your home at [Property Address]. Public records show a notice filed on it, \
and homeowners in that spot often don't hear about every option they have.

One of them may be a short sale: selling the home for what it is worth when that is less \
than what is owed, with the lender's agreement. Whether a lender agrees is the lender's \
decision, and it depends on your situation; I can explain how it works, how long it usually \
takes and what lenders ask for.

I have a free guide that walks through it. Call or text me at [Agent Phone] and I'll send it, \
with no cost and no obligation. If you would rather not hear from me, tell me and I won't \
write again.
"""
DEMO_EMAIL = """Hi [First Name],

Thank you for talking with me about [Property Address]. Attached is the guide I promised: how a \
short sale works, the usual timeline (two to six months), and the documents lenders ask for. \
The lender decides whether to approve a short sale; my job is to prepare the file so it has \
the best chance.

Reply to this email or call me at [Agent Phone] with any questions.

[Agent Name], [Brokerage]
[Role Disclosure]
"""
DEMO_FIRST_EMAIL = """Hello [First Name],

I'm writing about your home at [Property Address]. Public records show a notice filed on it, \
and homeowners in that spot often don't hear about every option they have. One of them may be \
a short sale; whether a lender agrees is the lender's decision, and it depends on your situation.

I have a free guide that explains how it works, how long it usually takes and what lenders ask \
for. Reply to this email or call me at [Agent Phone] and I'll send it, with no cost and no \
obligation. If you would rather not hear from me, tell me and I won't write again.

[Agent Name], [Brokerage]
[Role Disclosure]
"""


def seed_templates(broker: User) -> None:
    """A letter and emails the brokerage shares for the mail merge, each saying whom it is for."""
    from pipeline.models import MessageTemplate, TemplateKind, TemplateSituation
    from pipeline.outreach.scripts import template_save

    for name, kind, situation, subject, body in (
        ("Pre-foreclosure options letter", TemplateKind.LETTER, TemplateSituation.FIRST_CONTACT, "", DEMO_LETTER),
        ("First email: options for your home and the free guide", TemplateKind.EMAIL,
         TemplateSituation.FIRST_CONTACT, "About your home at [Property Address]", DEMO_FIRST_EMAIL),
        ("After the first call: the short-sale guide", TemplateKind.EMAIL, TemplateSituation.AFTER_CONVERSATION,
         "Your short-sale guide, [First Name]", DEMO_EMAIL),
        ("Text: following up on the house", TemplateKind.TEXT, TemplateSituation.ANY, "", DEMO_TEXT_FOLLOW_UP),
        ("Text: after our call", TemplateKind.TEXT, TemplateSituation.AFTER_CONVERSATION, "", DEMO_TEXT_AFTER_CALL),
    ):
        if not MessageTemplate.objects.filter(name=name).exists():
            template_save(actor=broker, name=name, kind=kind, subject=subject, body=body, shared=True,
                          attach_guide=situation == TemplateSituation.AFTER_CONVERSATION, situation=situation)


DEMO_TEXT_FOLLOW_UP = (
    "Hi [First Name], this is [Agent First Name] with [Brokerage]. Following up on your home at "
    "[Property Address]: I help homeowners compare their options while the lender reviews the file. "
    "Reply here or call [Agent Phone]. Reply STOP to stop texts."
)
DEMO_TEXT_AFTER_CALL = (
    "Thanks for talking with me today, [First Name]. As promised, the short-sale guide is in your email. "
    "Questions any time: [Agent Phone]. [Agent Name], [Brokerage]. Reply STOP to stop texts."
)
DEMO_INBOX_NUMBER = "+14045550288"  # outside the demo pools (555-0100..0199): nobody's lead
# (days ago, the homeowner's first text, our text, its status, the carrier's error, the homeowner's reply)
DEMO_TEXTS = (
    (6, "Got your letter about my house. Can you text me what my options are?",
     "Hi, this is Ana Torres with Sunbelt Short Sale Realty, a listing agent. Thanks for your text: I'll call you "
     "tomorrow after 5 to walk through the options. Reply STOP to stop texts.", "delivered", "", ""),
    (4, "Is this about the notice from the bank? Text is easier for me.",
     "Hi, this is Ana Torres with Sunbelt Short Sale Realty, a listing agent. Yes: I can explain what the notice means "
     "and what a short sale involves. When suits you? Reply STOP to stop texts.", "undelivered", "30003",
     ""),
    (2, "Please text me, I work nights.",
     "Hi, this is Ana Torres with Sunbelt Short Sale Realty, a listing agent. Happy to text. Would Thursday morning "
     "work for a short call? Reply STOP to stop texts.", "delivered", "", "Thursday 10am works. Thanks Ana"),
)


def seed_messages(agent: User, now: datetime) -> None:
    """A few texts through the local backend on Ana's leads: homeowners who texted first
    (their text is the written consent), her answers delivered or not, one reply, and one
    text from a number no lead has, waiting in the inbox. Once only; a text the gate
    refuses on this run's clock is left out."""
    from django.core.exceptions import ValidationError

    from compliance.evidence import consent_record, reassigned_number_check_record
    from compliance.models import Direction, RndResult
    from compliance.selectors import phone_suppressions
    from pipeline.messaging.services import ERROR_TEXTS
    from pipeline.models import InboxState, Message, MessageStatus

    if Message.objects.filter(provider="local", provider_id__startswith="DEMO-").exists():
        return
    phones = list(Phone.objects.filter(contact__lead__assigned_agent=agent, phone_type=PhoneType.MOBILE,
                                       status=PhoneStatus.GOOD, contact__lead__stage__in=[Stage.LIST, Stage.CONTACT])
                  .select_related("contact__lead").order_by("pk")[:40])
    listed = phone_suppressions(numbers=[phone.number for phone in phones])
    phones = [phone for phone in phones if phone.number not in listed
              and not InternalDncEntry.objects.filter(phone_number=phone.number).exists()]
    used_leads = set()
    picked = []
    for phone in phones:
        if phone.contact.lead_id not in used_leads:
            used_leads.add(phone.contact.lead_id)
            picked.append(phone)
    for index, (phone, (days, first, ours, status, error, reply)) in enumerate(zip(picked, DEMO_TEXTS, strict=False)):
        lead = phone.contact.lead
        asked_at = _lawful_past_time(random.Random(700 + index), now, days)
        sent_at = asked_at + timedelta(minutes=20)
        try:
            asked = outreach_log(
                lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                role_disclosed=True, purpose=Purpose.FOLLOW_UP, notes=first, homeowner_words=first,
                occurred_at=asked_at, direction=Direction.INBOUND)
            Message.objects.create(
                channel=Channel.SMS, direction=Direction.INBOUND, provider="local", provider_id=f"DEMO-IN{index}",
                lead=lead, attempt=asked, agent=agent, from_address=phone.number, to_address="+15005550006",
                body=first, status=MessageStatus.RECEIVED, created_at=asked_at, status_at=asked_at,
                inbox_state=InboxState.FILED, filed_at=asked_at)
            consent_record(lead=lead, phone_number=phone.number, consent_text=first, obtained_at=asked_at,
                           method="The homeowner's own text asking to be texted", recorded_by=agent,
                           covers_sms=True, proof_message=asked.compliance_check)
            reassigned_number_check_record(lead=lead, phone_number=phone.number, consent_date=asked_at.date(),
                                           queried_at=asked_at + timedelta(minutes=5), result=RndResult.NO,
                                           recorded_by=agent)

            def message_for(attempt, index=index, lead=lead, phone=phone, ours=ours, status=status, error=error,
                            sent_at=sent_at):
                Message.objects.create(
                    channel=Channel.SMS, direction=Direction.OUTBOUND, provider="local",
                    provider_id=f"DEMO-OUT{index}", lead=lead, attempt=attempt, agent=agent,
                    from_address="+15005550006", to_address=phone.number, body=ours, status=status,
                    error_code=error, error_message=ERROR_TEXTS.get(error, ""), created_at=sent_at,
                    status_at=sent_at + timedelta(seconds=4), handed_over_at=sent_at)

            outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.SENT, actor=agent,
                         role_disclosed=True, purpose=Purpose.LISTING, notes=ours, occurred_at=sent_at,
                         then=message_for)
            if reply:
                replied_at = sent_at + timedelta(minutes=42)
                answer = outreach_log(
                    lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                    role_disclosed=True, purpose=Purpose.FOLLOW_UP, notes=reply, homeowner_words=reply,
                    occurred_at=replied_at, direction=Direction.INBOUND)
                Message.objects.create(
                    channel=Channel.SMS, direction=Direction.INBOUND, provider="local",
                    provider_id=f"DEMO-REPLY{index}", lead=lead, attempt=answer, agent=agent,
                    from_address=phone.number, to_address="+15005550006", body=reply,
                    status=MessageStatus.RECEIVED, created_at=replied_at, status_at=replied_at,
                    inbox_state=InboxState.FILED, filed_at=replied_at)
        except (OutreachBlocked, ValidationError):
            continue
    Message.objects.create(
        channel=Channel.SMS, direction=Direction.INBOUND, provider="local", provider_id="DEMO-INBOX0",
        from_address=DEMO_INBOX_NUMBER, to_address="+15005550006",
        body="Hi, someone left a card on my door about my mom's house on Elm. Who should I talk to?",
        status=MessageStatus.RECEIVED, created_at=now - timedelta(hours=3), status_at=now - timedelta(hours=3),
        inbox_state=InboxState.UNMATCHED)


# Ana's leads put in each seeded plan: how many, and how long ago.
DEMO_PLAN_LEADS = {"not_now_nurture": (4, 2), "documents_needed": (2, 1), "before_auction": (2, 1)}
DEMO_REPLY = "Thanks for checking in. Things are still up in the air, can we talk next week?"


def _auction_dates(now: datetime) -> None:
    """Every "auction scheduled" lead gets its sale on record (a notice of trustee's sale, the
    auction 10 to 75 days out), as a pre-foreclosure list gives it: the pre-auction plan and
    the auction reminders count from it."""
    from leads.models import ForeclosureRecord, ForeclosureRecordType, LeadType

    without = (Lead.objects.filter(lead_type=LeadType.AUCTION, erased_at__isnull=True)
               .exclude(foreclosure_records__auction_date__gte=now.date()).order_by("pk").values_list("pk", flat=True))
    ForeclosureRecord.objects.bulk_create([
        ForeclosureRecord(lead_id=pk, record_type=ForeclosureRecordType.NTS,
                          recording_date=now.date() - timedelta(days=45),
                          auction_date=now.date() + timedelta(days=10 + (pk * 7) % 66),
                          auction_location="County courthouse steps")
        for pk in without])


def seed_plans(agent: User, now: datetime) -> None:
    """A few of Ana's leads in the seeded plans, their first steps run through the gate as
    the runner runs them now (a text sent where she has consent, skipped with the rule where
    she has not, a call task), and one plan paused by a homeowner's reply: her lead pages
    and the broker's action plans report have something to show. Once only."""
    from django.core.exceptions import ValidationError

    from compliance.models import Direction
    from pipeline.models import PlanEnrollment
    from pipeline.plans.runner import step_run
    from pipeline.plans.seeds import seeded_plan, seeded_plans_install
    from pipeline.plans.services import lead_enroll

    if PlanEnrollment.objects.filter(lead__assigned_agent=agent).exists():
        return
    seeded_plans_install()
    _auction_dates(now)
    mine = Lead.objects.filter(assigned_agent=agent, erased_at__isnull=True).order_by("pk")
    # Texted leads first: the homeowner's own text is their consent, so the plan's text goes out.
    texted = list(mine.filter(stage=Stage.CONTACT, messages__direction="inbound").distinct().values_list(
        "pk", flat=True))
    candidates = {
        "not_now_nurture": texted + list(mine.filter(stage=Stage.CONTACT).exclude(pk__in=texted).values_list(
            "pk", flat=True)[:10]),
        "documents_needed": list(mine.filter(stage=Stage.QUALIFY).values_list("pk", flat=True)[:10]),
        "before_auction": list(mine.filter(stage__in=[Stage.LIST, Stage.CONTACT, Stage.QUALIFY, Stage.NEGOTIATE],
                                           foreclosure_records__auction_date__gt=now.date() + timedelta(days=3))
                               .distinct().values_list("pk", flat=True)[:10]),
    }
    if not candidates["before_auction"]:
        # A trustee's sale set on two of her leads, six weeks and twelve days out: the
        # pre-auction plan's early steps are then passed over, saying their date passed.
        from leads.models import ForeclosureRecord, ForeclosureRecordType

        for days, pk in zip((40, 12), [pk for pk in candidates["documents_needed"][2:] + texted[4:]], strict=False):
            ForeclosureRecord.objects.create(
                lead_id=pk, record_type=ForeclosureRecordType.NTS, recording_date=now.date() - timedelta(days=60),
                auction_date=now.date() + timedelta(days=days), auction_location="County courthouse steps")
            candidates["before_auction"].append(pk)
    used: set[int] = set()
    enrolled = []
    for key, (wanted, days_ago) in DEMO_PLAN_LEADS.items():
        plan = seeded_plan(key)
        if plan is None:
            continue
        for lead in Lead.objects.filter(pk__in=[pk for pk in candidates[key] if pk not in used]).order_by("pk"):
            if sum(1 for item in enrolled if item[0] == key) >= wanted:
                break
            try:
                enrollment = lead_enroll(lead=lead, plan=plan, actor=agent, at=now - timedelta(days=days_ago))
            except ValidationError:
                continue
            used.add(lead.pk)
            enrolled.append((key, enrollment))
    for _key, enrollment in enrolled:
        step_run(enrollment_id=enrollment.pk, now=now)
    replied = next((enrollment for key, enrollment in enrolled if key == "not_now_nurture"
                    and enrollment.lead_id in texted), None)
    phone = replied and Phone.objects.filter(contact__lead_id=replied.lead_id, phone_type=PhoneType.MOBILE,
                                             status=PhoneStatus.GOOD).order_by("pk").first()
    if phone:
        # The homeowner texts back: the outreach log records it, and the plan pauses as it
        # would for a real reply (pipeline/plans/receivers.py).
        try:
            outreach_log(lead=phone.contact.lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED,
                         actor=agent, role_disclosed=True, purpose=Purpose.FOLLOW_UP, notes=DEMO_REPLY,
                         homeowner_words=DEMO_REPLY, occurred_at=now, direction=Direction.INBOUND)
        except (OutreachBlocked, ValidationError):
            pass


NEGOTIATORS = ["Dana Whitfield", "Luis Ortega", "Priya Raman", "Marcus Bell", "Janet Cho", "Omar Haddad"]
BUYERS = ["Rivera Family Trust", "K. and L. Nguyen", "Summit Home Buyers LLC", "T. Okafor", "The Brennans"]


def _not_before(days_before: int, *, day, floor):
    """``days_before`` the day, but never before ``floor`` (when there is one)."""
    when = day - timedelta(days=days_before)
    return max(when, floor) if floor else when


def _seed_deal_for(*, lead, agent, stage, at, plan) -> None:
    """What a lead needs on file to enter ``stage``: the package, lender steps, an offer, approvals."""
    from pipeline.deals.documents import checklist_item_update
    from pipeline.deals.lenders import (
        approval_letter_record,
        latest_letters,
        milestone_record,
        negotiator_assign,
    )
    from pipeline.deals.offers import offer_create, offer_set_status
    from pipeline.deals.purchase import purchase_math_for
    from pipeline.models import (
        BuyerProof,
        DocumentKind,
        DocumentStatus,
        Financing,
        LenderMilestone,
        Milestone,
        OfferStatus,
    )

    index = plan["index"]
    day = at.date()
    liens = list(lead.liens.order_by("position"))
    # An investor buys for himself: his own contract and disclosure, his own cash offer.
    investor = agent.capacity == Capacity.PRINCIPAL
    contract = ((DocumentKind.PURCHASE_CONTRACT, DocumentKind.INTEREST_DISCLOSURE) if investor
                else (DocumentKind.LISTING_AGREEMENT,))
    if stage == Stage.NEGOTIATE:
        started = day - timedelta(days=12)
        for kind in (*contract, DocumentKind.HARDSHIP_LETTER, DocumentKind.TAX_RETURNS):
            checklist_item_update(lead=lead, kind=kind, actor=agent, status=DocumentStatus.ACCEPTED,
                                  received_on=started)
        checklist_item_update(lead=lead, kind=DocumentKind.BANK_STATEMENTS, actor=agent,
                              status=DocumentStatus.RECEIVED, dated_on=started - timedelta(days=5),
                              received_on=started)
        for lien in liens:
            milestone_record(lien=lien, kind=Milestone.AUTHORIZATION_SENT, occurred_on=started, actor=agent)
            milestone_record(lien=lien, kind=Milestone.AUTHORIZATION_RECEIVED, occurred_on=started + timedelta(days=2),
                             actor=agent)
            milestone_record(lien=lien, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=day - timedelta(days=1),
                             actor=agent, note="Uploaded to the portal")
    elif stage == Stage.CLOSE:
        # The investor offers what his purchase math allows (the offers page shows it), a
        # listing's buyer a little under the value.
        if investor:
            price = (purchase_math_for(lead=lead).maximum_offer // 1000) * 1000
        else:
            price = (lead.property.estimated_value * Decimal("0.94")).quantize(Decimal("1000"))
        if investor:
            # His written interest disclosure comes before any offer of his (F8).
            InterestDisclosure.objects.create(
                lead=lead, principal=agent, disclosed_on=day - timedelta(days=12), recorded_by=agent,
                document_text=(f"{agent.get_full_name()} is a licensed real estate agent buying this house for "
                               "his own account, not acting as the seller's agent."))
        offer = offer_create(
            lead=lead, actor=agent, buyer_name=agent.get_full_name() if investor else BUYERS[index % len(BUYERS)],
            price=price,
            financing=Financing.CASH if investor else [Financing.CONVENTIONAL, Financing.FHA, Financing.CASH][index % 3],
            buyer_proof=BuyerProof.PROOF_OF_FUNDS if investor or index % 3 == 2 else BuyerProof.PRE_APPROVAL,
            earnest_money=Decimal("2500"), received_on=day - timedelta(days=10),
            target_closing=day + timedelta(days=30),
        )
        offer_set_status(offer=offer, status=OfferStatus.ACCEPTED, actor=agent)
        for lien in liens:
            # The lender's steps follow its package, however soon after it the lead moved on:
            # a step dated before the package would give the turnaround report negative days.
            submitted = (LenderMilestone.objects.filter(lender_file__lien=lien, kind=Milestone.PACKAGE_SUBMITTED)
                         .order_by("-occurred_on").values_list("occurred_on", flat=True).first())
            on = partial(_not_before, day=day, floor=submitted)

            negotiator_assign(lien=lien, name=NEGOTIATORS[(index + lien.position) % len(NEGOTIATORS)],
                              assigned_on=on(8), actor=agent, phone="(800) 555-0142")
            milestone_record(lien=lien, kind=Milestone.VALUATION_ORDERED, occurred_on=on(7), actor=agent)
            milestone_record(lien=lien, kind=Milestone.VALUATION_COMPLETED, occurred_on=on(5),
                             actor=agent, amount=lead.property.estimated_value)
            milestone_record(lien=lien, kind=Milestone.OFFER_SUBMITTED, occurred_on=on(4),
                             actor=agent, amount=offer.price)
            approval_letter_record(
                lien=lien, issued_on=on(2), expires_on=day + timedelta(days=30), actor=agent,
                approved_price=offer.price if not lien.is_junior else None,
                minimum_net_proceeds=(offer.price * Decimal("0.86")).quantize(Decimal("1")) if not lien.is_junior else None,
                junior_lien_allowance=Decimal("6000") if not lien.is_junior and len(liens) > 1 else None,
                junior_payoff=Decimal("5000") if lien.is_junior else None,
            )
    elif stage == Stage.CLOSED:
        # A long close outlives its approval letters: the lenders extended them.
        letters = latest_letters(lead=lead)
        for lien in liens:
            letter = letters.get(lien.pk)
            if letter is not None and letter.expires_on < day:
                approval_letter_record(
                    lien=lien, issued_on=day - timedelta(days=1), expires_on=day + timedelta(days=14),
                    actor=agent, approved_price=letter.approved_price,
                    minimum_net_proceeds=letter.minimum_net_proceeds,
                    junior_lien_allowance=letter.junior_lien_allowance, junior_payoff=letter.junior_payoff,
                )


def demo_counts() -> dict[str, int]:
    from compliance.models import DncNumber
    from leads.models import Contact, HardshipRecord, Lien, Phone
    from pipeline.models import FollowUp, OutreachAttempt, StageChange

    models = [User, Team, Lead, Property, Contact, Phone, Lien, HardshipRecord, StageChange,
              OutreachAttempt, ComplianceCheck, FollowUp, DncNumber, InternalDncEntry]
    return {model._meta.verbose_name_plural: model.objects.count() for model in models}
