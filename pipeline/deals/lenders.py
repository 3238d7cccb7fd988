"""The lien stack: one lender file per lien, its milestones, negotiators and approval letters.

Junior liens are negotiated in parallel with the first, by lenders who do not talk to
each other; the lien stack page shows each file's step side by side.

A file's milestones are its history: a step is never edited or deleted. One recorded by
mistake is struck out by a correction (a row of its own), and where the file stands is
worked out from the steps in force. A step earlier in the process than where the file
stands is recorded only once the agent has confirmed it (the lender asked for the package
again, a new attempt after a denial), so one Save cannot send a file back by accident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from leadcrm.accounts.models import User
from leads.models import Lead, Lien
from pipeline.models import (
    CORRECTION_NOT_A_STEP,
    DOCUMENT_IN_HAND,
    MILESTONE_ORDER,
    ApprovalLetter,
    ChecklistItem,
    Deficiency,
    DocumentKind,
    DocumentStatus,
    LenderFile,
    LenderMilestone,
    Milestone,
    Negotiator,
    NegotiatorRole,
)

from .documents import checklist_item_update

FUTURE_DATE = "That date is in the future."
APPROVAL_NEEDS_LETTER = "Record the approval letter instead: its terms and expiry decide the closing."
EXPIRY_BEFORE_ISSUE = "The letter cannot expire before it was issued."
ALLOWANCE_ON_JUNIOR = "Only the first lien's letter caps what the junior liens are paid."
PAYOFF_ON_FIRST = "The first lien is paid what is left; a payoff amount is for a junior lien's letter."
NEGOTIATOR_BEFORE_CURRENT = "{name} has worked the file since {day:%b %-d, %Y}; a new contact starts on or after that."
BACKWARD_STEP = ("This file is at “{current}” ({day:%b %-d, %Y}); “{kind}” comes before that. Record it anyway, "
                 "as the file going back a step? If the last step was recorded by mistake, correct that step instead.")
CORRECTION_NEEDS_REASON = "Say what was wrong with the step you strike out."
ALREADY_STRUCK_OUT = "That step was already struck out on {day:%b %-d, %Y}."
APPROVAL_NOT_STRUCK = ("An approval comes with its letter: record the lender's new letter, or a denial, "
                       "rather than striking the approval out.")
NEGOTIATOR_NOT_STRUCK = "A new negotiator is kept in the file's history: record the right contact with “New negotiator”."

# A buyer's offer and the lender's counter go back and forth: neither is a step back.
BACK_AND_FORTH = frozenset({Milestone.OFFER_SUBMITTED, Milestone.COUNTER})
# Steps with a form of their own (the approval letter, a new negotiator) and a denial are
# never offered as the next step.
NOT_OFFERED_NEXT = frozenset({Milestone.APPROVED, Milestone.DENIED, Milestone.NEGOTIATOR_ASSIGNED})


class BackwardStep(ValidationError):
    """A step earlier than where the file stands, not confirmed: the page asks first."""


def _not_future(day: date, field: str) -> None:
    if day > timezone.localdate():
        raise ValidationError({field: FUTURE_DATE})


@transaction.atomic
def lender_file_for(*, lien: Lien) -> LenderFile:
    """The lien's lender file, opened the first time anything is recorded on it."""
    lender_file, _ = LenderFile.objects.get_or_create(lien=lien, defaults={"lead_id": lien.lead_id})
    return lender_file


@transaction.atomic
def lender_file_update(*, lien: Lien, servicer: str, portal: str, portal_reference: str) -> LenderFile:
    lender_file = lender_file_for(lien=lien)
    lender_file.servicer, lender_file.portal, lender_file.portal_reference = servicer, portal, portal_reference
    lender_file.full_clean()
    lender_file.save(update_fields=["servicer", "portal", "portal_reference", "updated_at"])
    return lender_file


def current_step(steps: list[LenderMilestone]) -> LenderMilestone | None:
    """Where a file stands, from its steps in force: the latest (by date, then the
    process's order).

    A new negotiator can come at any point (before the package, during the valuation), so
    that step says who works the file, not how far it has got: it is where the file
    stands only while nothing else is recorded."""
    if not steps:
        return None
    progress = [m for m in steps if m.kind != Milestone.NEGOTIATOR_ASSIGNED] or steps
    return max(progress, key=lambda m: (m.occurred_on, MILESTONE_ORDER[Milestone(m.kind)], m.pk or 0))


