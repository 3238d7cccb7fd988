"""The lead's timeline: everything that happened on it, from every part. Read by the lead
page (``pipeline.workspace``) and the API, so it sits below both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from django.utils import timezone

from compliance.selectors import lead_evidence_events
from leads.editing import lead_record_changes
from leads.merging import lead_ids_with_merged
from leads.models import Lead
from pipeline.models import (
    Message,
    OutreachAttempt,
    PlanEnrollment,
    PlanStepRun,
    RunStatus,
    SellerEvent,
    SellerEventKind,
    StageChange,
)
from pipeline.plans.lead_selectors import paused_because

TIMELINE_LIMIT = 100


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
    kind: str  # outreach, message, stage, follow_up, follow_up_done, document, lender, note, seller, change, evidence,
    # plan_step, plan_start, plan_pause, plan_resume, plan_end
    item: object


def lead_activity(*, lead: Lead, limit: int = TIMELINE_LIMIT) -> list[TimelineEvent]:
    """One timeline of everything that happened on a lead, newest first: outreach (and the
    texts, calls and emails through the provider), stage
    moves, follow-ups set and done, documents received, lender steps, notes, and the
    seller's side (links, visits, uploads), every edit of the lead's record by hand, the
    consent and records recorded or revoked, and the action plans' steps and stops.
    One query per kind, each cut at ``limit``."""
    from pipeline.models import DocumentUpload, LenderMilestone

    # The log and the seller's events are append-only: a duplicate merged into this lead
    # keeps its own, read through the merge (leads.merging).
    lead_ids = lead_ids_with_merged(lead)
    # A text, call or email through the provider and the attempt the gate allowed for it are
    # one entry: the message, its attempt read with it (one query for both).
    messages = list(Message.objects.filter(lead_id__in=lead_ids)
                    .select_related("agent", "filed_by", "attempt__compliance_check")[:limit])
    carried = {message.attempt_id for message in messages if message.attempt_id}
    events = [TimelineEvent(message.attempt.occurred_at if message.attempt else message.created_at, "message", message)
              for message in messages]
    events += [TimelineEvent(a.occurred_at, "outreach", a) for a in
               OutreachAttempt.objects.filter(lead_id__in=lead_ids).select_related("agent", "compliance_check")[:limit]
               if a.pk not in carried]
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
               SellerEvent.objects.filter(lead_id__in=lead_ids).exclude(kind=SellerEventKind.UPLOAD)
               .select_related("actor").order_by("-at", "-pk")[:limit]]
    # Consent and records as they were recorded and revoked (evidence never moves either).
    events += [TimelineEvent(e.at, "evidence", e) for e in lead_evidence_events(lead_ids=lead_ids, limit=limit)]
    # Who changed the owners, numbers, hardship, liens, filings or the house, and how.
    events += [TimelineEvent(c.at, "change", c) for c in lead_record_changes(lead=lead, limit=limit)]
    # Action plans: each step run (sent, a task, skipped with its rules, cancelled with why),
    # and each plan started, paused, resumed and ended, read from the enrollment's own dates
    # (its latest pause and resume: the enrollment keeps no more).
    events += [TimelineEvent(run.ran_at, "plan_step", run) for run in
               PlanStepRun.objects.filter(lead=lead).exclude(status=RunStatus.RUNNING)
               .select_related("enrollment__plan").order_by("-ran_at", "-pk")[:limit]]
    for enrollment in (PlanEnrollment.objects.filter(lead=lead).select_related("plan", "enrolled_by", "paused_by",
                                                                                 "ended_by", "automation")
                       .order_by("-started_at", "-pk")[:limit]):
        events.append(TimelineEvent(enrollment.started_at, "plan_start", enrollment))
        if enrollment.paused_at is not None:
            enrollment.pause_sentence = paused_because(enrollment)
            events.append(TimelineEvent(enrollment.paused_at, "plan_pause", enrollment))
        if enrollment.active_since > enrollment.started_at:
            events.append(TimelineEvent(enrollment.active_since, "plan_resume", enrollment))
        if enrollment.ended_at is not None:
            events.append(TimelineEvent(enrollment.ended_at, "plan_end", enrollment))
    events.sort(key=lambda event: event.at, reverse=True)
    return events[:limit]
