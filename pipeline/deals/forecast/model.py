"""The closing model: each funnel stage's history, the starting assumption added, worked
out into the chance a lead closes within so many days; learned from the stage moves and
kept for the pages (``closing_model``, ``kept_closing_model``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import repeat
from operator import add, mul

from django.core.cache import cache
from django.utils import timezone

from leads.models import FUNNEL_STAGES, Lead, Stage
from pipeline.models import StageChange

from .history import NEGLIGIBLE, StageHistory, stage_episodes
from .prior import PRIOR_LEADS, add_to_day

logger = logging.getLogger(__name__)

# Days ahead a closing is forecast; beyond, the chance is dropped.
FORECAST_HORIZON_DAYS = 3 * 366
# Learning the model walks every stage move of the last LEARN_DAYS and every open lead
# (seconds with a million leads: bench/README.md). So it is learned by the periodic task
# (``forecast_refresh``, every quarter hour) or by the report, and kept; a page about one
# lead reads the kept model and learns one itself only while the brokerage is small
# (LEARN_ON_PAGE_ROWS stage moves and open leads), else asks the worker for a new one.
MODEL_CACHE_KEY = "pipeline:closing-model:v2"
MODEL_FRESH = timedelta(hours=1)  # older than this, the next page or report asks for a new one
MODEL_KEEP_SECONDS = 2 * 24 * 3600  # an older model is not shown at all
LEARN_ON_PAGE_ROWS = 50_000
REFRESH_ASKED_KEY = "pipeline:closing-model:refresh-asked"
REFRESH_ASK_SECONDS = 300  # a page asks the worker at most this often


def _next_stage(stage: Stage) -> Stage:
    index = FUNNEL_STAGES.index(stage)
    return FUNNEL_STAGES[index + 1] if index + 1 < len(FUNNEL_STAGES) else Stage.CLOSED


def _convolve(first: dict[int, float], second: dict[int, float]) -> dict[int, float]:
    """The days of two waits one after the other, and their chances."""
    total: dict[int, float] = {}
    for a, chance_a in first.items():
        for b, chance_b in second.items():
            if a + b <= FORECAST_HORIZON_DAYS:
                add_to_day(total, a + b, chance_a * chance_b)
    return {day: chance for day, chance in total.items() if chance > NEGLIGIBLE}


@dataclass
class ClosingModel:
    """Each funnel stage's history (the starting assumption included) as of one moment."""

    as_of: datetime
    histories: dict[Stage, StageHistory]
    # The brokerage's own, without the assumption: what the pages say the chances come from.
    own: dict[Stage, StageHistory]
    # Worked out once (``_prepare``), so that a lead's chance within some days costs one
    # product of two lists, summed: per stage, by day in it, the chance a lead entering
    # it moves on that day (``_moves_on``) and has not left it before (``_stays``); and
    # the chance of closing within each number of days (0 .. FORECAST_HORIZON_DAYS) from entering
    # the next stage, backwards (``_within_back``, day FORECAST_HORIZON_DAYS first).
    _moves_on: dict = field(default_factory=dict, repr=False)
    _stays: dict = field(default_factory=dict, repr=False)
    _within_back: dict = field(default_factory=dict, repr=False)

    def _prepare(self) -> ClosingModel:
        within = [1.0] * (FORECAST_HORIZON_DAYS + 1)  # from a closing, closed within any days
        for stage in reversed(FUNNEL_STAGES):
            self._within_back[_next_stage(stage)] = within[::-1]
            moves_on, stays = self._moves_on[stage], self._stays[stage] = self.histories[stage].curve()
            # From entering this stage: moving on on day j, then closing within t - j days.
            entering = [0.0] * (FORECAST_HORIZON_DAYS + 1)
            for day, chance in enumerate(moves_on[:FORECAST_HORIZON_DAYS + 1]):
                if chance > NEGLIGIBLE:
                    entering[day:] = map(add, entering[day:], map(mul, within, repeat(chance, FORECAST_HORIZON_DAYS + 1 - day)))
            within = entering
        return self

    def closes_within(self, stage: Stage, days_in: int, days: int) -> float:
        """The chance a lead ``days_in`` days into ``stage`` closes within ``days`` days from
        now (today being day 0, ``days`` itself included): for each day ``j`` from now on
        that it may move on, that chance (of those still in the stage on day ``days_in``)
        times the chance of closing within the ``days - j`` days left."""
        stage, days_in, days = Stage(stage), max(days_in, 0), min(days, FORECAST_HORIZON_DAYS)
        moves_on, stays = self._moves_on[stage], self._stays[stage]
        if days_in >= len(moves_on) or stays[days_in] <= NEGLIGIBLE:
            return 0.0
        ahead = moves_on[days_in:days_in + days + 1]
        back = self._within_back[_next_stage(stage)]
        return sum(map(mul, ahead, back[FORECAST_HORIZON_DAYS - days:FORECAST_HORIZON_DAYS - days + len(ahead)])) / stays[days_in]

    def chance(self, stage: Stage, days_in: int = 0) -> float:
        """The chance a lead ``days_in`` days into ``stage`` closes at all."""
        return self.closes_within(stage, days_in, FORECAST_HORIZON_DAYS)

    def closing_days(self, stage: Stage, days_in: int) -> dict[int, float]:
        """For a lead ``days_in`` days into ``stage``: the chance it closes ``k`` days from
        now, for each ``k``."""
        after = {0: 1.0}
        for later in reversed(FUNNEL_STAGES[FUNNEL_STAGES.index(Stage(stage)) + 1:]):
            after = _convolve(self.histories[later].moving_on(0), after)
        return _convolve(self.histories[Stage(stage)].moving_on(max(days_in, 0)), after)

    def day_by_which(self, stage: Stage, days_in: int, share: float) -> int:
        """The first day from now by which ``share`` of the lead's chance of closing has come."""
        total = self.chance(stage, days_in)
        low, high = 0, FORECAST_HORIZON_DAYS
        while low < high:
            middle = (low + high) // 2
            if self.closes_within(stage, days_in, middle) >= share * total - NEGLIGIBLE:
                high = middle
            else:
                low = middle + 1
        return low

    @property
    def observed(self) -> dict[Stage, tuple[float, float]]:
        """Per stage, the brokerage's leads that left it, and those of them that moved on."""
        return {stage: (history.left, sum(history.moved_on.values())) for stage, history in self.own.items()}

    @property
    def moves_learned_from(self) -> int:
        """How many times the brokerage's leads left a stage (moved on or dropped out)."""
        return round(sum(left for left, _ in self.observed.values()))

    def thin_stage(self, stage: Stage, days_in: int) -> Stage | None:
        """The first stage a lead ``days_in`` days into ``stage`` has ahead (its own, from
        ``days_in`` on, then each later one whole) where the assumed leads outweigh the
        brokerage's own that left it after as long: there the assumption decides."""
        stage = Stage(stage)
        for here in FUNNEL_STAGES[FUNNEL_STAGES.index(stage):]:
            after = max(days_in, 0) if here == stage else 0
            own = self.own[here].left_after(after)
            if self.histories[here].left_after(after) - own > own:
                return here
        return None