def next_step(current: LenderMilestone | None) -> Milestone | None:
    """The step the form offers for a file: the next one in the process, if it is one the
    form records (the approval has its letter's form; a denial is never assumed)."""
    if current is None or current.kind == Milestone.NEGOTIATOR_ASSIGNED:
        return Milestone.AUTHORIZATION_SENT
    for kind in list(Milestone)[MILESTONE_ORDER[Milestone(current.kind)] + 1:]:
        if kind in (Milestone.APPROVED, Milestone.DENIED):
            return None
        if kind not in NOT_OFFERED_NEXT:
            return kind
    return None


def is_backward(kind: Milestone | str, current: LenderMilestone | None) -> bool:
    """A step earlier in the process than where the file stands."""
    if current is None or current.kind == Milestone.NEGOTIATOR_ASSIGNED:
        return False
    kind, standing = Milestone(kind), Milestone(current.kind)
    if kind in BACK_AND_FORTH and standing in BACK_AND_FORTH:
        return False
    return MILESTONE_ORDER[kind] < MILESTONE_ORDER[standing]


def _file_steps(lender_file: LenderFile) -> list[LenderMilestone]:
    """The file's steps in force, read under a lock on the file: two steps recorded at once
    are each judged against the other."""
    LenderFile.objects.select_for_update().filter(pk=lender_file.pk).first()
    return list(LenderMilestone.objects.filter(lender_file=lender_file).in_force())


@transaction.atomic
def milestone_record(
    *,
    lien: Lien,
    kind: Milestone | str,
    occurred_on: date,
    actor: User | None,
    amount: Decimal | None = None,
    note: str = "",
    confirm_backward: bool = False,
) -> LenderMilestone:
    """Record a step of the lien's lender file.

    A step earlier than where the file stands raises ``BackwardStep`` unless
    ``confirm_backward``: the page asks the agent first, and nothing is recorded."""
    kind = Milestone(kind)
    if kind == Milestone.APPROVED:
        raise ValidationError({"kind": APPROVAL_NEEDS_LETTER})
    _not_future(occurred_on, "occurred_on")
    lender_file = lender_file_for(lien=lien)
    current = current_step(_file_steps(lender_file))
    if not confirm_backward and is_backward(kind, current):
        raise BackwardStep(BACKWARD_STEP.format(current=current.get_kind_display(), day=current.occurred_on,
                                                kind=kind.label), code="backward_step")
    milestone = _milestone_add(lender_file=lender_file, kind=kind, occurred_on=occurred_on,
                               amount=amount, note=note, actor=actor)
    if kind == Milestone.AUTHORIZATION_RECEIVED:
        # The lender confirmed it holds the authorization: the checklist says so too.
        held = ChecklistItem.objects.filter(lead_id=lien.lead_id, lien=lien, kind=DocumentKind.AUTHORIZATION,
                                            status__in=DOCUMENT_IN_HAND).exists()
        if not held:
            checklist_item_update(lead=lien.lead, lien=lien, kind=DocumentKind.AUTHORIZATION, actor=actor,
                                  status=DocumentStatus.ACCEPTED, received_on=occurred_on)
    return milestone


def _milestone_add(*, lender_file, kind, occurred_on, actor, amount=None, note="", voids=None) -> LenderMilestone:
    milestone = LenderMilestone(lender_file=lender_file, kind=kind, occurred_on=occurred_on, amount=amount,
                                note=note, recorded_by=actor, voids=voids)
    milestone.full_clean()
    milestone.save()
    return milestone


