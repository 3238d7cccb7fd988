"""Action plans: 50,000 enrolled leads with a text step due in the same minute, run through
two real Celery workers, beside a no-op Celery task baseline on the same workers.

The target (docs/action-plans.md#exactly-once): "50,000 enrolled leads with a step due in
the same minute: all decided by the gate and sent or skipped within 2 minutes on two
workers, none twice; the ratio to the no-op task rate measured in the same run."

Everything runs apart from anyone else's work: a PostgreSQL database of its own
(``BENCH_DATABASE_URL``'s name plus ``_plans``, recreated by bench/run.py), a Redis
database of its own as the broker (``BENCH_PLANS_BROKER_URL``, default
``redis://127.0.0.1:6379/12``; cleared at the start and the end) and two ``celery worker
--concurrency 1 --pool prefork`` subprocesses started and stopped here, with
``LEADCRM_TELEPHONY=local`` so a text is handed to the local provider (nothing leaves).

The brokerage: agents with the written procedures acknowledged, national registry data
for the homeowners' area code, and N leads with one mobile number each; 80 % of the
numbers have written consent and a reassigned-numbers "no" on file (the gate allows a
text), 10 % have no consent (D5 refuses) and 10 % are on the internal do-not-contact list
(B1 refuses, and ends the plan's texts). One shared plan: a text now (naming the agent and
the brokerage, as D3 asks) and a second text three days later, so each run also times the
next step. Every lead is enrolled with its first step due in the same minute.

Texts obey the calling hours where the homeowner is (D1, 8 a.m. to 9 p.m.), and the
workers run on the real clock: the homeowners are put in the US time zone with the most
calling hours left right now (Puerto Rico to Hawaii). Between 07:00 and 12:00 UTC no US
zone is in calling hours, and the bench says so instead of measuring waits.

1. Baseline: N ``bench.noop`` tasks queued while the workers are paused, timed from their
   resuming until the queue and kombu's unacked hash are empty; before and after.
2. Measured: ``due_work()`` as beat's dispatcher runs it, then each batch of enrollment ids
   enqueued to ``plan_steps_run`` twice in a row, as two dispatchers firing the same minute
   would. Timed until every enrollment's first step has a final ``PlanStepRun`` (sent or
   skipped: the target), and until every text those runs wrote has been handed to the
   local provider by its ``message_deliver`` task (which asks the gate again), on the same
   two workers, as deployed.
3. Checks: one ``PlanStepRun`` per enrollment and step, at most one outreach attempt per
   enrollment, one ``Message`` per attempt, each handed over once; sent and skipped as the
   numbers' consent and stops say.
4. Where a step's time goes: 500 more enrollments (kept aside, not due during the run) run
   in this process under cProfile, and their texts delivered in this process too.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import random
import tempfile
import time
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.reminders import UNACKED_KEYS
from bench.reminders import Workers as ReminderWorkers
from bench.reminders import _wait_drained as wait_drained

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "bench.plans"  # the steps and the no-op tasks; no other worker consumes it
DELIVER_QUEUE = "celery"  # where the app queues message_deliver (the default queue), in this Redis db only
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/12"  # the test suite uses 15, reminders 14, webhooks 13
LEADS = 50_000
PROFILED = 500  # enrollments run in this process under cProfile, after the workers' run
AGENT_LEADS = 1_000  # leads per agent
NO_CONSENT_SHARE = 0.10  # D5 refuses: no written consent for the number
STOPPED_SHARE = 0.10  # B1 refuses: the number is on the internal do-not-contact list
WAIT_LIMIT = 1_800  # seconds; anything slower is a failure, not a figure
BROKERAGE = "Sunbelt Bench Realty"
TEXT_NOW = "Hi [First Name], this is [Agent Name] with [Brokerage]. Any news from the lender about the house?"
TEXT_LATER = "[First Name], [Agent Name] with [Brokerage] again. Happy to help when you're ready."
CALLING_OPENS, CALLING_CLOSES = time_of_day(8, 0), time_of_day(21, 0)  # D1, federal


def database_url(brokerage_url: str) -> str:
    """The plans bench's database: the brokerage bench's server, name plus ``_plans``."""
    parts = urlsplit(brokerage_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_plans"))


def broker_url() -> str:
    return os.environ.get("BENCH_PLANS_BROKER_URL", DEFAULT_BROKER_URL)


# Where the homeowners are ----------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A city in a state with no calling window of its own (the federal 8 to 9 applies)."""

    zone: str
    area_code: str
    state: str
    city: str
    zip_code: str

    def local(self, now: datetime) -> datetime:
        return now.astimezone(zoneinfo.ZoneInfo(self.zone))

    def calling_left(self, now: datetime) -> timedelta:
        """How long the calling hours stay open here from ``now`` (zero when closed)."""
        local = self.local(now)
        if not CALLING_OPENS <= local.time() < CALLING_CLOSES:
            return timedelta(0)
        return datetime.combine(local.date(), CALLING_CLOSES, tzinfo=local.tzinfo) - local


