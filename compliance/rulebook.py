"""The rule tables, read once and kept in memory: the gate runs in milliseconds.

Any change to a rule row (admin, shell, migration) empties this process's copy through
the model signals below; other processes reload within ``TTL_SECONDS``.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models.signals import post_delete, post_save

from .models import ProhibitedPhrase, RuleParameter, StateCallingRule, StateHoliday

TTL_SECONDS = 60
MISSING_PARAMETER = "No {rule} {key} in force on {on}: add one in the rule parameters."


@dataclass(frozen=True)
class Phrase:
    label: str
    why: str
    rule: str
    regex: re.Pattern


class Rulebook:
    def __init__(self):
        self.parameters = defaultdict(list)
        for row in RuleParameter.objects.filter(is_active=True):
            self.parameters[(row.rule, row.key)].append(row)
        self.states = defaultdict(list)
        for row in StateCallingRule.objects.filter(is_active=True):
            self.states[row.state].append(row)
        self.holidays = set(StateHoliday.objects.values_list("state", "observed_on"))
        self.phrases = [
            Phrase(p.label, p.why, p.rule, re.compile(p.pattern, re.IGNORECASE))
            for p in ProhibitedPhrase.objects.filter(is_active=True)
        ]

    def parameter(self, rule: str, key: str, on: date) -> Decimal:
        rows = [row for row in self.parameters[(rule, key)] if row.in_force(on)]
        if not rows:
            raise LookupError(MISSING_PARAMETER.format(rule=rule, key=key, on=on))
        return max(rows, key=lambda row: row.effective_from).value

    def state_rule(self, state: str, on: date) -> StateCallingRule | None:
        rows = [row for row in self.states.get(state, ()) if row.in_force(on)]
        return max(rows, key=lambda row: row.effective_from) if rows else None

    def is_holiday(self, state: str, day: date) -> bool:
        return (state, day) in self.holidays


_lock = threading.Lock()
_cached: dict = {"book": None, "loaded": 0.0}


def rulebook() -> Rulebook:
    with _lock:
        if _cached["book"] is None or time.monotonic() - _cached["loaded"] > TTL_SECONDS:
            _cached["book"], _cached["loaded"] = Rulebook(), time.monotonic()
        return _cached["book"]


def forget(**kwargs) -> None:
    with _lock:
        _cached["book"] = None


for _model in (RuleParameter, StateCallingRule, StateHoliday, ProhibitedPhrase):
    post_save.connect(forget, sender=_model, dispatch_uid=f"rulebook-{_model.__name__}-save")
    post_delete.connect(forget, sender=_model, dispatch_uid=f"rulebook-{_model.__name__}-delete")