@transaction.atomic
def milestone_correct(*, milestone: LenderMilestone, reason: str, actor: User | None) -> LenderMilestone:
    """Strike out a step recorded by mistake: a correction row naming it and saying why.

    The step stays in the file's history, shown struck out; nothing that reads where the
    file stands counts it any more. The approval (its letter decides) and a new negotiator
    (kept in the contacts' history) are corrected through their own forms."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": CORRECTION_NEEDS_REASON})
    LenderFile.objects.select_for_update().filter(pk=milestone.lender_file_id).first()
    milestone = LenderMilestone.objects.select_related("lender_file").get(pk=milestone.pk)
    if milestone.is_correction:
        raise ValidationError(CORRECTION_NOT_A_STEP)
    if milestone.kind == Milestone.APPROVED:
        raise ValidationError(APPROVAL_NOT_STRUCK)
    if milestone.kind == Milestone.NEGOTIATOR_ASSIGNED:
        raise ValidationError(NEGOTIATOR_NOT_STRUCK)
    earlier = LenderMilestone.objects.filter(voids=milestone).first()
    if earlier is not None:
        raise ValidationError(ALREADY_STRUCK_OUT.format(day=earlier.occurred_on))
    return _milestone_add(lender_file=milestone.lender_file, kind=milestone.kind, occurred_on=timezone.localdate(),
                          note=reason[:300], actor=actor, voids=milestone)


@transaction.atomic
def negotiator_assign(
    *,
    lien: Lien,
    name: str,
    assigned_on: date,
    actor: User | None,
    role: NegotiatorRole | str = NegotiatorRole.NEGOTIATOR,
    phone: str = "",
    email: str = "",
) -> Negotiator:
    """A new person on the file; whoever held that role before is kept, marked replaced."""
    _not_future(assigned_on, "assigned_on")
    lender_file = lender_file_for(lien=lien)
    previous = list(
        Negotiator.objects.select_for_update().filter(lender_file=lender_file, role=role, replaced_on=None)
    )
    started = [person for person in previous if person.assigned_on > assigned_on]
    if started:
        raise ValidationError({"assigned_on": NEGOTIATOR_BEFORE_CURRENT.format(
            name=started[0].name, day=started[0].assigned_on)})
    for person in previous:
        person.replaced_on = assigned_on
        person.save(update_fields=["replaced_on"])
    negotiator = Negotiator(lender_file=lender_file, role=role, name=name, phone=phone, email=email,
                            assigned_on=assigned_on, recorded_by=actor)
    negotiator.full_clean()
    negotiator.save()
    if role == NegotiatorRole.NEGOTIATOR:
        note = f"{name}" + (f", replacing {', '.join(p.name for p in previous)}" if previous else "")
        _milestone_add(lender_file=lender_file, kind=Milestone.NEGOTIATOR_ASSIGNED, occurred_on=assigned_on,
                       note=note[:300], actor=actor)
    return negotiator


@transaction.atomic
def approval_letter_record(
    *,
    lien: Lien,
    issued_on: date,
    expires_on: date,
    actor: User | None,
    approved_price: Decimal | None = None,
    minimum_net_proceeds: Decimal | None = None,
    allowed_closing_costs: Decimal | None = None,
    deficiency: Deficiency | str = Deficiency.SILENT,
    seller_contribution: Decimal = Decimal("0"),
    relocation_incentive: Decimal | None = None,
    junior_lien_allowance: Decimal | None = None,
    junior_payoff: Decimal | None = None,
) -> ApprovalLetter:
    """Record a lien holder's approval: the letter, the approved step, the checklist's expiry."""
    _not_future(issued_on, "issued_on")
    if expires_on < issued_on:
        raise ValidationError({"expires_on": EXPIRY_BEFORE_ISSUE})
    if junior_lien_allowance is not None and lien.is_junior:
        raise ValidationError({"junior_lien_allowance": ALLOWANCE_ON_JUNIOR})
    if junior_payoff is not None and not lien.is_junior:
        raise ValidationError({"junior_payoff": PAYOFF_ON_FIRST})
    lender_file = lender_file_for(lien=lien)
    letter = ApprovalLetter(
        lender_file=lender_file, issued_on=issued_on, expires_on=expires_on, approved_price=approved_price,
        minimum_net_proceeds=minimum_net_proceeds, allowed_closing_costs=allowed_closing_costs,
        deficiency=deficiency, seller_contribution=seller_contribution or Decimal("0"),
        relocation_incentive=relocation_incentive, junior_lien_allowance=junior_lien_allowance,
        junior_payoff=junior_payoff, recorded_by=actor,
    )
    letter.full_clean()
    letter.save()
    _milestone_add(lender_file=lender_file, kind=Milestone.APPROVED, occurred_on=issued_on,
                   amount=approved_price, note=f"Good until {expires_on:%b %-d, %Y}", actor=actor)
    checklist_item_update(lead=lien.lead, lien=lien, kind=DocumentKind.APPROVAL_LETTER, actor=actor,
                          status=DocumentStatus.RECEIVED, dated_on=issued_on, received_on=issued_on,
                          expires_on=expires_on)
    return letter


# Reads ---------------------------------------------------------------------------------


@dataclass
class LienStackEntry:
    """One lien and where its lender file stands, as the lien stack page shows it."""

    lien: Lien
    lender_file: LenderFile | None
    milestones: list[LenderMilestone]  # the steps in force, oldest first
    negotiators: list[Negotiator]
    letter: ApprovalLetter | None
    today: date
    # Every step ever recorded, oldest first, each struck-out one carrying its correction
    # as ``correction`` (the corrections themselves are not listed).
    history: list[LenderMilestone] = field(default_factory=list)

    @property
    def step(self) -> LenderMilestone | None:
        """Where the file stands (a denial after an approval still counts)."""
        return current_step(self.milestones)

    @property
    def next_step(self) -> Milestone | None:
        return next_step(self.step)

    @property
    def reached(self) -> dict[str, LenderMilestone]:
        """The latest milestone of each kind."""
        latest = {}
        for milestone in self.milestones:
            latest[milestone.kind] = milestone
        return latest

    @property
    def current_negotiators(self) -> list[Negotiator]:
        return [n for n in self.negotiators if n.is_current]

    @property
    def past_negotiators(self) -> list[Negotiator]:
        return [n for n in self.negotiators if not n.is_current]

    @property
    def letter_is_valid(self) -> bool:
        return self.letter is not None and self.letter.is_valid_on(self.today)

    @property
    def letter_days_left(self) -> int | None:
        return (self.letter.expires_on - self.today).days if self.letter else None

    @property
    def days_since_last_step(self) -> int | None:
        step = self.step
        return (self.today - step.occurred_on).days if step else None


def with_corrections(rows: list[LenderMilestone]) -> tuple[list[LenderMilestone], list[LenderMilestone]]:
    """A file's rows split into its steps in force and its history: every step, each one
    struck out carrying the row that struck it out as ``correction``."""
    corrections = {row.voids_id: row for row in rows if row.is_correction}
    history = [row for row in rows if not row.is_correction]
    for row in history:
        row.correction = corrections.get(row.pk)
    return [row for row in history if row.correction is None], history


def lien_stack(*, lead: Lead, today: date | None = None) -> list[LienStackEntry]:
    """The lead's liens in position order with their lender files: four queries in all."""
    today = today or timezone.localdate()
    liens = list(
        Lien.objects.filter(lead=lead)
        .select_related("lender_file")
        .prefetch_related(
            Prefetch("lender_file__milestones", queryset=LenderMilestone.objects.select_related("recorded_by")),
            "lender_file__negotiators",
            "lender_file__approval_letters",
        )
        .order_by("position")
    )
    entries = []
    for lien in liens:
        lender_file = getattr(lien, "lender_file", None)
        letters = list(lender_file.approval_letters.all()) if lender_file else []
        in_force, history = with_corrections(list(lender_file.milestones.all()) if lender_file else [])
        entries.append(LienStackEntry(
            lien=lien,
            lender_file=lender_file,
            milestones=in_force,
            history=history,
            negotiators=list(lender_file.negotiators.all()) if lender_file else [],
            letter=letters[0] if letters else None,  # newest first (model ordering)
            today=today,
        ))
    return entries


def latest_letters(*, lead: Lead) -> dict[int, ApprovalLetter]:
    """Each lien's newest approval letter, by lien id."""
    letters = {}
    for letter in ApprovalLetter.objects.filter(lender_file__lead=lead).select_related("lender_file"):
        letters.setdefault(letter.lender_file.lien_id, letter)  # newest first (model ordering)
    return letters