PLACES = [
    Place("America/Puerto_Rico", "787", "PR", "San Juan", "00901"),
    Place("America/New_York", "518", "NY", "Albany", "12207"),
    Place("America/Chicago", "312", "IL", "Chicago", "60601"),
    Place("America/Denver", "303", "CO", "Denver", "80202"),
    Place("America/Los_Angeles", "503", "OR", "Portland", "97204"),
    Place("America/Anchorage", "907", "AK", "Anchorage", "99501"),
    Place("Pacific/Honolulu", "808", "HI", "Honolulu", "96813"),
]


def place_for(now: datetime, *, needed: timedelta) -> Place:
    """The place with the most calling hours left at ``now``; an error when none has ``needed``."""
    best = max(PLACES, key=lambda place: place.calling_left(now))
    if best.calling_left(now) < needed:
        raise RuntimeError(
            f"no US time zone has {needed.total_seconds() / 60:.0f} minutes of calling hours left at "
            f"{now:%H:%M} UTC (the best, {best.zone}, has {best.calling_left(now).total_seconds() / 60:.0f}); "
            "texts would wait for the hours to open instead of being sent. Run it between 12:00 and 07:00 UTC.")
    return best


def number(place: Place, n: int) -> str:
    return f"+1{place.area_code}{2_000_000 + n:07d}"


# The brokerage ---------------------------------------------------------------------------


@dataclass
class Built:
    plan_id: int
    first_step_id: int
    enrollment_ids: list[int]  # due now: the workers' run
    profiled_ids: list[int]  # due later; run in this process for the profile
    sendable: set[int]  # enrollment ids whose text the gate allows
    no_consent: set[int]
    stopped: set[int]
    place: Place
    seconds: float


