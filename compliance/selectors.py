"""Reads of registry and suppression state, for pages that show it beside a phone; and the
lead list, which filters on it (``lead_list``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Max, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from leads.models import Lead

from .lead_filters import LeadFilter
from .models import (
    SOURCE_SPAN,
    AreaCodeVersion,
    ComplianceCheck,
    DncNumber,
    InternalDncEntry,
    RegistryKind,
    Verdict,
    national_number,
    rules_that_decided,
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
    for key, name in (
        DncNumber.objects.for_numbers(by_national).filter(source__is_active=True)
        .order_by("source__kind", "source__name")
        .values_list("id", "source__name")
    ):
        found[by_national[key // SOURCE_SPAN]].append(name)
    for number in (
        InternalDncEntry.objects.filter(phone_number__in=list(by_national.values()))
        .order_by()
        .values_list("phone_number", flat=True)
        .distinct()
    ):
        found[number].append("Internal do-not-contact list")
    return found


@dataclass(frozen=True)
class AreaCodeFreshness:
    area_code: str
    version_date: date
    age_days: int
    limit_days: int
    warn_days: int

    @property
    def days_left(self) -> int:
        return self.limit_days - self.age_days

    @property
    def status(self) -> str:
        if self.age_days > self.limit_days:
            return "stale"
        return "aging" if self.age_days >= self.warn_days else "fresh"


def registry_freshness(*, on: date | None = None) -> list[AreaCodeFreshness]:
    """Each area code with national data held: its newest version and days left (A3)."""
    on = on or timezone.now().date()
    book = rulebook()
    limit = int(book.parameter("A3", "max_age_days", on))
    warn = int(book.parameter("A3", "warn_age_days", on))
    rows = (
        AreaCodeVersion.objects.filter(source__kind=RegistryKind.NATIONAL, source__is_active=True,
                                       version_date__lte=on)
        .values("area_code")
        .annotate(latest=Max("version_date"))
        .order_by("latest", "area_code")
    )
    return [AreaCodeFreshness(r["area_code"], r["latest"], (on - r["latest"]).days, limit, warn) for r in rows]


@dataclass(frozen=True)
class AreaCodeCoverage:
    area_code: str
    phones: int
    freshness: AreaCodeFreshness | None

    @property
    def status(self) -> str:
        return self.freshness.status if self.freshness else "missing"


def lead_area_code_coverage(*, leads, on: date | None = None) -> list[AreaCodeCoverage]:
    """Area codes of the phones of ``leads`` and whether national data covers them.

    Calls to an area code without fresh data are blocked (A3), so the missing ones come first.
    """
    from leads.models import Phone

    freshness = {row.area_code: row for row in registry_freshness(on=on)}
    counts = (
        Phone.objects.filter(contact__lead__in=leads.values("pk"), number__startswith="+1")
        .annotate(area_code=Substr("number", 3, 3))
        .values("area_code")
        .annotate(phones=Count("pk"))
        .order_by()
    )
    rows = [AreaCodeCoverage(c["area_code"], c["phones"], freshness.get(c["area_code"])) for c in counts]
    order = {"missing": 0, "stale": 1, "aging": 2, "fresh": 3}
    return sorted(rows, key=lambda row: (order[row.status], -row.phones))


def blocks_by_rule(*, since) -> list[tuple[str, int]]:
    """How many attempts each rule blocked since a moment, most first (a live verdict shown
    before logging is no attempt, and is not counted)."""
    counts: Counter = Counter()
    for rule_ids, findings in ComplianceCheck.objects.of_attempts().filter(
        verdict=Verdict.BLOCK, checked_at__gte=since
    ).values_list("rule_ids", "findings").iterator(chunk_size=2000):
        counts.update(rules_that_decided(Verdict.BLOCK, rule_ids, findings) or ["?"])
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def checks_for_export(*, start: date, end: date):
    """Every check of an attempt (allowed or not) made between two dates, inclusive, oldest
    first."""
    return (
        ComplianceCheck.objects.of_attempts().filter(checked_at__date__gte=start, checked_at__date__lte=end)
        .select_related("actor", "lead__property")
        .order_by("checked_at", "pk")
    )


def lead_list(*, fetched_by, filters: dict | None = None) -> tuple[QuerySet[Lead], LeadFilter]:
    """The leads the user may see, filtered and ordered, with the property and agent a
    list row shows (its owners' names: ``leads.selectors.lead_owner_names``)."""
    queryset = Lead.objects.visible_to(fetched_by).select_related("property", "assigned_agent")
    lead_filter = LeadFilter(filters or {}, queryset=queryset, user=fetched_by)
    return lead_filter.qs, lead_filter
