"""Two webs, two workers and one beat on one machine (``manage.py cluster``), each a process
of its own on the test's PostgreSQL database and Redis: an import uploaded through one web
and run by a worker, a reminder round sent by beat through the workers, the broker's
reports from both webs, with no duplicate row, no email twice and no error in any log
(docs/operations.md#a-cluster-on-one-machine)."""

from __future__ import annotations

import io
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import requests
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from leadcrm.celery import app
from leadcrm.management.commands.cluster import NEEDS_BROKER, NEEDS_POSTGRESQL
from leadcrm.shared.schedules import PREFIX
from leads.models import Contact, ImportJob, ImportStatus, Lead, Phone, Property
from pipeline.models import EmailState, FollowUp, Notification
from pipeline.reports.registry import REPORTS

from ..helpers import api_key_for
from ..leads.factories import LeadFactory
from ..leads.imports.test_imports import PROPSTREAM
from ..pipeline.factories import FollowUpFactory
from .factories import PASSWORD, AgentFactory, BrokerFactory

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 60
WAIT_SECONDS = 60
REMINDERS = 300
# A line any process writes when something went wrong: Python's logging levels, a traceback,
# gunicorn's "[ERROR]", Celery's "ERROR/ForkPoolWorker-1".
TROUBLE = re.compile(r"ERROR|CRITICAL|Traceback")

on_real_services = pytest.mark.skipif(
    not settings.TEST_BACKENDS.on_real_services,
    reason="needs PostgreSQL and Redis: separate processes share neither SQLite in memory nor a filesystem broker")


def free_ports(count: int) -> int:
    """A first port with ``count`` free ports from it (the cluster numbers its webs in a row)."""
    for _ in range(100):
        first = random.randrange(20000, 40000)
        try:
            for port in range(first, first + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError("no free ports")


class Cluster:
    """``manage.py cluster`` as a subprocess; its output (every process's, prefixed) in a file."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.log = folder / "cluster.log"
        self.mailbox = folder / "mailbox.txt"
        self.port = free_ports(2)
        self.process: subprocess.Popen | None = None
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "leadcrm.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            # The test's own Redis database for the cache too: nothing here ever clears it.
            "DJANGO_CACHE_URL": settings.CELERY_BROKER_URL,
            # Uploads (and anything else under var/) in this test's folder, for every process.
            "LEADCRM_VAR_DIR": str(folder / "var"),
            "LEADCRM_TEST_EMAIL_BACKEND": "tests.pipeline.reminders.recording_mail.RecordingBackend",
            "LEADCRM_TEST_MAILBOX": str(self.mailbox),
        }

    def web(self, n: int) -> str:
        return f"http://127.0.0.1:{self.port + n - 1}"

    def start(self, options: list[str] | None = None) -> None:
        options = options or ["--web", "2", "--workers", "2"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "cluster", *options, "--port", str(self.port), "--web-processes", "1"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + READY_SECONDS
        while "cluster  | Ready:" not in self.text():
            assert self.process.poll() is None, f"the cluster stopped ({self.process.returncode}):\n{self.text()[-4000:]}"
            assert time.monotonic() < deadline, f"the cluster was not ready in {READY_SECONDS} s:\n{self.text()[-4000:]}"
            time.sleep(0.3)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def lines_of(self, name: str) -> list[str]:
        prefix = f"{name:<9}| "
        return [line[len(prefix):] for line in self.text().splitlines() if line.startswith(prefix)]

    def mails(self) -> list[str]:
        return self.mailbox.read_text().splitlines() if self.mailbox.exists() else []

    def interrupt(self) -> int:
        """Ctrl-C, as a person at the terminal would stop it: its exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=90)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def cluster(transactional_db, tmp_path):
    app.control.purge()  # what earlier tests left queued on this broker is not this run's work
    made = Cluster(tmp_path)
    yield made
    made.kill()  # before the database is flushed: its processes hold connections to it
    connection.close()
    app.control.purge()
    shared_cache = redis.Redis.from_url(settings.CELERY_BROKER_URL)  # the cluster's cache keys (Django's ":1:")
    for key in shared_cache.scan_iter(":1:*"):
        shared_cache.delete(key)


