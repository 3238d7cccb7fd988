"""Automations that start plans: saving them, what each does in words, and the sweep that
puts leads in plans when something happens to them (the Celery task
``pipeline.plan_automations_run`` calls ``automations_run`` every minute).

Two kinds of trigger:

- Events (a stage entered, a list imported into, a tag added, a lead going quiet for the
  number of days) count only after the automation was switched on (``active_since``), so
  turning one on never enrolls the whole book, and only while they are fresh
  (``EVENT_FRESH_FOR``); a quiet spell counts when it reaches its days after that.
- A date near counts whenever it holds: a lead whose auction is ten days away is exactly
  who a "14 days before the auction" plan is for, even if the automation was made
  yesterday, and the leads with a date that near are few. The bounded batches keep a first
  run from enrolling them all in one minute.

Each event enrolls a lead once: its key (``PlanEnrollment.trigger_key``) is unique per
automation and lead, and a lead already in the plan is left out until that enrollment ends
(a moved auction is a new event, started only once the plan for the old date is over).
Two sweeps at once are safe: the automation's row is locked while a batch is enrolled, and
the unique constraints decide whatever gets past it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, Greatest
from django.shortcuts import get_object_or_404
from django.utils import timezone

from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leads.models import (
    FUNNEL_STAGES,
    ForeclosureRecord,
    Lead,
    LeadList,
    LeadTag,
    ListMembership,
    Stage,
    Tag,
)
from leads.tags import tags_usable_by
from pipeline.models import (
    OPEN_ENROLLMENT,
    ActionPlan,
    ApprovalLetter,
    EnrollmentSource,
    KeyDate,
    PlanAutomation,
    PlanEnrollment,
    StepAnchor,
    TriggerKind,
)

from .scheduling import LAST_US_ZONE
from .services import lead_enroll

logger = logging.getLogger(__name__)

# Leads looked at per automation per run, oldest event first; the rest come next minute.
PER_RUN = 5000
# Enrollments per transaction: the automation's row stays locked for one batch at a time,
# so a hand enrollment of the same lead never waits long behind the sweep.
BATCH = 100
# An event older than this is not acted on (a sweep that was down for longer, a lead that
# was in the plan when it happened): a plan greeting a homeowner about last month's news
# reads as a mistake.
EVENT_FRESH_FOR = timedelta(days=7)
MIN_DAYS, MAX_DAYS = 1, 365
DATE_KINDS = (KeyDate.AUCTION, KeyDate.APPROVAL_EXPIRY, KeyDate.FILING)

TRIGGER_NEEDED = "Say what starts the plan."
STAGE_NEEDED = "Pick the stage a lead enters."
STAGE_UNKNOWN = "Not a stage of the funnel."
STAGE_OUTSIDE_PLAN = "“{plan}” is for leads in {stages}: a lead in {stage} would never be put in it."
LIST_NEEDED = "Pick one of the lists you can see."
TAG_NEEDED = "Pick one of the tags you can use."
DATE_KIND_NEEDED = "Pick the date: the auction, the approval's closing deadline or a filing."
DAYS_RANGE = f"Give a number of days from {MIN_DAYS} to {MAX_DAYS}."
SHARED_NEEDS_BROKER = "Only a broker starts plans on every lead of the brokerage."
SHARED_NEEDS_SHARED_PLAN = "An automation on every lead starts one of the brokerage's shared plans, not someone's own."
PLAN_NOT_USABLE = "That plan is someone else's: an automation starts a shared plan or one of your own."
PLAN_DELETED = "That plan was deleted: its automations no longer run."
NOT_YOURS = "That automation is someone else's."
SHARED_CHANGED_BY_BROKER = "Only a broker changes the brokerage's shared automations."
ALREADY_ON = "That automation is already on."
ALREADY_OFF = "That automation is already paused."

STAGE_WORDS = {
    Stage.LIST: "List", Stage.CONTACT: "Contact", Stage.QUALIFY: "Qualify", Stage.NEGOTIATE: "Negotiate",
    Stage.CLOSE: "Close",
}
DATE_WORDS = {
    KeyDate.AUCTION: "the auction",
    KeyDate.APPROVAL_EXPIRY: "the approval letter's closing deadline",
    KeyDate.FILING: "a pre-foreclosure filing is recorded",
}


# Who may use what -----------------------------------------------------------------------------


def lists_usable_by(user: User) -> QuerySet[LeadList]:
    """The lists ``user`` may start plans from: those with a lead they may see, and those
    they made (an agent's own import, even before its leads are theirs); a broker's, all."""
    if user.has_perm(Perm.VIEW_ALL_LEADS):
        return LeadList.objects.all()
    seen = ListMembership.objects.filter(lead_list=OuterRef("pk"), lead__in=Lead.objects.visible_to(user))
    return LeadList.objects.filter(Q(created_by=user) | Q(Exists(seen)))


def automations_visible_to(user: User) -> QuerySet[PlanAutomation]:
    """The user's own automations and the brokerage's shared ones."""
    return PlanAutomation.objects.filter(Q(owner=user) | Q(owner__isnull=True))


def automation_plan_get(*, fetched_by: User, pk) -> ActionPlan:
    """A live plan the user may use (shared, or their own), or 404."""
    return get_object_or_404(ActionPlan.objects.usable_by(fetched_by), pk=pk)


def automation_get(*, fetched_by: User, plan: ActionPlan, pk) -> PlanAutomation:
    """One of the plan's automations the user may see, or 404."""
    return get_object_or_404(automations_visible_to(fetched_by).filter(plan=plan).select_related(
        "plan", "owner", "lead_list", "tag"), pk=pk)


def automation_list(*, fetched_by: User, plan: ActionPlan) -> list[PlanAutomation]:
    """The plan's automations the user may see, each with ``enrolled`` (leads it ever put
    in the plan), in one query."""
    return list(automations_visible_to(fetched_by).filter(plan=plan)
                .select_related("owner", "lead_list", "tag")
                .annotate(enrolled=Count("enrollments"))
                .order_by("-is_active", "pk"))


def may_change(user: User, automation: PlanAutomation) -> bool:
    if automation.owner_id is None:
        return user.has_perm(Perm.MANAGE_PLANS)
    return automation.owner_id == user.pk


def _check_may_change(actor: User, automation: PlanAutomation) -> None:
    if automation.owner_id is None and not actor.has_perm(Perm.MANAGE_PLANS):
        raise ValidationError(SHARED_CHANGED_BY_BROKER)
    if automation.owner_id is not None and automation.owner_id != actor.pk:
        raise ValidationError(NOT_YOURS)


# In words -------------------------------------------------------------------------------------


def _days(days: int) -> str:
    return f"{days} day{'s' if days != 1 else ''}"


def automation_words(automation: PlanAutomation) -> str:
    """What starts the plan, as a person would say it: "When a lead enters Qualify",
    "14 days before the auction", "No conversation for 30 days in Contact"."""
    trigger = automation.trigger
    if trigger == TriggerKind.STAGE_ENTERED:
        return f"When a lead enters {STAGE_WORDS.get(automation.stage, automation.stage)}"
    if trigger == TriggerKind.LIST_IMPORTED:
        return f"When a lead is imported into “{automation.lead_list}”"
    if trigger == TriggerKind.TAG_ADDED:
        return f"When a lead is tagged “{automation.tag}”"
    if trigger == TriggerKind.DATE_APPROACHING:
        if automation.date_kind == KeyDate.FILING:
            return f"Within {_days(automation.days)} after {DATE_WORDS[KeyDate.FILING]}"
        return f"{_days(automation.days)} before {DATE_WORDS.get(automation.date_kind, 'the date')}"
    if trigger == TriggerKind.NO_CONTACT:
        words = f"No conversation for {_days(automation.days)}"
        return words + (f" in {STAGE_WORDS.get(automation.stage, automation.stage)}" if automation.stage else "")
    return automation.get_trigger_display()


def automation_scope_words(automation: PlanAutomation, *, viewer: User) -> str:
    if automation.owner_id is None:
        return "Every lead of the brokerage"
    return "Your leads" if automation.owner_id == viewer.pk else f"{automation.owner.get_full_name()}'s leads"


# Writes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Listens:
    """What an automation listens for: a change of it is a new automation, in effect."""

    trigger: str
    stage: str
    lead_list_id: int | None
    tag_id: int | None
    date_kind: str
    days: int

    @classmethod
    def of(cls, automation: PlanAutomation) -> _Listens:
        return cls(automation.trigger, automation.stage, automation.lead_list_id, automation.tag_id,
                   automation.date_kind, automation.days)


def _days_checked(days) -> int:
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValidationError({"days": DAYS_RANGE})
    return days


def _stage_checked(stage: str, plan: ActionPlan, *, needed: bool) -> str:
    if not stage:
        if needed:
            raise ValidationError({"stage": STAGE_NEEDED})
        return ""
    if stage not in FUNNEL_STAGES:
        raise ValidationError({"stage": STAGE_UNKNOWN})
    if plan.stages and stage not in plan.stages:
        raise ValidationError({"stage": STAGE_OUTSIDE_PLAN.format(
            plan=plan.name, stages=", ".join(STAGE_WORDS[Stage(s)] for s in plan.stages), stage=STAGE_WORDS[stage])})
    return stage


@transaction.atomic
def automation_save(
    *,
    actor: User,
    plan: ActionPlan,
    trigger: str,
    stage: str = "",
    lead_list: LeadList | None = None,
    tag: Tag | None = None,
    date_kind: str = "",
    days: int | None = None,
    name: str = "",
    shared: bool = False,
    automation: PlanAutomation | None = None,
    at: datetime | None = None,
) -> PlanAutomation:
    """Create an automation on ``plan`` or change one. A shared one (brokers only) acts on
    every lead and starts a shared plan; the actor's own acts on their leads and starts a
    shared plan or one of theirs. Only the fields the trigger needs are kept. A change of
    what it listens for counts from now, like a new one."""
    at = at or timezone.now()
    if automation is not None:
        _check_may_change(actor, automation)
        plan = automation.plan
    if plan.deleted_at is not None:
        raise ValidationError(PLAN_DELETED)
    if shared:
        if not actor.has_perm(Perm.MANAGE_PLANS):
            raise ValidationError(SHARED_NEEDS_BROKER)
        if not plan.is_shared:
            raise ValidationError(SHARED_NEEDS_SHARED_PLAN)
    elif not (plan.is_shared or plan.owner_id == actor.pk):
        raise ValidationError(PLAN_NOT_USABLE)
    if trigger not in TriggerKind.values:
        raise ValidationError({"trigger": TRIGGER_NEEDED})

    fields = {"stage": "", "lead_list": None, "tag": None, "date_kind": "", "days": 0}
    if trigger == TriggerKind.STAGE_ENTERED:
        fields["stage"] = _stage_checked(stage, plan, needed=True)
    elif trigger == TriggerKind.LIST_IMPORTED:
        if lead_list is None or not lists_usable_by(actor).filter(pk=lead_list.pk).exists():
            raise ValidationError({"lead_list": LIST_NEEDED})
        fields["lead_list"] = lead_list
    elif trigger == TriggerKind.TAG_ADDED:
        if tag is None or not tags_usable_by(actor).filter(pk=tag.pk).exists():
            raise ValidationError({"tag": TAG_NEEDED})
        fields["tag"] = tag
    elif trigger == TriggerKind.DATE_APPROACHING:
        if date_kind not in DATE_KINDS:
            raise ValidationError({"date_kind": DATE_KIND_NEEDED})
        fields["date_kind"], fields["days"] = date_kind, _days_checked(days)
    else:
        fields["days"] = _days_checked(days)
        fields["stage"] = _stage_checked(stage, plan, needed=False)

    creating = automation is None
    if creating:
        automation = PlanAutomation(plan=plan, created_by=actor, created_at=at, active_since=at, is_active=True)
        before = None
    else:
        automation = PlanAutomation.objects.select_for_update().get(pk=automation.pk)
        before = _Listens.of(automation)
    automation.name = (name or "").strip()[:120]
    automation.trigger = trigger
    for field, value in fields.items():
        setattr(automation, field, value)
    automation.owner = None if shared else actor
    if before is not None and before != _Listens.of(automation) and automation.is_active:
        automation.active_since = at
    automation.full_clean()
    automation.save()
    return automation


@transaction.atomic
def automation_pause(*, automation: PlanAutomation, actor: User) -> PlanAutomation:
    """Stop an automation starting its plan; the leads it already enrolled stay in it."""
    _check_may_change(actor, automation)
    automation = PlanAutomation.objects.select_for_update().get(pk=automation.pk)
    if not automation.is_active:
        raise ValidationError(ALREADY_OFF)
    automation.is_active = False
    automation.save(update_fields=["is_active"])
    return automation


@transaction.atomic
def automation_resume(*, automation: PlanAutomation, actor: User, at: datetime | None = None) -> PlanAutomation:
    """Switch an automation back on. What happened while it was paused does not count: it
    listens from now, as a new one would."""
    at = at or timezone.now()
    _check_may_change(actor, automation)
    automation = PlanAutomation.objects.select_for_update().select_related("plan").get(pk=automation.pk)
    if automation.plan.deleted_at is not None:
        raise ValidationError(PLAN_DELETED)
    if automation.is_active:
        raise ValidationError(ALREADY_ON)
    automation.is_active, automation.active_since = True, at
    automation.save(update_fields=["is_active", "active_since"])
    return automation


@transaction.atomic
def automation_delete(*, automation: PlanAutomation, actor: User) -> None:
    """Delete an automation. The leads it enrolled stay in the plan, still marked as
    started by an automation."""
    _check_may_change(actor, automation)
    PlanAutomation.objects.filter(pk=automation.pk).delete()


# The sweep ------------------------------------------------------------------------------------


@dataclass
class AutomationRun:
    candidates: int = 0
    enrolled: int = 0
    skipped: int = 0  # refused by lead_enroll: another sweep or a hand enrollment got there first
    failed: int = 0
    busy: bool = False  # another sweep held it: that one does the work

    def as_dict(self) -> dict:
        return {"candidates": self.candidates, "enrolled": self.enrolled, "skipped": self.skipped,
                "failed": self.failed, "busy": self.busy}


def _today(now: datetime) -> date:
    # The same "today" as the plans' dates (scheduling.key_date_of): a date has passed only
    # once it has passed everywhere in the US.
    return timezone.localdate(now, LAST_US_ZONE)


def _has_key_date(kind: str, today: date) -> Exists:
    """The lead (``OuterRef("pk")``) has the date a plan counts from (as
    scheduling.key_date_of reads it)."""
    if kind == KeyDate.AUCTION:
        return Exists(ForeclosureRecord.objects.filter(lead=OuterRef("pk"), auction_date__gte=today))
    if kind == KeyDate.APPROVAL_EXPIRY:
        newer = ApprovalLetter.objects.filter(lender_file=OuterRef("lender_file"), issued_on__gt=OuterRef("issued_on"))
        return Exists(ApprovalLetter.objects.filter(lender_file__lead=OuterRef("pk"), expires_on__gte=today)
                      .exclude(Exists(newer)))
    return Exists(ForeclosureRecord.objects.filter(lead=OuterRef("pk"), recording_date__isnull=False))


def _leads_in_reach(automation: PlanAutomation, now: datetime) -> QuerySet[Lead]:
    """The leads the automation may put in its plan, as ``lead_enroll`` would judge them,
    so that a lead it would refuse is not taken up every minute: funnel leads (in the
    plan's stages, if it names some) with an active agent (the automation's owner, for an
    agent's own), not erased or merged, with the plan's date if its steps count from one,
    and not in the plan now."""
    plan = automation.plan
    stages = [stage for stage in FUNNEL_STAGES if not plan.stages or stage in plan.stages]
    leads = Lead.objects.filter(stage__in=stages, erased_at__isnull=True, merged_into__isnull=True,
                                assigned_agent__isnull=False, assigned_agent__is_active=True)
    if automation.owner_id is not None:
        leads = leads.filter(assigned_agent_id=automation.owner_id)
    if plan.key_date and plan.steps.filter(anchor=StepAnchor.KEY_DATE).exists():
        leads = leads.filter(_has_key_date(plan.key_date, _today(now)))
    in_plan = PlanEnrollment.objects.filter(plan_id=plan.pk, lead=OuterRef("pk"), status__in=OPEN_ENROLLMENT)
    return leads.exclude(Exists(in_plan))


def _started_since(automation: PlanAutomation, lead_ref: str, since_ref: str) -> Exists:
    """This automation already put the lead in the plan for this event: an enrollment of
    it started at or after the event (a lead has one current event per automation: its
    stage entry, its membership of the list, its tag, its quiet spell)."""
    return Exists(PlanEnrollment.objects.filter(automation_id=automation.pk, lead_id=OuterRef(lead_ref),
                                                started_at__gte=OuterRef(since_ref)))


def _stamp(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%S}"


def _stage_entered(automation: PlanAutomation, now: datetime) -> list[tuple[int, str]]:
    since = max(automation.active_since, now - EVENT_FRESH_FOR)
    rows = (_leads_in_reach(automation, now).filter(stage=automation.stage, stage_entered_at__gt=since)
            .exclude(_started_since(automation, "pk", "stage_entered_at"))
            .order_by("stage_entered_at", "pk").values_list("pk", "stage_entered_at")[:PER_RUN])
    return [(lead_id, f"stage:{automation.stage}:{_stamp(entered)}") for lead_id, entered in rows]


def _list_imported(automation: PlanAutomation, now: datetime) -> list[tuple[int, str]]:
    since = max(automation.active_since, now - EVENT_FRESH_FOR)
    rows = (ListMembership.objects.filter(lead_list_id=automation.lead_list_id, added_at__gt=since,
                                          lead__in=_leads_in_reach(automation, now).values("pk"))
            .exclude(_started_since(automation, "lead_id", "added_at"))
            .order_by("added_at", "pk").values_list("pk", "lead_id")[:PER_RUN])
    return [(lead_id, f"list:{automation.lead_list_id}:{membership_id}") for membership_id, lead_id in rows]


def _tag_added(automation: PlanAutomation, now: datetime) -> list[tuple[int, str]]:
    since = max(automation.active_since, now - EVENT_FRESH_FOR)
    rows = (LeadTag.objects.filter(tag_id=automation.tag_id, added_at__gt=since,
                                   lead__in=_leads_in_reach(automation, now).values("pk"))
            .exclude(_started_since(automation, "lead_id", "added_at"))
            .order_by("added_at", "pk").values_list("pk", "lead_id")[:PER_RUN])
    return [(lead_id, f"tag:{automation.tag_id}:{lead_tag_id}") for lead_tag_id, lead_id in rows]


def _date_rows(kind: str, today: date, days: int) -> tuple[QuerySet, Subquery]:
    """For a date kind: the lead ids with such a date in the window (a narrow first cut
    through the dates' own indexes) and the lead's date itself (``OuterRef("pk")``) as
    scheduling.key_date_of reads it: the nearest auction or deadline ahead, the latest
    filing."""
    if kind == KeyDate.AUCTION:
        near = ForeclosureRecord.objects.filter(auction_date__gte=today, auction_date__lte=today + timedelta(days=days))
        day = ForeclosureRecord.objects.filter(lead=OuterRef("pk"), auction_date__gte=today).order_by("auction_date")
        return near.values("lead_id"), Subquery(day.values("auction_date")[:1])
    if kind == KeyDate.APPROVAL_EXPIRY:
        def current(letters):
            newer = ApprovalLetter.objects.filter(lender_file=OuterRef("lender_file"), issued_on__gt=OuterRef("issued_on"))
            return letters.exclude(Exists(newer))

        near = current(ApprovalLetter.objects.filter(expires_on__gte=today, expires_on__lte=today + timedelta(days=days)))
        day = current(ApprovalLetter.objects.filter(lender_file__lead=OuterRef("pk"), expires_on__gte=today))
        return near.values("lender_file__lead_id"), Subquery(day.order_by("expires_on").values("expires_on")[:1])
    near = ForeclosureRecord.objects.filter(recording_date__gte=today - timedelta(days=days), recording_date__lte=today)
    day = ForeclosureRecord.objects.filter(lead=OuterRef("pk"), recording_date__lte=today).order_by("-recording_date")
    return near.values("lead_id"), Subquery(day.values("recording_date")[:1])


def _date_approaching(automation: PlanAutomation, now: datetime) -> list[tuple[int, str]]:
    kind, days, today = automation.date_kind, automation.days, _today(now)
    lead_ids, day = _date_rows(kind, today, days)
    window = {"day__gte": today - timedelta(days=days), "day__lte": today} if kind == KeyDate.FILING else \
        {"day__gte": today, "day__lte": today + timedelta(days=days)}
    # The key is the date itself (a moved auction is a new event): built in SQL too, so an
    # event already enrolled is left out before the batch is cut.
    key = Concat(Value(f"{kind}:"), Cast("day", CharField()), output_field=CharField())
    done = PlanEnrollment.objects.filter(automation_id=automation.pk, lead=OuterRef("pk"), trigger_key=OuterRef("key"))
    rows = (_leads_in_reach(automation, now).filter(pk__in=lead_ids).annotate(day=day).filter(**window)
            .annotate(key=key).exclude(Exists(done)).order_by("day", "pk").values_list("pk", "day")[:PER_RUN])
    return [(lead_id, f"{kind}:{day.isoformat()}") for lead_id, day in rows]


def _no_contact(automation: PlanAutomation, now: datetime) -> list[tuple[int, str]]:
    leads = _leads_in_reach(automation, now)
    if automation.stage:
        # Quiet in the stage: since the later of the last conversation and the entry.
        leads = leads.filter(stage=automation.stage).annotate(
            quiet_since=Greatest("stage_entered_at", Coalesce("last_contacted_at", "stage_entered_at")))
    else:
        leads = leads.annotate(quiet_since=Coalesce("last_contacted_at", "created_at"))
    quiet_for = timedelta(days=automation.days)
    # A spell counts once it reaches the days after the automation was switched on: turning
    # one on does not put every lead already quiet for months in a plan at once.
    rows = (leads.filter(quiet_since__lte=now - quiet_for, quiet_since__gte=automation.active_since - quiet_for)
            .exclude(_started_since(automation, "pk", "quiet_since"))
            .order_by("quiet_since", "pk").values_list("pk", "quiet_since")[:PER_RUN])
    return [(lead_id, f"quiet:{_stamp(quiet)}") for lead_id, quiet in rows]


CANDIDATES = {
    TriggerKind.STAGE_ENTERED: _stage_entered,
    TriggerKind.LIST_IMPORTED: _list_imported,
    TriggerKind.TAG_ADDED: _tag_added,
    TriggerKind.DATE_APPROACHING: _date_approaching,
    TriggerKind.NO_CONTACT: _no_contact,
}


def automation_candidates(automation: PlanAutomation, *, now: datetime) -> list[tuple[int, str]]:
    """The leads the automation would enroll now, each with its event's key, oldest event
    first, at most ``PER_RUN``."""
    return CANDIDATES[TriggerKind(automation.trigger)](automation, now)


def automation_run(*, automation: PlanAutomation, now: datetime | None = None) -> AutomationRun:
    """Enroll the automation's candidates, a batch per transaction with its row locked; a
    batch another sweep holds is left to it."""
    now = now or timezone.now()
    run = AutomationRun()
    candidates = automation_candidates(automation, now=now)
    run.candidates = len(candidates)
    for start in range(0, len(candidates), BATCH):
        batch = candidates[start:start + BATCH]
        with transaction.atomic():
            locked = list(PlanAutomation.objects.select_for_update(skip_locked=True)
                          .filter(pk=automation.pk, is_active=True).values_list("pk", flat=True))
            if not locked:
                run.busy = True  # another sweep is on it, or it was paused or deleted meanwhile
                break
            leads = Lead.objects.in_bulk([lead_id for lead_id, _key in batch])
            for lead_id, key in batch:
                lead = leads.get(lead_id)
                if lead is None:
                    continue
                _enroll(run, automation=automation, lead=lead, key=key, now=now)
    PlanAutomation.objects.filter(pk=automation.pk).update(last_run_at=now)
    return run


def _enroll(run: AutomationRun, *, automation: PlanAutomation, lead: Lead, key: str, now: datetime) -> None:
    try:
        with transaction.atomic():
            lead_enroll(lead=lead, plan=automation.plan, actor=None, source=EnrollmentSource.AUTOMATION,
                        automation=automation, trigger_key=key, at=now)
    except (ValidationError, IntegrityError):
        # Already in the plan (another sweep, a hand enrollment a moment ago: the unique
        # constraints decided) or changed since the candidates were read: skipped quietly.
        run.skipped += 1
    except Exception:
        # One lead's surprise must not stop every other lead's plan, nor this batch.
        logger.exception("Automation %s could not enroll lead %s", automation.pk, lead.pk)
        run.failed += 1
    else:
        run.enrolled += 1


def automations_run(now: datetime | None = None) -> dict:
    """Every active automation of a live plan its owner may use, once: returns the counts
    per automation id (candidates, enrolled, skipped, failed, busy)."""
    now = now or timezone.now()
    automations = (PlanAutomation.objects.filter(is_active=True, plan__deleted_at__isnull=True)
                   .filter(Q(owner__isnull=True) | Q(owner__is_active=True))
                   # An agent's automation starts a shared plan or their own; a shared one, a shared plan.
                   .filter(Q(plan__owner__isnull=True) | Q(plan__owner=F("owner")))
                   .select_related("plan").order_by("pk"))
    return {automation.pk: automation_run(automation=automation, now=now).as_dict() for automation in automations}
