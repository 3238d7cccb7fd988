"""Scripts and templates: merge fields as agents write them, refused promises (F6), ownership."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from pipeline.models import MessageTemplate, TemplateKind
from pipeline.outreach.scripts import render, template_save

pytestmark = pytest.mark.django_db


def test_the_brokerage_starts_with_a_respectful_first_contact_script():
    script = MessageTemplate.objects.get(kind=TemplateKind.CALL_SCRIPT, owner=None, capacity="seller_agent")
    assert "[Role Disclosure]" in script.body and "free guide" in script.body
    assert "lender's decision" in script.body


def test_merge_fields_fill_in_for_the_lead_owner_and_agent(lead, agent, brokerage):
    text = render("Hi [first name], about [Property Address] in [City]. [Agent Name], [Brokerage]. [Nickname]",
                  lead=lead, agent=agent)
    owner = lead.contacts.first()
    assert text == (f"Hi {owner.first_name}, about {lead.property.street_line} in Tulsa. Ana Torres, "
                    "Sunbelt Test Realty. [Nickname]")
    assert "licensed real estate agent with Sunbelt Test Realty" in render("[Role Disclosure]", lead=lead, agent=agent)


def test_an_unknown_merge_field_is_refused_naming_it(agent):
    with pytest.raises(ValidationError, match=r"Not a merge field: \[Frist Name\]"):
        template_save(actor=agent, name="Oops", kind=TemplateKind.TEXT, body="Hi [Frist Name]")


@pytest.mark.parametrize("promise", ["We will stop the foreclosure.", "Approval is guaranteed.",
                                     "I can save your home."])
def test_a_template_promising_what_only_a_lender_decides_is_refused(agent, promise):
    with pytest.raises(ValidationError):
        template_save(actor=agent, name="Pitch", kind=TemplateKind.LETTER, body=f"Dear [First Name], {promise}")
    assert not MessageTemplate.objects.filter(name="Pitch").exists()


def test_an_email_needs_a_subject(agent):
    with pytest.raises(ValidationError, match="subject"):
        template_save(actor=agent, name="Guide", kind=TemplateKind.EMAIL, body="Here is the guide.")


def test_agents_keep_their_own_and_only_brokers_share(agent, other_agent, broker, client_as):
    mine = template_save(actor=agent, name="My opener", kind=TemplateKind.CALL_SCRIPT, body="Hi [First Name].")
    assert mine.owner == agent and not mine.is_shared
    with pytest.raises(ValidationError, match="Only a broker"):
        template_save(actor=agent, name="For all", kind=TemplateKind.TEXT, body="Hi", shared=True)
    shared = MessageTemplate.objects.get(owner=None, capacity="seller_agent")
    with pytest.raises(ValidationError, match="Only a broker"):
        template_save(actor=agent, name="Changed", kind=TemplateKind.CALL_SCRIPT, body="Hi", template=shared)
    assert template_save(actor=broker, name="For all", kind=TemplateKind.TEXT, body="Hi", shared=True).is_shared
    # Another agent's own template is not theirs to see or change.
    assert client_as(other_agent).get(reverse("pipeline:script_edit", args=[mine.pk])).status_code == 404
    assert "My opener" not in client_as(other_agent).get(reverse("pipeline:scripts")).content.decode()


def test_the_scripts_page_saves_and_shows_a_refusal(agent, client_as):
    client = client_as(agent)
    response = client.post(reverse("pipeline:scripts"), {"name": "Text", "kind": "text",
                                                         "body": "Hi [First Name], we guarantee approval."})
    assert response.status_code == 400 and not MessageTemplate.objects.filter(name="Text").exists()
    response = client.post(reverse("pipeline:scripts"), {"name": "Text", "kind": "text",
                                                         "body": "Hi [First Name], it's [Agent Name]."})
    saved = MessageTemplate.objects.get(name="Text")
    assert response["Location"] == reverse("pipeline:script_edit", args=[saved.pk])


def test_the_lead_page_shows_the_script_filled_in(lead, agent, client_as):
    content = client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert f"I&#x27;m calling about {lead.property.street_line}" in content
