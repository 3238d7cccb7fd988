"""Saved searches ("smart lists"): the lead list's filters kept under a name, their owner's
alone or shared with a team, and the dashboard's count of each.

A saved query is checked through the lead list's own filter (``LeadFilter``) when it is
saved, so what is kept is what the list understands; the rest is dropped and named. Each
count is of the viewer's own visible leads, through the same filter as the list the count
links to, so the number and the rows behind the link agree. No count reads more than
``SMART_LIST_CAP`` + 1 rows (a ``LIMIT`` in its subquery: "1,000+" past it), and every smart
list is counted in one query."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse

from compliance.lead_filters import LeadFilter, choices_known
from leadcrm.accounts.models import Team, User
from leadcrm.shared.pagination import COUNT_CAP
from leads.filters import lists_version
from leads.models import Lead, SavedSearch
from leads.tags import team_ids_of

SEARCH_NAME_EMPTY = "Give the search a name."
SEARCH_NOTHING_TO_SAVE = "Choose a filter first: the whole list needs no saving."
SEARCH_TEAM_NOT_YOURS = "You may only share a search with a team you work in."
# A page is where the list is read, not which leads it holds.
NOT_FILTERS = frozenset({"page"})
# No smart list's count reads more rows than this (plus one, to know there are more).
SMART_LIST_CAP = COUNT_CAP


def teams_to_share_with(user: User) -> QuerySet[Team]:
    """The teams ``user`` may share a search with: the ones they work in."""
    return Team.objects.filter(pk__in=team_ids_of(user)).order_by("name")


def search_query_clean(*, query, user: User) -> tuple[str, list[str]]:
    """``query`` (a query string or a QueryDict) as the lead list's filter understands it,
    for ``user``: the parameters it knows with valid values, in the filter's order; and
    the names of those dropped (unknown, or refused by the filter, e.g. another team's tag)."""
    data = QueryDict(query) if isinstance(query, str) else query
    form = LeadFilter(data, queryset=Lead.objects.none(), user=user).form
    form.is_valid()
    dropped = sorted({key for key in data if key not in NOT_FILTERS
                      and (key not in form.fields or key in form.errors)})
    kept = [(name, data.get(name)) for name in form.fields
            if name not in form.errors and data.get(name) not in (None, "")]
    return urlencode(kept), dropped


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": SEARCH_NAME_EMPTY})
    return name


def _check_team(team: Team | None, user: User) -> None:
    if team is not None and not teams_to_share_with(user).filter(pk=team.pk).exists():
        raise ValidationError({"team": SEARCH_TEAM_NOT_YOURS})


def saved_search_create(*, owner: User, name: str, query, team: Team | None = None) -> tuple[SavedSearch, list[str]]:
    """Save the lead list's ``query`` under ``name``, private or shared with ``team``; with
    the parameters dropped as the list did not understand them."""
    cleaned, dropped = search_query_clean(query=query, user=owner)
    if not cleaned:
        raise ValidationError({"query": SEARCH_NOTHING_TO_SAVE})
    _check_team(team, owner)
    search = SavedSearch(owner=owner, name=_clean_name(name), query=cleaned, team=team)
    search.full_clean()
    search.save()
    return search, dropped


def saved_search_update(*, search: SavedSearch, name: str, team: Team | None) -> SavedSearch:
    """Rename a search, or share it with a team (None: make it private again)."""
    _check_team(team, search.owner)
    search.name, search.team = _clean_name(name), team
    search.full_clean()
    search.save(update_fields=["name", "team", "updated_at"])
    return search


def saved_search_delete(*, search: SavedSearch) -> None:
    search.delete()


# Reads ------------------------------------------------------------------------------------


def saved_searches_visible_to(user: User) -> QuerySet[SavedSearch]:
    """A user's own searches and those shared with a team they work in (no one else's,
    the broker's included: a search is about its team's work)."""
    if user is None or not user.is_authenticated:
        return SavedSearch.objects.none()
    return (SavedSearch.objects.filter(Q(owner=user) | Q(team__in=team_ids_of(user)))
            .select_related("owner", "team").order_by("name", "pk"))


def saved_search_get_own(*, fetched_by: User, pk) -> SavedSearch:
    """One of the user's own searches, or 404 (a shared one is its owner's to change)."""
    return get_object_or_404(SavedSearch.objects.select_related("owner", "team"), pk=pk, owner=fetched_by)


def list_url(query: str) -> str:
    base = reverse("leads:list")
    return f"{base}?{query}" if query else base


@dataclass
class SmartList:
    search: SavedSearch
    url: str
    count: int
    capped: bool  # more than ``count`` (the cap): shown as "1,000+"
    is_own: bool


def capped_counts_sql(querysets: list[QuerySet], cap: int) -> tuple[str, list]:
    """One SELECT of each queryset's rows counted no further than ``cap`` + 1 (a ``LIMIT``
    in each subquery): its SQL and parameters."""
    parts, params = [], []
    for queryset in querysets:
        sql, values = queryset.order_by().values("pk")[: cap + 1].query.sql_with_params()
        parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped_{len(parts)})")
        params.extend(values)
    return "SELECT " + ", ".join(parts), params


def _capped_counts(querysets: list[QuerySet], cap: int) -> list[int]:
    if not querysets:
        return []
    sql, params = capped_counts_sql(querysets, cap)
    with connections[querysets[0].db].cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchone())


def smart_lists(*, fetched_by: User, cap: int | None = None) -> list[SmartList]:
    """Every saved search the user sees, each with how many of *their* visible leads it
    picks (as the lead list it links to shows them), capped at ``cap``.

    A constant number of queries however many searches: the searches, the lists' version,
    the rows their filters name (one per kind) and one query for every count."""
    cap = cap or SMART_LIST_CAP
    searches = list(saved_searches_visible_to(fetched_by))
    if not searches:
        return []
    version = lists_version()
    visible = Lead.objects.visible_to(fetched_by)
    datas = [QueryDict(search.query) for search in searches]
    sample = LeadFilter(None, queryset=visible, user=fetched_by, known={}, lists_at=version)
    known = choices_known(sample, datas)
    querysets = [LeadFilter(data, queryset=visible, user=fetched_by, known=known, lists_at=version).qs
                 for data in datas]
    counts = _capped_counts(querysets, cap)
    return [SmartList(search=search, url=list_url(search.query), count=min(count, cap), capped=count > cap,
                      is_own=search.owner_id == fetched_by.pk)
            for search, count in zip(searches, counts, strict=True)]