def build(*, leads: int, profiled: int, place: Place, rng: random.Random, now: datetime) -> Built:
    """Agents, leads with one mobile number each, one shared two-text plan, every lead enrolled."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from compliance.models import (
        Channel,
        ConsentRecord,
        DncSource,
        InternalDncEntry,
        ReassignedNumberCheck,
        RegistryKind,
        RndResult,
    )
    from compliance.services import (
        dnc_policy_adopt,
        dnc_policy_template,
        policy_acknowledge,
        registry_version_record,
    )
    from leadcrm.accounts.models import Brokerage, User
    from leadcrm.accounts.roles import Role
    from leads.addresses import address_key
    from leads.models import Contact, Lead, Phone, PhoneType, Property
    from pipeline.models import EnrollmentSource, EnrollmentStatus, PlanEnrollment, StepKind
    from pipeline.plans.services import StepInput, plan_save

    started = time.perf_counter()
    total = leads + profiled
    with transaction.atomic():
        # This database is the bench's own: with --keep, start again from no rows (the
        # append-only tables refuse TRUNCATE unless told, as the test suite's flushes tell them).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL leadcrm.truncate_allowed = 'on'")
            cursor.execute("TRUNCATE pipeline_actionplan, pipeline_message, compliance_internaldncentry, "
                           "compliance_consentrecord, compliance_reassignednumbercheck, leads_lead, leads_property, "
                           "compliance_dncsource, compliance_dncpolicy CASCADE")
        User.objects.filter(username__startswith="bench.plans.").delete()
        Brokerage.objects.update_or_create(pk=Brokerage.SINGLETON_ID, defaults={
            "name": BROKERAGE, "office_street": "100 Main St", "office_city": place.city, "office_state": place.state,
            "office_zip": place.zip_code})
        unusable = make_password(None)
        agents = User.objects.bulk_create([
            User(username=f"bench.plans.{n}", email=f"agent{n}@bench.example", first_name="Agent",
                 last_name=f"No{n}", time_zone=place.zone, password=unusable)
            for n in range(max(1, total // AGENT_LEADS))])
        broker = User.objects.create(username="bench.plans.broker", first_name="Bea", last_name="Broker",
                                     time_zone=place.zone, password=unusable)
        groups = {role: Group.objects.get(name=role.label) for role in (Role.AGENT, Role.BROKER)}
        User.groups.through.objects.bulk_create(
            [User.groups.through(user_id=a.pk, group_id=groups[Role.AGENT].pk) for a in agents]
            + [User.groups.through(user_id=broker.pk, group_id=groups[Role.BROKER].pk)])
        properties = []
        for n in range(total):
            street = f"{100 + n} Pine Rd"
            properties.append(Property(street=street, city=place.city, state=place.state, zip_code=place.zip_code,
                                       address_key=address_key(street=street, city=place.city, state=place.state,
                                                               zip_code=place.zip_code)))
        properties = Property.objects.bulk_create(properties, batch_size=5000)
        lead_rows = Lead.objects.bulk_create([
            Lead(property=p, lead_type="pre_foreclosure_nod", source="propstream", assigned_agent=agents[n % len(agents)])
            for n, p in enumerate(properties)], batch_size=5000)
        contacts = Contact.objects.bulk_create([
            Contact(lead=lead, first_name="Owner", last_name=str(n), mailing_street=lead.property.street,
                    mailing_city=place.city, mailing_state=place.state, mailing_zip=place.zip_code)
            for n, lead in enumerate(lead_rows)], batch_size=5000)
        numbers = [number(place, n) for n in range(total)]
        Phone.objects.bulk_create([Phone(contact=contact, number=num, phone_type=PhoneType.MOBILE)
                                   for contact, num in zip(contacts, numbers, strict=True)], batch_size=5000)
        # Who the gate refuses, at random (each lead's fate is decided here, checked after).
        fate = ["stopped" if roll < STOPPED_SHARE else "no consent" if roll < STOPPED_SHARE + NO_CONSENT_SHARE
                else "sendable" for roll in (rng.random() for _ in range(total))]
        ConsentRecord.objects.bulk_create([
            ConsentRecord(phone_number=num, lead=lead, obtained_at=now - timedelta(days=rng.randint(10, 60)),
                          method="signed form", consent_text="I agree to calls and texts about selling my home.",
                          recorded_by=lead.assigned_agent)
            for lead, num, what in zip(lead_rows, numbers, fate, strict=True) if what != "no consent"],
            batch_size=5000)
        ReassignedNumberCheck.objects.bulk_create([
            ReassignedNumberCheck(phone_number=num, lead=lead, consent_date=(now - timedelta(days=60)).date(),
                                  queried_at=now - timedelta(days=1), result=RndResult.NO, recorded_by=lead.assigned_agent)
            for lead, num in zip(lead_rows, numbers, strict=True)], batch_size=5000)
        InternalDncEntry.objects.bulk_create([
            InternalDncEntry(phone_number=num, lead=lead, channel=Channel.SMS, homeowner_words="Stop texting me",
                             requested_at=now - timedelta(days=rng.randint(1, 30)), recorded_by=lead.assigned_agent)
            for lead, num, what in zip(lead_rows, numbers, fate, strict=True) if what == "stopped"], batch_size=5000)
        # What the gate asks of every text besides the homeowner's own (A1, A3, A4).
        source = DncSource.objects.create(name="National DNC Registry", kind=RegistryKind.NATIONAL,
                                          subscription_account_number="SAN-BENCH-PLANS",
                                          subscription_expires_on=(now + timedelta(days=300)).date())
        registry_version_record(source=source, area_codes=[place.area_code], version_date=(now - timedelta(days=3)).date())
        policy = dnc_policy_adopt(text=dnc_policy_template(BROKERAGE), adopted_by=broker,
                                  adopted_on=(now - timedelta(days=30)).date())
        for user in [*agents, broker]:
            policy_acknowledge(user=user, policy=policy, at=now - timedelta(days=20))
        # All day in the homeowner's zone: the calling hours are the only clock on the texts.
        whole_day = {"window_start": time_of_day(0, 0), "window_end": time_of_day(23, 59)}
        plan = plan_save(actor=broker, name="Bench nurture", shared=True, steps=[
            StepInput(kind=StepKind.TEXT, body=TEXT_NOW, **whole_day),
            StepInput(kind=StepKind.TEXT, body=TEXT_LATER, delay_days=3, **whole_day),
        ])
        first_step = plan.steps.order_by("position").first()
        due = now.replace(second=0, microsecond=0)  # the same minute for all of them
        later = due + timedelta(days=30)  # the profiled ones: not due while the workers run
        enrolled_at = now - timedelta(hours=1)
        enrollments = PlanEnrollment.objects.bulk_create([
            PlanEnrollment(plan=plan, lead=lead, status=EnrollmentStatus.ACTIVE, source=EnrollmentSource.BULK,
                           enrolled_by=broker, started_at=enrolled_at, anchor_at=enrolled_at, active_since=enrolled_at,
                           plan_version=plan.version, next_due_at=due if n < leads else later)
            for n, lead in enumerate(lead_rows)], batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    ids = [e.pk for e in enrollments]
    by_fate = {what: {pk for pk, f in zip(ids, fate, strict=True) if f == what}
               for what in ("sendable", "no consent", "stopped")}
    return Built(plan_id=plan.pk, first_step_id=first_step.pk, enrollment_ids=ids[:leads], profiled_ids=ids[leads:],
                 sendable=by_fate["sendable"], no_consent=by_fate["no consent"], stopped=by_fate["stopped"],
                 place=place, seconds=time.perf_counter() - started)


def gate_sample(built: Built, *, at: datetime, size: int = 20) -> list[str]:
    """Problems with the set-up, from the gate's own answers for a few leads: a sendable
    number must be allowed, the others refused for their one reason."""
    from compliance.models import Channel, Purpose, Verdict
    from compliance.services import outreach_preview
    from pipeline.models import PlanEnrollment

    problems = []
    expected = [(pk, "allowed") for pk in sorted(built.sendable)[:size]]
    expected += [(pk, "D5") for pk in sorted(built.no_consent)[:3]] + [(pk, "B1") for pk in sorted(built.stopped)[:3]]
    enrollments = PlanEnrollment.objects.select_related("lead__property", "lead__assigned_agent").in_bulk(
        [pk for pk, _ in expected])
    for pk, want in expected:
        lead = enrollments[pk].lead
        phone = lead.contacts.get().phones.get()
        decision = outreach_preview(lead=lead, contact_point=phone, channel=Channel.SMS, purpose=Purpose.LISTING,
                                    actor=lead.assigned_agent, at=at, role_disclosed=True, message=TEXT_NOW)
        blocked = sorted({f.rule for f in decision.findings_with(Verdict.BLOCK)})
        if (want == "allowed") != decision.allowed or (want != "allowed" and want not in blocked):
            problems.append(f"enrollment {pk}: expected {want}, the gate said {blocked or 'allowed'}")
    return problems


# The workers -----------------------------------------------------------------------------


def plan_workers(count: int, folder: Path) -> ReminderWorkers:
    """The reminder bench's workers (starting, stopping, logs, liveness) on this bench's
    queues: the steps' and the texts' deliveries, texts handed to the local provider."""
    return ReminderWorkers(count, folder, folder / "mailbox.txt", name="bench-plans", queues=(QUEUE, DELIVER_QUEUE),
                           env={"LEADCRM_TELEPHONY": "local"})


def _redis():
    import redis

    return redis.Redis.from_url(broker_url())


def _clear_broker(client) -> None:
    client.delete(QUEUE, DELIVER_QUEUE, *UNACKED_KEYS, *client.scan_iter("_kombu.binding*"))


def _in_flight(client) -> int:
    return client.llen(QUEUE) + client.llen(DELIVER_QUEUE) + client.hlen("unacked")


def _wait_drained(client, started: float) -> float:
    """Seconds from ``started`` until both queues are empty and nothing is held by a worker."""
    return wait_drained(client, started, in_flight=_in_flight, limit=WAIT_LIMIT)


def _noop_run(client, workers: ReminderWorkers, tasks: int) -> tuple[float, float]:
    """Seconds for the workers to run ``tasks`` no-op tasks queued while they were paused
    (sending them from this process is slower than running them), and seconds to queue them."""
    from bench.tasks import noop
    from leadcrm.celery import app

    workers.consume(False)
    queued = time.perf_counter()
    with app.producer_or_acquire() as producer:  # one connection for all of them
        for _ in range(tasks):
            noop.apply_async(queue=QUEUE, producer=producer)
    started = time.perf_counter()
    workers.consume(True)
    return _wait_drained(client, started), started - queued


# The run ---------------------------------------------------------------------------------


def _progress(step_id: int, enrollment_ids: tuple[int, int]) -> tuple[int, int]:
    """First steps decided (a final run) among the measured enrollments, and their texts not
    yet handed to the provider (still queued or being handed over)."""
    from django.db import connection

    low, high = enrollment_ids
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pipeline_plansteprun WHERE step_id = %s AND status <> 'running'"
            "        AND enrollment_id BETWEEN %s AND %s),"
            " (SELECT count(*) FROM pipeline_message WHERE channel = 'sms' AND status IN ('queued', 'sending'))",
            [step_id, low, high])
        return cursor.fetchone()


def _dispatch_run(client, workers: ReminderWorkers, built: Built, *, twice: bool) -> dict:
    from pipeline.plans.runner import due_work
    from pipeline.tasks import plan_steps_run

    span = (min(built.enrollment_ids), max(built.enrollment_ids))
    total = len(built.enrollment_ids)
    started = time.perf_counter()
    work = due_work()
    planned = time.perf_counter()
    for batch in work.batches:
        plan_steps_run.apply_async(args=[batch], queue=QUEUE)
        if twice:  # beat firing twice: both workers handed the same ids at the same moment
            plan_steps_run.apply_async(args=[batch], queue=QUEUE)
    enqueued = time.perf_counter()
    decided_at = delivered_at = None
    marks = {}  # share decided -> seconds
    while decided_at is None or delivered_at is None:
        decided, undelivered = _progress(built.first_step_id, span)
        now = time.perf_counter()
        for share in (0.25, 0.5, 0.75):
            if share not in marks and decided >= share * total:
                marks[share] = now - started
        if decided_at is None and decided >= total:
            decided_at = now - started
        if decided_at is not None and undelivered == 0:
            delivered_at = now - started
        if now - started > WAIT_LIMIT:
            raise RuntimeError(f"after {WAIT_LIMIT} s: {decided:,} of {total:,} steps decided, "
                               f"{undelivered:,} texts not handed over")
        workers.check_alive()
        time.sleep(0.1)
    return {"work": work, "decided": decided_at, "delivered": delivered_at, "planned": planned - started,
            "enqueued": enqueued - started, "marks": marks, "drained": _wait_drained(client, started)}


def checks(built: Built) -> dict:
    """What the run left, counted in the database: none twice, each fate as set up."""
    from django.db import connection
    from django.utils import timezone

    ids = built.enrollment_ids
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS bench_measured (id integer PRIMARY KEY)")
        cursor.execute("TRUNCATE bench_measured")
        cursor.execute("INSERT INTO bench_measured SELECT unnest(%s::integer[])", [ids])

        def one(sql, params=()):
            cursor.execute(sql, params)
            return cursor.fetchone()[0]

        runs_twice = one("SELECT count(*) FROM (SELECT 1 FROM pipeline_plansteprun r JOIN bench_measured m "
                         "ON m.id = r.enrollment_id GROUP BY r.enrollment_id, r.step_id HAVING count(*) > 1) t")
        cursor.execute("SELECT r.status, count(*) FROM pipeline_plansteprun r JOIN bench_measured m "
                       "ON m.id = r.enrollment_id WHERE r.step_id = %s GROUP BY r.status", [built.first_step_id])
        first = dict(cursor.fetchall())
        cursor.execute("SELECT r.enrollment_id, r.status, r.rules FROM pipeline_plansteprun r JOIN bench_measured m "
                       "ON m.id = r.enrollment_id WHERE r.step_id = %s", [built.first_step_id])
        fates = {pk: (status, rules) for pk, status, rules in cursor.fetchall()}
        attempts_twice = one(
            "SELECT count(*) FROM (SELECT e.id FROM pipeline_planenrollment e JOIN bench_measured m ON m.id = e.id "
            "JOIN pipeline_outreachattempt a ON a.lead_id = e.lead_id GROUP BY e.id HAVING count(*) > 1) t")
        attempts = one("SELECT count(*) FROM pipeline_outreachattempt a JOIN pipeline_planenrollment e "
                       "ON e.lead_id = a.lead_id JOIN bench_measured m ON m.id = e.id")
        messages = one("SELECT count(*) FROM pipeline_message x JOIN pipeline_outreachattempt a ON a.id = x.attempt_id "
                       "JOIN pipeline_planenrollment e ON e.lead_id = a.lead_id JOIN bench_measured m ON m.id = e.id")
        attempts_without_one = one(
            "SELECT count(*) FROM pipeline_outreachattempt a JOIN pipeline_planenrollment e ON e.lead_id = a.lead_id "
            "JOIN bench_measured m ON m.id = e.id WHERE (SELECT count(*) FROM pipeline_message x "
            "WHERE x.attempt_id = a.id) <> 1")
        cursor.execute("SELECT x.status, count(*) FROM pipeline_message x JOIN pipeline_outreachattempt a "
                       "ON a.id = x.attempt_id JOIN pipeline_planenrollment e ON e.lead_id = a.lead_id "
                       "JOIN bench_measured m ON m.id = e.id GROUP BY x.status")
        message_states = dict(cursor.fetchall())
        handed_twice = one(
            "SELECT count(*) FROM (SELECT provider_id FROM pipeline_message WHERE channel = 'sms' AND provider_id <> '' "
            "GROUP BY provider_id HAVING count(*) > 1) t")
        cursor.execute("SELECT status, count(*) FROM pipeline_planenrollment e JOIN bench_measured m ON m.id = e.id "
                       "GROUP BY status")
        enrollment_states = dict(cursor.fetchall())
        next_timed = one("SELECT count(*) FROM pipeline_planenrollment e JOIN bench_measured m ON m.id = e.id "
                         "WHERE e.last_position = 0 AND e.next_due_at > %s", [timezone.now() + timedelta(days=2)])
        ended_texts = one("SELECT count(*) FROM pipeline_planenrollment e JOIN bench_measured m ON m.id = e.id "
                          "WHERE e.ended_channels ? 'sms'")
    wrong = []
    for pk in ids:
        status, rules = fates.get(pk, (None, []))
        want = ("sent", None) if pk in built.sendable else ("skipped", "D5" if pk in built.no_consent else "B1")
        if status != want[0] or (want[1] and want[1] not in (rules or [])):
            wrong.append((pk, status, rules, want))
    return {"runs_twice": runs_twice, "first": first, "attempts": attempts, "attempts_twice": attempts_twice,
            "messages": messages, "attempts_without_one_message": attempts_without_one, "message_states": message_states,
            "handed_twice": handed_twice, "enrollment_states": enrollment_states, "next_timed": next_timed,
            "ended_texts": ended_texts, "wrong": wrong}


# Where a step's time goes ----------------------------------------------------------------

# (label, module file ending, function): cumulative time in each, a step. Nested: the
# outreach log holds the message's insert; the step's run holds all the rest.
PARTS = [
    ("step_run, the whole step", "plans/runner.py", "step_run"),
    ("  claim, load, answers and stage (_why_it_stops)", "plans/runner.py", "_why_it_stops"),
    ("  the numbers to text (text_phones)", "plans/scheduling.py", "text_phones"),
    ("  gate preview (outreach_preview, nothing recorded)", "compliance/services.py", "outreach_preview"),
    ("  run written 'running' (_running)", "plans/runner.py", "_running"),
    ("  words: merge fields and D3/F6 (render, text_content_findings)", "messaging/services.py", "text_content_findings"),
    ("  text_send", "messaging/services.py", "text_send"),
    ("    outreach_log (the gate again, check row, attempt; one durable transaction)", "outreach/services.py",
     "outreach_log"),
    ("      the message's insert and the run marked sent", "messaging/services.py", "message_for"),
    ("    message_deliver queued on commit (Redis publish)", "shared/queue.py", "publish"),
    ("  the run read back (_record)", "plans/runner.py", "_record"),
    ("  scheduling the next step (schedule_next)", "plans/services.py", "schedule_next"),
    ("    its moment in the calling hours (step_moment)", "plans/scheduling.py", "step_moment"),
]


def _cumulative(stats: pstats.Stats) -> dict[tuple[str, str], tuple[float, int]]:
    found: dict[tuple[str, str], tuple[float, int]] = {}
    for (filename, _line, name), (_cc, calls, _tt, cumulative, _callers) in stats.stats.items():
        for _label, ending, function in PARTS:
            if name == function and filename.endswith(ending):
                seconds, count = found.get((ending, function), (0.0, 0))
                found[(ending, function)] = (seconds + cumulative, count + calls)
    return found


def profile_steps(built: Built) -> dict:
    """Run the kept-aside enrollments' first step in this process under cProfile, then
    their texts' delivery; also count a step's queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from pipeline.messaging.services import message_deliver
    from pipeline.models import Message, PlanEnrollment
    from pipeline.plans.runner import step_run

    ids = built.profiled_ids
    PlanEnrollment.objects.filter(pk__in=ids).update(next_due_at=timezone.now().replace(second=0, microsecond=0))
    counted, profiled = ids[:20], ids[20:]
    plain = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        for pk in counted:
            step_run(enrollment_id=pk)
    plain = time.perf_counter() - plain
    sql = [q["sql"] for q in queries.captured_queries]
    slowest: dict[str, list[float]] = {}
    for query in queries.captured_queries:
        slowest.setdefault(_shape(query["sql"]), []).append(float(query["time"]))
    commits = sum(1 for statement in sql if statement.upper().startswith(("COMMIT", "RELEASE SAVEPOINT")))
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    results = {}
    for pk in profiled:
        outcome = step_run(enrollment_id=pk)
        results[outcome] = results.get(outcome, 0) + 1
    profiler.disable()
    wall = time.perf_counter() - started
    stats = pstats.Stats(profiler, stream=io.StringIO())
    parts = _cumulative(stats)
    top = io.StringIO()
    pstats.Stats(profiler, stream=top).sort_stats("tottime").print_stats(25)

    messages = list(Message.objects.filter(status="queued", channel="sms", lead__plan_enrollments__in=profiled)
                    .values_list("pk", flat=True))
    deliver_profiler = cProfile.Profile()
    deliver_started = time.perf_counter()
    deliver_profiler.enable()
    for pk in messages:
        message_deliver(message_id=pk)
    deliver_profiler.disable()
    deliver_wall = time.perf_counter() - deliver_started
    deliver_stats = pstats.Stats(deliver_profiler, stream=io.StringIO())
    preview = sum(cumulative for (f, _l, n), (_c, _n, _t, cumulative, _k) in deliver_stats.stats.items()
                  if n == "outreach_preview" and f.endswith("compliance/services.py"))
    return {"steps": len(profiled), "wall": wall, "results": results, "parts": parts, "top": top.getvalue(),
            "queries": len(sql) / len(counted), "plain_ms": plain * 1000 / len(counted),
            "slowest": sorted(slowest.items(), key=lambda item: -sum(item[1]))[:8], "counted": len(counted), "commits": commits / len(counted), "delivered": len(messages),
            "deliver_wall": deliver_wall, "deliver_preview": preview}


