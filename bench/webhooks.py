"""Inbound text webhooks: 1,000 Twilio-signed texts, STOPs and replays among them, two workers.

The promise (docs/messaging.md#webhooks): every inbound text filed once, whatever the
provider replays, and every STOP effective before the next send. Measured against a real
server: gunicorn with two sync workers on 127.0.0.1 (production settings,
``bench/webhooks_settings.py``, with ``LEADCRM_TELEPHONY=twilio`` and a test account, so
each request is judged by ``twilio``'s ``RequestValidator`` as a real one is), on a
PostgreSQL database of its own (``BENCH_DATABASE_URL``'s name plus ``_webhooks``, made and
migrated by bench/run.py) seeded with agents and leads, one mobile number each, with
written consent and a reassigned-numbers "no" on file, and 200,000 texts sent before
(``--webhook-history``), which every inbound text is matched against.

Posted from four client threads (two per worker, so neither ever waits for work):
1,000 distinct inbound texts with Twilio's parameters, each signed with
``RequestValidator.compute_signature`` over the exact URL: one in ten a stop, in the
words homeowners use ("STOP", "stop texting me", "UNSUBSCRIBE", "Please remove me from
your list"...), each from a number of its own; one in twenty from a number no lead has;
and 50 replays of earlier ones (the same ``MessageSid`` and signature, with the
``I-Twilio-Idempotency-Token`` Twilio's retries carry) later in the stream, some while
the original may still be in flight.

Checked: every distinct ``MessageSid`` has exactly one ``Message`` row; the replays added
nothing (inbound attempts, reply notifications and internal-list entries are exactly what
the distinct texts call for); every text from an unknown number waits in the inbox; and
right after each STOP's 200 answer this process asks the gate for that number
(``outreach_preview``, channel SMS, as the compose form does) and counts verdicts that are
not blocked, or blocked without the internal list (B1) cited: both must be 0.

Timed: the round trip seen by the client and the server's own time per request
(gunicorn's access log, ``%(D)s``), median and p95; CPU a webhook (gunicorn's workers and
their PostgreSQL backends, from /proc). Baseline in the same run, before and after: the
same signed posts to ``/bench/webhook-bare/<run>/``, which only checks the signature and
inserts one ``WebhookReceipt`` row. Then one more text through the service in this
process, its queries recorded: where a webhook's time goes.
"""

from __future__ import annotations

import http.client
import os
import queue
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/13"  # nothing consumes it; the test suite uses 15, reminders 14
WEBHOOKS = 1_000
STOP_EVERY = 10  # one text in ten is a stop
UNKNOWN_SHARE = 0.05  # from a number no lead has
REPLAY_SHARE = 0.05
UNKNOWN_NUMBERS = 20
HISTORY = 200_000  # texts sent before the replies come in: a year of a small brokerage's texting
AGENTS = 8
CLIENTS_PER_WORKER = 2
# The test account: nothing here reaches Twilio (the webhooks only come in).
ACCOUNT_SID = "AC" + "b3" * 16
AUTH_TOKEN = "bench-webhooks-auth-token-0123456789"
# Where Twilio posts, as it sees it (the public address behind the proxy): what it signs.
PUBLIC_BASE_URL = "https://crm.bench.example"
POOL_NUMBER = "+19185550100"
WARM_NUMBER = "+19185559999"
PROBE_NUMBER = "+19185558888"  # the probe lead's owner: never texts
STOP_BODIES = ["STOP", "Stop", "stop texting me", "UNSUBSCRIBE", "STOPALL", "Please remove me from your list",
               "don't text me", "QUIT", "Cancel"]
REPLY_BODIES = [
    "Yes, call me after 5", "How much would you offer?", "The bank sent another letter today",
    "We already have a realtor", "Can you send me something in writing?", "My wife handles this, call her",
    "Ok", "What do I need to do next?", "The auction is on the 14th", "We are behind 6 payments",
]
WAIT_LIMIT = 300  # seconds for one pass; anything slower is a failure, not a figure


