"""Reads of registry and suppression state, for pages that show it beside a phone."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .models import DncNumber, InternalDncEntry


def phone_suppressions(*, numbers: Iterable[str]) -> dict[str, list[str]]:
    """For each number, the lists it is on (registries held and the internal list).

    Two queries whatever the count of numbers.
    """
    numbers = sorted(set(numbers))
    found: dict[str, list[str]] = defaultdict(list)
    if not numbers:
        return found
    for number, name in (
        DncNumber.objects.filter(number__in=numbers, source__is_active=True)
        .order_by("source__kind", "source__name")
        .values_list("number", "source__name")
    ):
        found[number].append(name)
    for number in (
        InternalDncEntry.objects.filter(phone_number__in=numbers)
        .order_by()
        .values_list("phone_number", flat=True)
        .distinct()
    ):
        found[number].append("Internal do-not-contact list")
    return found
