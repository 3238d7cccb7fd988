"""Stages as data: which moves are allowed, and what a lead needs to enter a stage.

``lead_stage_change`` (services.py) is the only code that moves a lead, and it reads
this table alone. A requirement names, in words an agent acts on, what is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from leads.models import Lead, Stage

from .models import REACHED_OUTCOMES, OutreachAttempt, StageChange


@dataclass(frozen=True)
class Requirement:
    unmet_message: str
    is_met: Callable[[Lead], bool]


def _reached_homeowner(lead: Lead) -> bool:
    # An entry that was later corrected no longer counts; its correction does.
    return OutreachAttempt.objects.filter(
        lead=lead, outcome__in=REACHED_OUTCOMES, corrections__isnull=True
    ).exists()


def _has_hardship(lead: Lead) -> bool:
    return lead.hardships.exists()


def _liens_known(lead: Lead) -> bool:
    return lead.liens.filter(balance__isnull=False).exists()


REACHED = Requirement(
    "Log a call, text or visit in which you reached the homeowner first.", _reached_homeowner
)
HARDSHIP = Requirement("Record the homeowner's hardship first.", _has_hardship)
LIENS_KNOWN = Requirement(
    "Enter the liens on the property, with their balances, first.", _liens_known
)

# from-stage -> {to-stage: requirements}. Moving back one stage is allowed (a buyer
# walks away, a lender restarts the file); dead is reachable from every open stage.
# The negotiate, close and closed entry rules need the lender files, documents and
# offers of the pipeline issue and are added with them.
TRANSITIONS: dict[Stage, dict[Stage, tuple[Requirement, ...]]] = {
    Stage.LIST: {Stage.CONTACT: (REACHED,), Stage.DEAD: ()},
    Stage.CONTACT: {Stage.QUALIFY: (HARDSHIP, LIENS_KNOWN), Stage.LIST: (), Stage.DEAD: ()},
    Stage.QUALIFY: {Stage.NEGOTIATE: (), Stage.CONTACT: (), Stage.DEAD: ()},
    Stage.NEGOTIATE: {Stage.CLOSE: (), Stage.QUALIFY: (), Stage.DEAD: ()},
    Stage.CLOSE: {Stage.CLOSED: (), Stage.NEGOTIATE: (), Stage.DEAD: ()},
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
        return {stage_before_death(lead): ()}
    return TRANSITIONS[Stage(lead.stage)]
