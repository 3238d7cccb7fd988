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


class EstimatedCountPaginator(Paginator):
    """For admin change lists: on PostgreSQL, trust the planner's estimate when it is large.

    Small results (under ``EXACT_COUNT_BELOW`` by the estimate) are counted exactly.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql":
            sql, params = queryset.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
                plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            estimate = int(plan[0]["Plan"]["Plan Rows"])
            if estimate >= EXACT_COUNT_BELOW:
                return estimate
        return super().count