def database_url(brokerage_url: str) -> str:
    """The webhook bench's database: the brokerage bench's server, name plus ``_webhooks``."""
    parts = urlsplit(brokerage_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_webhooks"))


def broker_url() -> str:
    return os.environ.get("BENCH_WEBHOOKS_BROKER_URL", DEFAULT_BROKER_URL)


# The texts -----------------------------------------------------------------------------


@dataclass
class Text:
    """One inbound text as Twilio posts it, or a replay of one."""

    sid: str
    number: str
    body: str
    stop: bool
    known: bool
    replay: bool = False
    token: str = ""

    def params(self) -> dict[str, str]:
        # The parameters Twilio sends with "A message comes in", in its names.
        return {
            "ToCountry": "US", "ToState": "OK", "SmsMessageSid": self.sid, "NumMedia": "0", "ToCity": "TULSA",
            "FromZip": "74133", "SmsSid": self.sid, "FromState": "OK", "SmsStatus": "received",
            "FromCity": "TULSA", "Body": self.body, "FromCountry": "US", "To": POOL_NUMBER, "ToZip": "74103",
            "NumSegments": "1", "MessageSid": self.sid, "AccountSid": ACCOUNT_SID, "From": self.number,
            "ApiVersion": "2010-04-01",
        }


def lead_number(n: int) -> str:
    return f"+1918555{1000 + n:04d}"


def unknown_number(n: int) -> str:
    return f"+1918555{9000 + n:04d}"


def _sid(rng: random.Random) -> str:
    return "SM" + "".join(rng.choice("0123456789abcdef") for _ in range(32))


def plan_texts(*, webhooks: int, leads: int, rng: random.Random) -> list[Text]:
    """The stream as posted: distinct texts shuffled, replays slipped in after their originals."""
    stops = webhooks // STOP_EVERY
    unknown = max(1, round(webhooks * UNKNOWN_SHARE))
    unknown_stops = max(1, round(stops * UNKNOWN_SHARE))
    unknown_pool = [unknown_number(n) for n in range(min(UNKNOWN_NUMBERS, unknown))]
    if stops - unknown_stops > leads or unknown_stops > len(unknown_pool):
        raise ValueError("more stops than numbers to send them from")
    texts = []
    # Each stop from a number of its own: the check after it is about that stop alone.
    for number in rng.sample(range(leads), stops - unknown_stops):
        texts.append(Text(_sid(rng), lead_number(number), rng.choice(STOP_BODIES), stop=True, known=True))
    for number in rng.sample(unknown_pool, unknown_stops):
        texts.append(Text(_sid(rng), number, rng.choice(STOP_BODIES), stop=True, known=False))
    for _ in range(unknown - unknown_stops):
        texts.append(Text(_sid(rng), rng.choice(unknown_pool), rng.choice(REPLY_BODIES), stop=False, known=False))
    while len(texts) < webhooks:
        texts.append(Text(_sid(rng), lead_number(rng.randrange(leads)), rng.choice(REPLY_BODIES), stop=False,
                          known=True))
    rng.shuffle(texts)
    for text in texts:
        text.token = str(uuid.UUID(int=rng.getrandbits(128)))
    keyed = [(float(position), text) for position, text in enumerate(texts)]
    for original in rng.sample(range(int(len(texts) * 0.9)), round(len(texts) * REPLAY_SHARE)):
        # Twilio retries a few seconds later: some replays land while the original is in flight.
        later = min(len(texts) - 1, original + rng.randint(2, 200))
        copy = texts[original]
        keyed.append((later + 0.5, Text(copy.sid, copy.number, copy.body, copy.stop, copy.known, replay=True,
                                        token=copy.token)))
    return [text for _, text in sorted(keyed, key=lambda pair: pair[0])]


@dataclass
class Request:
    path: str
    body: bytes
    headers: dict


def signed(text: Text, path: str) -> Request:
    from twilio.request_validator import RequestValidator

    params = text.params()
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + path, params)
    return Request(path, urlencode(params).encode(), {
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature,
        "I-Twilio-Idempotency-Token": text.token, "User-Agent": "TwilioProxy/1.1",
        "X-Forwarded-Proto": "https",  # as the TLS-terminating proxy says
    })


# The brokerage -------------------------------------------------------------------------


