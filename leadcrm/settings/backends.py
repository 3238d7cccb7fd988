"""Which database and broker the test suite runs on.

``make test`` uses PostgreSQL and Redis (``DATABASE_URL`` / ``REDIS_URL``, both on
127.0.0.1 by default). With ``CI=true`` they are required and an unreachable one stops
the run at once. Elsewhere the suite falls back to SQLite and the filesystem broker
and says so in the first line it prints.

Under pytest-xdist (``make test`` runs the suite on several workers) each worker has a test
database of its own (pytest-django adds the worker id to its name) and a Redis db of its
own, counted down from the one ``REDIS_URL`` names: worker ``gw0`` keeps it, ``gw1`` takes
the one below, and so on. An explicit ``CELERY_BROKER_URL`` is taken as it is: that is how
the worker processes a test starts are pointed at that test's own broker.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

DEFAULT_TEST_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/leadcrm"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
FALLBACK_DATABASE_URL = "sqlite:///:memory:"
FALLBACK_BROKER_URL = "filesystem://localhost//"
# The read replica's tests (tests/leadcrm/test_replica.py) read from a hot standby of the
# test cluster (.ci/replica); with CI=true they fail without it, elsewhere they skip.
DEFAULT_TEST_REPLICA_URL = "postgres://postgres@127.0.0.1:5433/"
REPLICA_MISSING = (
    "No hot standby of the test cluster at {where} ({error}): make one with `sudo .ci/replica` "
    "(LEADCRM_TEST_REPLICA_URL names another).")

CI_UNREACHABLE = (
    "CI=true requires {what} at {where}, but it cannot be reached ({error}). "
    "Start it (see .ci/run) or unset CI to fall back to SQLite and the filesystem broker."
)


WORKER_REDIS_DB_EXHAUSTED = (
    "pytest-xdist worker {worker} would need Redis db {db} below REDIS_URL's db {base}: "
    "name a higher db in REDIS_URL or run fewer workers."
)


class BackendUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class TestBackends:
    database_url: str
    broker_url: str
    result_backend: str | None
    banner: str

    @property
    def on_real_services(self) -> bool:
        return not self.database_url.startswith("sqlite") and not self.broker_url.startswith(
            "filesystem"
        )


def reachable(url: str, default_port: int, timeout: float = 1.5) -> str | None:
    """Return None if a TCP connection to the URL's host opens, else the error text."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{exc.__class__.__name__}: {exc}"


def redacted(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def worker_redis_url(redis_url: str, worker: str | None) -> str:
    """The Redis URL of one pytest-xdist worker (``gw0``, ``gw1``, ...): its own db, so that
    no worker's Celery worker takes another's tasks and no purge empties another's queue."""
    if not worker or not worker.startswith("gw"):
        return redis_url
    parts = urlsplit(redis_url)
    base = int(parts.path.strip("/") or 0)
    db = base - int(worker.removeprefix("gw"))
    if db < 0:
        raise ValueError(WORKER_REDIS_DB_EXHAUSTED.format(worker=worker, db=db, base=base))
    return parts._replace(path=f"/{db}").geturl()


def ci_required(environ) -> bool:
    """CI=true: every service the tests name must be there (no fallback, no skip)."""
    return environ.get("CI", "").lower() in {"1", "true", "yes"}


def choose(environ: dict[str, str]) -> TestBackends:
    """Each service on its own: a reachable PostgreSQL is used even when Redis is down."""
    ci = ci_required(environ)
    database_url = environ.get("DATABASE_URL", DEFAULT_TEST_DATABASE_URL)
    redis_url = worker_redis_url(environ.get("REDIS_URL", DEFAULT_TEST_REDIS_URL),
                                 environ.get("PYTEST_XDIST_WORKER"))
    broker_url = environ.get("CELERY_BROKER_URL", redis_url)

    fallbacks = []
    if not database_url.startswith("sqlite"):
        error = reachable(database_url, 5432)
        if error and ci:
            raise BackendUnavailable(CI_UNREACHABLE.format(what="PostgreSQL", where=redacted(database_url), error=error))
        if error:
            fallbacks.append(f"PostgreSQL at {redacted(database_url)} not reachable: using SQLite in memory")
            database_url = FALLBACK_DATABASE_URL
    if broker_url.startswith("redis"):
        error = reachable(broker_url, 6379)
        if error and ci:
            raise BackendUnavailable(CI_UNREACHABLE.format(what="Redis", where=redacted(broker_url), error=error))
        if error:
            fallbacks.append(f"Redis at {redacted(broker_url)} not reachable: using the filesystem broker")
            broker_url = FALLBACK_BROKER_URL

    db_name = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    broker_name = "Redis" if broker_url.startswith("redis") else broker_url.split(":", 1)[0]
    db_where = "(in memory)" if database_url == FALLBACK_DATABASE_URL else f"at {redacted(database_url)}"
    broker_where = f"at {redacted(broker_url)}" if broker_url.startswith("redis") else "broker"
    banner = f"Test backends: {db_name} {db_where} and {broker_name} {broker_where}"
    banner += " (CI: required)." if ci else "."
    if fallbacks:
        banner += " Fell back: " + "; ".join(fallbacks) + "."
    return TestBackends(
        database_url=database_url,
        broker_url=broker_url,
        result_backend=broker_url if broker_url.startswith("redis") else None,
        banner=banner,
    )
