"""The read replica: the reports read from a real hot standby of the test cluster
(.ci/replica), a request that wrote reads from the primary, a dead or lagging replica is
not read and the page says so, and the router's rules.

The standby's tests need committed rows (transactional tests) and wait for the standby to
replay them. Without a standby they skip, saying how to make one; with CI=true they fail.
"""

from __future__ import annotations

import os
import re
import time
from datetime import date, timedelta
from urllib.parse import urlsplit

import psycopg2
import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadcrm.settings.backends import REPLICA_MISSING, ci_required, reachable, redacted
from leadcrm.shared import replica
from leadcrm.shared.replica import (
    BEHIND,
    FAILED_PART_WAY,
    NOT_ANSWERING,
    REPLICA,
    Probe,
    ReplicaRouter,
    Source,
    WritesPinPrimaryMiddleware,
    forget_probe,
    read_alias,
    read_on_replica,
    reading_from_replica,
    replica_probe,
)
from leads.models import Lead, LeadList

from ..leads.factories import LeadFactory, LeadListFactory
from .test_settings import settings_in_subprocess

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="streaming replication is PostgreSQL's"),
]
ON_BOTH = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])
CLOSED = ("127.0.0.1", "9")  # discard: nothing listens there
REPLAY_TIMEOUT = 120  # seconds; the standby replays whatever else the shared cluster writes too
TODAY = date(2026, 11, 18)  # the suite's clock (tests/conftest.py)


# The standby -----------------------------------------------------------------------------


def _standby_error(url: str) -> str | None:
    """Why the URL is not a hot standby of the test cluster, or None."""
    error = reachable(url, 5433)
    if error:
        return error
    try:
        with _standby_admin(url) as cursor:
            cursor.execute("SELECT pg_is_in_recovery(), system_identifier FROM pg_control_system()")
            in_recovery, standby_id = cursor.fetchone()
    except psycopg2.Error as exc:
        return f"{exc.__class__.__name__}: {exc}".strip()
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT system_identifier FROM pg_control_system()")
        primary_id = cursor.fetchone()[0]
    if not in_recovery:
        return "it answers but is not in recovery"
    if standby_id != primary_id:
        return "it is a standby of another cluster"
    return None


class _standby_admin:
    """A cursor on the standby's own ``postgres`` database, outside Django."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.connection = psycopg2.connect(host=parts.hostname, port=parts.port or 5433,
                                           user=parts.username or "postgres", dbname="postgres", connect_timeout=3)
        self.connection.autocommit = True

    def __enter__(self):
        return self.connection.cursor()

    def __exit__(self, *exc):
        self.connection.close()


def _primary_position() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        return cursor.fetchone()[0]


def caught_up(timeout: float = REPLAY_TIMEOUT) -> None:
    """Wait until the standby has replayed everything committed on the primary so far (its
    test database included: CREATE DATABASE replicates like the rows)."""
    position = _primary_position()
    standby = connections[REPLICA]
    deadline = time.monotonic() + timeout
    while True:
        try:
            with standby.cursor() as cursor:
                cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [position])
                if cursor.fetchone()[0]:
                    return
        except Exception:  # noqa: BLE001 - the test database is not there yet: wait
            standby.close()
        if time.monotonic() > deadline:
            pytest.fail(f"The standby did not replay the primary's WAL up to {position} in {timeout} s.")
        time.sleep(0.05)


def _point_replica_at(host: str, port: str, name: str | None = None) -> dict:
    """Point the replica alias elsewhere; returns its settings to put back."""
    alias = connections[REPLICA]
    saved = dict(alias.settings_dict)
    alias.close()
    alias.settings_dict.update(HOST=host, PORT=port, NAME=name or connections[DEFAULT_DB_ALIAS].settings_dict["NAME"])
    forget_probe()
    return saved


def _put_back(saved: dict) -> None:
    alias = connections[REPLICA]
    alias.close()
    alias.settings_dict.clear()
    alias.settings_dict.update(saved)
    forget_probe()


class Standby:
    def __init__(self, url: str):
        self.url = url
        self.paused = False

    def admin(self) -> _standby_admin:
        return _standby_admin(self.url)

    def pause(self) -> None:
        """Stop replaying the primary's WAL (it is still received)."""
        with self.admin() as cursor:
            cursor.execute("SELECT pg_wal_replay_pause()")
        self.paused = True

    def resume(self) -> None:
        with self.admin() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
        self.paused = False