def wait_until(condition, what: str, cluster: Cluster) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        assert cluster.process.poll() is None, f"the cluster stopped while waiting for {what}"
        time.sleep(0.3)
    raise AssertionError(f"Timed out waiting for {what}:\n{cluster.text()[-4000:]}")


def due_reminders(count: int) -> list[int]:
    agents = [AgentFactory(email_reminders=True) for _ in range(3)]
    leads = [LeadFactory(assigned_agent=agent) for agent in agents]
    moment = timezone.now() - timedelta(minutes=5)
    return [row.pk for row in FollowUp.objects.bulk_create([
        FollowUpFactory.build(lead=leads[n % len(leads)], due_at=moment, notify_at=moment) for n in range(count)])]


def every_minute_due_now() -> None:
    """Beat sends the every-minute tasks as it starts, not at the next minute: their last run
    (kept by install_schedules, which the cluster runs again) a minute and a half ago."""
    call_command("install_schedules", verbosity=0, stdout=io.StringIO())
    updated = PeriodicTask.objects.filter(name__startswith=PREFIX, crontab__minute="*").update(
        last_run_at=timezone.now() - timedelta(seconds=90))
    assert PeriodicTask.objects.filter(name__startswith=PREFIX, task="pipeline.reminders_dispatch",
                                       last_run_at__isnull=False).exists() and updated > 1


