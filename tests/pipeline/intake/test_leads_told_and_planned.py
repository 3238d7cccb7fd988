"""What a form lead sets going: the agent told once (or those who hand out the pond), the
form's plan started, and the homeowner's other leads named only to those who may see them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leads.models import Lead, RoutingTarget, Stage
from pipeline.intake.services import seller_form_save
from pipeline.models import (
    EmailState,
    EnrollmentSource,
    FormSubmission,
    Notification,
    NotificationKind,
    PlanEnrollment,
)
from pipeline.plans.services import StepInput, plan_save
from pipeline.reminders.notifications import lead_wrote_in_notify, new_lead_notify

from ...leadcrm.factories import BrokerFactory
from ...leads.factories import ContactFactory, LeadFactory, PhoneFactory, RoutingRuleFactory
from .conftest import post, sent

pytestmark = pytest.mark.django_db


def test_the_agent_the_lead_is_routed_to_is_told_once_and_emailed(seller_form, agent):
    RoutingRuleFactory(target=RoutingTarget.AGENT, agent=agent, zip_codes="741")
    agent.email = "ana@example.com"
    agent.save()

    post(seller_form)
    lead = Lead.objects.get()
    new_lead_notify(lead, came_from="the seller form")  # told again: nothing more

    assert lead.assigned_agent == agent
    note = Notification.objects.get()
    assert (note.recipient, note.kind, note.key) == (agent, NotificationKind.NEW_LEAD, f"new_lead:{lead.pk}")
    assert note.title == "New lead from the seller form: 1633 Elm Street, Tulsa, OK 74130"
    assert note.url == reverse("leads:detail", args=[lead.pk])
    assert note.email_state in (EmailState.PENDING, EmailState.SENT)


def test_a_homeowner_writing_in_again_about_a_lead_held_is_told_to_its_agent_once(seller_form, agent):
    # given: the homeowner's lead, routed to Ana, already told of it as new
    RoutingRuleFactory(target=RoutingTarget.AGENT, agent=agent, zip_codes="741")
    agent.email = "ana@example.com"
    agent.save()
    post(seller_form)
    lead = Lead.objects.get()

    # when: they send the form again, another day, another number
    post(seller_form, sent(phone="918-555-0177"))

    # then: Ana hears of it, once, and by email
    submission = FormSubmission.objects.latest("pk")
    note = Notification.objects.get(kind=NotificationKind.REPLY)
    assert (note.recipient, note.lead, note.key) == (agent, lead, f"lead_wrote_in:form:{submission.pk}")
    assert note.title == "A homeowner already in your leads wrote in again: 1633 Elm Street, Tulsa, OK 74130"
    assert "sent the seller form again" in note.body and "marked" not in note.body
    assert note.url == reverse("leads:detail", args=[lead.pk])
    assert note.email_state in (EmailState.PENDING, EmailState.SENT)
    lead_wrote_in_notify(lead, came_from="the seller form", key=f"lead_wrote_in:form:{submission.pk}")
    assert Notification.objects.filter(kind=NotificationKind.REPLY).count() == 1
    assert Notification.objects.filter(kind=NotificationKind.NEW_LEAD).count() == 1  # the first post's only


def test_a_dead_lead_written_in_about_again_says_so_to_the_pond_people(seller_form, broker, team, team_lead, agent):
    RoutingRuleFactory(target=RoutingTarget.POND, team=team, zip_codes="741")
    post(seller_form)
    Lead.objects.update(stage=Stage.DEAD)

    post(seller_form, sent(phone="918-555-0177"))

    notes = Notification.objects.filter(kind=NotificationKind.REPLY)
    assert {note.recipient for note in notes} == {broker, team_lead}
    assert all("marked Dead" in note.body and "no agent" in note.body for note in notes)


def test_an_agent_who_takes_no_email_is_told_in_the_app_only(seller_form, agent):
    RoutingRuleFactory(target=RoutingTarget.AGENT, agent=agent, zip_codes="741")
    agent.email_reminders = False
    agent.save()
    post(seller_form)
    assert Notification.objects.get().email_state == EmailState.NONE


def test_a_lead_routed_to_the_pond_is_told_to_its_team_lead_and_the_brokers(seller_form, broker, team, team_lead,
                                                                            agent):
    RoutingRuleFactory(target=RoutingTarget.POND, team=team, zip_codes="741")
    other_broker = BrokerFactory()

    post(seller_form)
    lead = Lead.objects.get()

    assert lead.assigned_agent is None and lead.pond_team == team
    told = {note.recipient for note in Notification.objects.filter(kind=NotificationKind.NEW_LEAD)}
    assert told == {team_lead, broker, other_broker}
    assert agent not in told
    assert all("waits in the pond" in note.body for note in Notification.objects.all())


def test_the_forms_shared_plan_starts_on_each_new_lead(seller_form, broker):
    plan = plan_save(actor=broker, name="Seller form call-back", shared=True, steps=[
        StepInput(kind="task", task_kind="call", subject="Call [First Name] back", delay_days=0)])
    seller_form_save(actor=broker, form=seller_form, name=seller_form.name, consent_text=seller_form.consent_text,
                     thank_you_text=seller_form.thank_you_text, allowed_origins=seller_form.allowed_origins,
                     plan=plan)

    post(seller_form)

    enrollment = PlanEnrollment.objects.get()
    assert (enrollment.plan, enrollment.lead, enrollment.source) == (plan, Lead.objects.get(),
                                                                     EnrollmentSource.SELLER_FORM)
    assert FormSubmission.objects.get().plan_refusal == ""


def test_the_homeowners_other_lead_is_named_only_to_those_who_may_see_it(
        seller_form, agent, other_agent, other_lead, client_as, broker):
    # given: the number the homeowner sends is already on another agent's lead
    RoutingRuleFactory(target=RoutingTarget.AGENT, agent=agent, zip_codes="741")
    post(seller_form, sent(phone="(850) 555-0147"))
    lead = Lead.objects.exclude(pk=other_lead.pk).get()
    assert FormSubmission.objects.get().also_on_leads == [other_lead.pk]
    other_street = other_lead.property.street

    # then: the lead page shows the form and its consent to its agent, not the other lead
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "From the seller form" in page
    assert "Consent to calls and texts, from the seller form" in page
    assert seller_form.consent_text in page
    assert other_street not in page and reverse("leads:detail", args=[other_lead.pk]) not in page
    # the broker, who sees both, is told
    page = client_as(broker).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "Their number or email is also on" in page and reverse("leads:detail", args=[other_lead.pk]) in page


def test_a_lead_page_without_a_form_shows_no_form_card(lead, agent, client_as):
    page = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert "From the seller form" not in page


def test_an_email_on_another_lead_counts_as_the_same_homeowner(seller_form, broker, national_registry):
    other = LeadFactory()
    contact = ContactFactory(lead=other)
    PhoneFactory(contact=contact, number="+14045550100")
    contact.emails.create(address="MARIA@example.com")
    post(seller_form)
    assert FormSubmission.objects.get().also_on_leads == [other.pk]
