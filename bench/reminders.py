"""Reminder dispatch: 10,000 due reminders through two real Celery workers,
beside a no-op Celery task baseline on the same workers in the same run.

The target: "10,000 due reminders dispatched in under 20 s with two workers and no
duplicate", aiming for half the no-op task throughput.

Everything runs apart from anyone else's work on this machine: a PostgreSQL database of
its own (the brokerage bench's name plus ``_reminders``, made by bench/run.py), a Redis
database of its own as the broker (``BENCH_REMINDERS_BROKER_URL``, default
``redis://127.0.0.1:6379/14``; its queue, unacked and binding keys are cleared at the
start and end) and a queue no other worker listens on. The two workers are ``celery worker
--concurrency 1 --pool prefork`` subprocesses started here and stopped at the end;
they send email through ``bench.mailbox``, which builds each message and appends one
line to a file, so the duplicates can be counted.

1. Baseline: 10,000 ``bench.noop`` tasks queued while the workers are paused, then timed
   from their resuming until the queue and the unacked set are empty; before and after the
   measurement, the mean of the two being the baseline.
2. Measured: ``due_work()`` in this process, as beat's dispatcher runs it (it also marks
   the follow-ups handed out, so a second call would find none), then every
   batch of 200 ids enqueued twice in a row, as two dispatchers firing the same minute
   would, so both workers are handed the same follow-ups at the same moment. Timed until
   every follow-up is told and every reminder email sent (polling the database).
3. Checks: one notification per follow-up, each emailed once (mailbox lines by key).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
QUEUE = "bench.reminders"  # no other worker consumes it
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/14"  # the test suite uses 15, a dev worker 0
# kombu's Redis transport: a message taken by a worker waits in this hash until acked
# (acks late: after the task ran), so an empty queue and an empty hash mean all ran.
UNACKED_KEYS = ("unacked", "unacked_index", "unacked_mutex")
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
STREETS = ["Pine Rd", "Maple Dr", "Elm St", "Oak Ln", "Cedar Ct", "Birch Way", "Willow Dr", "Main St"]
WAIT_LIMIT = 300  # seconds; anything slower is a failure, not a figure


def database_url(brokerage_url: str) -> str:
    """The reminder bench's database: the brokerage bench's server, name plus ``_reminders``,
    so running it never drops a brokerage kept for the other benchmarks."""
    parts = urlsplit(brokerage_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "_reminders"))


def broker_url() -> str:
    return os.environ.get("BENCH_REMINDERS_BROKER_URL", DEFAULT_BROKER_URL)


# The workers ---------------------------------------------------------------------------


class Workers:
    """Celery worker subprocesses on the bench queue; stopped (and their children) on exit."""

    def __init__(self, count: int, folder: Path, mailbox: Path, *, name: str = "bench-reminders",
                 queues: tuple[str, ...] = (QUEUE,), env: dict[str, str] | None = None):
        """``queues``: those the workers consume, the first being the bench's own (``consume``
        pauses it); ``env``: what the workers' environment adds (another bench's settings)."""
        self.count = count
        self.folder = folder
        self.mailbox = mailbox
        self.name, self.queues, self.env = name, queues, env or {}
        self.processes: list[subprocess.Popen] = []
        self.names: list[str] = []  # celery@host node names, from their answers to ping

    def __enter__(self) -> Workers:
        env = dict(os.environ)  # DATABASE_URL, CELERY_BROKER_URL, DJANGO_DEBUG=false from bench/run.py
        env.pop("CELERY_RESULT_BACKEND", None)  # as deployed: no results stored, for either task
        env["DJANGO_EMAIL_BACKEND"] = "bench.mailbox.EmailBackend"
        env["BENCH_MAILBOX"] = str(self.mailbox)
        env.update(self.env)
        try:
            for n in range(1, self.count + 1):
                command = [
                    sys.executable, "-m", "celery", "-A", "leadcrm", "worker", "--concurrency", "1",
                    "--pool", "prefork", "-Q", ",".join(self.queues), "-n", f"{self.name}-{n}@%h",
                    "-I", "bench.tasks",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                    # Warnings only: two INFO lines a task (received, succeeded) would weigh on the no-op.
                    "--loglevel", "WARNING", "--logfile", str(self.log(n)),
                ]
                # A session of its own: the worker and its pool child share a process group
                # that can be ended as one, without touching anything else.
                with self.log(n, "err").open("w") as err:
                    self.processes.append(subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                                                           stdout=subprocess.DEVNULL, stderr=err))
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def log(self, n: int, kind: str = "log") -> Path:
        return self.folder / f"worker{n}.{kind}"

    def _wait_ready(self) -> None:
        from leadcrm.celery import app

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            self.check_alive()
            replies = app.control.ping(timeout=0.5)
            self.names = sorted(name for reply in replies for name in reply if name.startswith(f"{self.name}-"))
            if len(self.names) >= self.count:
                return
        raise RuntimeError(f"the bench workers did not answer within 60 s; see {self.folder}")

    def consume(self, on: bool) -> None:
        """Stop or resume taking messages from the bench queue (remote control, both workers)."""
        from leadcrm.celery import app

        control = app.control.add_consumer if on else app.control.cancel_consumer
        replies = control(self.queues[0], destination=self.names, reply=True, timeout=5)
        if len(replies) != len(self.names):
            raise RuntimeError(f"{'add' if on else 'cancel'}_consumer: {len(replies)} of {len(self.names)} workers answered")

    def check_alive(self) -> None:
        for n, process in enumerate(self.processes, start=1):
            if process.poll() is not None:
                raise RuntimeError(f"bench worker {n} exited ({process.returncode}):\n{self.log(n, 'err').read_text()[-3000:]}")

    def errors(self) -> list[str]:
        """Error lines the workers logged (a task that raised, a lost child)."""
        lines = []
        for n in range(1, self.count + 1):
            for kind in ("log", "err"):
                path = self.log(n, kind)
                if path.exists():
                    lines += [line for line in path.read_text().splitlines() if "ERROR" in line or "CRITICAL" in line]
        return lines

    def stop(self) -> None:
        # SIGTERM is Celery's warm shutdown: finish the task in hand, then exit with the pool.
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            try:  # whatever is left of this worker's group (a stuck pool child): gone
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        self.processes = []


def _redis():
    import redis

    return redis.Redis.from_url(broker_url())


def _clear_broker(client) -> None:
    client.delete(QUEUE, *UNACKED_KEYS, *client.scan_iter("_kombu.binding*"))


def _in_flight(client) -> int:
    return client.llen(QUEUE) + client.hlen("unacked")


def _wait_drained(client, started: float, *, in_flight=None, limit: int = WAIT_LIMIT) -> float:
    """Seconds from ``started`` until no message is queued or held by a worker
    (``in_flight``: how many are, for another bench's queues).

    A message is in neither place for an instant (taken from the list, not yet in the
    hash), so it takes two empty readings 10 ms apart to be sure.
    """
    in_flight = in_flight or _in_flight
    empty_since = None
    while True:
        now = time.perf_counter()
        if in_flight(client) == 0:
            if empty_since is not None:
                return empty_since - started
            empty_since = now
        else:
            empty_since = None
        if now - started > limit:
            raise RuntimeError(f"the bench queues did not drain in {limit} s ({in_flight(client)} messages left)")
        time.sleep(0.01)


# The brokerage -------------------------------------------------------------------------


def _build(reminders: int, agent_count: int, rng: random.Random):
    """Agents with email reminders on, one lead each reminder, every follow-up due now."""
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from leadcrm.accounts.models import User
    from leadcrm.accounts.roles import Role
    from leads.addresses import address_key
    from leads.models import Lead, Property
    from pipeline.models import FollowUp

    now = timezone.now()
    with transaction.atomic():
        # This database is the bench's own: with --keep, start again from no rows.
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE pipeline_notification, pipeline_followup, leads_lead, leads_property CASCADE")
        User.objects.filter(username__startswith="bench.reminders.").delete()
        unusable = make_password(None)
        agents = User.objects.bulk_create([
            User(username=f"bench.reminders.{n}", email=f"agent{n}@bench.example", email_reminders=True,
                 first_name="Agent", last_name=str(n), time_zone=ZONES[n % len(ZONES)], password=unusable)
            for n in range(agent_count)])
        group = Group.objects.get(name=Role.AGENT.label)
        User.groups.through.objects.bulk_create([User.groups.through(user_id=a.pk, group_id=group.pk) for a in agents])
        properties = []
        for n in range(reminders):
            street, city, zip_code = f"{100 + n} {STREETS[n % len(STREETS)]}", "Tulsa", f"741{n % 90 + 10:02d}"
            properties.append(Property(street=street, city=city, state="OK", zip_code=zip_code,
                                       address_key=address_key(street=street, city=city, state="OK", zip_code=zip_code)))
        properties = Property.objects.bulk_create(properties, batch_size=2000)
        leads = Lead.objects.bulk_create([
            Lead(property=p, lead_type="pre_foreclosure_nod", source="propstream", assigned_agent=rng.choice(agents))
            for p in properties], batch_size=2000)
        follow_ups = []
        for lead in leads:
            # Due within the last hour (escalation waits 24 h), so a batch of 200 in notify_at
            # order holds most agents, as a real minute's reminders would.
            due = now - timedelta(seconds=rng.randrange(3600))
            follow_ups.append(FollowUp(lead=lead, assignee_id=lead.assigned_agent_id, kind="call", title="Call back",
                                       notes="Asked us to call after work about the lender's letter.",
                                       due_at=due, notify_at=due, created_by_id=lead.assigned_agent_id))
        FollowUp.objects.bulk_create(follow_ups, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


# The measurements ----------------------------------------------------------------------


def _noop_run(client, workers: Workers, tasks: int) -> float:
    """Seconds for the workers to run ``tasks`` no-op tasks, queued while they were paused.

    Sending 10,000 messages from this process takes longer than running them (1.5 ms each
    here, on one of the two cores), so sending while they run would time this process.
    The reminders' 100 send tasks are enqueued in a fraction of a second, so the two
    figures are both the workers' own.
    """
    from bench.tasks import noop
    from leadcrm.celery import app

    workers.consume(False)
    with app.producer_or_acquire() as producer:  # one connection for all of them
        for _ in range(tasks):
            noop.apply_async(queue=QUEUE, producer=producer)
    started = time.perf_counter()
    workers.consume(True)
    return _wait_drained(client, started)


def _unfinished() -> tuple[int, int]:
    """Follow-ups still to be told, and reminder emails not yet sent; both from partial indexes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pipeline_followup WHERE done_at IS NULL AND notified_at IS NULL),"
            " (SELECT count(*) FROM pipeline_notification WHERE email_state IN ('pending', 'sending'))")
        return cursor.fetchone()