def signed_in_broker(cluster: Cluster, broker) -> requests.Session:
    """Password on web 1, second factor on web 2: one session, in the database and the shared cache."""
    device = TOTPDevice.objects.create(user=broker, name="Phone", confirmed=True)
    browser = requests.Session()
    browser.get(f"{cluster.web(1)}/accounts/login/").raise_for_status()
    answer = browser.post(f"{cluster.web(1)}/accounts/login/", allow_redirects=False, data={
        "username": broker.username, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert answer.status_code == 302, answer.text[:2000]
    # The cluster's processes run on the real clock, this test on the suite's office hours.
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    code.time = time_machine.escape_hatch.time.time()
    answer = browser.post(f"{cluster.web(2)}/accounts/two-factor/", allow_redirects=False, data={
        "code": f"{code.token():0{device.digits}d}", "csrfmiddlewaretoken": browser.cookies["csrftoken"]})
    assert answer.status_code == 302 and "two-factor" not in answer.headers["Location"], re.findall(
        r'class="[^"]*(?:alert|invalid-feedback)[^"]*"[^>]*>(.*?)<', answer.text, re.S)
    return browser


@pytest.mark.slow
@on_real_services
def test_two_webs_two_workers_and_a_beat_import_remind_and_report_once_without_error(cluster):
    # given: an agent's API key, a broker with the app set up, 300 follow-ups due
    importer = AgentFactory()
    key = api_key_for(importer)
    broker = BrokerFactory()
    follow_ups = due_reminders(REMINDERS)
    every_minute_due_now()

    # when: the cluster runs (beat dispatches the reminders as it starts)
    cluster.start()

    # an import uploaded through web 1, run by a worker, its progress read through web 2
    token = {"Authorization": f"Token {key}"}
    upload = requests.post(f"{cluster.web(1)}/api/imports/", headers=token, timeout=60,
                           files={"file": ("propstream.csv", PROPSTREAM, "text/csv")},
                           data={"source": "propstream", "list_name": "Cluster list"})
    assert upload.status_code == 201, upload.text[:2000]
    job_id = upload.json()["id"]
    wait_until(lambda: requests.get(f"{cluster.web(2)}/api/imports/{job_id}/", headers=token, timeout=30)
               .json()["status"] in {ImportStatus.DONE, ImportStatus.FAILED}, "the import", cluster)

    # the broker's reports from both webs, in one session
    browser = signed_in_broker(cluster, broker)
    answers = {(n, slug): browser.get(f"{cluster.web(n)}/admin/reports/{slug}/", allow_redirects=False, timeout=60)
               for slug in REPORTS for n in (1, 2)}

    wait_until(lambda: FollowUp.objects.filter(pk__in=follow_ups, notified_at__isnull=False).count() == REMINDERS
               and not Notification.objects.filter(email_state=EmailState.PENDING).exists()
               and len(cluster.mails()) >= REMINDERS, "every reminder to be sent", cluster)
    time.sleep(1)  # anything sent twice would land now
    ready = {n: requests.get(f"{cluster.web(n)}/healthz/ready", timeout=30).json()["checks"] for n in (1, 2)}
    assert cluster.interrupt() == 0, cluster.text()[-4000:]

    # then: the import's rows landed once
    job = ImportJob.objects.get(pk=job_id)
    assert (job.status, job.rows_total, job.rows_done, job.leads_created, job.rows_rejected) == (
        ImportStatus.DONE, 40, 40, 40, 0)
    imported = Lead.objects.filter(source_list=job.lead_list)
    assert imported.count() == 40
    assert not Property.objects.values("address_key").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not Lead.objects.values("property").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not Contact.objects.values("lead", "position").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not Phone.objects.values("contact__lead", "number").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert Phone.objects.filter(contact__lead__in=imported).count() == job.phones_valid > 40

    # each reminder told once and emailed once
    assert Notification.objects.filter(follow_up__in=follow_ups).count() == REMINDERS
    assert not Notification.objects.values("follow_up", "kind").annotate(n=Count("id")).filter(n__gt=1).exists()
    mails = cluster.mails()
    assert len(mails) == len(set(mails)) == Notification.objects.filter(email_state=EmailState.SENT).count()
    assert len(mails) >= REMINDERS

    # the reports answered on both webs
    assert {key: answer.status_code for key, answer in answers.items()} == {key: 200 for key in answers}
    for n in (1, 2):
        served = [line for line in cluster.lines_of(f"web-{n}") if "/admin/reports/" in line and '" 200 ' in line]
        assert len(served) == len(REPORTS), f"web-{n} served {len(served)} reports"

    # each web on the shared cache, the database and the broker; a worker's heartbeat seen by both
    for n, checks in ready.items():
        assert checks["cache"]["backend"] == "redis" and checks["cache"]["ok"], (n, checks)
        assert all(checks[part]["ok"] for part in ("database", "broker", "worker")), (n, checks)

    # both workers ran tasks; beat sent the reminders' dispatch; nothing went wrong anywhere
    ran = Counter(name for name in ("worker-1", "worker-2") for line in cluster.lines_of(name) if " succeeded in " in line)
    assert ran["worker-1"] > 0 and ran["worker-2"] > 0, ran
    assert any("pipeline.reminders_dispatch" in line for line in cluster.lines_of("beat"))
    assert any("pipeline.reminders_send" in line for name in ("worker-1", "worker-2") for line in cluster.lines_of(name))
    trouble = [line for line in cluster.text().splitlines() if TROUBLE.search(line)]
    assert trouble == []
    assert "cluster  | Stopped." in cluster.text()


@pytest.mark.slow
@on_real_services
def test_a_process_that_dies_stops_the_cluster_naming_it(cluster):
    cluster.start(["--web", "1", "--workers", "1", "--no-beat", "--skip-migrate"])
    # gunicorn names its master's pid as it starts listening
    master = int(re.search(r"^web-1 +\| .*Listening at: \S+ \((\d+)\)", cluster.text(), re.M).group(1))
    os.kill(master, signal.SIGKILL)
    assert cluster.process.wait(timeout=90) == 1
    text = cluster.text()
    assert "cluster  | web-1 exited with code -9; stopping the others." in text
    assert "CommandError: web-1 exited with code -9; stopping the others." in text
    assert "worker-1 | " in text and "Warm shutdown" in text  # the worker was stopped, not left running


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_the_cluster_refuses_sqlite(settings):
    settings.DATABASES = {"default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.sqlite3"}}
    with pytest.raises(CommandError) as refused:
        call_command("cluster")
    assert str(refused.value) == NEEDS_POSTGRESQL.format(engine="sqlite3")


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_the_cluster_refuses_the_filesystem_broker(settings):
    settings.DATABASES = {"default": {**settings.DATABASES["default"], "ENGINE": "django.db.backends.postgresql"}}
    settings.CELERY_BROKER_URL = "filesystem://localhost//"
    with pytest.raises(CommandError) as refused:
        call_command("cluster")
    assert str(refused.value) == NEEDS_BROKER.format(scheme="filesystem")
