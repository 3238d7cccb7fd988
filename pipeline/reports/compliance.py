"""Compliance checks and blocks, and the DNC hit rate per list."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from django.db.models import Count, Max, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.timesince import timesince

from compliance.models import (
    AreaCodeVersion,
    CheckMode,
    ComplianceCheck,
    RegistryKind,
    Verdict,
    rules_that_decided,
)
from leads.models import Contact, LeadList, ListDncCount, ListMembership, Phone
from pipeline.models import (
    CheckCount,
)

from .period import (
    Link,
    Period,
    Report,
    on_span_edges,
    pct,
    read_only,
    reading,
    rollups_kept,
    sql_rows,
)

# Compliance --------------------------------------------------------------------------


def _checks_link(period: Period, **filters) -> str:
    """The checks of real attempts in the period, in the admin's evidence list, filtered: the
    rows a compliance count counts (the dates are the current zone's, as the period's)."""
    query = {"mode": CheckMode.LOG, "checked_at__date__gte": period.start.isoformat(),
             "checked_at__date__lte": period.end.isoformat(), **filters}
    return f"{reverse('admin:compliance_compliancecheck_changelist')}?{urlencode(query)}"


NO_BLOCKS = "No attempt was blocked in this period."


@read_only
def compliance(period: Period) -> Report:
    """Attempts checked, the gate's decisions and the rules that blocked them, and how fresh
    the national registry data is.

    Only decisions on real attempts count (``mode=log``): the verdict the outreach form
    shows while it is filled in is not recorded now, and the rows earlier versions stored
    for it are left out. A check counts under the rules of its verdict's severity
    (``rules_that_decided``): blocked by A5 with an F6 warning is a block by A5."""
    if rollups_kept() and on_span_edges([period.since, period.until]):
        hours = CheckCount.objects.filter(starts__gte=period.since, starts__lt=period.until).order_by()
        verdicts = dict(hours.values_list("verdict").annotate(n=Sum("checks")).values_list("verdict", "n"))
        blocked = list(hours.filter(verdict=Verdict.BLOCK).values_list("rule_ids").annotate(n=Sum("checks"))
                       .values_list("rule_ids", "n"))
    else:
        checks = ComplianceCheck.objects.of_attempts().filter(checked_at__gte=period.since,
                                                               checked_at__lt=period.until)
        verdicts = dict(checks.order_by().values_list("verdict").annotate(n=Count("pk")).values_list("verdict", "n"))
        blocked = [(rules_that_decided(Verdict.BLOCK, rule_ids, findings), 1) for rule_ids, findings in
                   checks.filter(verdict=Verdict.BLOCK).values_list("rule_ids", "findings").iterator(chunk_size=2000)]
    blocks: dict[str, int] = defaultdict(int)
    for rule_ids, n in blocked:
        for rule in rule_ids or ["?"]:
            blocks[rule] += n
    total = sum(verdicts.values())
    by_count = sorted(blocks.items(), key=lambda item: (-item[1], item[0]))
    rows = [["Attempts checked", Link(total, _checks_link(period)), None]]
    rows += [[f"Verdict: {Verdict(v).label}", Link(n, _checks_link(period, verdict=v)), pct(n, total)]
             for v, n in sorted(verdicts.items())]
    rows += [[f"Blocked by {rule}", Link(n, _checks_link(period, verdict=Verdict.BLOCK, decided_by=rule))
              if rule != "?" else n, pct(n, total)] for rule, n in by_count]
    # No block, no chart: an empty frame would read as a drawing that failed.
    chart = {"type": "bar", "labels": [rule for rule, _ in by_count],
             "datasets": [{"label": "Attempts blocked, by rule", "data": [n for _, n in by_count]}]} if by_count else {}
    today = timezone.localdate()
    newest: dict[str, date] = {}
    for area_code, version in (AreaCodeVersion.objects.filter(source__kind=RegistryKind.NATIONAL,
                                                              source__is_active=True)
                               .order_by().values_list("area_code").annotate(v=Max("version_date"))
                               .values_list("area_code", "v")):
        newest[area_code] = version
    stale = sorted(code for code, version in newest.items() if (today - version).days > 31)
    aging = sorted(code for code, version in newest.items() if 21 <= (today - version).days <= 31)
    notes = [COMPLIANCE_COUNTED, *([] if by_count else [NO_BLOCKS]),
             f"National registry data held for {len(newest)} area codes: {len(stale)} older than 31 days "
             f"(every call blocked, A3){': ' + ', '.join(stale[:20]) if stale else ''}; {len(aging)} aging (21-31 days)."]
    return Report(slug="compliance", title="Compliance checks and blocks",
                  columns=["What", "Attempts", "% of attempts"], rows=rows, chart=chart, notes=notes)


COMPLIANCE_COUNTED = (
    "Counted: the gate's decision on each attempt an agent logged (a call, text, email, letter or visit), "
    "allowed or refused. The verdict the outreach form shows while it is being filled in is not a decision "
    "and is not counted. An attempt counts under the rules that decided it: a block under the rules that "
    "blocked it, not those that only warned.")


# Counted by a periodic task every 10 minutes (leadcrm/shared/schedules.py); older than this,
# the task is not running, and the report counts again while the broker waits.
DNC_COUNTS_MAX_AGE = timedelta(minutes=30)


def _dnc_counts_now() -> list[tuple[int, int, int]]:
    """(list, numbers, numbers on a DNC list) for every list with numbers, counted now.

    Every number joined to its lead's lists through its owner, not through the lead (a
    million rows more to hash). A lead is on a list once and a number is one owner's, so
    each number counts once per list without DISTINCT (which sorted them all)."""
    return sql_rows(
        f"SELECT m.lead_list_id, COUNT(*), COUNT(CASE WHEN p.on_dnc_list THEN 1 END) "
        f"FROM {Phone._meta.db_table} p JOIN {Contact._meta.db_table} c ON c.id = p.contact_id "
        f"JOIN {ListMembership._meta.db_table} m ON m.lead_id = c.lead_id GROUP BY 1", [])


def dnc_list_counts_refresh() -> int:
    """Count every list's numbers and those on a DNC list, and keep the counts for the
    report (``ListDncCount``): run by a periodic task, since with a million leads counting
    takes longer than a broker should wait. Safe to run twice at once: each run writes
    every list's row, and the later commit wins. Returns how many lists were counted."""
    with reading():
        counts = _dnc_counts_now()
        now = timezone.now()
        ListDncCount.objects.bulk_create(
            [ListDncCount(lead_list_id=list_id, numbers=total, on_dnc=dnc, counted_at=now)
             for list_id, total, dnc in counts],
            update_conflicts=True, unique_fields=["lead_list"], update_fields=["numbers", "on_dnc", "counted_at"])
        # A list whose every number has gone since has no row in the counts.
        ListDncCount.objects.exclude(lead_list__in=[list_id for list_id, _, _ in counts]).delete()
    return len(counts)