def _build(*, leads: int, history: int, rng: random.Random) -> None:
    """Agents, leads with one mobile number each (consent and a reassigned-numbers "no" on
    file, so the gate has nothing but the stop to refuse a text for in calling hours), and
    one lead more whose owner never texts: the gate is asked about unknown numbers on it."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from compliance.models import ConsentRecord, DncSource, ReassignedNumberCheck, RegistryKind, RndResult
    from compliance.services import (
        dnc_policy_adopt,
        dnc_policy_template,
        policy_acknowledge,
        registry_version_record,
    )
    from leadcrm.accounts.models import User
    from leadcrm.accounts.roles import Role
    from leads.addresses import address_key
    from leads.models import Contact, Lead, Phone, PhoneType, Property

    now = timezone.now()
    with transaction.atomic():
        # This database is the bench's own: with --keep, start again from no rows (the
        # append-only tables refuse TRUNCATE unless told, as the test suite's flushes tell them).
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL leadcrm.truncate_allowed = 'on'")
            cursor.execute("TRUNCATE pipeline_message, pipeline_webhookreceipt, compliance_internaldncentry, "
                           "pipeline_notification, leads_lead, leads_property, compliance_dncsource, "
                           "compliance_dncpolicy CASCADE")
        User.objects.filter(username__startswith="bench.webhooks.").delete()
        agents = User.objects.bulk_create([
            User(username=f"bench.webhooks.{n}", email=f"agent{n}@bench.example", first_name="Agent",
                 last_name=str(n), time_zone="America/Chicago", password=make_password(None))
            for n in range(AGENTS)])
        group = Group.objects.get(name=Role.AGENT.label)
        User.groups.through.objects.bulk_create([User.groups.through(user_id=a.pk, group_id=group.pk) for a in agents])
        properties = []
        for n in range(leads + 1):
            street, city, zip_code = f"{200 + n} Oak Ln", "Tulsa", f"741{n % 90 + 10:02d}"
            properties.append(Property(street=street, city=city, state="OK", zip_code=zip_code,
                                       address_key=address_key(street=street, city=city, state="OK",
                                                               zip_code=zip_code)))
        properties = Property.objects.bulk_create(properties, batch_size=2000)
        lead_rows = Lead.objects.bulk_create([
            Lead(property=p, lead_type="pre_foreclosure_nod", source="propstream", assigned_agent=agents[n % AGENTS])
            for n, p in enumerate(properties)], batch_size=2000)
        contacts = Contact.objects.bulk_create([
            Contact(lead=lead, first_name="Owner", last_name=str(n), mailing_street=lead.property.street,
                    mailing_city="Tulsa", mailing_state="OK", mailing_zip="74133")
            for n, lead in enumerate(lead_rows)], batch_size=2000)
        # The last lead is the probe: its owner's number is none the texts come from.
        numbers = [lead_number(n) for n in range(leads)] + [PROBE_NUMBER]
        Phone.objects.bulk_create([
            Phone(contact=contact, number=number, phone_type=PhoneType.MOBILE)
            for contact, number in zip(contacts, numbers, strict=True)], batch_size=2000)
        ConsentRecord.objects.bulk_create([
            ConsentRecord(phone_number=number, lead=lead, obtained_at=now - timedelta(days=rng.randint(10, 60)),
                          method="signed form", consent_text="I agree to calls and texts about selling my home.",
                          recorded_by=lead.assigned_agent)
            for lead, number in zip(lead_rows, numbers, strict=True)], batch_size=2000)
        ReassignedNumberCheck.objects.bulk_create([
            ReassignedNumberCheck(phone_number=number, lead=lead, consent_date=(now - timedelta(days=60)).date(),
                                  queried_at=now - timedelta(days=1), result=RndResult.NO, recorded_by=lead.assigned_agent)
            for lead, number in zip(lead_rows, numbers, strict=True)], batch_size=2000)
        # What the gate asks of every text besides the homeowner's own (A1, A3, A4): national
        # registry data for the area code, fresh, and procedures every agent acknowledged.
        source = DncSource.objects.create(name="National DNC Registry", kind=RegistryKind.NATIONAL,
                                          subscription_account_number="SAN-BENCH-1",
                                          subscription_expires_on=(now + timedelta(days=300)).date())
        registry_version_record(source=source, area_codes=["918"], version_date=(now - timedelta(days=3)).date())
        policy = dnc_policy_adopt(text=dnc_policy_template("Bench Realty"), adopted_by=agents[0],
                                  adopted_on=(now - timedelta(days=30)).date())
        for agent in agents:
            policy_acknowledge(user=agent, policy=policy, at=now - timedelta(days=20))
    _history(texts=history, leads=lead_rows[:leads], now=now, rng=rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _history(*, texts: int, leads: list, now: datetime, rng: random.Random) -> None:
    """The texts the agents sent over the last year, as the message table holds them when
    the replies come in: two to each number the stream comes from, the rest to 10,000
    other numbers. Inbound texts are matched against them (the lead that last texted the
    number), so their number, not their content, is what matters here."""
    from django.db import transaction

    from compliance.models import Channel, Direction
    from pipeline.models import Message, MessageStatus

    batch = []
    with transaction.atomic():
        for n in range(texts):
            lead = leads[n % len(leads)]
            number = lead_number(n % len(leads)) if n < 2 * len(leads) else f"+1918556{n % 10_000:04d}"
            sent = now - timedelta(minutes=rng.randrange(365 * 24 * 60))
            batch.append(Message(
                channel=Channel.SMS, direction=Direction.OUTBOUND, provider="twilio",
                provider_id=f"SMhistory{n:024d}", lead_id=lead.pk, agent_id=lead.assigned_agent_id,
                from_address=POOL_NUMBER, to_address=number, body="Following up on your home on Oak Ln.",
                status=MessageStatus.DELIVERED, created_at=sent, status_at=sent, handed_over_at=sent))
            if len(batch) == 5_000:
                Message.objects.bulk_create(batch)
                batch = []
        Message.objects.bulk_create(batch)


def next_calling_hour(now: datetime) -> datetime:
    """The next Wednesday at 19:00 UTC (1 p.m. in Chicago): inside every calling window, so
    the gate's verdicts before and after a stop differ by the stop alone, whenever this runs."""
    at = datetime.combine(now.date(), time_of_day(19), tzinfo=UTC) + timedelta(days=(2 - now.weekday()) % 7)
    return at if at > now else at + timedelta(days=7)


