"""The rule tables and the registry metadata, read once and kept in memory.

The gate runs on every call an agent logs and every live verdict, in milliseconds; so
the rows that change rarely (rules, holidays, phrases, the registries held and the
version dates of their area codes, the brokerage's own facts, the B4 word lists) are
read once per process. Any change to such a row empties this process's copy through the model
signals below (bulk writes call ``forget()``), now and again once the transaction
commits, so a rolled-back edit is not kept; other processes reload within
``TTL_SECONDS`` (a few seconds: a broker's new rule is in force everywhere at once,
for practical purposes, and the reload costs a few milliseconds).
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cached_property

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from leadcrm.accounts.models import Brokerage

from .calendars import NoCalendar, state_holidays
from .models import (
    AreaCodeVersion,
    DncPolicy,
    DncSource,
    HolidayChange,
    ProhibitedPhrase,
    RegistryKind,
    RevocationWord,
    RuleParameter,
    StateCallingRule,
    StateHoliday,
)
from .words import WordLists, day_of, word_lists

TTL_SECONDS = 5
# D8's rows: ``all_party_CA`` = 1 where recording a call needs every party's consent.
RECORDING_RULE, ALL_PARTY_PREFIX = "D8", "all_party_"
MISSING_PARAMETER = "No {rule} {key} in force on {on}: add one in the rule parameters."


@dataclass(frozen=True)
class Phrase:
    label: str
    why: str
    rule: str
    regex: re.Pattern
    row: ProhibitedPhrase  # its dates in force

    def in_force(self, on: date) -> bool:
        return self.row.in_force(on)


class Rulebook:
    def __init__(self):
        self.parameters = defaultdict(list)
        for row in RuleParameter.objects.filter(is_active=True):
            self.parameters[(row.rule, row.key)].append(row)
        self.states = defaultdict(list)
        for row in StateCallingRule.objects.filter(is_active=True):
            self.states[row.state].append(row)
        # The brokerage's changes to the computed calendars (E3): state -> day -> rows.
        self.holiday_changes = defaultdict(lambda: defaultdict(list))
        for row in StateHoliday.objects.filter(is_active=True):
            self.holiday_changes[row.state][row.observed_on].append(row)
        self.all_phrases = [
            Phrase(p.label, p.why, p.rule, re.compile(p.pattern, re.IGNORECASE), p)
            for p in ProhibitedPhrase.objects.filter(is_active=True)
        ]
        self.brokerage = Brokerage.objects.current()
        # Every version of the written procedures, latest first (A4): the one in force on a
        # call date is the latest adopted on or before it.
        self.policies = list(DncPolicy.objects.order_by("-adopted_on", "-created_at", "-id"))
        self.sources = list(DncSource.objects.filter(is_active=True).order_by("kind", "name"))
        national = {s.pk: s for s in self.sources if s.kind == RegistryKind.NATIONAL}
        self.national_sources = list(national.values())
        # area code -> [(version date, source)], newest first (A3)
        self.versions = defaultdict(list)
        for area_code, version_date, source_id in (
            AreaCodeVersion.objects.filter(source_id__in=list(national))
            .order_by("area_code", "-version_date")
            .values_list("area_code", "version_date", "source_id")
        ):
            self.versions[area_code].append((version_date, national[source_id]))
        self.words_by_day: dict[date, WordLists] = {}

    def parameter(self, rule: str, key: str, on: date) -> Decimal:
        rows = [row for row in self.parameters[(rule, key)] if row.in_force(on)]
        if not rows:
            raise LookupError(MISSING_PARAMETER.format(rule=rule, key=key, on=on))
        return max(rows, key=lambda row: row.effective_from).value

    def all_party_states(self, on: date) -> frozenset[str]:
        """The states where recording a call needs every party's consent on ``on`` (D8): those
        whose ``D8 all_party_<state>`` parameter in force is not 0."""
        found = set()
        for (rule, key), rows in list(self.parameters.items()):
            if rule != RECORDING_RULE or not key.startswith(ALL_PARTY_PREFIX):
                continue
            in_force = [row for row in rows if row.in_force(on)]
            if in_force and max(in_force, key=lambda row: row.effective_from).value:
                found.add(key.removeprefix(ALL_PARTY_PREFIX).upper())
        return frozenset(found)

    def phrases(self, on: date) -> list[Phrase]:
        """The prohibited phrases in force on ``on`` (F6)."""
        return [phrase for phrase in self.all_phrases if phrase.in_force(on)]

    @cached_property
    def revocation_words(self) -> list[RevocationWord]:
        # Read when first needed, not with the rest: most checks never read a homeowner's text.
        return list(RevocationWord.objects.filter(is_active=True).order_by("pk"))

    def words(self, on: date | None = None) -> WordLists:
        """The stop, start and help words, the stop phrases and the words a stop confirmation
        may not say, in force on ``on`` (B4; by default the day the gate would date a check made
        now); the built-in list for a kind that recognises a stop and has no row that day, and
        the statutory stop words always (compliance/words.py)."""
        on = on or day_of()
        lists = self.words_by_day.get(on)
        if lists is None:
            lists = self.words_by_day[on] = word_lists(
                (row for row in self.revocation_words if row.in_force(on)), on=on)
        return lists

    def policy_on(self, on: date) -> DncPolicy | None:
        return next((policy for policy in self.policies if policy.adopted_on <= on), None)

    def state_rule(self, state: str, on: date) -> StateCallingRule | None:
        rows = [row for row in self.states.get(state, ()) if row.in_force(on)]
        return max(rows, key=lambda row: row.effective_from) if rows else None

    def holiday(self, state: str, day: date, on: date | None = None,
                calendar: Callable[[str, int], dict[date, str]] = state_holidays) -> str | None:
        """The name of ``state``'s holiday on ``day`` (E3), or None: the computed ``calendar``
        with the brokerage's changes in force on ``on`` (the day of the check; ``day`` itself
        by default). Raises ``NoCalendar`` when no calendar covers the year (fail closed)."""
        on = on or day
        changes = [row for row in self.holiday_changes.get(state, {}).get(day, ()) if row.in_force(on)]
        if changes:
            latest = max(changes, key=lambda row: (row.effective_from, row.pk))
            return latest.name if latest.change == HolidayChange.ADDED else None
        return calendar(state, day.year).get(day)

    def is_holiday(self, state: str, day: date) -> bool:
        """``day`` is one of ``state``'s holidays; True too when no calendar covers its year
        (no solicitation calls on a day nobody can say is not a holiday)."""
        try:
            return self.holiday(state, day) is not None
        except NoCalendar:
            return True

    def national_version(self, area_code: str, on: date):
        """The newest national version for an area code dated on or before ``on``."""
        for version_date, source in self.versions.get(area_code, ()):
            if version_date <= on:
                return version_date, source
        return None


# Re-entrant: building the book can save a row (the brokerage) whose signal calls forget().
_lock = threading.RLock()
_cached: dict = {"book": None, "loaded": 0.0}


def rulebook() -> Rulebook:
    with _lock:
        if _cached["book"] is None or time.monotonic() - _cached["loaded"] > TTL_SECONDS:
            _cached["book"], _cached["loaded"] = Rulebook(), time.monotonic()
        return _cached["book"]


def _clear() -> None:
    with _lock:
        _cached["book"] = None


def forget(**kwargs) -> None:
    _clear()
    if connection.in_atomic_block:
        # Reloaded inside the transaction, the copy may hold rows that roll back: drop it again.
        transaction.on_commit(_clear)


for _model in (RuleParameter, StateCallingRule, StateHoliday, ProhibitedPhrase, DncSource, AreaCodeVersion,
               Brokerage, DncPolicy, RevocationWord):
    post_save.connect(forget, sender=_model, dispatch_uid=f"rulebook-{_model.__name__}-save")
    post_delete.connect(forget, sender=_model, dispatch_uid=f"rulebook-{_model.__name__}-delete")