@pytest.fixture
def standby():
    """The replica alias on the standby, with this test's database."""
    url = settings.LEADCRM_TEST_REPLICA_URL
    error = _standby_error(url)
    if error:
        message = REPLICA_MISSING.format(where=redacted(url), error=error)
        if ci_required(os.environ):
            pytest.fail(f"CI=true requires the standby. {message}")
        pytest.skip(message)
    parts = urlsplit(url)
    saved = _point_replica_at(parts.hostname, str(parts.port or 5433))
    caught_up()
    handle = Standby(url)
    try:
        yield handle
    finally:
        if handle.paused:  # only a pause of its own: another worker's test may have paused it
            handle.resume()
        _put_back(saved)


@pytest.fixture
def dead_replica():
    saved = _point_replica_at(*CLOSED)
    yield
    _put_back(saved)


def _report(client, slug="funnel", **params):
    return client.get(reverse("reports:report", args=[slug]),
                      {"from": (TODAY - timedelta(days=30)).isoformat(), "to": TODAY.isoformat(), **params})


def _ran(captured, table: str) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if table in query["sql"]]


def _leads(n: int) -> None:
    for _ in range(n):
        LeadFactory()


# Against the standby ------------------------------------------------------------------------


@ON_BOTH
def test_a_reports_queries_run_on_the_standby_and_the_page_says_how_fresh(standby, broker, client_as):
    _leads(3)
    caught_up()
    client = client_as(broker)
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary, \
            CaptureQueriesContext(connections[REPLICA]) as on_replica:
        page = _report(client)
    assert page.status_code == 200
    leads = Lead._meta.db_table
    assert _ran(on_replica, f"FROM {leads} l"), "the funnel's own SQL ran on the replica"
    assert any("SET LOCAL jit = off" in query["sql"] for query in on_replica.captured_queries)
    assert not _ran(on_primary, f"FROM {leads} l"), "and not on the primary"
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone() == (True,)
    assert page.context["source"].alias == REPLICA
    # The three leads, counted by the standby.
    assert page.context["report"].rows[0][:2] == ["All leads", 3]
    text = page.content.decode()
    assert "Figures as of ~" in text and "from the read replica." in text


@ON_BOTH
def test_the_exports_read_from_the_standby(standby, broker, client_as):
    _leads(2)
    caught_up()
    client = client_as(broker)
    for wanted in ("csv", "xlsx"):
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            export = _report(client, format=wanted)
        assert export.status_code == 200
        assert _ran(on_replica, f"FROM {Lead._meta.db_table} l"), wanted


@ON_BOTH
def test_a_request_that_wrote_reads_from_the_primary(standby):
    def page(request):
        # Writes, then reads what it wrote: on the primary, or it would miss the row.
        LeadListFactory(name="Written in this request")
        found, source = read_on_replica(lambda: LeadList.objects.filter(name="Written in this request").exists(),
                                        request=request)
        return HttpResponse(f"{found} {source.alias}")

    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        answer = WritesPinPrimaryMiddleware(page)(RequestFactory().get("/"))
    assert answer.content == b"True default"
    assert not _ran(on_replica, LeadList._meta.db_table)


@ON_BOTH
def test_a_write_inside_the_block_sends_the_reads_after_it_to_the_primary(standby):
    with reading_from_replica() as source:
        assert source.alias == REPLICA and read_alias() == REPLICA
        LeadListFactory(name="Just now")
        assert read_alias() == DEFAULT_DB_ALIAS
        assert LeadList.objects.filter(name="Just now").exists()


