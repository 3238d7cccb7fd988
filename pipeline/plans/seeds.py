"""The short-sale plans LeadCRM ships (docs/action-plans.md).

Their words live in the data migration that created them (a migration must not change
when the code does); this module reads them from there, finds the seeded plans by their
key, and installs any that are missing (a database emptied by a test, a demo on a fresh
file).
"""

from __future__ import annotations

import importlib

from pipeline.models import ActionPlan, PlanStep

from .services import StepInput

_SHIPPED = importlib.import_module("pipeline.migrations.0035_seeded_action_plans")

NURTURE: str = _SHIPPED.NURTURE
BEFORE_AUCTION: str = _SHIPPED.BEFORE_AUCTION
DOCUMENTS_NEEDED: str = _SHIPPED.DOCUMENTS_NEEDED
SEEDED_KEYS = (NURTURE, BEFORE_AUCTION, DOCUMENTS_NEEDED)


def shipped_plans() -> list[dict]:
    """The seeded plans as shipped: name, description, stages, key date and steps."""
    return _SHIPPED.PLANS


def shipped_steps(key: str) -> list[StepInput]:
    """A shipped plan's steps as the services take them (to check them, or to copy them)."""
    data = next(plan for plan in _SHIPPED.PLANS if plan["seeded"] == key)
    return [StepInput(kind=step["kind"], subject=step["subject"], body=step["body"], task_kind=step["task_kind"],
                      anchor=step["anchor"], delay_days=step["delay_days"], window_start=step["window"][0],
                      window_end=step["window"][1], weekdays_only=step["weekdays_only"])
            for step in data["steps"]]


def seeded_plans_install() -> int:
    """Create the seeded plans not in the database (a deleted one is not brought back).
    Returns how many were created."""
    return _SHIPPED.install(ActionPlan, PlanStep)


def seeded_plan(key: str) -> ActionPlan | None:
    """The live seeded plan with that key (renamed or edited since, it is still the one)."""
    return ActionPlan.objects.live().filter(seeded=key).order_by("pk").first()
