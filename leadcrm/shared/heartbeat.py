"""A running job's heartbeat, kept from a thread of its own while the job works.

A job that only beats when it commits a batch goes silent during a long batch, a long
count or a slow disk, and looks dead when it is not; one that beats from a thread every
few seconds is silent only when its worker is gone (see docs/architecture.md#prompt-recovery).
The thread never waits for the job's row: a row locked by the job's own batch is skipped,
the lock being sign of life enough (``select_for_update(skip_locked=True)``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone


@contextmanager
def heartbeat(model, pk: int, *, field: str = "heartbeat_at", every: float | None = None, **still) -> Iterator[None]:
    """While the block runs, set ``field`` of row ``pk`` to now every ``every`` seconds
    (``LEADCRM_JOB_HEARTBEAT_SECONDS``), as long as it still matches ``still`` (a status,
    say: a cancelled or finished job is left alone). The thread stops, and closes its own
    database connection, when the block ends however it ends."""
    every = every if every is not None else settings.LEADCRM_JOB_HEARTBEAT_SECONDS
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(every):
                with transaction.atomic():
                    if model.objects.select_for_update(skip_locked=True).filter(pk=pk, **still).exists():
                        model.objects.filter(pk=pk).update(**{field: timezone.now()})
        finally:
            connection.close()  # this thread's connection, not the job's

    thread = threading.Thread(target=beat, name=f"heartbeat-{model._meta.label_lower}-{pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