@ON_BOTH
def test_the_lag_is_reported_and_a_replica_too_far_behind_is_not_read(standby, broker, client_as, settings):
    settings.LEADCRM_REPLICA_MAX_LAG_SECONDS = 1
    client = client_as(broker)
    standby.pause()
    # given a standby that stopped replaying, and a lead it has not seen
    LeadFactory()
    deadline = time.monotonic() + 30
    while (lag := replica_probe(fresh=True).lag) is None or lag <= 1.5:
        assert time.monotonic() < deadline, f"the paused standby never reported a lag over 1.5 s ({lag})"
        time.sleep(0.1)
    # when the report is asked for
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        page = _report(client)
    # then it reads from the primary, says why, and counts the lead the standby has not seen
    assert page.context["source"].alias == DEFAULT_DB_ALIAS
    assert not _ran(on_replica, f"FROM {Lead._meta.db_table} l")
    seconds = round(page.context["source"].probe.lag)
    assert seconds >= 1
    assert BEHIND.format(seconds=seconds) in page.content.decode()
    assert page.context["report"].rows[0][:2] == ["All leads", 1]
    # and once the standby catches up, the report reads from it again
    standby.resume()
    caught_up()
    forget_probe()
    settings.LEADCRM_REPLICA_MAX_LAG_SECONDS = 30  # whatever else the shared cluster replays
    page = _report(client)
    assert page.context["source"].alias == REPLICA
    assert page.context["report"].rows[0][:2] == ["All leads", 1]
    assert page.context["source"].note in page.content.decode()
    assert 'class="help report-source"' in page.content.decode()
    assert re.search(r"Figures as of ~\d+ s ago, from the read replica\.", page.content.decode())


@ON_BOTH
def test_the_lag_is_asked_once_for_pages_close_together(standby, broker, client_as):
    client = client_as(broker)
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        for slug in ("funnel", "time-in-stage", "funnel"):
            assert _report(client, slug).context["source"].alias == REPLICA
    assert len(_ran(on_replica, "pg_last_wal_replay_lsn")) == 1


@ON_BOTH
def test_a_replica_that_stops_answering_part_way_is_read_again_from_the_primary(standby):
    _leads(2)
    caught_up()

    def count_twice():
        first = Lead.objects.count()
        if connections[REPLICA].connection is not None:
            # The standby drops this session half-way (as a restart or a cancelled query would).
            with standby.admin() as cursor:
                cursor.execute("SELECT pg_terminate_backend(%s)", [connections[REPLICA].connection.get_backend_pid()])
        return first, Lead.objects.count()

    counted, source = read_on_replica(count_twice)
    assert counted == (2, 2)
    assert source.alias == DEFAULT_DB_ALIAS and source.note == FAILED_PART_WAY
    # Until it is asked again, it counts as not answering.
    with reading_from_replica() as source:
        assert source.alias == DEFAULT_DB_ALIAS and source.note == NOT_ANSWERING


# Without the standby ----------------------------------------------------------------------


@ON_BOTH
def test_a_dead_replica_falls_back_to_the_primary_and_the_page_says_so(dead_replica, broker, client_as):
    _leads(2)
    page = _report(client_as(broker))
    assert page.status_code == 200
    assert page.context["source"].alias == DEFAULT_DB_ALIAS
    assert page.context["report"].rows[0][:2] == ["All leads", 2]
    # As a warning, not the small grey line a fresh replica gets.
    assert f'<li class="warning report-source">{NOT_ANSWERING}</li>' in page.content.decode()
    # An export too: read from the primary.
    assert _report(client_as(broker), format="csv").status_code == 200


@pytest.mark.django_db
def test_without_a_replica_of_its_own_every_read_is_on_the_primary_and_nothing_is_said(broker, client_as):
    # The test settings' alias mirrors the primary on its own server: no replica.
    assert not replica.replica_configured()
    page = _report(client_as(broker))
    assert page.context["source"] == Source()
    assert "read replica" not in page.content.decode() and "Read from the primary" not in page.content.decode()


# The router's rules ------------------------------------------------------------------------


@pytest.fixture
def fresh_replica(monkeypatch):
    """A replica that is there and 2 s behind, without asking a server."""
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    monkeypatch.setattr(replica, "replica_probe", lambda: Probe(lag=2.0))


