"""Liveness and readiness, for the load balancer and the operator (docs/operations.md#health-checks).

``/healthz`` (also ``/healthz/live``) says the process answers and asks nothing else: a
restart is the cure for a process that does not answer, never for a database that is
down. ``/healthz/ready`` asks each part the app uses and names it in its JSON::

    {"status": "ok", "checks": {"database": {"ok": true, "ms": 3, "required": true}, ...}}

and answers 503 when a *required* check fails (``LEADCRM_READINESS_REQUIRED``, the
database alone by default). The others are reported, not required: with Redis down the
pages still work, and a dead broker, worker or beat delays background work; taking every
web process out of the load balancer for them would turn a degraded app into no app.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .queue import BROKER_CHECK_SECONDS, broker_check
from .schedules import PREFIX

logger = logging.getLogger(__name__)

# The heartbeat is sent every minute; beat writes its tasks' last runs every three.
WORKER_STALE_AFTER = timedelta(minutes=3)
BEAT_STALE_AFTER = timedelta(minutes=5)


class CheckFailed(Exception):
    pass


def check_database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {}


def check_cache() -> dict:
    ping = getattr(cache, "ping", None)
    if ping is not None:  # the fail-safe Redis cache: ask Redis itself, not its fallback
        ping()
        return {"backend": "redis"}
    cache.set("healthz:ready", 1, 10)
    if cache.get("healthz:ready") != 1:
        raise CheckFailed("the cache kept nothing")
    return {"backend": "local"}


def check_broker() -> dict:
    broker_check(timeout=BROKER_CHECK_SECONDS)
    return {"transport": settings.CELERY_BROKER_URL.split(":", 1)[0]}


def _age(at, now) -> dict:
    return {"last_seen": at.isoformat(), "age_s": int((now - at).total_seconds())}


def check_worker() -> dict:
    from leadcrm.models import Heartbeat

    beat = Heartbeat.objects.filter(name="worker").first()
    if beat is None:
        raise CheckFailed("no worker has reported yet")
    now = timezone.now()
    if now - beat.at > WORKER_STALE_AFTER:
        raise CheckFailed(f"no worker has reported for {int((now - beat.at).total_seconds())} s", _age(beat.at, now))
    return _age(beat.at, now)


def worker_seen_lately() -> bool:
    """Whether a worker's heartbeat is recent enough for the readiness check: pages waiting
    on background work say so when it is not, instead of waiting in silence."""
    from leadcrm.models import Heartbeat

    return Heartbeat.objects.filter(name="worker", at__gte=timezone.now() - WORKER_STALE_AFTER).exists()


def check_beat() -> dict:
    from django.db.models import Max
    from django_celery_beat.models import PeriodicTask

    last = PeriodicTask.objects.filter(name__startswith=PREFIX, enabled=True).aggregate(
        last=Max("last_run_at"))["last"]
    if last is None:
        raise CheckFailed("beat has not run a schedule yet (python manage.py install_schedules, then start beat)")
    now = timezone.now()
    if now - last > BEAT_STALE_AFTER:
        raise CheckFailed(f"beat last ran a schedule {int((now - last).total_seconds())} s ago", _age(last, now))
    return _age(last, now)


# The evidence tables' months made ahead (docs/database.md#partitions): the migration makes
# a year of them, the nightly task keeps them ahead, but only when it runs as the tables'
# owner. Under this many, or with rows waiting in the DEFAULT partition, the check fails.
PARTITION_MONTHS_AHEAD_MIN = 2


def check_partitions() -> dict:
    from .partitions import TABLES, add_months, month_start, partitions

    if connection.vendor != "postgresql":
        return {"partitioned": False}
    this_month = month_start(timezone.now())
    ahead, problems = {}, []
    for spec in TABLES.values():
        present = partitions(spec)
        if not present:
            continue
        starts = {partition.start for partition in present if partition.start}
        # The months after this one, in a row (a row of this month without its partition
        # lands in the DEFAULT one, reported below).
        months = 0
        while add_months(this_month, months + 1) in starts:
            months += 1
        ahead[spec.table] = months
        if months < PARTITION_MONTHS_AHEAD_MIN:
            problems.append(f"{spec.table} has {months} month(s) made ahead, fewer than {PARTITION_MONTHS_AHEAD_MIN}: "
                            "run evidence_partitions as the tables' owner")
        for partition in present:
            if partition.start is None:
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {partition.name})")
                    if cursor.fetchone()[0]:
                        problems.append(f"{partition.name} holds rows no month partition took")
    if problems:
        raise CheckFailed("; ".join(problems), {"months_ahead": ahead})
    return {"months_ahead": ahead}


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "worker": check_worker,
    "beat": check_beat,
    "partitions": check_partitions,
}


# The page asks nobody's name and may be called by anyone: one process answers every call
# within this many seconds from its last answer, so a flood of probes while the broker hangs
# costs one broker timeout per window, not one per call.
ANSWER_KEPT_SECONDS = 5
_answer_lock = threading.Lock()
_answer: tuple[float, tuple[bool, dict]] | None = None


def readiness() -> tuple[bool, dict]:
    """Every check's result, as answered within the last ``ANSWER_KEPT_SECONDS``. While one
    thread asks the parts, the others get the last answer rather than queue behind a
    broker timeout (a probe with a 1 s timeout would fail for waiting)."""
    global _answer
    kept = _answer
    if kept is not None and time.monotonic() - kept[0] < ANSWER_KEPT_SECONDS:
        return kept[1]
    if not _answer_lock.acquire(blocking=kept is None):
        return kept[1]
    try:
        kept = _answer
        if kept is not None and time.monotonic() - kept[0] < ANSWER_KEPT_SECONDS:
            return kept[1]
        answer = _readiness_now()
        _answer = (time.monotonic(), answer)
        return answer
    finally:
        _answer_lock.release()


def _readiness_now() -> tuple[bool, dict]:
    required = set(settings.LEADCRM_READINESS_REQUIRED)
    results = {}
    for name, check in CHECKS.items():
        started = time.monotonic()
        try:
            result = {"ok": True, **check()}
        except CheckFailed as failed:
            result = {"ok": False, "detail": failed.args[0], **(failed.args[1] if len(failed.args) > 1 else {})}
        except Exception as error:  # noqa: BLE001 - a part that does not answer, whatever it raises
            # The reason in the log; the answer names only its kind (no addresses to the world).
            logger.warning("Readiness: %s failed: %s", name, error)
            result = {"ok": False, "detail": f"not answering ({error.__class__.__name__})"}
        result["ms"] = int((time.monotonic() - started) * 1000)
        result["required"] = name in required
        results[name] = result
    ready = all(result["ok"] for result in results.values() if result["required"])
    return ready, results


@never_cache
@require_GET
def live(request):
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_GET
def ready(request):
    is_ready, checks = readiness()
    failing = sorted(name for name, result in checks.items() if not result["ok"])
    return JsonResponse({"status": "ok" if is_ready else "fail", "failing": failing, "checks": checks},
                        status=200 if is_ready else 503)
