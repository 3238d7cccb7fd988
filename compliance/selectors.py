"""Reads of registry and suppression state, for pages that show it beside a phone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Max, OuterRef, Subquery
from django.utils import timezone

from .models import (
    AreaCodeVersion,
    DncNumber,
    DncSource,
    InternalDncEntry,
    RegistryKind,
    national_number,
)
from .rulebook import rulebook


def phone_suppressions(*, numbers: Iterable[str]) -> dict[str, list[str]]:
    """For each number, the lists it is on (registries held and the internal list).

    Two queries whatever the count of numbers.
    """
    by_national = {national_number(n): n for n in set(numbers)}
    by_national.pop(None, None)
    found: dict[str, list[str]] = defaultdict(list)
    if not by_national:
        return found
    for number, name in (
        DncNumber.objects.filter(number__in=list(by_national), source__is_active=True)
        .order_by("source__kind", "source__name")
        .values_list("number", "source__name")
    ):
        found[by_national[number]].append(name)
    for number in (
        InternalDncEntry.objects.filter(phone_number__in=list(by_national.values()))
        .order_by()
        .values_list("phone_number", flat=True)
        .distinct()
    ):
        found[number].append("Internal do-not-contact list")
    return found
