"""Pagination that never counts a million rows to show fifty."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections

EXACT_COUNT_BELOW = 10_000


@dataclass
class Window:
    """One page of results and whether there are more, found by fetching one row extra."""

    object_list: list
    number: int
    per_page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.object_list) - 1 if self.object_list else 0


def window(queryset, page: str | int | None, per_page: int = 50, max_page: int = 2000) -> Window:
    try:
        number = max(1, min(int(page or 1), max_page))
    except (TypeError, ValueError):
        number = 1
    offset = (number - 1) * per_page
    rows = list(queryset[offset : offset + per_page + 1])
    return Window(
        object_list=rows[:per_page], number=number, per_page=per_page, has_next=len(rows) > per_page
    )


def planner_estimate(queryset) -> int | None:
    """How many rows PostgreSQL's planner expects the query to return (no row is read), or
    None on another database."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """For admin change lists: on PostgreSQL, trust the planner's estimate when it is large.

    Small results (under ``EXACT_COUNT_BELOW`` by the estimate) are counted exactly.
    """

    @cached_property
    def count(self) -> int:
        estimate = planner_estimate(self.object_list)
        if estimate is not None and estimate >= EXACT_COUNT_BELOW:
            return estimate
        return super().count


# A list page's total. A plain COUNT(*) reads every matching row: a million of them, on a
# big book, to print one number above fifty. So the count stops here (a LIMIT in its
# subquery: at most this many rows read, whatever the book's size) and is exact below it;
# past it the page says "more than 1,000" with the planner's estimate (EXPLAIN reads no
# row), which has the right size but is no count. The last page needs no count at all.
COUNT_CAP = 1_000


@dataclass(frozen=True)
class Total:
    """How many rows a list holds: exact up to the cap; past it, "more than the cap", with
    the planner's estimate (PostgreSQL) to two significant figures when it is larger still."""

    count: int
    capped: bool = False
    estimate: int | None = None


def two_figures(number: int) -> int:
    """48,213 reads 48,000: an estimate is no closer than that."""
    step = 10 ** max(len(str(number)) - 2, 0)
    return round(number / step) * step


def capped_total(queryset, cap: int | None = None) -> Total:
    """Count ``queryset`` no further than ``cap`` rows (``SELECT COUNT(*)`` over a
    ``LIMIT cap + 1`` subquery), whatever its size."""
    cap = cap or COUNT_CAP
    rows = queryset.order_by().values("pk")
    counted = rows[: cap + 1].count()
    if counted <= cap:
        return Total(counted)
    estimate = planner_estimate(rows)
    estimate = two_figures(estimate) if estimate is not None else None
    return Total(cap, capped=True, estimate=estimate if estimate is not None and estimate > cap else None)


def total_of(queryset, page: Window, cap: int | None = None) -> Total:
    """How many rows ``page``'s whole list holds. A page with rows and none after it knows
    without a query; otherwise ``capped_total``."""
    if page.object_list and not page.has_next:
        return Total((page.number - 1) * page.per_page + len(page.object_list))
    if not page.object_list and page.number == 1:
        return Total(0)
    return capped_total(queryset, cap)