@read_only
def dnc_by_list(period: Period) -> Report:
    """Share of each list's numbers on a Do Not Call list (national, state or internal flags).

    From the counts the periodic task keeps (``dnc_list_counts_refresh``), saying when they
    were made; counted live when there are none or they are older than DNC_COUNTS_MAX_AGE."""
    lists = {pk: name for pk, name in LeadList.objects.values_list("pk", "name")}
    kept = list(ListDncCount.objects.values_list("lead_list_id", "numbers", "on_dnc", "counted_at"))
    counted_at = min((row[3] for row in kept), default=None)
    if counted_at is not None and timezone.now() - counted_at <= DNC_COUNTS_MAX_AGE:
        counts = [row[:3] for row in kept]
        when = (f"Counted at {timezone.localtime(counted_at):%b %-d, %Y %-I:%M %p %Z} ({timesince(counted_at)} "
                "ago) and again every 10 minutes: a number flagged, added or moved since then shows at the next "
                "count.")
    else:
        counts = _dnc_counts_now()
        when = "Counted as the page was made."
    rows = sorted(([lists.get(list_id, "?"), total, dnc, pct(dnc, total)] for list_id, total, dnc in counts),
                  key=lambda row: (-(row[3] or 0), row[0]))
    chart = {"type": "bar", "labels": [row[0] for row in rows],
             "datasets": [{"label": "% of numbers on a DNC list", "data": [row[3] or 0 for row in rows]}]}
    return Report(slug="dnc-by-list", title="DNC hit rate per list", columns=["List", "Numbers", "On a DNC list", "%"],
                  rows=rows, chart=chart,
                  notes=[f"All the numbers on each list (the period does not apply). {when}"])
