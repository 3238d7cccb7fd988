"""A lock that outlives a transaction: for work made of several durable transactions (each
outreach attempt is logged in its own) that two requests must not do at once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def session_lock(key: str) -> Iterator[None]:
    """Hold a PostgreSQL advisory lock on ``key`` for the block: a second holder of the same
    key waits, then reads what the first wrote. A row lock is released at the first commit,
    so it cannot span several durable transactions; a session's advisory lock can, and is
    let go in ``finally`` (or with the connection, if the process dies). SQLite writes one
    transaction at a time and takes no lock."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])
