"""The broker's reports: each a table and the chart drawn from it, for a period.

Every report is a function of a ``Period`` returning a ``Report``: columns, rows (plain
values, exported as they are to CSV and XLSX), and a chart spec (Chart.js's type, labels
and datasets) drawn by the page. Reads only; grouped in the database, never one query
per row.

Speed (every report under 1 s with 1,000,000 leads and 5,000,000 outreach attempts;
``bench/run.py --only reports``). On PostgreSQL a report's queries run in one
transaction without JIT compilation (it cost up to 1.7 s a query here, more than the
query) and with more sort memory (``reading``). The outreach log and the compliance
checks are read from their rollups (``OutreachCount``, ``CheckCount``: counts per span of
the day, kept exact by triggers) whenever the period and the report's weeks start on a
span's edge, which they do in every zone a user may choose; otherwise, and on SQLite,
from the logs. The
funnel reads the leads that moved and the rest apart, time in stage picks its median and
80th percentile in the database, and the forecast works once per stage and day entered,
not per lead, from the model and back-tests a periodic task keeps (learning them walks
every stage move: about 2 s; the report does it, once, only when none are kept). DNC by
list, which counts every number against every list whatever the period (seconds with a
million leads), reads the counts a periodic task makes every ten minutes and says when
they were made.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from django.db import connections, transaction
from django.utils import timezone

from leadcrm.shared.replica import read_alias
from leads.models import FUNNEL_STAGES, Stage
from pipeline.deals.forecast.durations import percentile

DEFAULT_DAYS = 90


MAX_DAYS = 3 * 366


# The funnel's order, with the closing: how far a lead got.
REACH_ORDER = [*FUNNEL_STAGES, Stage.CLOSED]


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @classmethod
    def from_params(cls, params, today: date | None = None) -> tuple[Period, list[str]]:
        """The period asked for (``from``, ``to`` as YYYY-MM-DD), or the last 90 days; and
        what was wrong with the request, said plainly."""
        today = today or timezone.localdate()
        problems = []

        def read(name, default):
            raw = (params.get(name) or "").strip()
            if not raw:
                return default
            try:
                return date.fromisoformat(raw)
            except ValueError:
                problems.append(f"“{raw}” is not a date (YYYY-MM-DD): {name} left at {default:%Y-%m-%d}.")
                return default

        end = read("to", today)
        start = read("from", end - timedelta(days=DEFAULT_DAYS - 1))
        if start > end:
            problems.append("The period started after it ended: the two dates were swapped.")
            start, end = end, start
        if (end - start).days > MAX_DAYS:
            start = end - timedelta(days=MAX_DAYS)
            problems.append(f"Periods are at most three years: from {start:%Y-%m-%d}.")
        return cls(start, end), problems

    @property
    def since(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=timezone.get_current_timezone())

    @property
    def until(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())

    def __str__(self) -> str:
        return f"{self.start:%b %-d, %Y} to {self.end:%b %-d, %Y}"


@dataclass(frozen=True)
class Link:
    """A table cell that links somewhere: a count to the rows it counts, a name to a
    drill-down. Exported as its value."""

    value: object
    href: str

    def __str__(self) -> str:
        return f"{self.value:,}" if isinstance(self.value, int) else str(self.value)

    @property
    def text(self) -> str:
        return str(self)

    @property
    def count(self) -> int | None:
        """The number of rows its link opens, when it is a count."""
        return self.value if isinstance(self.value, int) else None


@dataclass(frozen=True)
class Money:
    """An amount in dollars, shown with its sign and cents; exported as the number."""

    value: Decimal

    def __str__(self) -> str:
        return f"${self.value:,.2f}"


def money(amount, per: int = 1) -> Money | None:
    """``amount`` (or ``amount`` / ``per``), to the cent; None when no amount or nothing to divide by."""
    if amount is None or not per:
        return None
    return Money((Decimal(amount) / per).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def plain(cell):
    """A cell as exported: a link's or an amount's value."""
    return cell.value if isinstance(cell, (Link, Money)) else cell


@dataclass
class Report:
    slug: str
    title: str
    columns: list[str]
    rows: list[list]
    chart: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # What each row is about, for a page's drill-down (agent activity: the agent's id);
    # neither shown nor exported. Empty, or one per row.
    keys: list = field(default_factory=list)
    # More tables shown under the main one (caption, note, columns, rows), not exported:
    # how a figure was worked out, or how it did.
    tables: list[dict] = field(default_factory=list)


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def days_stats(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return round(float(median(values)), 1), round(float(percentile(values, 0.8)), 1)


@contextmanager
def reading():
    """A report's queries: one transaction, on PostgreSQL without JIT and with 64 MB to sort
    and hash in (the default 4 MB sends a year of rows to disk). On the read replica when
    the page reads from it (``reading_from_replica``, docs/database.md#read-replica)."""
    alias = read_alias()
    with transaction.atomic(using=alias):
        if connections[alias].vendor == "postgresql":
            with connections[alias].cursor() as cursor:
                cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
        yield


def read_only(report):
    @functools.wraps(report)
    def run(*args, **kwargs):
        with reading():
            return report(*args, **kwargs)

    return run


def sql_rows(sql: str, params) -> list[tuple]:
    with connections[read_alias()].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def week_edges(period: Period) -> list[datetime] | None:
    """Where the period starts, where each of its weeks (Monday 00:00 in the current zone)
    starts after that, and where it ends, if the rollups' spans split exactly there; else
    None (the report then counts the log itself)."""
    zone = timezone.get_current_timezone()
    edges = [period.since]
    monday = period.start + timedelta(days=7 - period.start.weekday())
    while monday <= period.end:
        edges.append(datetime.combine(monday, time.min, tzinfo=zone))
        monday += timedelta(days=7)
    edges.append(period.until)
    return edges if on_span_edges(edges) else None


def on_span_edges(moments: list[datetime]) -> bool:
    """Every one the start of a rollup's span (00:00 UTC, or a whole hour of UTC from 04:00
    to 10:00, where midnight falls in the US zones; see pipeline.models) and a local time
    the clock showed once (not a midnight skipped or repeated by a clock change)."""
    for moment in moments:
        utc = moment.astimezone(UTC)
        if not (utc.hour == 0 or 4 <= utc.hour <= 10) or utc.minute or utc.second or utc.microsecond:
            return False
        if utc.astimezone(moment.tzinfo).replace(tzinfo=None) != moment.replace(tzinfo=None):
            return False  # not a time the clock showed
        if moment.replace(fold=1).utcoffset() != moment.utcoffset():
            return False  # a time the clock showed twice
    return True


def rollups_kept() -> bool:
    """The hourly rollups are kept (by triggers) on PostgreSQL only."""
    return vendor() == "postgresql"


def vendor() -> str:
    """The engine the report's reads go to (the replica's is the primary's)."""
    return connections[read_alias()].vendor
