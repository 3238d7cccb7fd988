"""A running job's heartbeat, kept from a thread of its own while the job works.

A job that only beats when it commits a batch goes silent during a long batch, a long
count or a slow disk, and looks dead when it is not; one that beats from a thread every
few seconds is silent only when its worker is gone (see docs/architecture.md#prompt-recovery).
The thread never waits for the job's row: a row locked by the job's own batch is skipped,
the lock being sign of life enough (``select_for_update(skip_locked=True)``).

A beat that fails (the database restarting, or SQLite's "database is locked" while the
job's own batch holds the write lock) is logged and the thread beats again next time: a
thread that died on the first error would leave a live job looking stalled a minute
later, and queued a second time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

LOG_EVERY = 60.0  # seconds between two log lines about failing beats of one job


def beat_once(model, pk: int, *, field: str = "heartbeat_at", **still) -> None:
    """Set ``field`` of row ``pk`` to now, if it still matches ``still`` and nobody holds it."""
    with transaction.atomic():
        if model.objects.select_for_update(skip_locked=True).filter(pk=pk, **still).exists():
            model.objects.filter(pk=pk).update(**{field: timezone.now()})


@contextmanager
def heartbeat(model, pk: int, *, field: str = "heartbeat_at", every: float | None = None, **still) -> Iterator[None]:
    """While the block runs, set ``field`` of row ``pk`` to now every ``every`` seconds
    (``LEADCRM_JOB_HEARTBEAT_SECONDS``), as long as it still matches ``still`` (a status,
    say: a cancelled or finished job is left alone). A failed beat is logged (once a
    minute at most) and tried again at the next; the thread stops, and closes its own
    database connection, when the block ends however it ends."""
    every = every if every is not None else settings.LEADCRM_JOB_HEARTBEAT_SECONDS
    stop = threading.Event()
    label = f"{model._meta.label_lower}-{pk}"

    def beat() -> None:
        logged_at, missed = None, 0
        try:
            while not stop.wait(every):
                try:
                    beat_once(model, pk, field=field, **still)
                except Exception:  # noqa: BLE001 - a lost beat must not end the thread
                    missed += 1
                    if logged_at is None or time.monotonic() - logged_at >= LOG_EVERY:
                        logger.warning("Heartbeat of %s failed (%d missed so far); trying again", label, missed,
                                       exc_info=True)
                        logged_at = time.monotonic()
                    connection.close()  # a broken connection is not reused; the next beat opens one
        finally:
            connection.close()  # this thread's connection, not the job's

    thread = threading.Thread(target=beat, name=f"heartbeat-{label}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
