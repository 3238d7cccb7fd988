"""Reads from a streaming read replica, only where a page asks for it (docs/database.md#read-replica).

``DATABASE_REPLICA_URL`` adds the ``replica`` alias (leadcrm/settings/base.py). Without it,
or with one on the primary's own server (the tests' mirror), nothing changes: every query
goes to ``default``.

A page opts in: ``reading_from_replica()`` (or ``read_on_replica(function)``, which also
runs the function again on the primary when the replica fails part-way). Inside it
``ReplicaRouter`` sends the ORM's reads to the replica and ``read_alias()`` names it for raw
SQL; everywhere else reads and every write go to the primary. The replica is used only when

- the request is a GET or HEAD, no transaction is open on the primary, and nothing has
  written to the primary in this request (``WritesPinPrimaryMiddleware`` watches every
  statement; a write inside the block sends the reads after it back to the primary), and
- the replica answers (a short ``connect_timeout``) and is at most
  ``LEADCRM_REPLICA_MAX_LAG_SECONDS`` behind. It is asked at most every
  ``LEADCRM_REPLICA_PROBE_SECONDS`` per process.

``Source.note`` says on the page where the figures came from and how fresh they are.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"

FROM_REPLICA = "Figures as of ~{seconds} s ago, from the read replica."
BEHIND = "Read from the primary: the replica is {seconds} s behind."
BEHIND_UNKNOWN = "Read from the primary: the replica cannot say how far behind it is."
NOT_ANSWERING = "Read from the primary: the replica is not answering."
FAILED_PART_WAY = "Read from the primary: the replica stopped answering part-way through."

T = TypeVar("T")


@dataclass(frozen=True)
class Probe:
    """What the replica said when asked: how far behind it is, or that it did not answer."""

    lag: float | None = None  # seconds; None when it did not answer or cannot say
    answered: bool = True


@dataclass(frozen=True)
class Source:
    """Where a page's reads went, and why: what the page says about it (``note``)."""

    alias: str = DEFAULT_DB_ALIAS
    probe: Probe | None = None  # None: the replica was not asked (none, or not allowed here)
    failed: bool = False  # the replica failed part-way and the reads were done again here

    @property
    def on_replica(self) -> bool:
        return self.alias != DEFAULT_DB_ALIAS

    @property
    def fell_back(self) -> bool:
        """The replica was meant to answer but the primary did: the page says so loudly."""
        return self.failed or (self.probe is not None and not self.on_replica)

    @property
    def note(self) -> str:
        if self.failed:
            return FAILED_PART_WAY
        if self.probe is None:
            return ""
        if not self.probe.answered:
            return NOT_ANSWERING
        if self.probe.lag is None:
            return BEHIND_UNKNOWN
        seconds = round(self.probe.lag)
        return FROM_REPLICA.format(seconds=seconds) if self.on_replica else BEHIND.format(seconds=seconds)


# Configuration ---------------------------------------------------------------------------


def replica_configured() -> bool:
    """A replica alias on a server of its own. The tests' alias mirrors the primary on its
    own server until a test points it at the standby (tests/leadcrm/test_replica.py)."""
    if REPLICA not in settings.DATABASES:
        return False
    primary, replica = connections[DEFAULT_DB_ALIAS].settings_dict, connections[REPLICA].settings_dict
    return (replica.get("HOST"), replica.get("PORT")) != (primary.get("HOST"), primary.get("PORT"))


# Where reads go now ----------------------------------------------------------------------


class _Writes:
    """Whether anything wrote to the primary in this request (or this reading block)."""

    def __init__(self) -> None:
        self.wrote = False

    def __call__(self, execute, sql, params, many, context):
        if not self.wrote and (many or _writes_rows(sql)):
            self.wrote = True
        return execute(sql, params, many, context)


_READS = {"SELECT", "SHOW", "SET", "RESET", "SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "EXPLAIN",
          "VALUES", "FETCH", "DECLARE", "CLOSE", "PRAGMA"}
