"""How the forecast did: the model learned from what was known 30, 60 and 90 days ago,
asked about the leads open then, against those of them that closed; and the periodic
task's work (``forecast_refresh``), the model and the back-tests from one walk."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.cache import cache
from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from leads.models import FUNNEL_STAGES, Lead, Stage
from pipeline.models import StageChange

from .history import Episodes, stage_episodes_at
from .model import MODEL_CACHE_KEY, MODEL_FRESH, ClosingModel, closing_model_from, keep_closing_model
from .months import MonthForecast
from .prior import PRIOR_LEADS

# The back-tests: the forecast as made this many days ago, for the BACK_TEST_DAYS after.
BACK_TEST_WINDOWS = (30, 60, 90)
BACK_TEST_DAYS = 30


@dataclass(frozen=True)
class BackTest:
    """What the forecast would have said on ``made_on`` of the ``days`` after, from what
    was known then, against the closings since among the leads it was about (those open
    at midnight ``made_on``: a lead created later was no part of the forecast)."""

    made_on: date
    days: int
    expected: float
    variance: float
    open_leads: int
    closed_leads: tuple[int, ...]  # the leads open then that closed in the window, by id

    @property
    def closed(self) -> int:
        return len(self.closed_leads)

    @property
    def until(self) -> date:
        """The window's last day."""
        return self.made_on + timedelta(days=self.days - 1)

    @property
    def error(self) -> float:
        return self.expected - self.closed

    @property
    def likely(self) -> tuple[int, int]:
        return MonthForecast(self.made_on, self.expected, self.variance).likely


def back_test(*, made_on: date, days: int = BACK_TEST_DAYS, prior_leads: float | None = None) -> BackTest:
    """The forecast the model learned from the moves made before ``made_on`` (midnight, the
    current zone) gives the leads open then for the ``days`` from it, and which of those
    leads closed (closing dates) in those days."""
    return back_tests_learned([made_on], days=days, prior_leads=prior_leads)[0]


def back_tests_learned(made_on: list[date], *, days: int = BACK_TEST_DAYS, prior_leads: float | None = None,
                       episodes: list[Episodes] | None = None) -> list[BackTest]:
    """``back_test`` for each day of ``made_on``, walking the stage moves once (or reading
    ``episodes``, ``stage_episodes_at`` their midnights)."""
    zone = timezone.get_current_timezone()
    moments = [datetime.combine(day, time.min, tzinfo=zone) for day in made_on]
    episodes = episodes or stage_episodes_at(moments)
    tests = []
    for day, as_of, (history, open_leads) in zip(made_on, moments, episodes, strict=True):
        model = closing_model_from(history, as_of=as_of, prior_leads=PRIOR_LEADS if prior_leads is None else prior_leads)
        expected = variance = 0.0
        for (stage, entered), count in open_leads.items():
            chance = model.closes_within(stage, (day - entered).days, days - 1)
            expected += count * chance
            variance += count * chance * (1 - chance)
        tests.append(BackTest(made_on=day, days=days, expected=expected, variance=variance,
                              open_leads=sum(open_leads.values()),
                              closed_leads=tuple(closed_among_open(as_of, day, day + timedelta(days=days)))))
    return tests


def back_tests(today: date) -> list[BackTest]:
    """The forecasts made BACK_TEST_WINDOWS days before ``today`` (the current zone), kept
    for the day."""
    tests = cache.get(_back_tests_key(today))
    if tests is None:
        tests = _learn(model_wanted=False, back_tests_for={timezone.get_current_timezone_name(): today})[1][0]
    return tests


def forecast_and_back_tests(today: date) -> tuple[ClosingModel, list[BackTest]]:
    """For the report: ``closing_model()`` and ``back_tests(today)``, what is not kept
    learned in one walk over the stage moves."""
    model = cache.get(MODEL_CACHE_KEY)
    if model is not None and timezone.now() - model.as_of > MODEL_FRESH:
        model = None
    tests = cache.get(_back_tests_key(today))
    if model is None or tests is None:
        learned, learned_tests = _learn(model_wanted=model is None, back_tests_for={} if tests is not None else {
            timezone.get_current_timezone_name(): today})
        model, tests = model or learned, tests or learned_tests[0]
    return model, tests


def forecast_refresh() -> int:
    """The periodic task's work: the closing model learned now, and the back-tests of
    today in each zone the staff (who read the reports) work in, the most common zone's
    from the same walk over the stage moves as the model; kept for the pages and the
    report. How many moves it learned from."""
    from leadcrm.accounts.models import User

    now = timezone.now()
    staff = User.objects.filter(is_active=True, is_staff=True).order_by()
    zones = [zone for zone, _n in staff.values_list("time_zone").annotate(n=Count("pk")).order_by("-n", "time_zone")]
    model, _tests = _learn(model_wanted=True, back_tests_for={
        zone: timezone.localdate(now, zoneinfo.ZoneInfo(zone)) for zone in zones}, now=now)
    return model.moves_learned_from


def _learn(*, model_wanted: bool, back_tests_for: dict[str, date], now: datetime | None = None,
           ) -> tuple[ClosingModel | None, list[list[BackTest]]]:
    """The closing model as of now (if wanted; in the first zone) and the back-tests of
    each zone's today in ``back_tests_for``, in that order, one walk over the stage moves
    a zone; each kept."""
    now = now or timezone.now()
    model, tests = None, []
    for n, zone in enumerate(back_tests_for or [timezone.get_current_timezone_name()]):
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            today = back_tests_for.get(zone)
            made_on = [today - timedelta(days=back) for back in BACK_TEST_WINDOWS] if today else []
            learns_model = model_wanted and n == 0
            zone_now = timezone.get_current_timezone()
            episodes = stage_episodes_at(([now] if learns_model else [])
                                         + [datetime.combine(day, time.min, tzinfo=zone_now) for day in made_on])
            if learns_model:
                model = keep_closing_model(closing_model_from(episodes.pop(0)[0], as_of=now, prior_leads=PRIOR_LEADS))
            if made_on:
                tests.append(back_tests_learned(made_on, episodes=episodes))
                cache.set(_back_tests_key(today), tests[-1], 24 * 3600)
    return model, tests


def _back_tests_key(today: date) -> str:
    return f"pipeline:forecast-back-tests:v2:{today.isoformat()}:{timezone.get_current_timezone_name()}"


def closed_among_open(as_of: datetime, start: date, end: date) -> list[int]:
    """The leads open at ``as_of`` (in a funnel stage, as ``stage_episodes`` counts them)
    that are closed with a closing date from ``start`` up to (not including) ``end``, by id.

    A lead closed since was in the stage its first move at or after ``as_of`` left."""
    stage_then = (StageChange.objects.filter(lead=OuterRef("pk"), changed_at__gte=as_of)
                  .order_by("changed_at", "pk").values("from_stage")[:1])
    return list(Lead.objects.filter(stage=Stage.CLOSED, closing_date__gte=start, closing_date__lt=end,
                                    created_at__lt=as_of)
                .annotate(stage_then=Subquery(stage_then)).filter(stage_then__in=FUNNEL_STAGES)
                .order_by("pk").values_list("pk", flat=True))