def _dispatch_run(client, workers: Workers) -> dict:
    from pipeline.reminders.notifications import due_work
    from pipeline.tasks import reminders_send

    started = time.perf_counter()
    work = due_work()
    planned = time.perf_counter()
    for batch in work.reminder_batches:
        # Twice in a row: both workers get the same 200 ids at once, the worst case of two
        # dispatchers (beat firing twice) for the locks and the email claims.
        reminders_send.apply_async(args=[batch], queue=QUEUE)
        reminders_send.apply_async(args=[batch], queue=QUEUE)
    enqueued = time.perf_counter()
    while True:
        untold, unsent = _unfinished()
        if untold == 0 and unsent == 0:
            seconds = time.perf_counter() - started
            break
        if time.perf_counter() - started > WAIT_LIMIT:
            raise RuntimeError(f"after {WAIT_LIMIT} s: {untold:,} follow-ups untold, {unsent:,} emails unsent")
        workers.check_alive()
        time.sleep(0.02)
    return {"work": work, "seconds": seconds, "planned": planned - started, "enqueued": enqueued - started,
            "drained": _wait_drained(client, started)}


def _mailbox_counts(mailbox: Path) -> tuple[int, int, int]:
    """Lines, distinct notification keys, and keys mailed more than once."""
    keys = Counter(line.split("\t", 1)[0] for line in mailbox.read_text().splitlines()) if mailbox.exists() else Counter()
    return sum(keys.values()), len(keys), sum(1 for count in keys.values() if count > 1)