_FIRST_WORD = re.compile(r"\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*(\w+)", re.DOTALL)
_LOCKS = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b", re.IGNORECASE)
_CHANGES = re.compile(r"\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def _writes_rows(sql: str) -> bool:
    """Whether a statement may change rows, or locks them to (``SELECT ... FOR UPDATE``).
    A statement that is not plainly a read counts as a write."""
    match = _FIRST_WORD.match(sql)
    word = match.group(1).upper() if match else ""
    if word == "WITH":
        return bool(_CHANGES.search(sql))
    if word == "SELECT":
        return bool(_LOCKS.search(sql))
    return word not in _READS


_request_writes: ContextVar[_Writes | None] = ContextVar("leadcrm_replica_writes", default=None)
_source: ContextVar[Source | None] = ContextVar("leadcrm_replica_source", default=None)


def read_alias() -> str:
    """The alias a read goes to now: the replica inside ``reading_from_replica`` (until
    something writes to the primary), else the primary. Raw SQL reads take their cursor
    from ``connections[read_alias()]``."""
    source = _source.get()
    if source is None or not source.on_replica:
        return DEFAULT_DB_ALIAS
    writes = _request_writes.get()
    if writes is not None and writes.wrote:
        return DEFAULT_DB_ALIAS
    return source.alias


class ReplicaRouter:
    """DATABASE_ROUTERS: reads to ``read_alias()``, writes and migrations to the primary.

    Outside a reading block every read names the primary, even of a row read from the
    replica (Django would otherwise follow the row back to where it came from)."""

    def db_for_read(self, model, **hints):
        return read_alias() if REPLICA in settings.DATABASES else None

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS if REPLICA in settings.DATABASES else None

    def allow_relation(self, obj1, obj2, **hints):
        # The same rows on either side.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None


class WritesPinPrimaryMiddleware:
    """Watches every statement sent to the primary in a request: once one writes, the
    request's reads stay on the primary (a read never misses the request's own write).
    First in MIDDLEWARE, so it sees the writes of every middleware after it. Not used
    without a replica alias."""

    def __init__(self, get_response):
        if REPLICA not in settings.DATABASES:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        writes = _Writes()
        token = _request_writes.set(writes)
        try:
            with connections[DEFAULT_DB_ALIAS].execute_wrapper(writes):
                return self.get_response(request)
        finally:
            _request_writes.reset(token)


# The lag guard ---------------------------------------------------------------------------

_probes: dict[str, tuple[float, Probe]] = {}
_probes_lock = threading.Lock()

# How far the replica's replay is behind the primary's WAL (read first, on the primary): none
# once it has replayed all of it, else the time since the last transaction it replayed was
# committed (an upper bound: the first one it has not replayed came later). Not a standby
# (pg_is_in_recovery false): it is the data's own home, never behind.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN %(primary)s::pg_lsn IS NOT NULL AND pg_last_wal_replay_lsn() >= %(primary)s::pg_lsn THEN 0
    WHEN %(primary)s::pg_lsn IS NULL AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE GREATEST(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END
"""


def replica_probe(*, fresh: bool = False) -> Probe:
    """How far behind the replica is, asked at most every LEADCRM_REPLICA_PROBE_SECONDS
    per process (a page's reports and exports do not each pay for it)."""
    now = time.monotonic()
    with _probes_lock:
        kept = _probes.get(REPLICA)
    if kept and not fresh and now - kept[0] < settings.LEADCRM_REPLICA_PROBE_SECONDS:
        return kept[1]
    probe = _ask_replica()
    with _probes_lock:
        _probes[REPLICA] = (time.monotonic(), probe)
    return probe


def forget_probe(probe: Probe | None = None) -> None:
    """Drop the kept answer, or keep ``probe`` instead (a replica found failing)."""
    with _probes_lock:
        if probe is None:
            _probes.pop(REPLICA, None)
        else:
            _probes[REPLICA] = (time.monotonic(), probe)


def _primary_wal_position() -> str | None:
    primary = connections[DEFAULT_DB_ALIAS]
    if primary.vendor != "postgresql":
        return None
    try:
        with primary.cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            return cursor.fetchone()[0]
    except DatabaseError:
        return None  # the primary is itself in recovery: compare the replica with what it received


def _ask_replica() -> Probe:
    position = _primary_wal_position()
    replica = connections[REPLICA]
    try:
        with replica.cursor() as cursor:
            cursor.execute(LAG_SQL, {"primary": position})
            lag = cursor.fetchone()[0]
    except DatabaseError as error:
        logger.warning("The read replica did not answer (%s): reading from the primary.", error)
        _close(replica)
        return Probe(lag=None, answered=False)
    return Probe(lag=None if lag is None else float(lag))


def _close(connection) -> None:
    try:
        connection.close()
    except DatabaseError:
        pass


# Opting in ------------------------------------------------------------------------------


def _choose(request) -> Source:
    if not replica_configured():
        return Source()
    if request is not None and request.method not in ("GET", "HEAD"):
        return Source()
    writes = _request_writes.get()
    if (writes is not None and writes.wrote) or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return Source()  # it may have written: its reads must see that
    probe = replica_probe()
    if probe.answered and probe.lag is not None and probe.lag <= settings.LEADCRM_REPLICA_MAX_LAG_SECONDS:
        return Source(alias=REPLICA, probe=probe)
    return Source(probe=probe)


@contextmanager
def reading_from_replica(request=None) -> Iterator[Source]:
    """Reads inside go to the replica when it may be used (see the module's docstring);
    yields the ``Source`` the page shows. Nested blocks keep the outer one's choice."""
    outer = _source.get()
    if outer is not None:
        yield outer
        return
    with ExitStack() as stack:
        if _request_writes.get() is None:
            # Outside a request (a task, a command): watch the primary for this block alone.
            writes = _Writes()
            token = _request_writes.set(writes)
            stack.callback(_request_writes.reset, token)
            stack.enter_context(connections[DEFAULT_DB_ALIAS].execute_wrapper(writes))
        source = _choose(request)
        token = _source.set(source)
        stack.callback(_source.reset, token)
        yield source


@contextmanager
def _reading_from_primary(source: Source) -> Iterator[Source]:
    token = _source.set(source)
    try:
        yield source
    finally:
        _source.reset(token)


class _Failures:
    def __init__(self) -> None:
        self.failed = False

    def __call__(self, execute, sql, params, many, context):
        try:
            return execute(sql, params, many, context)
        except DatabaseError:
            self.failed = True
            raise


def read_on_replica(function: Callable[..., T], *args, request=None, **kwargs) -> tuple[T, Source]:
    """``function(*args, **kwargs)`` read as ``reading_from_replica`` says, and where it was
    read. When the replica fails part-way (it stopped, or replay cancelled a query), it is
    taken as not answering until it is asked again and the function runs again on the
    primary: only for functions that only read."""
    with reading_from_replica(request) as source:
        if not source.on_replica:
            return function(*args, **kwargs), source
        failures = _Failures()
        try:
            with connections[REPLICA].execute_wrapper(failures):
                return function(*args, **kwargs), source
        except DatabaseError as error:
            replica = connections[REPLICA]
            if not failures.failed and replica.connection is not None and replica.is_usable():
                raise  # the primary's error, not the replica's
            logger.warning("The read replica failed part-way (%s): reading again from the primary.", error)
            _close(replica)
            forget_probe(Probe(lag=None, answered=False))
    with _reading_from_primary(Source(failed=True)) as source:
        return function(*args, **kwargs), source