# The gate, asked from this process -----------------------------------------------------


@dataclass
class Verdict:
    allowed: bool
    b1: bool  # the internal list (B1) refused it
    rules: tuple[str, ...]  # every rule that refused it


class Gate:
    """``outreach_preview`` for a number, channel SMS, as the compose form asks it."""

    def __init__(self, at: datetime):
        from leads.models import Phone

        self.at = at
        self.phones = {phone.number: phone for phone in Phone.objects.select_related(
            "contact__lead__property", "contact__lead__assigned_agent")}
        self.probe = self.phones.get(PROBE_NUMBER)

    def ask(self, number: str) -> Verdict:
        from compliance.models import Channel, Purpose
        from compliance.models import Verdict as Severity
        from compliance.services import outreach_preview

        phone = self.phones.get(number)
        if phone is None and self.probe is None:
            raise LookupError(f"{number} is no lead's, and there is no probe lead to ask about it on")
        # A number no lead has is asked about as typed, on the probe lead: the internal
        # list is kept by number, whoever's lead it is.
        lead = (phone or self.probe).contact.lead
        decision = outreach_preview(lead=lead, contact_point=phone or number, channel=Channel.SMS,
                                    purpose=Purpose.LISTING, actor=lead.assigned_agent, at=self.at, role_disclosed=True,
                                    message="Following up on your home on Oak Ln.")
        refusing = tuple(sorted({f.rule for f in decision.findings if f.severity == Severity.BLOCK}))
        return Verdict(allowed=decision.allowed, b1="B1" in refusing, rules=refusing)


# The client ----------------------------------------------------------------------------


@dataclass
class Pass:
    """One pass of posts: each request's status and round trip, in the order posted."""

    label: str
    statuses: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    wall: float = 0.0
    server_ms: list[float] = field(default_factory=list)  # gunicorn's access log
    cpu_ms: float = 0.0  # workers and their backends, a request
    after: dict = field(default_factory=dict)  # index -> (Verdict, seconds from the answer to it)


