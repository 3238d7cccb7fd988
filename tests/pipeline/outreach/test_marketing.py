"""Mail merge and email: exclusions, the gate on every piece, CAN-SPAM footer, unsubscribe."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from compliance.models import InternalDncEntry
from pipeline.models import MessageTemplate, OutreachAttempt, TemplateKind
from pipeline.outreach.letters import mail_merge

from ...leads.factories import (
    ContactFactory,
    EmailFactory,
    LeadFactory,
    LeadListFactory,
    ListMembershipFactory,
)
from ..factories import MessageTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def letter(agent):
    return MessageTemplateFactory(name="Options letter", kind=TemplateKind.LETTER, owner=agent,
                                  body="Dear [First Name],\n\n[Role Disclosure] About [Property Address].")


@pytest.fixture
def owners(lead, agent):
    """The lead's owner Maria, a deceased co-owner, and a do-not-mail owner on a second lead."""
    ContactFactory(lead=lead, position=2, first_name="Late", deceased=True)
    other = LeadFactory(assigned_agent=agent, team=lead.team)
    ContactFactory(lead=other, first_name="Nomail", do_not_mail=True)
    return lead, other


@pytest.fixture
def office(brokerage):
    brokerage.office_street, brokerage.office_city, brokerage.office_state, brokerage.office_zip = (
        "1 Main St", "Tulsa", "OK", "74103")
    brokerage.save()
    return brokerage


@pytest.fixture
def send_now(monkeypatch, django_capture_on_commit_callbacks):
    """Run the queued email task here, as a worker would (the broker itself: test_celery.py)."""
    from pipeline.tasks import email_campaign_send

    monkeypatch.setattr(email_campaign_send, "delay", lambda *args: email_campaign_send.apply(args=args))

    def send(client, template):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("pipeline:marketing"), {"template": template.pk}, follow=True)
    return send


def print_letters(client, template, **filters):
    """Show the letters, then confirm them, as the agent does: the printed page."""
    shown = client.get(reverse("pipeline:mail_print"), {"template": template.pk, **filters})
    confirmation = shown.context["run"].confirmation
    return client.post(reverse("pipeline:mail_print"), {"confirmation": confirmation}, follow=True)


def test_the_merge_leaves_out_deceased_and_do_not_mail_owners_saying_why(owners, letter, agent):
    from leads.models import Lead

    merge = mail_merge(template=letter, leads=Lead.objects.filter(assigned_agent=agent), agent=agent)
    assert [piece.owner.first_name for piece in merge.pieces] == ["Maria"]
    # The other lead's only owner asked for no mail: no letter. The deceased co-owner at
    # Maria's address is left off her letter, which still goes.
    assert merge.reasons == {"do not mail": 1}
    assert merge.names_left_off_reasons == {"deceased": 1}
    lead, _other = owners
    assert merge.pieces[0].text == f"About {lead.property.street_line}."  # the layout greets and signs


def test_an_owner_on_the_internal_list_for_mail_is_refused_by_the_gate(lead, letter, agent):
    from compliance.services import internal_dnc_add
    from leads.models import Lead

    owner = lead.contacts.first()
    internal_dnc_add(channel="mail", postal_address=owner.mailing_address_key(), homeowner_words="No letters.",
                     recorded_by=agent)
    merge = mail_merge(template=letter, leads=Lead.objects.filter(pk=lead.pk), agent=agent, gate=True)
    assert merge.pieces == []
    [(_, _, reason)] = merge.left_out
    assert reason.startswith("refused by the compliance check (B")


def test_printing_logs_each_letter_through_the_gate_and_prints_only_those(owners, letter, agent, client_as):
    client = client_as(agent)
    lead, _other = owners
    maria = lead.contacts.get(first_name="Maria")
    page = print_letters(client, letter).content.decode()
    assert page.count('class="piece piece-letter"') == 1 and f"Dear {maria.display_name}," in page
    assert "Nomail" not in page
    attempt = OutreachAttempt.objects.get()
    assert (attempt.channel, attempt.outcome, attempt.notes) == ("mail", "sent", "Mailed: Options letter")
    assert attempt.compliance_check.verdict in ("allow", "warn")
    # Printed again (a jammed printer): printed, not logged twice.
    page = print_letters(client, letter).content.decode()
    assert page.count('class="piece piece-letter"') == 1 and "1 already logged today" in page
    assert OutreachAttempt.objects.count() == 1


