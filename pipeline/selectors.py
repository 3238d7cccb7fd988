"""Reads of the pipeline, scoped by who is looking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from django.db.models import Count, OuterRef, Prefetch, Q, Sum
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leads.filters import FOLLOW_UP_BUCKETS, due_within, follow_up_windows, has_follow_up_due
from leads.models import FUNNEL_STAGES, OUTCOME_STAGES, Contact, Lead, Property, Stage

from .models import FollowUp, Outcome, OutreachAttempt, SellerEventKind, StageChange

TIMELINE_LIMIT = 100


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


def _with_days_in_stage(changes: list[StageChange]) -> list[StageChange]:
    """Newest first: each stage lasted until the next, newer, change began (the newest: now)."""
    until = timezone.now()
    for change in changes:
        change.days_in_stage = max((until - change.changed_at).days, 0)
        change.is_current = change is changes[0]
        until = change.changed_at
    return changes


@dataclass(frozen=True)
class TimelineEvent:
    at: datetime
    kind: str  # outreach, stage, follow_up, follow_up_done, document, lender, note, seller
    item: object


def lead_activity(*, lead: Lead, limit: int = TIMELINE_LIMIT) -> list[TimelineEvent]:
    """One timeline of everything that happened on a lead, newest first: outreach, stage
    moves, follow-ups set and done, documents received, lender steps, notes, and the
    seller's side (links, visits, uploads).
    One query per kind, each cut at ``limit``."""
    from .models import DocumentUpload, LenderMilestone

    events = [TimelineEvent(a.occurred_at, "outreach", a) for a in
              lead.outreach_attempts.select_related("agent", "compliance_check")[:limit]]
    events += [TimelineEvent(c.changed_at, "stage", c) for c in
               _with_days_in_stage(list(lead.stage_changes.select_related("changed_by")[:limit]))]
    for follow_up in lead.follow_ups.select_related("assignee", "created_by").order_by("-created_at")[:limit]:
        events.append(TimelineEvent(follow_up.created_at, "follow_up", follow_up))
        if follow_up.done_at:
            events.append(TimelineEvent(follow_up.done_at, "follow_up_done", follow_up))
    events += [TimelineEvent(u.uploaded_at, "document", u) for u in
               DocumentUpload.objects.filter(item__lead=lead).select_related("item", "item__lien", "uploaded_by")
               .order_by("-uploaded_at")[:limit]]
    # A lender's step is dated, not timed: it sits at midday of its day, the agent's zone.
    # A step struck out by a correction shows crossed out, the correction on its own day.
    zone = timezone.get_current_timezone()
    steps = list(LenderMilestone.objects.filter(lender_file__lead=lead)
                 .select_related("lender_file__lien", "recorded_by", "voids", "voided_by__recorded_by")
                 .order_by("-occurred_on", "-pk")[:limit])
    for step in steps:
        step.correction = getattr(step, "voided_by", None)  # None when it stands
    events += [TimelineEvent(datetime.combine(m.occurred_on, time(12), tzinfo=zone), "lender", m) for m in steps]
    events += [TimelineEvent(n.created_at, "note", n) for n in lead.notes.select_related("author")[:limit]]
    # A seller's upload is on the timeline as its document already.
    events += [TimelineEvent(e.at, "seller", e) for e in
               lead.seller_events.exclude(kind=SellerEventKind.UPLOAD).select_related("actor")[:limit]]
    events.sort(key=lambda event: event.at, reverse=True)
    return events[:limit]


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


def recent_outreach(*, fetched_by: User, limit: int = 10) -> list[OutreachAttempt]:
    return list(
        OutreachAttempt.objects.visible_to(fetched_by)
        .select_related("lead__property", "agent")
        .only("occurred_at", "channel", "outcome", "lead__property__street", "lead__property__unit",
              "agent__username", "agent__first_name", "agent__last_name")
        .order_by("-occurred_at", "-pk")[:limit]
    )


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


# Kanban board --------------------------------------------------------------------------

BOARD_CARDS_PER_STAGE = 30
BOARD_FILTERS = ("assigned_agent", "team", "lead_type", "list")


@dataclass
class BoardColumn:
    stage: Stage
    count: int
    value: int
    cards: list[Lead]

    @property
    def more(self) -> int:
        return max(self.count - len(self.cards), 0)


def pipeline_board(*, fetched_by: User, filters: dict | None = None) -> tuple[list[BoardColumn], dict, object]:
    """The funnel as columns: counts and value per stage, the top cards of each by score.

    Nine queries whatever the number of leads: the totals per stage; per stage the ids
    of its top cards (``ORDER BY score LIMIT``, which the stage-and-score index answers
    without sorting a million rows); the cards; their homeowners; their approvals' expiry.
    Returns the columns, the closed and dead totals, and the filter (for its form).
    """
    from compliance.lead_filters import LeadFilter

    data = {key: value for key, value in (filters or {}).items() if key in BOARD_FILTERS}
    lead_filter = LeadFilter({**data, "status": "all"}, queryset=Lead.objects.visible_to(fetched_by),
                             user=fetched_by)
    leads = lead_filter.qs.order_by()
    totals = {
        row["stage"]: row
        for row in leads.values("stage").annotate(count=Count("pk"), value=Sum("property__estimated_value"))
    }
    top_ids = [
        pk
        for stage in FUNNEL_STAGES
        for pk in leads.filter(stage=stage).order_by("-score", "-pk").values_list("pk", flat=True)[:BOARD_CARDS_PER_STAGE]
    ]
    ranked = (
        Lead.objects.filter(pk__in=top_ids)
        .select_related("property", "assigned_agent")
        .prefetch_related(Prefetch("contacts", queryset=Contact.objects.order_by("position", "pk")))
        .order_by("-score", "-pk")
    )
    cards: dict[str, list[Lead]] = {stage: [] for stage in FUNNEL_STAGES}
    ranked = list(ranked)
    expiries = _approval_expiries([lead.pk for lead in ranked if lead.stage in (Stage.NEGOTIATE, Stage.CLOSE)])
    for lead in ranked:
        lead.approval_expires_on = expiries.get(lead.pk)
        cards[lead.stage].append(lead)
    columns = [
        BoardColumn(
            stage=stage,
            count=totals.get(stage, {}).get("count", 0),
            value=int(totals.get(stage, {}).get("value") or 0),
            cards=cards[stage],
        )
        for stage in FUNNEL_STAGES
    ]
    outcomes = {stage: totals.get(stage, {}).get("count", 0) for stage in OUTCOME_STAGES}
    return columns, outcomes, lead_filter



def _approval_expiries(lead_ids: list[int]) -> dict[int, object]:
    """Per lead, the soonest expiry among its liens' newest approval letters (one query)."""
    from .models import ApprovalLetter

    if not lead_ids:
        return {}
    newest: dict[int, tuple] = {}
    letters = (
        ApprovalLetter.objects.filter(lender_file__lead__in=lead_ids)
        .order_by("-issued_on", "-pk")
        .values_list("lender_file__lead_id", "lender_file__lien_id", "expires_on")
    )
    for lead_id, lien_id, expires_on in letters:
        newest.setdefault(lien_id, (lead_id, expires_on))
    soonest: dict[int, object] = {}
    for lead_id, expires_on in newest.values():
        if lead_id not in soonest or expires_on < soonest[lead_id]:
            soonest[lead_id] = expires_on
    return soonest