# The bench -------------------------------------------------------------------------------


def bench_plans(leads: int = LEADS, workers: int = 2, twice: bool = True, profile_only: bool = False) -> dict:
    from django.db import connection
    from django.utils import timezone

    rng = random.Random(25)
    now = timezone.now()
    # Room for the build, the baselines and a slow run: refuse to start when the hours close sooner.
    place = place_for(now, needed=timedelta(minutes=10 + (0 if profile_only else leads / 2_000)))
    built = build(leads=0 if profile_only else leads, profiled=PROFILED, place=place, rng=rng, now=now)
    problems = gate_sample(built, at=timezone.now())
    if problems:
        raise RuntimeError("the gate does not see the brokerage as built:\n  " + "\n  ".join(problems))
    if profile_only:
        profile = profile_steps(built)
        print(f"\n[plans] profile only, homeowners in {place.city}, {place.state} ({place.zone})")
        _print_profile(profile)
        return {"profile_ms": profile["wall"] * 1000 / profile["steps"]}
    local = place.local(timezone.now())
    print(f"\n[plans] {leads:,} enrollments due in the same minute, {workers} Celery workers (prefork, concurrency 1 "
          f"each), texts to the local provider")
    print(f"  built in {built.seconds:.1f} s: homeowners in {place.city}, {place.state} ({place.zone}, "
          f"{local:%H:%M} there, calling hours open {place.calling_left(timezone.now()).total_seconds() / 60:.0f} min "
          f"more); {len(built.sendable & set(built.enrollment_ids)):,} numbers with consent, "
          f"{len(built.no_consent & set(built.enrollment_ids)):,} without (D5), "
          f"{len(built.stopped & set(built.enrollment_ids)):,} on the internal list (B1)")
    connection.close()
    client = _redis()
    _clear_broker(client)  # leftovers of a run that was killed
    folder = Path(tempfile.mkdtemp(prefix="leadcrm-bench-plans-"))
    try:
        with plan_workers(workers, folder) as pool:
            # Warm-up, not timed: fork the pool children, import the tasks' modules, open
            # their database connections (ids that do not exist run nothing).
            from pipeline.tasks import plan_steps_run

            _noop_run(client, pool, 20)
            started = time.perf_counter()
            for _ in range(2 * workers):
                plan_steps_run.apply_async(args=[[0]], queue=QUEUE)
            _wait_drained(client, started)

            noop_before, queued_before = _noop_run(client, pool, leads)
            run = _dispatch_run(client, pool, built, twice=twice)
            noop_after, _ = _noop_run(client, pool, leads)
            errors = pool.errors()
    finally:
        _clear_broker(client)
    found = checks(built)
    profile = profile_steps(built)
    _clear_broker(client)  # the profiled texts' deliveries were queued too; they ran in this process

    noop_seconds = (noop_before + noop_after) / 2
    rate, noop_rate = leads / run["decided"], leads / noop_seconds
    sent = found["first"].get("sent", 0)
    skipped = found["first"].get("skipped", 0)
    none_twice = (found["runs_twice"] == 0 and found["attempts_twice"] == 0 and found["handed_twice"] == 0
                  and found["attempts_without_one_message"] == 0 and found["attempts"] == sent == found["messages"])
    met = run["decided"] <= 120 and none_twice and not found["wrong"]
    marks = ", ".join(f"{int(share * 100)} % at {seconds:.1f} s" for share, seconds in sorted(run["marks"].items()))
    batches = len(run["work"].batches)
    print(f"  dispatch: due_work {run['planned']:.2f} s, {batches} batches of up to 100 enqueued "
          f"{'twice' if twice else 'once'} = {batches * (2 if twice else 1)} plan_steps_run tasks by "
          f"{run['enqueued']:.2f} s")
    print(f"  measured: every step decided by the gate (sent {sent:,}, skipped {skipped:,}) in {run['decided']:.1f} s "
          f"= {rate:,.0f} steps/s ({marks}); target 2 minutes: {'met' if run['decided'] <= 120 else 'NOT met'}")
    print(f"  and every text handed to the local provider (message_deliver, the gate asked again) at "
          f"{run['delivered']:.1f} s = {sent / run['delivered']:,.0f} texts/s; every task done at {run['drained']:.1f} s")
    print(f"  baseline: {leads:,} no-op Celery tasks on the same workers: {noop_before:.1f} s before, {noop_after:.1f} s "
          f"after, mean {noop_rate:,.0f} tasks/s (queued first in {queued_before:.1f} s, timed from the resuming)")
    print(f"  ratio: {rate / noop_rate:.2f} of the no-op task rate (steps/s over no-op tasks/s)")
    print(f"  check: {found['runs_twice']} steps run twice; {found['attempts']:,} attempts ({found['attempts_twice']} "
          f"enrollments with more than one), {found['messages']:,} texts ({found['attempts_without_one_message']} "
          f"attempts without exactly one), {found['handed_twice']} handed over twice; texts "
          f"{dict(sorted(found['message_states'].items()))}; -> {'none twice' if none_twice else 'DUPLICATES'}")
    print(f"  check: fates as set up: {len(leads_wrong := found['wrong']):,} wrong"
          + (f" (first: {leads_wrong[0]})" if leads_wrong else "")
          + f"; enrollments {dict(sorted(found['enrollment_states'].items()))}, {found['next_timed']:,} with the "
            f"second text timed 3 days on, {found['ended_texts']:,} with texts ended (B1)")
    if errors:
        print(f"  worker errors ({len(errors)}), first: {errors[0]}")
    print(f"  target (2 minutes, none twice): {'met' if met else 'NOT met'}")

    _print_profile(profile)
    return {"decided": run["decided"], "delivered": run["delivered"], "rate": rate, "noop_rate": noop_rate,
            "none_twice": none_twice, "wrong": len(found["wrong"]), "errors": len(errors), "met": met,
            "profile_ms": profile["wall"] * 1000 / profile["steps"]}