def test_showing_the_letters_to_print_logs_nothing(owners, letter, agent, client_as):
    response = client_as(agent).get(reverse("pipeline:mail_print"), {"template": letter.pk})
    assert response.status_code == 200 and "Mark 1 letter as mailed?" in response.content.decode()
    assert not OutreachAttempt.objects.exists()


def test_a_letter_states_the_role_in_writing_under_the_signature_whatever_its_template(lead, agent, client_as):
    silent = MessageTemplateFactory(kind=TemplateKind.LETTER, owner=agent, body="Dear [First Name], call me.")
    page = print_letters(client_as(agent), silent).content.decode()
    assert page.count('class="piece piece-letter"') == 1
    assert "Ana Torres is a licensed real estate agent with Sunbelt Test Realty" in page
    assert OutreachAttempt.objects.get().role_disclosed


def test_emails_carry_the_brokerage_address_and_an_unsubscribe_link_that_works(lead, agent, client_as, office,
                                                                              send_now):
    address = EmailFactory(contact=lead.contacts.first()).address
    template = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=agent, subject="A free guide for [First Name]",
                                      body="Hi [First Name]. [Role Disclosure]")
    client = client_as(agent)
    send_now(client, template)
    [message] = mail.outbox
    assert message.to == [address] and message.subject.startswith("A free guide for Maria")
    assert "This is a marketing message from Sunbelt Test Realty, 1 Main St, Tulsa, OK 74103." in message.body
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert OutreachAttempt.objects.get().channel == "email"
    link = re.search(r"http://testserver(/unsubscribe/[^\s]+/)", message.body).group(1)
    assert message.extra_headers["List-Unsubscribe"].endswith(link + ">")

    anonymous = client_as(None)
    assert anonymous.get(link).status_code == 200
    assert not InternalDncEntry.objects.filter(email=address).exists()  # a GET only asks
    anonymous.handler.enforce_csrf_checks = True  # the mail program's one-click POST carries no token
    assert "You are unsubscribed" in anonymous.post(link).content.decode()
    assert InternalDncEntry.objects.filter(email=address, recorded_by=agent).exists()
    # The next send leaves the address out: the gate refuses it.
    mail.outbox.clear()
    send_now(client, template)
    assert mail.outbox == []


def test_no_email_goes_out_without_the_brokerages_postal_address(lead, agent, client_as, brokerage, send_now):
    EmailFactory(contact=lead.contacts.first())
    template = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=agent, body="Hi [First Name]. [Role Disclosure]")
    response = send_now(client_as(agent), template)
    assert "postal address (CAN-SPAM)" in response.content.decode()
    assert mail.outbox == [] and not OutreachAttempt.objects.exists()


def test_a_line_break_in_an_owners_name_cannot_break_the_subject(lead, agent, client_as, office, send_now):
    owner = lead.contacts.first()
    owner.first_name = "Maria\r\nBcc: everyone@example.com"
    owner.save()
    EmailFactory(contact=owner)
    template = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=agent, subject="For [First Name]",
                                      body="[Role Disclosure]")
    send_now(client_as(agent), template)
    [message] = mail.outbox
    assert message.subject == "For Maria Bcc: everyone@example.com"


def test_the_unsubscribe_link_is_about_the_address_it_was_sent_to(lead, agent):
    from pipeline.outreach.email import unsubscribe, unsubscribe_target, unsubscribe_token

    email = EmailFactory(contact=lead.contacts.first(), address="old@example.com")
    token = unsubscribe_token(email, agent)
    email.address = "new@example.com"
    email.save()
    unsubscribe(target=unsubscribe_target(token))
    assert InternalDncEntry.objects.filter(email="old@example.com").exists()
    assert not InternalDncEntry.objects.filter(email="new@example.com").exists()


