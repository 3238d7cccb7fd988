"""No reminder is sent twice: two real Celery workers on Redis, against PostgreSQL, given
every batch twice, and a worker killed in the middle of a batch (acks late, issue 7).

The workers are separate processes (``celery worker``, prefork pool), reading the test
database; their emails go to a file (``recording_mail.py``) where duplicates would show.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from pipeline.models import EmailState, FollowUp, Notification
from pipeline.reminders.notifications import EMAIL_CLAIM, due_work
from pipeline.tasks import reminders_send

from ...leadcrm.factories import AgentFactory
from ...leads.factories import LeadFactory
from ..factories import FollowUpFactory

ROOT = Path(__file__).resolve().parents[3]
WAIT_SECONDS = 90

pytestmark = pytest.mark.skipif(
    not settings.TEST_BACKENDS.on_real_services,
    reason="needs PostgreSQL and Redis: worker processes share neither an in-memory database nor a filesystem broker",
)


class Workers:
    """Worker processes on a queue of their own, so no other test's worker takes the batches."""

    def __init__(self, mailbox: Path, mail_delay: float):
        self.queue = f"reminders-test-{uuid.uuid4().hex[:8]}"
        self.mailbox = mailbox
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "leadcrm.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "LEADCRM_TEST_EMAIL_BACKEND": "tests.pipeline.reminders.recording_mail.RecordingBackend",
            "LEADCRM_TEST_MAILBOX": str(mailbox),
            "LEADCRM_TEST_MAIL_DELAY": str(mail_delay),
        }
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "leadcrm", "worker", "--pool", "prefork", "--concurrency", "1",
             "-Q", self.queue, "-n", f"{name}-{self.queue}@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "--loglevel", "WARNING"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        return process

    def send(self, batch: list[int]) -> None:
        reminders_send.apply_async(args=[batch], queue=self.queue)

    def lines(self) -> list[str]:
        return self.mailbox.read_text().splitlines() if self.mailbox.exists() else []

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(transactional_db, tmp_path):
    made = []

    def make(mail_delay: float = 0.0) -> Workers:
        made.append(Workers(tmp_path / f"mailbox-{len(made)}.txt", mail_delay))
        return made[-1]

    yield make
    for group in made:
        group.stop()  # before the database is flushed: the workers hold connections to it
    connection.close()


def due_follow_ups(count: int, agents: int = 3) -> list[int]:
    people = [AgentFactory() for _ in range(agents)]
    leads = [LeadFactory(assigned_agent=person) for person in people]
    moment = timezone.now() - timedelta(minutes=5)
    rows = FollowUp.objects.bulk_create([
        FollowUpFactory.build(lead=leads[n % agents], due_at=moment, notify_at=moment) for n in range(count)
    ])
    return [row.pk for row in rows]


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"Timed out waiting for {what}")


def all_told(total: int) -> bool:
    return (FollowUp.objects.filter(notified_at__isnull=False).count() == total
            and not Notification.objects.filter(email_state=EmailState.PENDING).exists())


@pytest.mark.slow
def test_two_workers_given_every_batch_twice_send_each_reminder_once(workers):
    total = 300
    due_follow_ups(total)
    group = workers()
    group.start("one")
    group.start("two")
    batches = [batch for work in (due_work(),) for batch in work.reminder_batches]
    assert sum(map(len, batches)) == total
    # Beat firing twice, a retry, a redelivery: every batch reaches the workers twice.
    small = [ids[start:start + 50] for ids in batches for start in range(0, len(ids), 50)]
    for batch in small + list(reversed(small)):
        group.send(batch)
    wait_until(lambda: all_told(total) and len(group.lines()) >= total, "every reminder to be told")
    time.sleep(1)  # anything still in flight would land now
    lines = group.lines()
    assert len(lines) == len(set(lines)) == total
    assert Notification.objects.count() == total
    assert Notification.objects.filter(email_state=EmailState.SENT).count() == total


def pool_children(process: subprocess.Popen) -> list[int]:
    path = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_a_batch_sends_nothing_twice(workers):
    total = 300
    due_follow_ups(total)
    group = workers(mail_delay=0.02)  # 100 emails take two seconds: time to kill it mid-batch
    first = group.start("first")
    for batch in [ids[start:start + 100] for ids in due_work().reminder_batches for start in range(0, len(ids), 100)]:
        group.send(batch)
    wait_until(lambda: len(group.lines()) >= 20, "the first worker to be in the middle of a batch")
    wait_until(lambda: pool_children(first), "the worker's pool process")
    for pid in pool_children(first):
        os.kill(pid, signal.SIGKILL)  # no cleanup, no ack: the broker must hand the batch out again
    group.start("second")
    wait_until(lambda: FollowUp.objects.filter(notified_at__isnull=False).count() == total
               and not Notification.objects.filter(email_state=EmailState.PENDING).exists(),
               "the batches to be finished by the workers left")
    time.sleep(1)
    lines = group.lines()
    assert len(lines) == len(set(lines)), "an email went out twice"
    assert Notification.objects.count() == total
    sent = Notification.objects.filter(email_state=EmailState.SENT).count()
    in_flight = Notification.objects.filter(email_state=EmailState.SENDING).count()
    # The emails claimed when the process died may or may not have gone: they are never
    # retried, and the sweep says so; every other one went exactly once.
    assert in_flight <= EMAIL_CLAIM and sent + in_flight == total
    assert sent <= len(lines) <= sent + in_flight
    if in_flight:
        # The workers run on the real clock, this test on a frozen one: sweep after the claim.
        claimed = Notification.objects.filter(email_state=EmailState.SENDING).latest("email_claimed_at").email_claimed_at
        assert due_work(claimed + timedelta(minutes=16)).unknown == in_flight
        assert Notification.objects.filter(email_state=EmailState.UNKNOWN).count() == in_flight
