"""When a plan's next step falls due: its delay, its window in the homeowner's day, and
for a text the gate's calling hours (docs/action-plans.md#when-a-step-runs).

A step's window is read in every time zone the homeowner may be in (G2: the numbers'
area codes, the property's and mailing addresses' ZIP codes), the way the gate reads the
calling hours: 9 to 5 for a homeowner who may be in New York or in Los Angeles is noon to
5 Eastern. A text must also fall inside the federal and state calling hours of all those
zones (D1, E1, E3), including a state's Sundays and holidays; an email, a letter or a task
only inside its window. Times are computed here, and the gate is asked again at the
moment the step runs: whatever changed in between is the gate's to decide.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, Max, Min, OuterRef
from django.utils import timezone

from compliance.gate import calling_hours_open_at, homeowner_zones
from leadcrm.accounts.hours import user_zone
from leadcrm.accounts.models import User
from leads.models import ForeclosureRecord, Lead, Phone, PhoneStatus, PhoneType
from pipeline.models import (
    ActionPlan,
    ApprovalLetter,
    KeyDate,
    PlanEnrollment,
    PlanStep,
    StepAnchor,
    StepKind,
)

WINDOW_HORIZON_DAYS = 14  # a window that does not open within two weeks (a bad setting) is not waited for
# A step counted back from a date whose moment had passed by more than this when it came
# up (the lead enrolled late, the date moved closer) is skipped, not sent late.
LATE_KEY_DATE_STEP = timedelta(hours=12)
# "Today" for dates on the lead: a date has passed only once it has passed everywhere in the US.
LAST_US_ZONE = zoneinfo.ZoneInfo("Pacific/Honolulu")

NO_KEY_DATE = {
    KeyDate.AUCTION: "the lead has no auction date ahead",
    KeyDate.APPROVAL_EXPIRY: "the lead has no approval letter with a closing deadline ahead",
    KeyDate.FILING: "the lead has no pre-foreclosure filing on record",
}
KEY_DATE_PASSED = "its moment ({when}) had passed when the step came up"
NO_WINDOW = "its window ({start}–{end}) never opens in all the homeowner's time zones within two weeks"


def text_phones(lead: Lead) -> list[Phone]:
    """The numbers a text step may use, in the order they are tried: good numbers of
    living owners that are not landlines, the first owner's first."""
    return list(Phone.objects.filter(contact__lead=lead, status=PhoneStatus.GOOD, contact__deceased=False)
                .exclude(phone_type=PhoneType.LANDLINE)
                .select_related("contact").order_by("contact__position", "contact_id", "position", "pk"))


def key_date_of(lead: Lead, kind: str, *, today: date | None = None) -> date | None:
    """The date a plan keyed on ``kind`` counts from: the nearest auction or approval
    deadline ahead, or the latest filing recorded."""
    today = today or timezone.localdate(timezone.now(), LAST_US_ZONE)
    if kind == KeyDate.AUCTION:
        return ForeclosureRecord.objects.filter(lead=lead, auction_date__gte=today).aggregate(
            day=Min("auction_date"))["day"]
    if kind == KeyDate.APPROVAL_EXPIRY:
        newer = ApprovalLetter.objects.filter(lender_file=OuterRef("lender_file"), issued_on__gt=OuterRef("issued_on"))
        return (ApprovalLetter.objects.filter(lender_file__lead=lead, expires_on__gte=today)
                .annotate(replaced=Exists(newer)).filter(replaced=False)
                .aggregate(day=Min("expires_on"))["day"])
    if kind == KeyDate.FILING:
        return ForeclosureRecord.objects.filter(lead=lead, recording_date__isnull=False).aggregate(
            day=Max("recording_date"))["day"]
    return None


def counts_after(kind: str) -> bool:
    """A filing is in the past: steps count days after it; an auction or a deadline is
    ahead: steps count days before it."""
    return kind == KeyDate.FILING


@dataclass(frozen=True)
class Timing:
    due_at: datetime | None = None
    skip: str = ""  # why the step will not run at all ("" when it has a due time)