def _post(port: int, request: Request) -> tuple[int, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    try:
        connection.request("POST", request.path, body=request.body, headers=request.headers)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        connection.close()


def _fire(port: int, requests: list[Request], *, clients: int, label: str, after=None) -> Pass:
    """Post every request from ``clients`` threads, each taking the next in order."""
    from django.db import connections

    result = Pass(label, statuses=[0] * len(requests), seconds=[0.0] * len(requests))
    todo: queue.SimpleQueue[int] = queue.SimpleQueue()
    for index in range(len(requests)):
        todo.put(index)
    errors: list[BaseException] = []

    def work():
        try:
            while not errors:
                try:
                    index = todo.get_nowait()
                except queue.Empty:
                    return
                result.statuses[index], result.seconds[index] = _post(port, requests[index])
                if after is not None:
                    answered = time.perf_counter()
                    verdict = after(index, result.statuses[index])
                    if verdict is not None:
                        result.after[index] = (verdict, time.perf_counter() - answered)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()  # this thread's, if the gate opened one

    threads = [threading.Thread(target=work, name=f"bench-webhooks-{n}") for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_LIMIT)
    result.wall = time.perf_counter() - started
    if errors:
        raise errors[0]
    return result


# The server ----------------------------------------------------------------------------


class Server:
    """gunicorn on 127.0.0.1 with the bench's settings; its access log gives the server's time."""

    def __init__(self, url: str, workers: int, folder: Path):
        from bench.web import _free_port, _gunicorn_env

        self.workers = workers
        self.folder = folder
        self.port = _free_port()
        self.access_log = folder / "access.log"
        self.error_log = folder / "gunicorn.log"
        self.env = {
            **_gunicorn_env(url, str(folder)),
            "DJANGO_SETTINGS_MODULE": "bench.webhooks_settings",
            "CELERY_BROKER_URL": broker_url(),
            "DJANGO_CACHE_URL": broker_url(),  # the bench's own Redis db, not a shared one
            "LEADCRM_TELEPHONY": "twilio",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_NUMBERS": POOL_NUMBER,
            "TWILIO_API_BASE_URL": "http://127.0.0.1:9",  # nothing is sent; never Twilio's API
            "LEADCRM_WEBHOOK_BASE_URL": PUBLIC_BASE_URL,
        }
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        from bench.web import _wait_until_up

        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.log = self.error_log.open("w")
        self.process = subprocess.Popen(
            [str(gunicorn), "leadcrm.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(self.workers), "--worker-class", "sync", "--timeout", "60",
             "--access-logfile", str(self.access_log), "--access-logformat", "%(m)s %(U)s %(s)s %(D)s"],
            env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            _wait_until_up(f"http://127.0.0.1:{self.port}", self.process)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def log_offset(self) -> int:
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def server_ms(self, offset: int, path_prefix: str, expected: int) -> list[float]:
        """The server's milliseconds for the requests logged since ``offset`` under ``path_prefix``."""
        deadline = time.monotonic() + 5
        while True:  # the line is written just after the answer
            with self.access_log.open() as log:
                log.seek(offset)
                lines = [line.split() for line in log.read().splitlines()]
            found = [int(parts[3]) / 1000 for parts in lines if len(parts) == 4 and parts[1].startswith(path_prefix)]
            if len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def cpu_seconds(self, backends: list[int]) -> float:
        from bench.web import _cpu_seconds, _worker_pids

        return _cpu_seconds(_worker_pids(self.process.pid)) + _cpu_seconds(backends)

    def errors(self) -> str:
        return self.error_log.read_text()[-3000:] if self.error_log.exists() else ""


def _clear_broker() -> int:
    """Empty the bench's broker (nothing consumes it); how many tasks the webhooks queued."""
    import redis

    client = redis.Redis.from_url(broker_url())
    queued = client.llen("celery")
    client.delete("celery", *client.scan_iter("_kombu.binding*"))
    return queued


def _measured_pass(server: Server, texts: list[Text], requests: list[Request], gate: Gate, clients: int,
                   backends: list[int]) -> Pass:
    def after(index: int, status: int) -> Verdict | None:
        text = texts[index]
        if text.stop and not text.replay and status == 200:
            return gate.ask(text.number)
        return None

    return _timed_pass(server, requests, clients=clients, label="webhook", prefix="/webhooks/",
                       backends=backends, after=after)


def _timed_pass(server: Server, requests: list[Request], *, clients: int, label: str, prefix: str,
                backends: list[int], after=None) -> Pass:
    offset = server.log_offset()
    cpu_before = server.cpu_seconds(backends)
    result = _fire(server.port, requests, clients=clients, label=label, after=after)
    result.cpu_ms = (server.cpu_seconds(backends) - cpu_before) * 1000 / len(requests)
    result.server_ms = server.server_ms(offset, prefix, len(requests))
    return result


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# The checks ----------------------------------------------------------------------------


@dataclass
class Checks:
    distinct: int
    rows: int
    missing: int
    doubled: int
    known: int
    filed_right: int
    unknown: int
    in_inbox: int
    attempts: int
    attempts_expected: int
    notifications: int
    notifications_expected: int
    stop_entries: int
    stops: int
    keyword_misses: int
    receipts: dict

    @property
    def once(self) -> bool:
        return self.rows == self.distinct and not self.missing and not self.doubled

    @property
    def replays_created_nothing(self) -> bool:
        return (self.attempts == self.attempts_expected and self.notifications == self.notifications_expected
                and self.stop_entries == self.stops)


def _checks(texts: list[Text], gate: Gate) -> Checks:
    from compliance.models import Direction, InternalDncEntry
    from pipeline.models import (
        InboxState,
        Message,
        Notification,
        NotificationKind,
        OutreachAttempt,
        WebhookReceipt,
    )

    distinct = {text.sid: text for text in texts if not text.replay}
    rows = list(Message.objects.filter(provider_id__in=list(distinct)).values_list(
        "provider_id", "lead_id", "inbox_state", "attempt_id", "keyword"))
    per_sid = Counter(row[0] for row in rows)
    known = [sid for sid, text in distinct.items() if text.known]
    expected_lead = {sid: gate.phones[distinct[sid].number].contact.lead_id for sid in known}
    filed_right = sum(1 for sid, lead_id, state, _, _ in rows
                      if sid in expected_lead and lead_id == expected_lead[sid] and state == InboxState.FILED)
    in_inbox = sum(1 for sid, _, state, _, _ in rows if not distinct[sid].known and state == InboxState.UNMATCHED)
    keyword_misses = sum(1 for sid, _, _, _, keyword in rows if (keyword == "stop") != distinct[sid].stop)
    bench_leads = {phone.contact.lead_id for phone in gate.phones.values()}
    stop_numbers = [text.number for text in distinct.values() if text.stop]
    return Checks(
        distinct=len(distinct), rows=len(rows), missing=len(set(distinct) - set(per_sid)),
        doubled=sum(1 for n in per_sid.values() if n > 1), known=len(known), filed_right=filed_right,
        unknown=len(distinct) - len(known), in_inbox=in_inbox,
        # Every inbound attempt and reply notification there is, against what the distinct
        # texts call for: a replay that filed anything again shows here.
        attempts=OutreachAttempt.objects.filter(direction=Direction.INBOUND, lead_id__in=bench_leads).count(),
        attempts_expected=sum(1 for row in rows if row[3] is not None),
        notifications=Notification.objects.filter(kind=NotificationKind.REPLY).count(),
        notifications_expected=filed_right,
        stop_entries=InternalDncEntry.objects.filter(phone_number__in=stop_numbers).count(),
        stops=len(stop_numbers), keyword_misses=keyword_misses,
        receipts={run: WebhookReceipt.objects.filter(provider=f"bench-{run}").count() for run in ("before", "after")},
    )


def _one_webhook(number: str, body: str) -> tuple[int, int, float, str, float]:
    """One more text through the webhook's service in this process, its queries recorded:
    how many, how many commits, its time, and its slowest query (the first words) and time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pipeline.messaging.providers.base import inbound_text_from
    from pipeline.messaging.services import inbound_text_receive

    text = Text("SMafter" + uuid.uuid4().hex[:25], number, body, stop=False, known=True)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        inbound_text_receive(provider="twilio", inbound=inbound_text_from(text.params()))
        seconds = time.perf_counter() - started
    captured = queries.captured_queries
    slowest = max(captured, key=lambda query: float(query["time"]))
    commits = sum(1 for query in captured if query["sql"].startswith("COMMIT"))
    # Its table and conditions, without the column list and the quoting.
    sql = re.sub(r'"\w+"\.|"', "", slowest["sql"])
    table = re.search(r" FROM (\S+)", sql)
    where = sql.find(" WHERE ")
    shown = f"{table.group(1) if table else ''} ...{sql[where:]}" if where >= 0 else sql
    return len(captured), commits, seconds * 1000, shown[:200], float(slowest["time"]) * 1000


# The benchmark -------------------------------------------------------------------------


def _code_version() -> str:
    from bench.web import _code_version as version

    return version()


def bench_webhooks(*, webhooks: int = WEBHOOKS, history: int = HISTORY, workers: int = 2,
                   leads: int | None = None) -> dict:
    from django.db import connection
    from django.urls import reverse

    gunicorn = Path(sys.executable).parent / "gunicorn"
    if not gunicorn.exists():
        print("\n[webhooks] skipped: needs gunicorn (requirements.txt)")
        return {}
    try:
        from pipeline.messaging.providers.twilio import TwilioTelephony  # noqa: F401
    except ImportError:
        print("\n[webhooks] skipped: needs the Twilio backend (pipeline/messaging/providers/twilio.py)")
        return {}
    rng = random.Random(24)
    leads = leads or max(100, webhooks * 4 // 5)
    load_before = os.getloadavg()[0]
    _build(leads=leads, history=history, rng=rng)
    texts = plan_texts(webhooks=webhooks, leads=leads, rng=rng)
    inbound_path = reverse("messaging:twilio_inbound")
    requests = [signed(text, inbound_path) for text in texts]
    bare = {run: [signed(text, f"/bench/webhook-bare/{run}/") for text in texts] for run in ("before", "after")}
    warm = [Text(f"SMwarm{n:026d}", WARM_NUMBER, "Ok", stop=False, known=False, token=str(n)) for n in range(20)]

    from django.utils import timezone

    gate = Gate(at=next_calling_hour(timezone.now()))
    stop_numbers = [text.number for text in texts if text.stop and not text.replay]
    before = [gate.ask(number) for number in stop_numbers]
    b1_before = sum(1 for verdict in before if verdict.b1)
    known_before = [verdict for number, verdict in zip(stop_numbers, before, strict=True) if number in gate.phones]
    allowed_before = sum(1 for verdict in known_before if verdict.allowed)
    rules_before = Counter(rule for verdict in known_before for rule in verdict.rules)
    unknown_rules = Counter(rule for number, verdict in zip(stop_numbers, before, strict=True)
                            if number not in gate.phones for rule in verdict.rules)
    connection.close()  # the server's backends are the only ones of this database while measured
    clients = CLIENTS_PER_WORKER * workers

    _clear_broker()
    folder = Path(tempfile.mkdtemp(prefix="leadcrm-bench-webhooks-"))
    try:
        with Server(os.environ["DATABASE_URL"], workers, folder) as server:
            # Warm-up, not measured: every worker imports the views and opens its connection.
            _fire(server.port, [signed(t, "/bench/webhook-bare/warm/") for t in warm], clients=clients, label="warm")
            _fire(server.port, [signed(t, inbound_path) for t in warm], clients=clients, label="warm")
            from bench.web import _backend_pids

            backends = _backend_pids()
            connection.close()
            passes = {
                "before": _timed_pass(server, bare["before"], clients=clients, label="before",
                                      prefix="/bench/webhook-bare/before/", backends=backends),
                "webhook": _measured_pass(server, texts, requests, gate, clients, backends),
                "after": _timed_pass(server, bare["after"], clients=clients, label="after",
                                     prefix="/bench/webhook-bare/after/", backends=backends),
            }
            server_errors = server.errors()
    finally:
        queued = _clear_broker()
        shutil.rmtree(folder, ignore_errors=True)

    checks = _checks(texts, gate)
    # Where one webhook's time goes, measured after the run (a lead's number, then one no lead has).
    profiles = []
    for label, number in (("a lead's number", lead_number(leads - 1)), ("an unknown number", unknown_number(99))):
        _one_webhook(number, "Ok")  # this process's first of the kind: its plans and connection
        profiles.append((label, _one_webhook(number, "Ok")))
    measured = passes["webhook"]
    not_200 = {label: sum(1 for status in p.statuses if status != 200) for label, p in passes.items()}
    replays = [index for index, text in enumerate(texts) if text.replay]
    replays_ok = sum(1 for index in replays if measured.statuses[index] == 200)
    after_stop = list(measured.after.values())
    not_blocked = sum(1 for verdict, _ in after_stop if verdict.allowed)
    without_b1 = sum(1 for verdict, _ in after_stop if not verdict.b1)
    unchecked = len(stop_numbers) - len(after_stop)
    verdict_ms = [seconds * 1000 for _, seconds in after_stop]

    def figures(p: Pass) -> tuple[float, float, float, float]:
        round_trips = [s * 1000 for s in p.seconds]
        return (statistics.median(round_trips), _percentile(round_trips, 0.95),
                statistics.median(p.server_ms) if p.server_ms else 0.0, _percentile(p.server_ms, 0.95))

    rt50, rt95, sv50, sv95 = figures(measured)
    base = [figures(passes[label]) for label in ("before", "after")]
    base_rt50, base_sv50 = (base[0][0] + base[1][0]) / 2, (base[0][2] + base[1][2]) / 2
    base_cpu = (passes["before"].cpu_ms + passes["after"].cpu_ms) / 2
    base_rate = sum(len(texts) / passes[label].wall for label in ("before", "after")) / 2
    rate = len(texts) / measured.wall
    met = (checks.once and checks.replays_created_nothing and checks.filed_right == checks.known
           and checks.in_inbox == checks.unknown and not_blocked == 0 and without_b1 == 0 and unchecked == 0
           and b1_before == 0 and not any(not_200.values()) and checks.keyword_misses == 0)

    stops = len(stop_numbers)
    print(f"\n[webhooks] {checks.distinct:,} inbound Twilio texts ({stops} stops, {checks.unknown} from "
          f"{min(UNKNOWN_NUMBERS, checks.unknown)} numbers no lead has) and {len(replays)} replays = {len(texts):,} "
          f"signed posts from {clients} client threads to gunicorn ({workers} sync workers, production settings, "
          f"LEADCRM_TELEPHONY=twilio); {leads:,} leads, {history:,} texts sent before; code at {_code_version()}; "
          f"load average before {load_before:.2f}")
    print(f"  measured: {len(texts):,} posts in {measured.wall:.1f} s = {rate:,.0f} webhooks/s; server time p50 "
          f"{sv50:.1f} ms, p95 {sv95:.1f} ms; round trip p50 {rt50:.1f} ms, p95 {rt95:.1f} ms; CPU {measured.cpu_ms:.1f} "
          "ms a webhook (workers and their PostgreSQL backends)")
    for label, (r50, r95, s50, s95) in zip(("before", "after"), base, strict=True):
        print(f"  baseline {label}: /bench/webhook-bare/ (the signature checked, one WebhookReceipt row): "
              f"{passes[label].wall:.1f} s = {len(texts) / passes[label].wall:,.0f}/s; server time p50 {s50:.1f} ms, "
              f"p95 {s95:.1f} ms; round trip p50 {r50:.1f} ms, p95 {r95:.1f} ms; CPU {passes[label].cpu_ms:.1f} ms")
    print(f"  ratio: server time p50 {sv50 / base_sv50:.1f}x the baseline's ({base_sv50:.1f} ms), round trip p50 "
          f"{rt50 / base_rt50:.1f}x, CPU {measured.cpu_ms / base_cpu:.1f}x, throughput {rate / base_rate:.2f} of it")
    print(f"  check, filed once: {checks.distinct:,} MessageSids, {checks.rows:,} Message rows, {checks.missing} "
          f"missing, {checks.doubled} with more than one; {checks.filed_right} of {checks.known} on the sender's lead, "
          f"{checks.in_inbox} of {checks.unknown} from unknown numbers in the inbox; "
          f"{checks.keyword_misses} read as the wrong keyword; answers other than 200: "
          f"{', '.join(f'{label} {n}' for label, n in not_200.items())}")
    print(f"  check, replays: {replays_ok} of {len(replays)} answered 200; inbound attempts {checks.attempts} "
          f"(filed texts with one: {checks.attempts_expected}), reply notifications {checks.notifications} "
          f"(filed texts: {checks.notifications_expected}), internal-list entries {checks.stop_entries} "
          f"(stops: {checks.stops}) -> {'created nothing' if checks.replays_created_nothing else 'CREATED ROWS'}; "
          f"baseline receipts {checks.receipts['before']:,} and {checks.receipts['after']:,} "
          f"(distinct: {checks.distinct:,})")
    refused_before = ", ".join(f"{rule} x{n}" for rule, n in rules_before.most_common(4))
    print(f"  check, STOP before the next send: the gate asked for a text at {gate.at:%a %d %b %H:%M} UTC "
          f"(outreach_preview, SMS) right after each of the {stops} stops' 200: {not_blocked} allowed, "
          f"{without_b1} without B1 cited, {unchecked} not asked; verdict p50 "
          f"{statistics.median(verdict_ms) if verdict_ms else 0:.1f} ms after the answer. The same before the run: "
          f"{b1_before} cited B1; {allowed_before} of {len(known_before)} leads' numbers allowed"
          f"{f' (refused by {refused_before})' if refused_before else ''}, the {stops - len(known_before)} numbers "
          f"no lead has refused by {', '.join(sorted(unknown_rules)) or 'nothing'} (no consent on file)")
    for label, (count, commits, ms, slowest, slowest_ms) in profiles:
        print(f"  one more webhook's service from {label}, in this process: {count} queries "
              f"({commits} commit{'' if commits == 1 else 's'}), {ms:.1f} ms; the slowest, {slowest_ms:.1f} ms: "
              f"{slowest} ...")
    if queued:
        print(f"  note: the webhooks queued {queued} Celery tasks (not run here; the bench's broker was emptied)")
    if any(not_200.values()) and server_errors.strip():
        print(server_errors)
    print(f"  target (all filed once, replays create nothing, every STOP effective before the next send): "
          f"{'met' if met else 'NOT met'}")
    return {"checks": checks, "passes": passes, "met": met, "not_blocked": not_blocked, "without_b1": without_b1,
            "server_p50": sv50, "baseline_p50": base_sv50}
