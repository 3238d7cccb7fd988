"""F5: prohibited representations beyond the promise list (docs/compliance-rules.md#f5).

No telling a homeowner not to contact their lender or servicer; no misrepresenting the
likelihood or timing of a result, an affiliation with the government, HUD or the lender,
or refund terms. F5 applies under the licensee stay too: every agent here is an active
licensee acting as the seller's agent, whom F3 leaves alone.
"""

from datetime import date, datetime

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from compliance.language import language_hits
from compliance.models import Channel, ProhibitedPhrase, Verdict
from compliance.services import outreach_check, template_language_check
from pipeline.messaging.services import text_send
from pipeline.models import Message, OutreachAttempt, TemplateKind
from pipeline.outreach.scripts import template_save

from ..leads.factories import EmailFactory
from ..pipeline.factories import MessageTemplateFactory
from .factories import ConsentRecordFactory, ReassignedNumberCheckFactory
from .test_section_h import CENTRAL

pytestmark = pytest.mark.django_db


@pytest.fixture
def textable(lead, settings):
    """The lead's number with consent to texts, checked in the reassigned-numbers database;
    texts go through the local backend."""
    settings.LEADCRM_TELEPHONY = "local"
    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    return phone

REPRESENTATIONS = [
    "Do not contact your lender.",
    "Don't talk to your bank about this.",
    "Don\u2019t call your servicer, we handle it.",  # a phone's curly apostrophe
    "never speak with your mortgage company",
    "Please do not respond to the lender until we meet.",
    "don't answer your lender's calls",
    "Let us do all the talking with your lender, don't worry.",
    "You don't need to call your bank anymore.",
    "Ignore the letters from your servicer.",
    "We offer a money-back guarantee.",
    "Full refund if the bank says no.",
    "Our fee is 100% refundable.",
    "Approved in 30 days.",
    "We get 9 out of 10 approved.",
    "Within two weeks, guaranteed.",
    "We have a 95% success rate.",
    "I'm calling on behalf of your lender.",
    "We are HUD-approved.",
    "This is Sam from your bank's loss mitigation department.",
    "We're with your servicer.",
    "Your lender asked us to reach out.",
    "Never call your mortgage lender.",
    "Don't call your loan servicer.",
    "You shouldn't talk to your lender.",
    "Don't bother calling your lender.",
    "Avoid your lender's calls.",
    "We're calling from your bank's loss mitigation department.",
]

NOT_REPRESENTATIONS = [
    "Call your lender to ask for the short-sale package.",
    "Please call your servicer and ask about the payoff.",
    "Keep answering your lender's calls and send me what they mail you.",
    "I negotiate with your lender on your behalf once you list with us.",
    "Your lender decides on any short sale; I can't promise the outcome.",
    "Please respond to your lender's requests quickly.",
    "Lenders usually take 60 to 120 days to answer.",
    "I will call you within two days.",
    # Ordinary agent language the rows once refused outright.
    "Don't ignore your lender.",
    "Never ignore calls from your lender.",
    "Your lender sent me the payoff statement.",
    "The bank asked me for your hardship letter.",
    "You may get a call from your lender's loss mitigation department.",
    "Don't stop talking to your lender.",
    "Offers must be accepted within 3 days.",
    "Let's get the paperwork done in a day.",
    "I'm from the bank's neighborhood.",
    "2 of 10 listings closed last month.",
]


@pytest.mark.parametrize("text", REPRESENTATIONS)
def test_f5_the_phrase_table_catches_each_representation(text):
    assert "F5" in {hit.rule for hit in language_hits(text)}, text


@pytest.mark.parametrize("text", NOT_REPRESENTATIONS)
def test_f5_ordinary_advice_about_the_lender_is_no_hit(text):
    assert [hit.label for hit in language_hits(text) if hit.rule == "F5"] == []


def test_f5_a_hit_keeps_the_words_as_written_and_where_they_stand():
    text = "Hi Maria. Don\u2019t call your lender."
    hit = next(hit for hit in language_hits(text) if hit.rule == "F5")
    assert text[hit.start:hit.end] == hit.text == "Don\u2019t call your lender"
    assert "1015.3(a)" in hit.why


def test_f5_rows_are_versioned_data_a_retired_row_no_longer_fires():
    row = ProhibitedPhrase.objects.get(rule="F5", label="don't contact your lender")
    assert row.source.startswith("12 CFR 1015.3(a)") and row.why
    row.effective_to = date(2026, 11, 30)
    row.save()
    said = "Do not contact your lender."
    assert [hit.rule for hit in language_hits(said, on=date(2026, 11, 30))] == ["F5"]
    assert language_hits(said, on=date(2026, 12, 1)) == []


def test_f5_a_call_note_telling_the_homeowner_not_to_call_the_lender_warns_even_under_the_stay(lead, agent):
    phone = lead.contacts.first().phones.first()
    decision = outreach_check(lead=lead, contact_point=phone, channel=Channel.CALL, purpose="short_sale_listing",
                              actor=agent, at=datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL), role_disclosed=True,
                              message="Told him: do not contact your lender, let us handle it.")
    assert (decision.verdict, decision.rule_ids) == (Verdict.WARN, ["F5"])
    assert decision.evidence["language"][0]["rule"] == "F5"


def test_f5_a_template_with_a_representation_is_refused_naming_f5(agent):
    with pytest.raises(ValidationError) as refused:
        template_language_check("Good news: we get 9 out of 10 approved")
    assert refused.value.code == "F5" and refused.value.messages[0].startswith("F5")
    with pytest.raises(ValidationError, match="F5"):
        template_save(actor=agent, name="Push", kind=TemplateKind.TEXT,
                      body="Hi [First Name], this is [Agent Name] of [Brokerage]. Never talk to your bank.")
    template_save(actor=agent, name="Fine", kind=TemplateKind.TEXT,
                  body="Hi [First Name], this is [Agent Name] of [Brokerage]. Call your lender to ask for the "
                       "short-sale package.")


def test_f5_a_text_the_app_sends_is_refused_not_warned(lead, agent, textable):
    with pytest.raises(ValidationError) as refused:
        text_send(lead=lead, phone=textable, actor=agent, role_disclosed=True,
                  body="Ana Torres, Sunbelt Test Realty: don't answer your lender's calls, I'll handle them.")
    assert "(F5)" in " ".join(refused.value.messages)
    assert not Message.objects.exists() and not OutreachAttempt.objects.exists()


def test_f5_an_email_from_a_template_saved_before_the_rule_is_refused_at_send(lead, agent, brokerage):
    from pipeline.tasks import email_campaign_send

    brokerage.office_street, brokerage.office_city, brokerage.office_state, brokerage.office_zip = (
        "1 Main St", "Tulsa", "OK", "74103")
    brokerage.save()
    EmailFactory(contact=lead.contacts.first())
    template = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=agent,
                                      body="[Role Disclosure] I'm calling on behalf of your lender.")
    args = (template.pk, agent.pk, {}, "http://crm.example.com")
    assert email_campaign_send.apply(args=args).get() == {"sent": 0, "refused": 1, "failed": 0}
    assert mail.outbox == [] and not OutreachAttempt.objects.exists()
