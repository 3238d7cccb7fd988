"""Lender turnaround: from the package to the lenders' answers, per servicer."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Min
from django.urls import reverse

from pipeline.models import (
    LenderFile,
    LenderMilestone,
    Milestone,
)

from .period import Link, Period, Report, days_stats, read_only

# Lenders, forecast, lists ------------------------------------------------------------


LENDER_NOT_GIVEN = "(neither servicer nor lender given)"


LENDER_TURNAROUND_NOTES = [
    "Days from the package submission an approval answers (the last one on its file on or before the "
    "approval's date) to the approval, for files first approved in the period. Each file is listed under "
    "its servicer; a file with no servicer recorded is listed under the lien's lender on record, and the "
    "second column says which.",
    "For a sense of scale: a short sale usually takes 60 to 180 days from the lender package to closing.",
]


APPROVALS_LEFT_OUT = ("{n} approval{s} in the period {are} dated before any package submission on {its} file, so no "
                      "turnaround can be worked out: {they} {are} left out and listed below. Check the dates recorded "
                      "on the lien stack.")


@read_only
def lender_turnaround(period: Period) -> Report:
    """Days from package submitted to approval, per servicer (or lender), for files first
    approved in the period.

    Dated steps compared as dates, so no time zone moves a day. The start is the last
    package submission on or before the approval: a file resubmitted after a denial is
    timed from the package the lender approved, and a submission recorded after the
    approval (out of order) never makes a negative time. An approval with no submission
    before it is left out and listed."""
    approvals = (LenderMilestone.objects.in_force().filter(kind=Milestone.APPROVED).order_by().values("lender_file")
                 .annotate(approved=Min("occurred_on"))
                 .filter(approved__gte=period.start, approved__lte=period.end))
    approved_on = {row["lender_file"]: row["approved"] for row in approvals}
    files = {pk: (servicer.strip(), (lender or "").strip(), lead_id, street)
             for pk, servicer, lender, lead_id, street in LenderFile.objects.filter(
                 pk__in=approvals.values("lender_file")).values_list(
                 "pk", "servicer", "lien__lender", "lead_id", "lead__property__street")}
    submitted: dict[int, list[date]] = defaultdict(list)
    for file_id, day in (LenderMilestone.objects.in_force().filter(kind=Milestone.PACKAGE_SUBMITTED,
                                                        lender_file__in=approvals.values("lender_file"))
                         .order_by().values_list("lender_file", "occurred_on")):
        submitted[file_id].append(day)
    per_name: dict[str, dict] = {}
    left_out = []
    for file_id, approved in approved_on.items():
        servicer, lender, lead_id, street = files[file_id]
        before = [day for day in submitted.get(file_id, []) if day <= approved]
        if not before:
            left_out.append([Link(street or f"Lead {lead_id}", reverse("pipeline:lenders", args=[lead_id])), approved,
                             min(submitted[file_id]) if submitted.get(file_id) else None])
            continue
        name, named_as = (servicer, "servicer") if servicer else (lender, "lender") if lender else (LENDER_NOT_GIVEN, "")
        group = per_name.setdefault(name.casefold(), {"name": name, "days": [], "servicer": 0, "lender": 0})
        group["days"].append((approved - max(before)).days)
        if named_as:
            group[named_as] += 1
    rows = []
    for group in sorted(per_name.values(), key=lambda g: (-len(g["days"]), g["name"].casefold())):
        days = group["days"]
        typical, slow = days_stats(days)
        rows.append([group["name"], _named_as(group["servicer"], group["lender"]), len(days), typical, slow,
                     min(days), max(days)])
    chart = {"type": "bar", "labels": [row[0] for row in rows], "datasets": [
        {"label": "Median days", "data": [row[3] for row in rows]},
        {"label": "80th percentile", "data": [row[4] for row in rows]}]}
    notes = list(LENDER_TURNAROUND_NOTES)
    tables = []
    if left_out:
        n = len(left_out)
        notes.append(APPROVALS_LEFT_OUT.format(n=n, s="" if n == 1 else "s", are="is" if n == 1 else "are",
                                               its="its" if n == 1 else "their", they="it" if n == 1 else "they"))
        tables.append({"caption": "Approvals dated before their package", "columns": [
            "Property", "Approved on", "First package submitted"],
            "rows": sorted(left_out, key=lambda row: (row[1], str(row[0])))})
    return Report(slug="lender-turnaround", title="Lender turnaround: package to approval",
                  columns=["Servicer or lender", "Named as", "Approvals", "Median days", "80th percentile days",
                           "Fastest", "Slowest"],
                  rows=rows, chart=chart, notes=notes, tables=tables)


def _named_as(as_servicer: int, as_lender: int) -> str:
    if as_servicer and as_lender:
        return f"servicer on {as_servicer}, lender on record on {as_lender} (no servicer given)"
    if as_lender:
        return "lender on record (no servicer given)"
    return "servicer" if as_servicer else "–"
