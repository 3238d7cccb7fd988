"""Reads of the pipeline, scoped by who is looking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, OuterRef
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leads.filters import FOLLOW_UP_BUCKETS, due_within, follow_up_windows, has_follow_up_due
from leads.models import OUTCOME_STAGES, Lead, Property
from pipeline.models import FollowUp


@dataclass(frozen=True)
class LeadFollowUps:
    open: list[FollowUp]
    done: list[FollowUp]


def lead_follow_ups(*, lead: Lead) -> LeadFollowUps:
    """The lead's open follow-ups, soonest first, and the last ones done."""
    return LeadFollowUps(
        open=list(lead.follow_ups.open().select_related("assignee")),
        done=list(lead.follow_ups.filter(done_at__isnull=False).select_related("assignee").order_by("-done_at")[:3]),
    )


@dataclass
class AgendaItem:
    """One open follow-up as the dashboard lists it (read as plain values: three lists of
    fifteen, many times a minute, cost more as models than as queries)."""

    pk: int
    lead_id: int
    title: str
    kind: str
    due_at: datetime
    street: str = ""
    unit: str = ""
    city: str = ""
    # What the dashboard's line shows, filled in by the view (``_prepare_agenda``).
    lead_url: str = ""
    done_url: str = ""
    kind_label: str = ""
    due_label: str = ""
    due_full: str = ""

    @property
    def street_line(self) -> str:
        return Property.street_line_of(self.street, self.unit)

    @property
    def where(self) -> str:
        """``12 Elm St #4, Tulsa`` (the street alone when the city is unknown)."""
        return ", ".join(part for part in (self.street_line, self.city) if part)


@dataclass(frozen=True)
class FollowUpAgenda:
    overdue: list[AgendaItem]
    today: list[AgendaItem]
    upcoming: list[AgendaItem]
    # The buckets holding more than were listed, named as the lead list's follow-up filter
    # names them ("overdue", "today", "week").
    more: frozenset[str] = frozenset()
    # Per bucket, all of them: the leads (the rows of the lead list the group links to:
    # a lead with two follow-ups is one row) and the follow-ups on them.
    totals: dict[str, tuple[int, int]] = field(default_factory=dict)

    def leads_in(self, bucket: str) -> int:
        return self.totals.get(bucket, (0, 0))[0]

    @property
    def lead_counts(self) -> dict[str, int]:
        return {bucket: self.leads_in(bucket) for bucket in FOLLOW_UP_BUCKETS}

    @property
    def follow_up_counts(self) -> dict[str, int]:
        return {bucket: self.totals.get(bucket, (0, 0))[1] for bucket in FOLLOW_UP_BUCKETS}


AGENDA_FIELDS = ("pk", "lead_id", "title", "kind", "due_at")


AGENDA_PLACE = ("lead__property__street", "lead__property__unit", "lead__property__city")


def follow_up_agenda(*, user: User, now: datetime | None = None, limit: int = 15) -> FollowUpAgenda:
    """The user's own open follow-ups on open leads they may see: overdue, the rest of today
    (their zone), the week ahead; the groups of the lead list's follow_up filter."""
    now = now or timezone.now()
    windows = follow_up_windows(now)
    # The user's own open follow-ups in due order (an index walk, LIMIT first), then only
    # those on leads they may still see: filtering by visibility inside the query made the
    # planner read and sort every open follow-up of a 10,000-lead book. Each bucket reads
    # the follow-up table alone (planned in a tenth of the time a join to the lead and its
    # property takes); the visible leads' addresses come in one query after.
    base = FollowUp.objects.open().filter(assignee=user).order_by("due_at", "pk")
    queries = {bucket: base.filter(due_within(windows[bucket])) for bucket in FOLLOW_UP_BUCKETS}
    # One more than shown, to know whether there are more.
    read = {bucket: [AgendaItem(*row) for row in query.values_list(*AGENDA_FIELDS)[:limit + 1]]
            for bucket, query in queries.items()}
    lead_ids = {item.lead_id for bucket in read.values() for item in bucket}
    visible = Lead.objects.visible_to(user).open()
    places = {pk: place for pk, *place in visible.filter(pk__in=lead_ids).values_list(
        "pk", "property__street", "property__unit", "property__city")}
    shown = {}
    for bucket, items in read.items():
        shown[bucket] = [item for item in items if item.lead_id in places]
        for item in shown[bucket]:
            item.street, item.unit, item.city = places[item.lead_id]
        if len(items) > limit and len(shown[bucket]) <= limit:
            # A full read that held follow-ups on leads the user no longer sees: read the
            # bucket again through the visible leads (rare, and slower), so "15+" and the
            # lines count only what the user may see, as the lead list does.
            rows = queries[bucket].filter(lead__in=visible.values("pk")).values_list(*AGENDA_FIELDS, *AGENDA_PLACE)
            shown[bucket] = [AgendaItem(*row) for row in rows[:limit + 1]]
    more = frozenset(bucket for bucket, items in shown.items() if len(items) > limit)
    # All of them, in one query, counted as the lead list's follow_up filter picks its rows:
    # the user's open follow-ups due in the window, on open leads the user may see.
    counted = base.order_by().filter(lead__in=visible.values("pk")).aggregate(**{
        f"{bucket}_{what}": Count(field, distinct=what == "leads", filter=due_within(windows[bucket]))
        for bucket in FOLLOW_UP_BUCKETS for what, field in (("leads", "lead"), ("items", "pk"))})
    totals = {bucket: (counted[f"{bucket}_leads"], counted[f"{bucket}_items"]) for bucket in FOLLOW_UP_BUCKETS}
    return FollowUpAgenda(overdue=shown["overdue"][:limit], today=shown["today"][:limit],
                          upcoming=shown["week"][:limit], more=more, totals=totals)


@dataclass(frozen=True)
class AgentLoad:
    agent: User
    open_leads: int
    # Leads, not follow-ups: the open leads of the agent with an overdue follow-up of the
    # agent's, the very rows of the lead list the number links to
    # (?assigned_agent=<agent>&follow_up=overdue). Two overdue follow-ups on one lead are one
    # row there, and one here; the agent's follow-up on someone else's lead is in neither.
    overdue_leads: int


def agent_workload(*, fetched_by: User, now: datetime | None = None) -> list[AgentLoad]:
    """Open leads, and those of them with an overdue follow-up, per agent, for team leads
    and brokers."""
    if not (fetched_by.has_perm(Perm.VIEW_TEAM_LEADS) or fetched_by.has_perm(Perm.VIEW_ALL_LEADS)):
        return []
    now = now or timezone.now()
    leads = Lead.objects.visible_to(fetched_by).exclude(stage__in=OUTCOME_STAGES).exclude(assigned_agent=None)
    open_by_agent = dict(
        leads.order_by().values_list("assigned_agent").annotate(n=Count("pk")).values_list("assigned_agent", "n")
    )
    overdue_by_agent = dict(
        leads.filter(has_follow_up_due("overdue", assignee=OuterRef("assigned_agent"), now=now)).order_by()
        .values_list("assigned_agent").annotate(n=Count("pk")).values_list("assigned_agent", "n")
    )
    agents = User.objects.filter(pk__in=set(open_by_agent))
    return sorted(
        (
            AgentLoad(agent, open_by_agent.get(agent.pk, 0), overdue_by_agent.get(agent.pk, 0))
            for agent in agents
        ),
        key=lambda load: (-load.overdue_leads, -load.open_leads, str(load.agent)),
    )
