"""Possible duplicates, merging two leads and undoing a merge: the pages and their reads.

The pairs come from indexed joins only (the phone number, the email address, the parcel
and county), cut at the first ``limit`` pairs and never counted, so a broker's view of a
million leads answers as fast as an agent's. The merge itself is ``leads.merging``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from leadcrm.shared.rows import pk_url
from leads.merging import (
    APPEND_ONLY,
    MOVE,
    SAME_LEAD,
    UNDO_WINDOW,
    can_undo,
    duplicate_dismiss,
    lead_merge,
    lead_merge_undo,
    merge_plan,
)
from leads.models import Contact, DuplicateDismissal, Email, Lead, LeadMerge, Phone, Property
from leads.querysets import lead_scope
from leads.selectors import lead_owner_names
from pipeline.privacy.selectors import ERASED_NOT_EDITABLE

# Who may merge and dismiss: whoever may change the leads (every role); which leads is
# visibility's business (both must be visible, else 404).
MERGE_PERMISSION = "leads.change_lead"
PAIRS_SHOWN = 50
PAIRS_MAX = 500  # "show more" stops here: the list is for working down, not for counting

WHY_PHONE = "Same owner, same phone {value}"
WHY_EMAIL = "Same owner, same email {value}"
WHY_PARCEL = "Same parcel (APN {value})"
MERGED = ("Merged: {merged} is now part of this lead ({count} rows moved). You can undo this for 24 hours "
          "from “Merged from” under the address.")
TWO_HOUSES_UNCONFIRMED = ("These leads are two different houses (different addresses and no shared parcel "
                          "number). Tick that one of the addresses is wrong to merge them; an owner with two "
                          "houses is two leads.")
UNDONE = "Merge undone: {merged} is its own lead again."
DISMISSED = "Noted: {low} and {high} are not duplicates; the pair is no longer offered."
NO_MERGE_CHOSEN = "Choose the merge to undo from the list."
NOT_A_NUMBER = "Enter the lead's number (the digits at the end of its address in the browser)."


@dataclass
class DuplicatePair:
    low: Lead
    high: Lead
    reasons: list[str] = field(default_factory=list)


def _visible_sql(user, alias: str) -> tuple[str, list]:
    """The SQL condition that the lead ``alias`` is visible to the user and not merged."""
    if lead_scope(user) is None:  # the whole brokerage: no subquery over a million ids
        return f"{alias}.merged_into_id IS NULL", []
    sql, params = Lead.objects.visible_to(user).values("pk").query.sql_with_params()
    return f"{alias}.id IN ({sql})", list(params)


@dataclass(frozen=True)
class MatchKind:
    """One way two leads match: rows of ``table`` sharing ``column``, found through its index."""

    name: str
    why: str
    table: str
    column: str
    by_owner: bool  # phone and email rows hang off an owner; the parcel is the house itself

    def lead_join(self, row: str, lead: str, owner: str) -> str:
        if self.by_owner:
            return (f"JOIN {Contact._meta.db_table} {owner} ON {owner}.id = {row}.contact_id "
                    f"JOIN {Lead._meta.db_table} {lead} ON {lead}.id = {owner}.lead_id")
        return f"JOIN {Lead._meta.db_table} {lead} ON {lead}.property_id = {row}.id"


KINDS = (
    MatchKind("phone", WHY_PHONE, Phone._meta.db_table, "number", True),
    MatchKind("email", WHY_EMAIL, Email._meta.db_table, "address", True),
    MatchKind("parcel", WHY_PARCEL, Property._meta.db_table, "apn", False),
)
# Shared values found per round trip, and how many rounds at most before the page just
# says there are more.
SCAN_BATCH = 1_000
SCAN_ROUNDS = 20
PAIR_CHUNK = 200
SAME_NAME = ("c1.last_name <> '' AND lower(replace(c1.last_name, ' ', '')) = lower(replace(c2.last_name, ' ', '')) "
             "AND lower(replace(c1.first_name, ' ', '')) = lower(replace(c2.first_name, ' ', ''))")


def _shared_values(kind: MatchKind, user, lead: Lead | None, after: str) -> tuple[list[str], str | None]:
    """The next values after ``after`` (in index order) that two or more rows hold, and where
    the next round starts (None: nothing left). Step one of two: a walk of the index alone."""
    table, column = kind.table, kind.column
    with connection.cursor() as cursor:
        if lead is None and lead_scope(user) is None:
            # The whole brokerage: one walk of the index, grouped as it goes, stopped after
            # SCAN_BATCH shared values (no sort, no hash of a million rows).
            cursor.execute(f"SELECT {column} FROM {table} WHERE {column} > %s GROUP BY {column} "
                           f"HAVING COUNT(*) > 1 ORDER BY {column} LIMIT %s", [after, SCAN_BATCH])
            values = [row[0] for row in cursor.fetchall()]
            return values, (values[-1] if len(values) == SCAN_BATCH else None)
        # Some leads only: start from their rows (materialised, so the plan cannot turn into a
        # walk of the whole index looking for theirs), keep those whose value another row holds.
        condition, params = ("l1.id = %s", [lead.pk]) if lead is not None else _visible_sql(user, "l1")
        # The hint is PostgreSQL's (and SQLite's only from 3.35): elsewhere a plain CTE.
        materialized = "MATERIALIZED" if connection.vendor == "postgresql" else ""
        cursor.execute(
            f"WITH theirs AS {materialized} (SELECT x1.id, x1.{column} AS value FROM {table} x1 "
            f"{kind.lead_join('x1', 'l1', 'c1')} WHERE x1.{column} > %s AND {condition} "
            "AND l1.merged_into_id IS NULL) "
            f"SELECT DISTINCT value FROM theirs WHERE EXISTS (SELECT 1 FROM {table} x2 "
            f"WHERE x2.{column} = theirs.value AND x2.id <> theirs.id) ORDER BY value LIMIT %s",
            [after, *params, SCAN_BATCH])
        values = [row[0] for row in cursor.fetchall()]
        return values, (values[-1] if len(values) == SCAN_BATCH else None)


def _pairs_sharing(kind: MatchKind, values: list[str], user, lead: Lead | None) -> list[tuple[int, int, str]]:
    """Step two: the pairs of visible, unmerged, undismissed leads behind those values."""
    column = kind.column
    sql = (f"SELECT l1.id, l2.id, x1.{column} FROM {kind.table} x1 "
           f"JOIN {kind.table} x2 ON x2.{column} = x1.{column} AND x2.id <> x1.id "
           f"{kind.lead_join('x1', 'l1', 'c1')} {kind.lead_join('x2', 'l2', 'c2')} "
           f"WHERE x1.{column} IN ({', '.join(['%s'] * len(values))})")
    params: list = list(values)
    if kind.by_owner:
        sql += f" AND {SAME_NAME}"
    else:  # one parcel number is one house only within its county and state
        sql += " AND x1.apn <> '' AND x1.county <> '' AND x2.county = x1.county AND x2.state = x1.state"
    sql += " AND l1.id = %s AND l2.id <> l1.id" if lead else " AND l2.id > l1.id"
    params += [lead.pk] if lead else []
    for alias in ("l1", "l2"):
        condition, extra = _visible_sql(user, alias)
        sql += f" AND {condition}"
        params += extra
    sql += (f" AND NOT EXISTS (SELECT 1 FROM {DuplicateDismissal._meta.db_table} d "
            # CASE, not LEAST/GREATEST: SQLite (the default install) has neither.
            "WHERE d.lead_low_id = CASE WHEN l1.id < l2.id THEN l1.id ELSE l2.id END "
            "AND d.lead_high_id = CASE WHEN l1.id < l2.id THEN l2.id ELSE l1.id END)")
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY x1.{column}, l1.id, l2.id", params)
        return cursor.fetchall()


def duplicate_pairs(*, fetched_by, limit: int = PAIRS_SHOWN, lead: Lead | None = None) -> tuple[list[DuplicatePair], bool]:
    """The first ``limit`` pairs of leads the user may see that look like one homeowner or
    house, and whether there are more. Same owner (last and first name, case and spaces
    aside) with the same phone or email on two leads; or the same parcel (APN) in the same
    county and state. With ``lead``: that lead's pairs only.

    Two steps per kind, both on an index: the shared values, walked in order (the index of
    ``Phone.number``, ``Email.address``, ``Property (apn, county)``), then the pairs behind
    them; the walk stops as soon as the page is full, so nothing is ever counted whole."""
    found: dict[tuple[int, int], DuplicatePair] = {}
    full = unread = False
    for kind in KINDS:
        # Each kind reads at most SCAN_ROUNDS rounds, so a book where thousands of numbers
        # are shared (co-owners on one lead) still gets to the emails and the parcels.
        after, rounds = "", 0
        while after is not None and rounds < SCAN_ROUNDS and not full:
            values, after = _shared_values(kind, fetched_by, lead, after)
            rounds += 1
            # A few hundred values a query keep the plan on the indexes (a long list turns it
            # into scans of whole tables), and a full page stops the reading.
            for start in range(0, len(values), PAIR_CHUNK):
                if full:
                    break
                for first, second, value in _pairs_sharing(kind, values[start:start + PAIR_CHUNK], fetched_by, lead):
                    key = (min(first, second), max(first, second))
                    if key not in found and len(found) == limit:
                        full = True
                        break
                    pair = found.setdefault(key, DuplicatePair(low=key[0], high=key[1]))
                    reason = kind.why.format(value=Phone(number=value).display if kind.name == "phone" else value)
                    if reason not in pair.reasons:
                        pair.reasons.append(reason)
        unread = unread or after is not None  # values of this kind left unread: say "more"
        if full:
            break
    more = full or unread
    pairs = list(found.values())
    _fill_leads(pairs)
    return pairs, more


def _fill_leads(pairs: list[DuplicatePair]) -> None:
    """Both leads of every pair with their house, agent and owners, in two queries."""
    ids = {pk for pair in pairs for pk in (pair.low, pair.high)}
    leads = Lead.objects.select_related("property", "assigned_agent", "team").in_bulk(ids)
    owners = lead_owner_names(lead_ids=ids)
    url_of = pk_url("leads:detail")
    for lead in leads.values():
        lead.owner_names = owners.get(lead.pk, [])
        lead.url = url_of(lead.pk)
    for pair in pairs:
        pair.low, pair.high = leads[pair.low], leads[pair.high]


def lead_merged_from(*, lead: Lead) -> list[LeadMerge]:
    """The merges into this lead that stand (not undone), newest first: "Merged from ..."."""
    return list(LeadMerge.objects.filter(survivor=lead, undone_at__isnull=True)
                .select_related("merged__property", "merged_by"))


def merged_lead_survivor_url(*, fetched_by, pk: int) -> str | None:
    """Where a merged lead's page leads: its survivor's, for whoever may see the survivor."""
    merged = Lead.objects.filter(pk=pk, merged_into__isnull=False).values_list("merged_into", flat=True).first()
    if merged is None or not Lead.objects.visible_to(fetched_by).filter(pk=merged).exists():
        return None
    return reverse("leads:detail", args=[merged])


def _visible_lead(user, pk) -> Lead:
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise Http404 from None
    return get_object_or_404(Lead.objects.visible_to(user).select_related("property", "assigned_agent", "team"),
                             pk=pk)


# Pages ------------------------------------------------------------------------------------


class DuplicatesView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """The pairs of the user's leads that look like one homeowner or house."""

    permission_required = MERGE_PERMISSION
    template_name = "leads/duplicates.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            shown = max(PAIRS_SHOWN, min(int(self.request.GET.get("shown", PAIRS_SHOWN)), PAIRS_MAX))
        except ValueError:
            shown = PAIRS_SHOWN
        pairs, more = duplicate_pairs(fetched_by=self.request.user, limit=shown)
        context.update(pairs=pairs, more=more and shown < PAIRS_MAX, next_shown=shown + PAIRS_SHOWN, shown=shown)
        return context


