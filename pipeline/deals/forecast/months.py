"""Closings per month: the open leads' chances of closing added up month by month (the
closings report's forecast)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from leads.models import Stage

from .model import ClosingModel


@dataclass(frozen=True)
class MonthForecast:
    month: date  # its first day
    expected: float
    variance: float

    @property
    def likely(self) -> tuple[int, int]:
        """About 80 % of outcomes: the expected count give or take 1.28 standard deviations
        (each lead closes or not, on its own), in whole closings."""
        spread = 1.2816 * self.variance ** 0.5
        return max(int(self.expected - spread + 0.5), 0), int(self.expected + spread + 0.5)


def month_of(day: date) -> date:
    """The first day of ``day``'s month: how the forecast and the reports name a month."""
    return day.replace(day=1)


def closings_by_month(*, model: ClosingModel, open_leads: dict[tuple[Stage, date], int], today: date,
                      months: int = 12) -> tuple[dict[date, MonthForecast], float]:
    """The closings ``open_leads`` (by stage and day entered) are expected to bring in each
    of ``months`` months from ``today`` (the first from today on), the sum of their
    chances and its variance; and the closings expected later than that."""
    edges = [today]
    month = month_of(today)
    for _ in range(months):
        month = month_of(month + timedelta(days=32))
        edges.append(month)
    expected: dict[date, float] = defaultdict(float)
    variance: dict[date, float] = defaultdict(float)
    later = 0.0
    for (stage, entered), count in open_leads.items():
        days_in = (today - entered).days
        by = [model.closes_within(stage, days_in, (edge - today).days - 1) for edge in edges[1:]]
        previous = 0.0
        for start, within in zip(edges[:-1], by, strict=True):
            chance = within - previous
            expected[month_of(start)] += count * chance
            variance[month_of(start)] += count * chance * (1 - chance)
            previous = within
        later += count * (model.chance(stage, days_in) - previous)
    return {month: MonthForecast(month, expected[month], variance[month]) for month in sorted(expected)}, later
