from datetime import time

import pytest

from leads.models import EmailStatus
from pipeline.models import StepAnchor, StepKind, TaskKind
from pipeline.plans.services import StepInput, plan_save
from tests.leads.factories import EmailFactory
from tests.pipeline.messaging.conftest import local_provider, textable  # noqa: F401 - fixtures

TEXT = "Hi [First Name], [Agent Name] with [Brokerage]. Any news on the house?"
EMAIL = "Hello [First Name],\n\n[Role Disclosure]\n\nI wanted to check in about [Property Address]."


def text_step(**kwargs) -> StepInput:
    return StepInput(kind=StepKind.TEXT, body=kwargs.pop("body", TEXT), **kwargs)


def email_step(**kwargs) -> StepInput:
    return StepInput(kind=StepKind.EMAIL, subject=kwargs.pop("subject", "Checking in"),
                     body=kwargs.pop("body", EMAIL), **kwargs)


def call_step(**kwargs) -> StepInput:
    return StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject=kwargs.pop("subject", "Call [First Name]"),
                     **kwargs)


def all_day(step: StepInput) -> StepInput:
    """A window as wide as the federal calling hours: only the gate's clock decides."""
    step.window_start, step.window_end = time(8, 0), time(21, 0)
    return step


@pytest.fixture
def make_plan(agent):
    def make(*steps, name="Nurture", **kwargs):
        return plan_save(actor=agent, name=name, steps=list(steps), **kwargs)
    return make


@pytest.fixture
def mailable_brokerage(brokerage):
    """Marketing email needs the brokerage's postal address (CAN-SPAM)."""
    brokerage.office_street, brokerage.office_city = "1 Main St", "Tulsa"
    brokerage.office_state, brokerage.office_zip = "OK", "74103"
    brokerage.save()
    return brokerage


@pytest.fixture
def owner_email(lead):
    return EmailFactory(contact=lead.contacts.first(), address="maria@example.com", status=EmailStatus.GOOD)


def nurture(agent, name="Nurture"):
    """A text now, an email right after, a call two days on, a letter three days after that."""
    return plan_save(actor=agent, name=name, steps=[
        StepInput(kind=StepKind.TEXT, body=TEXT),
        StepInput(kind=StepKind.EMAIL, subject="Checking in", body="[Role Disclosure] Hi [First Name], any news?"),
        StepInput(kind=StepKind.TASK, task_kind=TaskKind.CALL, subject="Call [First Name]", delay_days=2),
        StepInput(kind=StepKind.LETTER, body="Dear [First Name],\nWe are here when you need us.", delay_days=3),
    ])


@pytest.fixture
def office(mailable_brokerage):
    return mailable_brokerage


@pytest.fixture
def plan(agent, office):
    return nurture(agent)


__all__ = ["StepAnchor"]
