"""Holiday calendars for any year: a state's legal holidays (E3) and the business holidays of
California's equity purchase cancellation (F7), computed by rule with the ``holidays``
package, so they never run out. See docs/compliance-rules.md#e3.

What the brokerage's counsel adds or takes away stays data (``StateHoliday`` rows, each with
its own effective dates, read by ``compliance.rulebook``). A year the package has no
calendar for is no calendar at all: the callers fail closed (the gate refuses a state's
solicitation calls that day; the cancellation deadline is refused, never guessed).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays as holiday_rules

COUNTRY = "US"
OBSERVED = " (observed)"
# Cal. Civ. Code 1695.1 counts every day as a business day but Sundays and these holidays
# (Saturdays count): the names as the package spells them.
CA_CANCELLATION_HOLIDAYS = frozenset({
    "New Year's Day", "Washington's Birthday", "Memorial Day", "Independence Day", "Labor Day", "Columbus Day",
    "Veterans Day", "Thanksgiving Day", "Christmas Day",
})


class NoCalendar(LookupError):
    """No holiday calendar for that state and year: the caller must fail closed."""

    def __init__(self, state: str, year: int):
        super().__init__(f"There is no {state} holiday calendar for {year}.")
        self.state, self.year = state, year


def _covered(year: int) -> bool:
    return holiday_rules.US.start_year <= year <= holiday_rules.US.end_year


@lru_cache(maxsize=512)
def state_holidays(state: str, year: int) -> dict[date, str]:
    """The state's legal holidays in ``year`` (federal ones included), each on the day it is
    observed (a Saturday's on the Friday before, a Sunday's on the Monday after, as Ala. Code
    1-3-8 has it). Raises ``NoCalendar`` for a state or a year the package does not cover."""
    if not _covered(year):
        raise NoCalendar(state, year)
    try:
        # The years either side too: New Year's Day on a Saturday is kept on the Friday before.
        calendar = holiday_rules.country_holidays(COUNTRY, subdiv=state, years=range(year - 1, year + 2),
                                                  observed=True)
    except NotImplementedError:
        raise NoCalendar(state, year) from None
    days = _as_observed(calendar)
    days = {day: name for day, name in days.items() if day.year == year}
    if not days:
        raise NoCalendar(state, year)
    return days


def _as_observed(calendar) -> dict[date, str]:
    """Each holiday on the day it is observed only: one falling on a weekend is moved (the
    package adds "X (observed)" on the weekday and keeps "X" on the weekend day), so the
    weekend day itself is no holiday (Ala. Code 1-3-8: a Saturday's is kept on the Friday)."""
    days: dict[date, list[str]] = {}
    for day, names in calendar.items():
        days[day] = [name.strip() for name in names.split(";")]
    moved: dict[str, list[date]] = {}
    for day, names in days.items():
        for name in names:
            if name.endswith(OBSERVED):
                moved.setdefault(name.removesuffix(OBSERVED), []).append(day)
    kept = {}
    for day, names in days.items():
        left = [name for name in names
                if not any(abs((other - day).days) <= 3 for other in moved.get(name, ()))]
        if left:
            kept[day] = "; ".join(left)
    return kept


@lru_cache(maxsize=64)
def ca_cancellation_holidays(year: int) -> dict[date, str]:
    """The holidays Civ. Code 1695.1 names, in ``year``: the days they fall on and the days
    they are observed (an observed Monday does not count either: the seller's right lasts
    the longer). Raises ``NoCalendar`` for a year the package does not cover."""
    if not _covered(year):
        raise NoCalendar("CA", year)
    calendar = holiday_rules.country_holidays(COUNTRY, years=year, observed=True)
    days = {day: name for day, name in calendar.items()
            if day.year == year and name.removesuffix(OBSERVED) in CA_CANCELLATION_HOLIDAYS}
    if not days:
        raise NoCalendar("CA", year)
    return days
