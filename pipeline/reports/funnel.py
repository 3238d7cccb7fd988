"""The funnel reports: how far the leads that came in got, and the time they spent in each stage."""

from __future__ import annotations

from collections import defaultdict

from leads.models import FUNNEL_STAGES, Lead, LeadList, Stage
from pipeline.models import (
    StageChange,
)

from .period import REACH_ORDER, Period, Report, days_stats, pct, read_only, sql_rows, vendor

# Funnel ---------------------------------------------------------------------------------


def _index_sql(column: str) -> str:
    """SQL for a stage's place in REACH_ORDER (anything else, Dead, is 0)."""
    whens = " ".join(f"WHEN '{stage}' THEN {index}" for index, stage in enumerate(REACH_ORDER))
    return f"CASE {column} {whens} ELSE 0 END"


@read_only
def funnel(period: Period, by: str = "stage") -> Report:
    """Leads that came in during the period, and how far they got: per stage, and by list or source.

    How far a lead got: the furthest stage it moved into, or its stage now (a lead still open
    in Close reached Close; a dead one, the furthest it reached before)."""
    group_column = {"list": "source_list_id", "source": "source"}.get(by)
    group_sql = f"l.{group_column}" if group_column else "NULL"
    params = [period.since, period.until]
    lead_table, change_table = Lead._meta.db_table, StageChange._meta.db_table
    # Every lead that came in, by group and stage now; then, among them, those that once
    # moved further than the stage they are in now (a dead one, one sent back), by how far.
    # The others got as far as their stage now.
    now_at, moved_to = _index_sql("l.stage"), _index_sql("c.to_stage")
    everyone = sql_rows(
        f"SELECT {group_sql}, {now_at}, COUNT(*) FROM {lead_table} l "
        "WHERE l.created_at >= %s AND l.created_at < %s GROUP BY 1, 2", params)
    moved = sql_rows(
        f"SELECT grp, now_at, moved, COUNT(*) FROM (SELECT l.id, {group_sql} AS grp, {now_at} AS now_at, "
        f"MAX({moved_to}) AS moved FROM {lead_table} l JOIN {change_table} c ON c.lead_id = l.id "
        f"WHERE l.created_at >= %s AND l.created_at < %s AND {moved_to} > {now_at} "
        "GROUP BY 1, 2, 3) per_lead GROUP BY 1, 2, 3", params)
    tally: dict[tuple, int] = defaultdict(int)
    for group, now, n in everyone:
        tally[(group, now, 0)] += n
    for group, now, furthest, n in moved:
        tally[(group, now, 0)] -= n
        tally[(group, now, furthest)] += n
    names = dict(LeadList.objects.values_list("pk", "name")) if by == "list" else {}
    sources = dict(Lead._meta.get_field("source").choices)
    rows_by_group: dict[str, list[int]] = defaultdict(lambda: [0] * len(REACH_ORDER))
    for (group, now, furthest), n in tally.items():
        if not n:
            continue
        if by == "list":
            group = names.get(group) if group is not None else None
        if group_column:
            group = group or "(none)"
        else:
            group = "All leads"
        if by == "source":
            group = sources.get(group, group)
        reached = max(furthest or 0, now or 0)
        for index in range(reached + 1):
            rows_by_group[group][index] += n
    labels = [Stage(stage).label for stage in REACH_ORDER]
    columns = ["Group" if group_column else "", *[f"Reached {label}" for label in labels], "List to closed %"]
    rows = [[group, *counts, pct(counts[-1], counts[0])]
            for group, counts in sorted(rows_by_group.items(), key=lambda item: (-item[1][0], item[0]))]
    if not group_column:
        columns[0] = "Leads"
    totals = [sum(counts[i] for counts in rows_by_group.values()) for i in range(len(REACH_ORDER))]
    chart = {"type": "bar", "labels": labels,
             "datasets": [{"label": "Leads that reached the stage", "data": totals}]}
    notes = [f"{totals[0]:,} leads came in; " + ", ".join(
        f"{pct(totals[i], totals[i - 1]) or 0}% went on to {labels[i]}" for i in range(1, len(labels)))]
    title = {"list": "Funnel conversion by list", "source": "Funnel conversion by source"}.get(by, "Funnel conversion")
    return Report(slug=f"funnel-{by}" if group_column else "funnel", title=title, columns=columns, rows=rows,
                  chart=chart, notes=notes)


# Time in stage -----------------------------------------------------------------------


