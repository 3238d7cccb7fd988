"""factory_boy factories of the pipeline app: stage history, follow-ups and what they
notify, the outreach log, lender files, offers, templates and mail batches, notes and
the seller's link.

Each factory makes the smallest valid row, overridable per test. Rows the app writes
only through a service (the outreach log, a lender file's steps) are made here straight
into the table: use the factory when the service is not what the test is about.
"""

import hashlib
import uuid
from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from leads.models import Stage
from pipeline.models import (
    FollowUp,
    LeadNote,
    LenderFile,
    LenderMilestone,
    MailBatch,
    MessageTemplate,
    Milestone,
    Notification,
    NotificationKind,
    Offer,
    Outcome,
    OutreachAttempt,
    ReminderSettings,
    SellerLink,
    StageChange,
    TemplateKind,
)

from ..compliance.factories import ComplianceCheckFactory
from ..leadcrm.factories import AgentFactory
from ..leads.factories import ContactFactory, LeadFactory, LienFactory, PhoneFactory


class StageChangeFactory(factory.django.DjangoModelFactory):
    """The lead's move from List to Contact, now (the lead's own stage is left as it is)."""

    class Meta:
        model = StageChange

    lead = factory.SubFactory(LeadFactory)
    from_stage = Stage.LIST
    to_stage = Stage.CONTACT
    changed_at = factory.LazyFunction(timezone.now)


class FollowUpFactory(factory.django.DjangoModelFactory):
    """A call for the lead's agent, due tomorrow."""

    class Meta:
        model = FollowUp

    lead = factory.SubFactory(LeadFactory)
    assignee = factory.SelfAttribute("lead.assigned_agent")
    title = "Call back"
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))


class ReminderSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReminderSettings


class NotificationFactory(factory.django.DjangoModelFactory):
    """An unread reminder in the recipient's notification centre, not emailed."""

    class Meta:
        model = Notification

    recipient = factory.SubFactory(AgentFactory)
    kind = NotificationKind.REMINDER
    key = factory.Sequence(lambda n: f"test:{n}")
    title = "Call the Garcias"


class OutreachAttemptFactory(factory.django.DjangoModelFactory):
    """An unanswered call to the phone, logged with the allowing check it rides on.

    Straight into the log: the gate (``outreach_log``) is not called.
    """

    class Meta:
        model = OutreachAttempt

    lead = factory.SubFactory(LeadFactory)
    phone = factory.SubFactory(PhoneFactory, contact__lead=factory.SelfAttribute("...lead"))
    contact = factory.SelfAttribute("phone.contact")
    contact_point = factory.SelfAttribute("phone.number")
    channel = "call"
    outcome = Outcome.NO_ANSWER
    role_disclosed = True
    agent = factory.SelfAttribute("lead.assigned_agent")
    occurred_at = factory.LazyFunction(timezone.now)
    compliance_check = factory.SubFactory(
        ComplianceCheckFactory,
        lead=factory.SelfAttribute("..lead"),
        actor=factory.SelfAttribute("..agent"),
        channel=factory.SelfAttribute("..channel"),
        contact_point=factory.SelfAttribute("..contact_point"),
        checked_at=factory.SelfAttribute("..occurred_at"),
    )


class LenderFileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LenderFile

    lien = factory.SubFactory(LienFactory)
    lead = factory.SelfAttribute("lien.lead")


class LenderMilestoneFactory(factory.django.DjangoModelFactory):
    """A step of a lender file, today."""

    class Meta:
        model = LenderMilestone

    lender_file = factory.SubFactory(LenderFileFactory)
    kind = Milestone.AUTHORIZATION_SENT
    occurred_on = factory.LazyFunction(timezone.localdate)


class OfferFactory(factory.django.DjangoModelFactory):
    """A pending cash offer received today."""

    class Meta:
        model = Offer

    lead = factory.SubFactory(LeadFactory)
    buyer_name = factory.Sequence(lambda n: f"Buyer {n}")
    price = Decimal("250000")
    financing = "cash"
    received_on = factory.LazyFunction(timezone.localdate)


class MessageTemplateFactory(factory.django.DjangoModelFactory):
    """A letter shared with the whole brokerage unless ``owner=`` is given.

    Straight into the table: ``template_save``'s language check is not called.
    """

    class Meta:
        model = MessageTemplate

    name = factory.Sequence(lambda n: f"Template {n}")
    kind = TemplateKind.LETTER
    subject = factory.LazyAttribute(lambda t: "A free guide for [First Name]" if t.kind == TemplateKind.EMAIL else "")
    body = "Dear [First Name],\n\n[Role Disclosure] About [Property Address]."


def one_letter_logged(batch):
    """The batch's letters: one to the owner of a new lead of the batch's agent, logged."""
    owner = ContactFactory(lead__assigned_agent=batch.agent)
    return [{"lead": owner.lead_id, "owners": [owner.pk], "status": "logged", "reason": ""}]


class MailBatchFactory(factory.django.DjangoModelFactory):
    """A confirmed print run of the agent's own letter, dated today: one letter, logged."""

    class Meta:
        model = MailBatch

    token = factory.LazyFunction(uuid.uuid4)
    agent = factory.SubFactory(AgentFactory)
    template = factory.SubFactory(MessageTemplateFactory, owner=factory.SelfAttribute("..agent"))
    letter_date = factory.LazyFunction(timezone.localdate)
    letters = factory.LazyAttribute(one_letter_logged)
    done = True


class LeadNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadNote

    lead = factory.SubFactory(LeadFactory)
    author = factory.SelfAttribute("lead.assigned_agent")
    body = "Wants to stay until school is out."


class SellerLinkFactory(factory.django.DjangoModelFactory):
    """The lead's status page link, open for thirty days; ``token=`` is what opens it."""

    class Meta:
        model = SellerLink

    class Params:
        token = factory.Sequence(lambda n: f"seller-token-{n}")

    lead = factory.SubFactory(LeadFactory)
    token_hash = factory.LazyAttribute(lambda link: hashlib.sha256(link.token.encode()).hexdigest())
    created_by = factory.SelfAttribute("lead.assigned_agent")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
