"""Stages as data: which moves are allowed, and what a lead needs to enter a stage.

``lead_stage_change`` (services.py) is the only code that moves a lead, and it reads
this table alone. A requirement names, in words an agent acts on, what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from compliance.transactions import CALIFORNIA
from leads.models import Lead, Stage
from pipeline.models import (
    ChecklistItem,
    DocumentKind,
    DocumentStatus,
    LenderMilestone,
    Milestone,
    Offer,
    OfferStatus,
    OutreachAttempt,
    StageChange,
)

from .lenders import latest_letters
from .purchase import equity_purchase_cancel_window, is_investor_purchase


@dataclass(frozen=True)
class Requirement:
    unmet_message: str
    is_met: Callable[[Lead, date], bool] | None = None
    # Or: what exactly is missing (empty when met), for rules where the agent needs the list.
    missing: Callable[[Lead, date], list[str]] | None = None
    # Which leads it concerns (None: all), for rules of one kind of deal.
    applies_to: Callable[[Lead], bool] | None = None
    # Or: the whole sentence (None when met), for rules whose refusal carries a date.
    explain: Callable[[Lead, date], str | None] | None = None
    # What a program reads when the rule refuses a move (the API's refusal ``reasons``).
    code: str = "requirement_unmet"

    def unmet(self, lead: Lead, on: date) -> str | None:
        """None when the lead meets it on the day of the move, else what to do."""
        if self.applies_to is not None and not self.applies_to(lead):
            return None
        if self.explain is not None:
            return self.explain(lead, on)
        if self.missing is not None:
            found = self.missing(lead, on)
            return f"{self.unmet_message} Missing: {'; '.join(found)}." if found else None
        return None if self.is_met(lead, on) else self.unmet_message


def _reached_homeowner(lead: Lead, on: date) -> bool:
    return OutreachAttempt.objects.filter(lead=lead).reached().exists()


def _has_hardship(lead: Lead, on: date) -> bool:
    return lead.hardships.exists()


def _liens_known(lead: Lead, on: date) -> bool:
    return lead.liens.filter(balance__isnull=False).exists()


def _accepted(kind: DocumentKind) -> Callable[[Lead, date], bool]:
    def is_met(lead: Lead, on: date) -> bool:
        # Accepted, not merely received: an upload is signed only once someone has looked.
        return ChecklistItem.objects.filter(lead=lead, kind=kind, status=DocumentStatus.ACCEPTED).exists()

    return is_met


def _is_listing(lead: Lead) -> bool:
    return not is_investor_purchase(lead)


def _package_submitted(lead: Lead, on: date) -> bool:
    return LenderMilestone.objects.in_force().filter(
        lender_file__lead=lead, kind=Milestone.PACKAGE_SUBMITTED
    ).exists()


def _offer_accepted(lead: Lead, on: date) -> bool:
    return Offer.objects.filter(lead=lead, status=OfferStatus.ACCEPTED).exists()


def _liens_without_valid_approval(lead: Lead, on: date) -> list[str]:
    """Each lien whose holder has not approved, whose newest letter has expired by ``on``,
    or who denied the sale after its newest letter."""
    letters, denials = latest_letters(lead=lead), {}
    denied = (LenderMilestone.objects.in_force().filter(lender_file__lead=lead, kind=Milestone.DENIED)
              .select_related("lender_file"))
    for milestone in denied.order_by("-occurred_on", "-recorded_at"):
        denials.setdefault(milestone.lender_file.lien_id, milestone)
    missing = []
    for lien in lead.liens.order_by("position"):
        letter, denial = letters.get(lien.pk), denials.get(lien.pk)
        name = f"{lien.position_label} lien ({lien.lender or lien.get_lien_type_display()})"
        # On the same day, whichever was recorded last stands.
        if denial is not None and (letter is None or (denial.occurred_on, denial.recorded_at)
                                   > (letter.issued_on, letter.recorded_at)):
            missing.append(f"{name}: denied {denial.occurred_on:%b %-d, %Y}")
        elif letter is None:
            missing.append(f"{name}: no approval letter")
        elif not letter.is_valid_on(on):
            missing.append(f"{name}: letter expired {letter.expires_on:%b %-d, %Y}")
    return missing


def _approvals_missing(lead: Lead, on: date) -> list[str]:
    return _liens_without_valid_approval(lead, on) if lead.liens.exists() else ["No liens are recorded"]


def _has_closing_date(lead: Lead, on: date) -> bool:
    return lead.closing_date is not None


def _cancel_window_open(lead: Lead, on: date) -> str | None:
    """F7: the seller may still cancel, now or on the day of the move (the closing date)."""
    window = equity_purchase_cancel_window(lead)
    if window is None:
        return None
    # The move happens now; a closing dated before the deadline's day also took place inside
    # it (on the foreclosure sale's day the deadline is 08:00, and a closing later that day is fine).
    if window.is_open(timezone.now()) or on < window.until.astimezone(CALIFORNIA).date():
        return f"{window.sentence(timezone.now())} {CANCEL_WINDOW_WHAT_TO_DO}"
    return None


REACHED = Requirement(
    "Log a call, text or visit in which you reached the homeowner first.", _reached_homeowner,
    code="homeowner_not_reached",
)
HARDSHIP = Requirement("Record the homeowner's hardship first.", _has_hardship, code="hardship_missing")
LIENS_KNOWN = Requirement(
    "Enter the liens on the property, with their balances, first.", _liens_known, code="lien_balances_missing"
)
LISTING_SIGNED = Requirement(
    "Mark the signed listing agreement as accepted in the document checklist first.",
    _accepted(DocumentKind.LISTING_AGREEMENT), applies_to=_is_listing, code="listing_agreement_not_accepted",
)
# An investor lists nothing: the lenders negotiate from the investor's own signed contract.
PURCHASE_CONTRACT_SIGNED = Requirement(
    "Mark your signed purchase contract as accepted in the document checklist first.",
    _accepted(DocumentKind.PURCHASE_CONTRACT), applies_to=is_investor_purchase,
    code="purchase_contract_not_accepted",
)
PACKAGE_SUBMITTED = Requirement(
    "Record the short-sale package as submitted to at least one lender first.", _package_submitted,
    code="package_not_submitted",
)
OFFER_ACCEPTED = Requirement("Accept an offer first.", _offer_accepted, code="offer_not_accepted")
APPROVALS_VALID = Requirement(
    "Every lien holder must have approved, with a letter that has not expired.", missing=_approvals_missing,
    code="lender_approval_missing",
)
CLOSING_DATE = Requirement("Give the closing date.", _has_closing_date, code="closing_date_missing")
CANCEL_WINDOW_WHAT_TO_DO = ("Nothing may be recorded or transferred while the seller may still cancel the "
                            "purchase contract: move the lead on once that time has passed.")
# California's equity purchase (docs/compliance-rules.md#f7): no closing while the seller may cancel.
CANCEL_WINDOW_PASSED = Requirement(CANCEL_WINDOW_WHAT_TO_DO, explain=_cancel_window_open,
                                   applies_to=is_investor_purchase, code="cancel_window_open")

# What a lead needs to be in each stage. Moving forward checks it; so does reopening a
# dead lead into the stage it died in (what was true then may not be now).
ENTRY_RULES: dict[Stage, tuple[Requirement, ...]] = {
    Stage.LIST: (),
    Stage.CONTACT: (REACHED,),
    Stage.QUALIFY: (HARDSHIP, LIENS_KNOWN),
    Stage.NEGOTIATE: (LISTING_SIGNED, PURCHASE_CONTRACT_SIGNED, PACKAGE_SUBMITTED),
    Stage.CLOSE: (OFFER_ACCEPTED, APPROVALS_VALID, CANCEL_WINDOW_PASSED),
    # The sale closed on its closing date: the offer still accepted, every approval good
    # on that day (lead_stage_change checks them on the closing date, not today).
    Stage.CLOSED: (CLOSING_DATE, OFFER_ACCEPTED, APPROVALS_VALID, CANCEL_WINDOW_PASSED),
}

# from-stage -> {to-stage: requirements}. Moving back one stage is allowed (a buyer
# walks away, a lender restarts the file); dead is reachable from every open stage.
TRANSITIONS: dict[Stage, dict[Stage, tuple[Requirement, ...]]] = {
    Stage.LIST: {Stage.CONTACT: ENTRY_RULES[Stage.CONTACT], Stage.DEAD: ()},
    Stage.CONTACT: {Stage.QUALIFY: ENTRY_RULES[Stage.QUALIFY], Stage.LIST: (), Stage.DEAD: ()},
    Stage.QUALIFY: {Stage.NEGOTIATE: ENTRY_RULES[Stage.NEGOTIATE], Stage.CONTACT: (), Stage.DEAD: ()},
    Stage.NEGOTIATE: {Stage.CLOSE: ENTRY_RULES[Stage.CLOSE], Stage.QUALIFY: (), Stage.DEAD: ()},
    Stage.CLOSE: {Stage.CLOSED: ENTRY_RULES[Stage.CLOSED], Stage.NEGOTIATE: (), Stage.DEAD: ()},
    Stage.CLOSED: {},
    Stage.DEAD: {},  # reopening goes back to the stage the lead died in: see allowed_moves
}


def stage_before_death(lead: Lead) -> Stage:
    last = (
        StageChange.objects.filter(lead=lead, to_stage=Stage.DEAD)
        .order_by("-changed_at", "-pk")
        .values_list("from_stage", flat=True)
        .first()
    )
    return Stage(last) if last else Stage.LIST


def allowed_moves(lead: Lead) -> dict[Stage, tuple[Requirement, ...]]:
    """The stages this lead may move to from where it is, with what each needs."""
    if lead.stage == Stage.DEAD:
        stage = stage_before_death(lead)
        return {stage: ENTRY_RULES[stage]}
    return TRANSITIONS[Stage(lead.stage)]


# Advice: not a requirement (the move happens), but said when a lead enters the stage.
def _seller_briefed(lead: Lead, on: date) -> bool:
    return lead.briefings.exists()


SELLER_BRIEFED = Requirement(
    "Nothing is recorded yet of what the seller has been told. Go over the timeline, the lenders' process, "
    "pricing, the documents and a possible deficiency with them, and tick each under \u201cThe seller's side\u201d.",
    _seller_briefed,
)
ENTRY_ADVICE: dict[Stage, tuple[Requirement, ...]] = {
    Stage.QUALIFY: (SELLER_BRIEFED,),
}


def stage_advice(lead: Lead, stage: Stage | str, on: date) -> list[str]:
    """What to do about the lead now that it is in ``stage`` (warnings, not refusals)."""
    return [message for requirement in ENTRY_ADVICE.get(Stage(stage), ()) if (message := requirement.unmet(lead, on))]