# The deal at a glance (the lead page) --------------------------------------------------


@dataclass(frozen=True)
class DealSummary:
    liens: int
    approved: int  # liens whose newest approval letter has not expired
    documents_to_get: int
    offers: int
    accepted_offer: object | None
    forecast: object | None


def deal_summary(*, lead: Lead) -> DealSummary:
    from .documents import package_checklist
    from .forecast import forecast_for
    from .lenders import latest_letters
    from .models import Offer, OfferStatus

    today = timezone.localdate()
    letters = latest_letters(lead=lead)
    offers = list(Offer.objects.filter(lead=lead).only("pk", "status", "price", "buyer_name", "lead_id"))
    return DealSummary(
        liens=lead.liens.count(),
        approved=sum(1 for letter in letters.values() if letter.is_valid_on(today)),
        documents_to_get=sum(1 for row in package_checklist(lead=lead, today=today) if row.needs_action),
        offers=len(offers),
        accepted_offer=next((o for o in offers if o.status == OfferStatus.ACCEPTED), None),
        forecast=forecast_for(lead, today=today),
    )


# A conversation: the homeowner was reached, or wrote back.
CONVERSATION_OUTCOMES = frozenset({Outcome.TALKED, Outcome.APPOINTMENT_SET, Outcome.REPLIED})


def lead_last_conversation(*, lead: Lead) -> dict:
    """The latest conversation with the homeowner, and the attempts after it: how many and
    the latest (every attempt when nobody was reached yet). An entry a later one corrects
    no longer counts. Read from the log itself, not the timeline, which is cut at a
    hundred events of every kind: a long-worked lead's last talk may lie further back."""
    attempts = lead.outreach_attempts.filter(corrections__isnull=True)
    conversation = attempts.filter(outcome__in=CONVERSATION_OUTCOMES).select_related("agent").first()
    since = attempts if conversation is None else attempts.filter(
        Q(occurred_at__gt=conversation.occurred_at) | Q(occurred_at=conversation.occurred_at, pk__gt=conversation.pk))
    latest = since.first()
    return {"conversation": conversation, "latest": latest, "since_count": since.count() if latest else 0}