def bench_reminders(reminders: int = 10_000, agents: int = 50, workers: int = 2) -> dict:
    from django.db.models import Count

    from pipeline.models import EmailState, FollowUp, Notification, NotificationKind
    from pipeline.tasks import reminders_send

    _build(reminders, agents, random.Random(17))
    client = _redis()
    _clear_broker(client)  # leftovers of a run that was killed
    with tempfile.TemporaryDirectory(prefix="bench-reminders-") as tmp:
        folder = Path(tmp)
        mailbox = folder / "mailbox.txt"
        try:
            with Workers(workers, folder, mailbox) as pool:
                # Warm-up, not timed: fork the pool children, import the tasks' modules and
                # open their database connections (an id that does not exist sends nothing).
                _noop_run(client, pool, 20)
                started = time.perf_counter()
                for _ in range(2 * workers):
                    reminders_send.apply_async(args=[[0]], queue=QUEUE)
                _wait_drained(client, started)

                noop_before = _noop_run(client, pool, reminders)
                run = _dispatch_run(client, pool)
                noop_after = _noop_run(client, pool, reminders)
                errors = pool.errors()
        finally:
            _clear_broker(client)
        lines, distinct, repeated = _mailbox_counts(mailbox)

    work = run["work"]
    batches = len(work.reminder_batches)
    notes = Notification.objects.filter(kind=NotificationKind.REMINDER)
    note_count = notes.count()
    per_follow_up = notes.values("follow_up").annotate(n=Count("pk")).filter(n__gt=1).count()
    sent = notes.filter(email_state=EmailState.SENT).count()
    told = FollowUp.objects.filter(notified_at__isnull=False).count()
    noop_seconds = (noop_before + noop_after) / 2
    rate, noop_rate = reminders / run["seconds"], reminders / noop_seconds
    met = (run["seconds"] < 20 and note_count == sent == reminders and per_follow_up == 0
           and lines == distinct == reminders and repeated == 0)

    print(f"\n[reminders] {reminders:,} due reminders for {agents} agents, {workers} Celery workers "
          "(prefork, concurrency 1 each), email to a file (bench/mailbox.py)")
    print(f"  dispatch: due_work {run['planned']:.2f} s, {batches} batches enqueued twice = {2 * batches} send tasks "
          f"by {run['enqueued']:.2f} s")
    print(f"  measured: all told and emailed in {run['seconds']:.1f} s = {rate:,.0f} reminders/s; every task done "
          f"(the duplicates too) at {run['drained']:.1f} s; target under 20 s: {'met' if run['seconds'] < 20 else 'NOT met'}")
    print(f"  baseline: {reminders:,} no-op Celery tasks on the same workers: {noop_before:.1f} s before, "
          f"{noop_after:.1f} s after, mean {noop_rate:,.0f} tasks/s (queued first, timed from the workers' resuming)")
    print(f"  ratio: {rate / noop_rate:.2f} of the no-op throughput (aim 0.5)")
    print(f"  check: {told:,} follow-ups told; {note_count:,} reminder notifications ({per_follow_up} follow-ups "
          f"with more than one), {sent:,} emailed; mailbox {lines:,} lines, {distinct:,} distinct, {repeated} duplicated"
          f" -> {'no duplicate' if repeated == 0 and per_follow_up == 0 else 'DUPLICATES'}")
    if work.escalation_batches or work.email_batches:
        print(f"  note: due_work also found {sum(map(len, work.escalation_batches))} escalations and "
              f"{sum(map(len, work.email_batches))} stranded emails (not dispatched here)")
    if errors:
        print(f"  worker errors ({len(errors)}), first: {errors[0]}")
    print(f"  target (under 20 s, one notification and one email each): {'met' if met else 'NOT met'}")
    return {"seconds": run["seconds"], "rate": rate, "noop_rate": noop_rate, "lines": lines, "distinct": distinct,
            "repeated": repeated, "notifications": note_count, "errors": len(errors)}