def _print_profile(profile: dict) -> None:
    steps = profile["steps"]
    print(f"\n  where a step goes, {steps} steps in this process under cProfile ({profile['results']}): "
          f"{profile['wall'] * 1000 / steps:.1f} ms a step; unprofiled, {profile['plain_ms']:.1f} ms a step, "
          f"{profile['queries']:.0f} queries and {profile['commits']:.1f} commits (20 steps)")
    for label, ending, function in PARTS:
        seconds, calls = profile["parts"].get((ending, function), (0.0, 0))
        print(f"    {label:<84} {seconds * 1000 / steps:6.1f} ms  ({calls / steps:.1f} calls)")
    delivered = max(1, profile["delivered"])
    print(f"  a text handed over in this process (message_deliver): {profile['deliver_wall'] * 1000 / delivered:.1f} ms "
          f"each ({profile['delivered']} texts, under cProfile), of which the gate asked again "
          f"{profile['deliver_preview'] * 1000 / delivered:.1f} ms")
    print(f"  the queries that cost most, {profile['counted']} steps unprofiled (ms a step, count a step):")
    for shape, seconds in profile["slowest"]:
        print(f"    {sum(seconds) * 1000 / profile['counted']:6.1f} ms {len(seconds) / profile['counted']:4.1f}x  {shape}")
    if os.environ.get("BENCH_PLANS_TOP"):
        print(profile["top"])


def _shape(sql: str) -> str:
    """A query's shape, for grouping: its literals and the column lists out."""
    import re

    shape = re.sub(r"'[^']*'|\b\d+\b", "?", sql)
    shape = re.sub(r"SELECT .*? FROM", "SELECT … FROM", shape, count=1)
    return shape[:150]