def test_reads_go_to_the_replica_only_inside_the_block_and_writes_never(fresh_replica):
    router = ReplicaRouter()
    assert router.db_for_read(Lead) == DEFAULT_DB_ALIAS
    with reading_from_replica() as source:
        assert source == Source(alias=REPLICA, probe=Probe(lag=2.0))
        assert source.note == "Figures as of ~2 s ago, from the read replica."
        assert router.db_for_read(Lead) == REPLICA
        assert router.db_for_write(Lead) == DEFAULT_DB_ALIAS
        with reading_from_replica() as inner:
            assert inner is source  # a nested block keeps the outer one's choice
    assert router.db_for_read(Lead) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(REPLICA, "leads") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "leads") is None


def test_a_replica_over_the_lag_limit_is_not_read(fresh_replica, settings):
    settings.LEADCRM_REPLICA_MAX_LAG_SECONDS = 1.5
    with reading_from_replica() as source:
        assert source.alias == DEFAULT_DB_ALIAS and read_alias() == DEFAULT_DB_ALIAS
        assert source.note == "Read from the primary: the replica is 2 s behind."


def test_only_a_get_or_head_request_may_read_from_the_replica(fresh_replica):
    requests = RequestFactory()
    for request, where in ((requests.get("/"), REPLICA), (requests.head("/"), REPLICA),
                           (requests.post("/"), DEFAULT_DB_ALIAS)):
        with reading_from_replica(request) as source:
            assert source.alias == where, request.method


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_on_the_primary_reads_stay_there(fresh_replica):
    with transaction.atomic(), reading_from_replica() as source:
        assert source.alias == DEFAULT_DB_ALIAS


@pytest.mark.django_db(transaction=True)
def test_a_statement_that_writes_pins_the_request_to_the_primary(fresh_replica):
    def page(request):
        with reading_from_replica(request) as before:
            pass
        Lead.objects.filter(pk=0).update(stage=Lead._meta.get_field("stage").default)
        with reading_from_replica(request) as after:
            pass
        return HttpResponse(f"{before.alias} {after.alias}")

    assert WritesPinPrimaryMiddleware(page)(RequestFactory().get("/")).content == b"replica default"


@pytest.mark.parametrize(("sql", "writes"), [
    ("SELECT 1", False),
    ('  /* a comment */ SELECT "leads_lead"."id" FROM "leads_lead"', False),
    ("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'", False),
    ("SAVEPOINT s1", False),
    ("WITH stays AS (SELECT 1) SELECT * FROM stays", False),
    ('SELECT "leads_lead"."id" FROM "leads_lead" FOR UPDATE', True),
    ('SELECT 1 FROM "leads_lead" FOR NO KEY UPDATE OF "leads_lead"', True),
    ('INSERT INTO "leads_leadlist" ("name") VALUES (%s)', True),
    ('update "leads_lead" SET "stage" = %s', True),
    ("DELETE FROM leads_lead", True),
    ("WITH gone AS (DELETE FROM leads_lead RETURNING id) SELECT count(*) FROM gone", True),
    ("COPY leads_lead FROM STDIN", True),
    ("CREATE TEMPORARY TABLE t (id int)", True),
    ("TRUNCATE leads_lead", True),
])
def test_what_counts_as_a_write(sql, writes):
    assert replica._writes_rows(sql) is writes


# Settings ---------------------------------------------------------------------------------


def test_no_replica_alias_unless_its_url_is_set():
    without = settings_in_subprocess("leadcrm.settings.local", "sorted(settings.DATABASES)")
    assert without.stdout.strip() == "['default']", without.stderr
    named = settings_in_subprocess(
        "leadcrm.settings.local",
        "settings.DATABASES['replica']['PORT'], settings.DATABASES['replica']['OPTIONS']['connect_timeout'], "
        "settings.DATABASES['replica']['TEST']['MIRROR'], settings.LEADCRM_REPLICA_MAX_LAG_SECONDS",
        DATABASE_URL="postgres://app@db.internal:5432/leadcrm",
        DATABASE_REPLICA_URL="postgres://app@replica.internal:5432/leadcrm",
        LEADCRM_REPLICA_MAX_LAG_SECONDS="12.5")
    assert named.stdout.strip() == "5432 2 default 12.5", named.stderr