def window_open_at(*, zones: set[str], start: time, end: time, weekdays_only: bool, after: datetime,
                   horizon_days: int = WINDOW_HORIZON_DAYS) -> datetime | None:
    """The first moment at or after ``after`` that is inside [start, end) (on a weekday, if
    asked) in every one of ``zones``. Such a window can only open at ``after`` or at one
    zone's ``start``, so those are the only moments to try."""
    zoneinfos = [zoneinfo.ZoneInfo(name) for name in sorted(zones)]
    candidates = {after}
    for zone in zoneinfos:
        first = after.astimezone(zone).date()
        for offset in range(horizon_days + 1):
            moment = datetime.combine(first + timedelta(days=offset), start, tzinfo=zone)
            if moment >= after:
                candidates.add(moment)

    def inside(moment: datetime) -> bool:
        for zone in zoneinfos:
            local = moment.astimezone(zone)
            if not (start <= local.time() < end) or (weekdays_only and local.weekday() >= 5):
                return False
        return True

    return next((moment for moment in sorted(candidates) if inside(moment)), None)


def step_moment(*, step: PlanStep, lead: Lead, agent: User, after: datetime, phones: list[Phone] | None = None) -> datetime | None:
    """The first moment at or after ``after`` when ``step`` may run: inside its window in
    all the homeowner's zones and, for a text, inside the calling hours too. None when no
    such moment comes within the horizon."""
    if step.kind == StepKind.TEXT and phones is None:
        phones = text_phones(lead)
    phones = phones or []
    zones = homeowner_zones(lead=lead, phones=phones, actor=agent, at=after)
    if not zones:
        # Nowhere to read the homeowner's day from: the agent's own zone keeps the window
        # sensible (a text is refused by the gate anyway, G2, when it runs).
        zones = {user_zone(agent).key}
    moment = after
    for _ in range(6):  # the window and the calling hours settle in a step or two
        fitted = window_open_at(zones=zones, start=step.window_start, end=step.window_end,
                                weekdays_only=step.weekdays_only, after=moment)
        if fitted is None:
            return None
        if step.kind != StepKind.TEXT:
            return fitted
        lawful = calling_hours_open_at(lead=lead, phones=phones, after=fitted, actor=agent)
        if lawful is None or lawful == fitted:
            return fitted  # no zone known: the gate will say so (G2) when it runs
        moment = lawful
    return moment


def step_timing(*, enrollment: PlanEnrollment, step: PlanStep, plan: ActionPlan, lead: Lead, agent: User,
                now: datetime) -> Timing:
    """When ``step`` is due for this enrollment, or why it will not run.

    After the previous step: its delay from the later of the last step run and the last
    start or resume (a resume recomputes from the resume moment). After the start: from
    the enrollment's anchor, moved on by the time it spent paused. Before (or, for a
    filing, after) the plan's date: that many days from the lead's date as it stands now,
    so a postponed auction moves the steps with it."""
    if step.anchor == StepAnchor.KEY_DATE and plan.key_date:
        day = key_date_of(lead, plan.key_date)
        if day is None:
            return Timing(skip=NO_KEY_DATE[KeyDate(plan.key_date)])
        offset = timedelta(days=step.delay_days)
        target = day + offset if counts_after(plan.key_date) else day - offset
        zones = homeowner_zones(lead=lead, phones=text_phones(lead) if step.kind == StepKind.TEXT else [],
                                actor=agent, at=now) or {user_zone(agent).key}
        # The window's start on that day, where the homeowner's day starts last (the
        # westernmost zone), so it is inside the window everywhere.
        intended = max(datetime.combine(target, step.window_start, tzinfo=zoneinfo.ZoneInfo(zone)) for zone in zones)
        if intended < now - LATE_KEY_DATE_STEP:
            what = "after" if counts_after(plan.key_date) else "before"
            when = (f"{step.delay_days} day{'s' if step.delay_days != 1 else ''} {what} "
                    f"{KeyDate(plan.key_date).label.lower()} {day:%b %-d, %Y}")
            return Timing(skip=KEY_DATE_PASSED.format(when=when))
        base = max(intended, now)
    elif step.anchor == StepAnchor.START:
        base = max(enrollment.anchor_at + timedelta(days=step.delay_days, hours=step.delay_hours), now)
    else:
        since = max(filter(None, (enrollment.last_run_at, enrollment.active_since)))
        base = max(since + timedelta(days=step.delay_days, hours=step.delay_hours), now)
    moment = step_moment(step=step, lead=lead, agent=agent, after=base)
    if moment is None:
        return Timing(skip=NO_WINDOW.format(start=f"{step.window_start:%H:%M}", end=f"{step.window_end:%H:%M}"))
    return Timing(due_at=moment)