def learn_closing_model(*, as_of: datetime | None = None, prior_leads: float | None = None) -> ClosingModel:
    """The closing model from the stage moves known at ``as_of`` (now by default): only the
    moves made before it, the leads then in a stage counted as still there."""
    as_of = as_of or timezone.now()
    prior_leads = PRIOR_LEADS if prior_leads is None else prior_leads
    history, _open = stage_episodes(as_of)
    return closing_model_from(history, as_of=as_of, prior_leads=prior_leads)


def closing_model_from(history: dict[Stage, StageHistory], *, as_of: datetime, prior_leads: float) -> ClosingModel:
    own = {stage: history.get(stage, StageHistory()) for stage in FUNNEL_STAGES}
    histories = {stage: own[stage].with_prior(stage, prior_leads) if prior_leads else own[stage]
                 for stage in FUNNEL_STAGES}
    return ClosingModel(as_of=as_of, histories=histories, own=own)._prepare()


def closing_model() -> ClosingModel:
    """The closing model as of now: the kept one if learned within MODEL_FRESH, else
    learned now (and kept). For the report and the periodic task."""
    model = cache.get(MODEL_CACHE_KEY)
    if model is None or timezone.now() - model.as_of > MODEL_FRESH:
        model = keep_closing_model(learn_closing_model())
    return model


def kept_closing_model() -> ClosingModel | None:
    """The closing model for a page about one lead, which must not walk a large
    brokerage's history: the kept one while fresh; learned here while the brokerage is
    small; else the worker is asked for a new one and the kept one serves meanwhile
    (None when none is kept)."""
    model = cache.get(MODEL_CACHE_KEY)
    if model is not None and timezone.now() - model.as_of <= MODEL_FRESH:
        return model
    if _small_enough_to_learn_on_a_page():
        return keep_closing_model(learn_closing_model())
    if cache.add(REFRESH_ASKED_KEY, True, REFRESH_ASK_SECONDS):
        from kombu.exceptions import OperationalError

        from pipeline.tasks import forecast_refresh

        try:
            forecast_refresh.delay()
        except OperationalError:  # the broker is down: the page goes on; beat asks again
            logger.warning("Could not ask the worker for a new closing forecast model", exc_info=True)
    return model


def keep_closing_model(model: ClosingModel) -> ClosingModel:
    cache.set(MODEL_CACHE_KEY, model, MODEL_KEEP_SECONDS)
    return model


def _small_enough_to_learn_on_a_page() -> bool:
    """Fewer than LEARN_ON_PAGE_ROWS stage moves and open leads, counted no further."""
    moves = StageChange.objects.order_by().values("pk")[:LEARN_ON_PAGE_ROWS].count()
    if moves >= LEARN_ON_PAGE_ROWS:
        return False
    open_leads = Lead.objects.filter(stage__in=FUNNEL_STAGES).order_by().values("pk")[:LEARN_ON_PAGE_ROWS].count()
    return moves + open_leads < LEARN_ON_PAGE_ROWS