@read_only
def time_in_stage(period: Period) -> Report:
    """Days spent in each stage by leads that left it during the period: median and 80th percentile."""
    stats = _stays_in_database(period) if vendor() == "postgresql" else _stays_in_python(period)
    rows = []
    for stage in FUNNEL_STAGES:
        left, typical, slow = stats.get(stage, (0, None, None))
        rows.append([Stage(stage).label, left, typical, slow])
    chart = {"type": "bar", "labels": [row[0] for row in rows], "datasets": [
        {"label": "Median days", "data": [row[2] or 0 for row in rows]},
        {"label": "80th percentile", "data": [row[3] or 0 for row in rows]}]}
    return Report(slug="time-in-stage", title="Time in stage", columns=["Stage", "Leads that left it", "Median days",
                  "80th percentile days"], rows=rows, chart=chart,
                  notes=["Counted when a lead leaves a stage within the period, from when it entered it."])


def _stays_in_python(period: Period) -> dict[str, tuple[int, float | None, float | None]]:
    left = (StageChange.objects.filter(changed_at__gte=period.since, changed_at__lt=period.until)
            .values_list("lead_id", flat=True).distinct())
    spent: dict[str, list[float]] = defaultdict(list)
    previous = None
    for lead_id, to_stage, changed_at in (StageChange.objects.filter(lead_id__in=left, changed_at__lt=period.until)
                                          .order_by("lead_id", "changed_at", "pk")
                                          .values_list("lead_id", "to_stage", "changed_at").iterator(chunk_size=5000)):
        if previous and previous[0] == lead_id and changed_at >= period.since:
            spent[previous[1]].append((changed_at - previous[2]).total_seconds() / 86400)
        previous = (lead_id, to_stage, changed_at)
    return {stage: (len(days), *days_stats(days)) for stage, days in spent.items()}


def _stays_in_database(period: Period) -> dict[str, tuple[int, float | None, float | None]]:
    """The same stays, each the time from a lead's previous move to the next (in the order
    of ``changed_at``, then id), counted and ranked by PostgreSQL: only the few ranked
    around the median and the 80th percentile come back, to be worked out exactly as
    ``statistics.median`` and ``percentile`` would over them all. A stay's days are the
    same float as in Python: the exact seconds between the two moves, over 86,400 (worked
    out for those few only: ranking the intervals themselves is three times cheaper).

    The stays are ranked with the stage as a number (sorting 114,000 of them by the
    stage's text compared it by collation: a fifth of the query) and the positions picked
    with whole numbers (``floor((n - 1) * 0.8)`` is ``(n - 1) * 4 / 5``; in numeric it
    took another tenth)."""
    table = StageChange._meta.db_table
    stage_index = " ".join(f"WHEN '{stage}' THEN {index}" for index, stage in enumerate(FUNNEL_STAGES))
    ranked = sql_rows(
        f"""
        WITH stays AS (
            SELECT stage, changed_at - entered_at AS stay FROM (
                SELECT c.changed_at, LAG(CASE c.to_stage {stage_index} END) OVER moves AS stage,
                       LAG(c.changed_at) OVER moves AS entered_at
                  FROM {table} c
                 WHERE c.changed_at < %(until)s AND c.lead_id IN (
                       SELECT lead_id FROM {table} WHERE changed_at >= %(since)s AND changed_at < %(until)s)
                WINDOW moves AS (PARTITION BY c.lead_id ORDER BY c.changed_at, c.id)
            ) moved WHERE changed_at >= %(since)s AND stage IS NOT NULL
        )
        SELECT stage, n, position, EXTRACT(EPOCH FROM stay)::float8 / 86400 FROM (
            SELECT stage, stay, ROW_NUMBER() OVER (PARTITION BY stage ORDER BY stay) - 1 AS position,
                   COUNT(*) OVER (PARTITION BY stage) AS n
              FROM stays
        ) ranked
        WHERE position BETWEEN (n - 1) / 2 - 1 AND (n - 1) / 2 + 1
           OR position BETWEEN (n - 1) * 4 / 5 - 1 AND (n - 1) * 4 / 5 + 2
        """, {"since": period.since, "until": period.until})
    ranked = [(str(FUNNEL_STAGES[stage]), n, position, days) for stage, n, position, days in ranked]
    picked: dict[str, dict[int, float]] = defaultdict(dict)
    sizes: dict[str, int] = {}
    for stage, n, position, days in ranked:
        picked[stage][position] = days
        sizes[stage] = n
    stats = {}
    for stage, n in sizes.items():
        at = picked[stage]
        middle = n // 2
        typical = at[middle] if n % 2 else (at[middle - 1] + at[middle]) / 2
        position = (n - 1) * 0.8
        low = int(position)
        high = min(low + 1, n - 1)
        slow = at[low] + (at[high] - at[low]) * (position - low)
        stats[stage] = (n, round(typical, 1), round(slow, 1))
    return stats
