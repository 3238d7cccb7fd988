"""Mail merge and email: exclusions, the gate on every piece, CAN-SPAM footer, unsubscribe."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from compliance.models import InternalDncEntry
from pipeline.marketing import mail_merge
from pipeline.models import MessageTemplate, OutreachAttempt, TemplateKind

from ..factories import ContactFactory, EmailFactory, LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def letter(agent):
    return MessageTemplate.objects.create(name="Options letter", kind=TemplateKind.LETTER, owner=agent,
                                          body="Dear [First Name],\n\nAbout [Property Address]: [Agent Name].")


@pytest.fixture
def owners(lead, agent):
    """The lead's owner Maria, a deceased co-owner, and a do-not-mail owner on a second lead."""
    ContactFactory(lead=lead, position=2, first_name="Late", deceased=True)
    other = LeadFactory(assigned_agent=agent, team=lead.team)
    ContactFactory(lead=other, first_name="Nomail", do_not_mail=True)
    return lead, other


def test_the_merge_leaves_out_deceased_and_do_not_mail_owners_saying_why(owners, letter, agent):
    from leads.models import Lead

    merge = mail_merge(template=letter, leads=Lead.objects.filter(assigned_agent=agent), agent=agent)
    assert [piece.owner.first_name for piece in merge.pieces] == ["Maria"]
    assert merge.reasons == {"deceased": 1, "do not mail": 1}
    assert merge.pieces[0].text.startswith("Dear Maria,")


def test_an_owner_on_the_internal_list_for_mail_is_left_out(lead, letter, agent):
    from compliance.services import internal_dnc_add
    from leads.models import Lead

    owner = lead.contacts.first()
    internal_dnc_add(channel="mail", postal_address=owner.mailing_address_key(), homeowner_words="No letters.",
                     recorded_by=agent)
    merge = mail_merge(template=letter, leads=Lead.objects.filter(pk=lead.pk), agent=agent)
    assert merge.pieces == [] and merge.reasons == {"on the internal do-not-contact list": 1}


def test_print_page_and_recording_the_letters_as_mailed(owners, letter, agent, client_as):
    client = client_as(agent)
    page = client.get(reverse("pipeline:mail_print"), {"template": letter.pk}).content.decode()
    assert page.count('class="piece"') == 1 and "Dear Maria," in page and "Nomail" not in page
    client.post(reverse("pipeline:marketing"), {"template": letter.pk})
    attempt = OutreachAttempt.objects.get()
    assert (attempt.channel, attempt.outcome, attempt.notes) == ("mail", "sent", "Mailed: Options letter")
    assert attempt.compliance_check.verdict in ("allow", "warn")


def test_emails_carry_the_brokerage_address_and_an_unsubscribe_link_that_works(lead, agent, client_as, brokerage):
    brokerage.office_street, brokerage.office_city, brokerage.office_state, brokerage.office_zip = (
        "1 Main St", "Tulsa", "OK", "74103")
    brokerage.save()
    address = EmailFactory(contact=lead.contacts.first()).address
    template = MessageTemplate.objects.create(name="Guide", kind=TemplateKind.EMAIL, owner=agent,
                                              subject="A free guide for [First Name]", body="Hi [First Name].")
    client = client_as(agent)
    client.post(reverse("pipeline:marketing"), {"template": template.pk})
    [message] = mail.outbox
    assert message.to == [address] and message.subject.startswith("A free guide for Maria")
    assert "Sunbelt Test Realty, 1 Main St, Tulsa, OK 74103" in message.body
    assert OutreachAttempt.objects.get().channel == "email"
    link = re.search(r"http://testserver(/unsubscribe/[^\s]+/)", message.body).group(1)
    assert message.extra_headers["List-Unsubscribe"].endswith(link + ">")

    anonymous = client_as(None)
    assert anonymous.get(link).status_code == 200
    assert not InternalDncEntry.objects.filter(email=address).exists()  # a GET only asks
    assert "You are unsubscribed" in anonymous.post(link).content.decode()
    assert InternalDncEntry.objects.filter(email=address, recorded_by=agent).exists()
    # The next send leaves the address out: the gate refuses it.
    mail.outbox.clear()
    client.post(reverse("pipeline:marketing"), {"template": template.pk})
    assert mail.outbox == []


def test_a_forged_unsubscribe_link_shows_nothing(client_as, lead):
    response = client_as(None).get(reverse("pipeline:unsubscribe", args=["not-a-token"]))
    assert response.status_code == 404 and "This link does not work" in response.content.decode()


def test_the_merge_only_reaches_leads_the_agent_may_see(other_lead, letter, agent, client_as):
    page = client_as(agent).get(reverse("pipeline:mail_print"), {"template": letter.pk}).content.decode()
    assert other_lead.property.street not in page