def test_a_forged_unsubscribe_link_shows_nothing(client_as, lead):
    response = client_as(None).get(reverse("pipeline:unsubscribe", args=["not-a-token"]))
    assert response.status_code == 404 and "This link does not work" in response.content.decode()


def test_the_merge_only_reaches_leads_the_agent_may_see(other_lead, letter, agent, client_as):
    page = print_letters(client_as(agent), letter).content.decode()
    assert other_lead.property.street not in page


def test_the_email_task_run_twice_sends_each_address_once(lead, agent, office):
    from pipeline.tasks import email_campaign_send

    EmailFactory(contact=lead.contacts.first())
    template = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=agent, body="[Role Disclosure]")
    args = (template.pk, agent.pk, {}, "http://crm.example.com")
    assert email_campaign_send.apply(args=args).get() == {"sent": 1, "refused": 0, "failed": 0}
    assert email_campaign_send.apply(args=args).get() == {"sent": 0, "refused": 0, "failed": 0}
    assert len(mail.outbox) == 1 and OutreachAttempt.objects.count() == 1


def test_an_email_the_mail_server_refuses_is_noted_on_the_leads_timeline(lead, agent, office, monkeypatch):
    from django.core.mail import EmailMultiAlternatives

    from pipeline.tasks import email_campaign_send

    EmailFactory(contact=lead.contacts.first())
    template = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=agent, body="[Role Disclosure]")

    def refuse(self, fail_silently=False):
        raise OSError("550 mailbox unavailable")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    result = email_campaign_send.apply(args=(template.pk, agent.pk, {}, "http://crm.example.com")).get()
    assert result == {"sent": 0, "refused": 0, "failed": 1}
    assert "mail server refused it: 550 mailbox unavailable" in lead.notes.get().body


def test_an_email_template_can_carry_the_seller_guide_as_a_pdf(lead, agent, office, client_as):
    """Issue 10: the guide goes out as a PDF only through the gate, like any email."""
    from pipeline.tasks import email_campaign_send

    EmailFactory(contact=lead.contacts.first())
    client = client_as(agent)
    client.post(reverse("pipeline:scripts"), {"name": "Guide", "kind": TemplateKind.EMAIL, "subject": "Your guide",
                                              "body": "[Role Disclosure]", "attach_guide": "on"})
    template = MessageTemplate.objects.get(name="Guide")
    assert template.attach_guide
    email_campaign_send.apply(args=(template.pk, agent.pk, {}, "http://crm.example.com")).get()
    [message] = mail.outbox
    [(name, content, mimetype)] = message.attachments
    assert name == "short-sale-guide.pdf" and mimetype == "application/pdf" and content.startswith(b"%PDF")
    assert OutreachAttempt.objects.get().channel == "email"
    # A letter never carries one.
    client.post(reverse("pipeline:scripts"), {"name": "Letter", "kind": TemplateKind.LETTER,
                                              "body": "[Role Disclosure]", "attach_guide": "on"})
    assert not MessageTemplate.objects.get(name="Letter").attach_guide


def test_an_email_merge_leaves_out_a_deceased_owner_and_reaches_only_the_filtered_leads(lead, agent):
    from compliance.selectors import lead_list
    from pipeline.outreach.email import email_merge

    living = EmailFactory(contact=lead.contacts.first()).address
    EmailFactory(contact=ContactFactory(lead=lead, position=2, first_name="Late", deceased=True))
    elsewhere = LeadFactory(assigned_agent=agent, team=lead.team)
    EmailFactory(contact=ContactFactory(lead=elsewhere, first_name="Other"))
    expired = LeadListFactory(name="Expired listings")
    ListMembershipFactory(lead=lead, lead_list=expired)
    template = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=agent, subject="For [First Name]",
                                      body="Hi [First Name]. [Role Disclosure]")
    leads, _ = lead_list(fetched_by=agent, filters={"list": str(expired.pk)})
    merge = email_merge(template=template, leads=leads, agent=agent)
    assert [piece.email.address for piece in merge.pieces] == [living]
    assert merge.reasons == {"deceased": 1}