class DuplicateDismissView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """"Not a duplicate": the pair is remembered and no longer offered."""

    permission_required = MERGE_PERMISSION

    def post(self, request):
        lead = _visible_lead(request.user, request.POST.get("lead"))
        other = _visible_lead(request.user, request.POST.get("other"))
        try:
            duplicate_dismiss(lead=lead, other=other, dismissed_by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, DISMISSED.format(low=lead, high=other))
        return HttpResponseRedirect(reverse("pipeline:duplicates"))


def two_houses(first: Lead, second: Lead) -> bool:
    """Whether the two leads are, by their records, two houses: no parcel number shared in
    one county. (Their addresses always differ: a house's address key is its own, so that is
    no test.) An owner with two houses matches on name and phone, but merging would move one
    house's liens onto the other."""
    a, b = first.property, second.property
    same_parcel = bool(a.apn) and (a.apn, a.county, a.state) == (b.apn, b.county, b.state)
    return not same_parcel


class LeadMergeView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """Merge this lead with another: choose the other and the one to keep, see what moves."""

    permission_required = MERGE_PERMISSION
    template_name = "leads/merge.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, lead = self.request.user, self.lead
        context.update(lead=lead, other=None, error="")
        wanted = self.request.GET.get("with", "").strip().lstrip("#")
        if not wanted:
            context["pairs"], _ = duplicate_pairs(fetched_by=user, lead=lead, limit=20)
            return context
        if not wanted.isdigit():
            context.update(error=NOT_A_NUMBER, pairs=[], wanted=wanted)
            return context
        other = _visible_lead(user, wanted)
        if other.pk == lead.pk:
            context.update(error=SAME_LEAD, pairs=[], wanted=wanted)
            return context
        pair = DuplicatePair(low=lead.pk, high=other.pk)
        _fill_leads([pair])
        lead, other = pair.low, pair.high
        keep = self.request.GET.get("keep")
        survivor, merged = (other, lead) if keep == str(other.pk) else (lead, other)
        plan = merge_plan(survivor=survivor, merged=merged)
        context.update(
            lead=lead, other=other, survivor=survivor, merged=merged,
            moving=[item for item in plan if item.moving],
            staying=[item for item in plan if item.staying and item.link.disposition == MOVE],
            append_only=[item for item in plan if item.link.disposition == APPEND_ONLY],
            undo_hours=int(UNDO_WINDOW.total_seconds() // 3600),
            two_houses=two_houses(survivor, merged),
        )
        return context

    def get(self, request, *args, **kwargs):
        self.lead = lead = _visible_lead(request.user, kwargs["pk"])  # read once: the page uses it too
        if lead.erased_at is not None:
            messages.error(request, ERASED_NOT_EDITABLE)
            return HttpResponseRedirect(reverse("leads:detail", args=[lead.pk]))
        return super().get(request, *args, **kwargs)

    def post(self, request, pk):
        lead = _visible_lead(request.user, pk)
        if not str(request.POST.get("other", "")).isdigit():
            messages.error(request, NOT_A_NUMBER)
            return HttpResponseRedirect(reverse("pipeline:lead_merge", args=[lead.pk]))
        other = _visible_lead(request.user, request.POST.get("other"))
        if lead.erased_at is not None or other.erased_at is not None:
            # An erased homeowner's lead takes no other's rows, nor gives its own.
            messages.error(request, ERASED_NOT_EDITABLE)
            return HttpResponseRedirect(reverse("leads:detail", args=[lead.pk]))
        survivor, merged = (other, lead) if request.POST.get("keep") == str(other.pk) else (lead, other)
        if two_houses(survivor, merged) and request.POST.get("same_house") != "yes":
            messages.error(request, TWO_HOUSES_UNCONFIRMED)
            return HttpResponseRedirect(f"{reverse('pipeline:lead_merge', args=[lead.pk])}?with={other.pk}"
                                        f"&keep={survivor.pk}")
        try:
            record = lead_merge(survivor=survivor, merged=merged, merged_by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(f"{reverse('pipeline:lead_merge', args=[lead.pk])}?with={other.pk}")
        messages.success(request, MERGED.format(merged=merged, count=record.moved_count()))
        return HttpResponseRedirect(reverse("leads:detail", args=[survivor.pk]))


class LeadMergesView(LoginRequiredMixin, TemplateView):
    """The merges into this lead, and their undo (for 24 hours, by the merger or a broker)."""

    template_name = "leads/merge_history.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        lead = _visible_lead(self.request.user, kwargs["pk"])
        merges = list(LeadMerge.objects.filter(survivor=lead)
                      .select_related("merged__property", "merged_by", "undone_by"))
        now = timezone.now()
        for merge in merges:
            merge.undoable = can_undo(merge=merge, user=self.request.user, now=now)
            merge.undo_until = merge.merged_at + UNDO_WINDOW
        context.update(lead=lead, merges=merges, now=now)
        return context

    def post(self, request, pk):
        lead = _visible_lead(request.user, pk)
        back = HttpResponseRedirect(reverse("pipeline:lead_merges", args=[lead.pk]))
        if not str(request.POST.get("merge", "")).isdigit():
            messages.error(request, NO_MERGE_CHOSEN)
            return back
        merge = get_object_or_404(LeadMerge.objects.filter(survivor=lead).select_related("merged__property"),
                                  pk=int(request.POST["merge"]))
        try:
            lead_merge_undo(merge=merge, undone_by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, UNDONE.format(merged=merge.merged))
        return back
