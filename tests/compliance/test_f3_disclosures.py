"""F3: Regulation O's required disclosures where the licensee stay does not apply
(docs/compliance-rules.md#f3).

Outside the stay (an investor, a licence not active, a loan modification) texts, emails
and templates carry the notice headed "IMPORTANT NOTICE", and a call script opens with
the spoken sentence; under the stay (an active licensee, the seller's agent, a short-sale
listing) nothing changes.
"""

from datetime import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from compliance import disclosures
from compliance.disclosures import (
    SPOKEN_OPENING,
    disclosure_block,
    missing_disclosures,
    with_disclosure,
)
from compliance.language import language_hits
from compliance.models import Channel, ComplianceCheck, Verdict
from compliance.services import outreach_check
from leadcrm.accounts.models import LicenseStatus
from leadcrm.accounts.services import team_member_set
from leads.models import Lead
from pipeline.deals.fees import fee_record
from pipeline.messaging.services import text_send
from pipeline.models import FeeService, Message, MessageTemplate, OutreachAttempt, TemplateKind
from pipeline.outreach.scripts import template_save

from ..leadcrm.factories import AgentFactory, InvestorFactory
from ..leads.factories import EmailFactory
from ..pipeline.factories import MessageTemplateFactory
from .factories import ConsentRecordFactory, ReassignedNumberCheckFactory
from .test_section_h import CENTRAL

pytestmark = pytest.mark.django_db

BLOCK = disclosure_block(company="Sunbelt Test Realty", fee="$2,500")


@pytest.fixture
def textable(lead, settings):
    """The lead's number with consent to texts, checked in the reassigned-numbers database;
    texts go through the local backend."""
    settings.LEADCRM_TELEPHONY = "local"
    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    return phone


@pytest.fixture
def investor(team, lead):
    """A licensed agent buying for themselves (capacity principal): outside the stay."""
    user = InvestorFactory(first_name="Ivan", last_name="Stone")
    team_member_set(team=team, user=user)
    lead.assigned_agent = user
    lead.save()
    return user


@pytest.fixture
def office(brokerage):
    brokerage.office_street, brokerage.office_city, brokerage.office_state, brokerage.office_zip = (
        "1 Main St", "Tulsa", "OK", "74103")
    brokerage.save()
    return brokerage


# The sentences ------------------------------------------------------------------------------


def test_f3_the_standard_block_has_every_sentence_and_is_no_prohibited_phrase():
    assert missing_disclosures(BLOCK) == []
    assert BLOCK.startswith("IMPORTANT NOTICE\n")
    # "not approved by the government", "stop paying your mortgage": the warnings, not promises (F6).
    full = disclosure_block(company="Sunbelt Test Realty", fee="$2,500", guarantee=True, stop_payments=True)
    assert language_hits(full) == []


@pytest.mark.parametrize("required", disclosures.WRITTEN, ids=lambda required: required.key)
def test_f3_a_message_missing_one_sentence_names_that_sentence(required):
    sentence = required.words.format(company="Sunbelt Test Realty", fee="$2,500")
    assert sentence in BLOCK
    missing = missing_disclosures(BLOCK.replace(sentence, ""))
    assert [m.key for m in missing] == [required.key]
    assert required.name in disclosures.missing_message(missing)


def test_f3_the_heading_is_required_and_a_fee_without_a_figure_is_no_fee():
    assert [m.key for m in missing_disclosures(BLOCK.replace("IMPORTANT NOTICE\n", ""))] == ["heading"]
    no_figure = disclosure_block(company="Sunbelt Test Realty", fee="a fair amount")
    assert [m.key for m in missing_disclosures(no_figure)] == ["total_fee"]
    template = disclosure_block(company="[Brokerage]", fee=disclosures.FEE_FIELD)
    assert missing_disclosures(template, template=True) == []


def test_f3_the_fee_merge_field_states_a_fee_only_in_a_template_not_in_what_is_sent():
    """F3: "[Total Fee]" left in a text that goes out tells the homeowner no fee."""
    sent = disclosure_block(company="Sunbelt Test Realty", fee=disclosures.FEE_FIELD)
    assert [m.key for m in missing_disclosures(sent)] == ["total_fee"]
    assert missing_disclosures(sent, template=True) == []


def test_f3_a_suggested_guarantee_and_advice_to_stop_paying_need_their_warnings():
    text = "We get you approved. Stop making your mortgage payments for now.\n\n" + BLOCK
    assert [m.key for m in missing_disclosures(text)] == ["guarantee", "stop_payments"]
    fixed = with_disclosure(text, spoken=False, company="Sunbelt Test Realty", fee="$2,500")
    assert missing_disclosures(fixed) == []
    assert disclosures.GUARANTEE in fixed and disclosures.STOP_PAYMENTS in fixed
    assert fixed.count("IMPORTANT NOTICE") == 1  # the partial notice is replaced, not repeated


def test_f3_a_spoken_script_must_begin_with_the_opening():
    assert [m.key for m in missing_disclosures("Hi, this is Ivan.", spoken=True)] == ["opening"]
    assert missing_disclosures("Hi. " + SPOKEN_OPENING, spoken=True) != []  # begin, not contain
    script = with_disclosure("Hi, this is Ivan.", spoken=True, company="x", fee="$1")
    assert script.startswith(SPOKEN_OPENING) and missing_disclosures(script, spoken=True) == []


@pytest.mark.parametrize("text", [
    "IMPORTANT NOTICE\nOur HUD-approved team, Acme is not associated with the government, and our service is not "
    "approved by the government or your lender.",
    BLOCK.replace("$2,500", "$500 now; approved in 30 days, 9 out of 10 approved, money back guarantee"),
])
def test_f3_the_notices_slots_hide_no_prohibited_words(text):
    """F3's company and fee slots hold a name and a figure: words put in them are still read
    for F5 and F6, and a fee slot holding words is no fee."""
    assert {"F5", "F6"} & {hit.rule for hit in language_hits(text)}, text
    if "$500" in text:
        assert "total_fee" in [m.key for m in missing_disclosures(text)]


def test_f3_a_company_name_with_points_and_commas_still_fills_the_slot():
    assert missing_disclosures(disclosure_block(company="Acme Realty, Inc.", fee="$2,500")) == []


def test_f3_html_renders_the_heading_bold_and_two_points_larger_than_the_body():
    html = disclosures.text_as_html("Hi Maria,\n\n" + BLOCK)
    assert '<p style="font-weight:bold;font-size:14pt;margin:1em 0 0">IMPORTANT NOTICE</p>' in html
    assert 'font-size:12pt' in html


# Texts -----------------------------------------------------------------------------------


def test_f3_an_investors_text_without_the_notice_is_refused_naming_the_missing_sentences(lead, investor,
                                                                                           textable):
    with pytest.raises(ValidationError) as refused:
        text_send(lead=lead, phone=textable, actor=investor, role_disclosed=True,
                  body="Ivan Stone, Sunbelt Test Realty: I buy houses as is. " + BLOCK.replace(
                      "You may stop doing business with us at any time. ", ""))
    said = " ".join(refused.value.messages)
    assert said.startswith("F3: ") and "F3: F3" not in said and "stop doing business with us at any time" in said
    assert "the total fee" not in said
    assert not Message.objects.exists() and not OutreachAttempt.objects.exists()


def test_f3_an_investors_text_with_the_inserted_notice_is_sent(lead, investor, textable):
    fee_record(lead=lead, actor=investor, service=FeeService.OTHER, amount=Decimal("2500"))
    from pipeline.deals.reg_o import with_standard_disclosure

    body = with_standard_disclosure("Ivan Stone, Sunbelt Test Realty: I buy houses as is.", spoken=False, lead=lead)
    assert "pay us $2,500 for our services" in body and "Sunbelt Test Realty is not associated" in body
    message = text_send(lead=lead, phone=textable, actor=investor, role_disclosed=True, body=body)
    assert message.body == body


def test_f3_an_investor_may_send_the_one_stop_confirmation_without_the_notice(lead, investor, textable):
    """F3 asks nothing of the one stop confirmation (B4): the notice's "offer" and "lender"
    would turn it into the pitch B4 refuses, and the standard notice is never inserted in it."""
    from compliance.models import Purpose
    from pipeline.deals.reg_o import with_standard_disclosure
    from pipeline.models import Outcome
    from pipeline.outreach.services import outreach_log

    outreach_log(lead=lead, channel=Channel.SMS, contact_point=textable, outcome=Outcome.REPLIED, actor=investor,
                 role_disclosed=True, direction="inbound", notes="STOP")
    body = "Ivan Stone, Sunbelt Test Realty: you will get no more messages from us."
    assert with_standard_disclosure(body, spoken=False, lead=lead, actor=investor,
                                    purpose=Purpose.REVOCATION_CONFIRMATION) == body
    message = text_send(lead=lead, phone=textable, actor=investor, role_disclosed=True, body=body,
                        purpose=Purpose.REVOCATION_CONFIRMATION)
    assert message.body == body and message.attempt.compliance_check.verdict == Verdict.ALLOW
    # Any other purpose from the investor still needs the notice.
    with pytest.raises(ValidationError, match="F3"):
        text_send(lead=lead, phone=textable, actor=investor, role_disclosed=True, body=body)


def test_f3_a_principal_with_no_fee_on_the_lead_is_not_asked_to_state_one(lead, investor, textable):
    """F3: a principal buying for themselves charges no fee; "you will have to pay us $X" would
    be false, so the fee sentence is asked for only once a fee is recorded on the lead."""
    from pipeline.deals.reg_o import with_standard_disclosure
    from pipeline.outreach.scripts import render

    body = with_standard_disclosure("Ivan Stone, Sunbelt Test Realty: I buy houses as is.", spoken=False,
                                    lead=lead, actor=investor)
    assert "IMPORTANT NOTICE" in body and "you will have to pay us" not in body
    assert [m.key for m in missing_disclosures(body)] == ["total_fee"]
    assert missing_disclosures(body, fee_required=False) == []
    template = "Hi [First Name].\n\n" + disclosure_block(company="[Brokerage]", fee=disclosures.FEE_FIELD)
    assert "you will have to pay us" not in render(template, lead=lead, agent=investor)
    assert text_send(lead=lead, phone=textable, actor=investor, role_disclosed=True, body=body).pk
    fee_record(lead=lead, actor=investor, service=FeeService.OTHER, amount=Decimal("2500"))
    lead = Lead.objects.get(pk=lead.pk)
    assert "pay us $2,500 for our services" in render(template, lead=lead, agent=investor)
    with pytest.raises(ValidationError, match="the total fee"):
        text_send(lead=lead, phone=textable, actor=investor, role_disclosed=True, body=body)


def test_f3_a_text_sent_with_the_fee_merge_field_left_in_is_refused(lead, agent, textable):
    """F3: the merge field is accepted in a template; a text that goes out needs the figure."""
    agent.license_status = LicenseStatus.INACTIVE
    agent.save()
    body = "Hi, this is Ana Torres with Sunbelt Test Realty.\n\n" + disclosure_block(
        company="Sunbelt Test Realty", fee=disclosures.FEE_FIELD)
    with pytest.raises(ValidationError, match="the total fee"):
        text_send(lead=lead, phone=textable, actor=agent, role_disclosed=True, body=body)
    assert text_send(lead=lead, phone=textable, actor=agent, role_disclosed=True,
                     body=body.replace(disclosures.FEE_FIELD, "$2,500")).pk


def test_f3_under_the_stay_a_text_without_the_notice_goes_as_before(lead, agent, textable):
    message = text_send(lead=lead, phone=textable, actor=agent, role_disclosed=True,
                        body="Hi, this is Ana Torres with Sunbelt Test Realty about your home.")
    assert message.pk and "F3" not in ComplianceCheck.objects.latest("checked_at").rule_ids


@pytest.mark.parametrize("outside", ["inactive licence", "loan modification"])
def test_f3_a_seller_agent_outside_the_stay_needs_the_notice(lead, agent, textable, outside):
    if outside == "inactive licence":
        agent.license_status = LicenseStatus.INACTIVE
        agent.save()
    else:
        fee_record(lead=lead, actor=agent, service=FeeService.LOAN_MODIFICATION, amount=Decimal("1500"))
    with pytest.raises(ValidationError, match="F3"):
        text_send(lead=lead, phone=textable, actor=agent, role_disclosed=True,
                  body="Hi, this is Ana Torres with Sunbelt Test Realty about your home.")


def test_f3_a_logged_text_note_from_an_investor_warns_at_the_gate_and_not_under_the_stay(lead, investor, agent):
    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    at = datetime(2026, 11, 18, 14, 0, tzinfo=CENTRAL)
    said = "Ivan Stone, Sunbelt Test Realty: I buy houses as is."
    outside = outreach_check(lead=lead, contact_point=phone, channel=Channel.SMS, purpose="offer_to_buy",
                             actor=investor, at=at, role_disclosed=True, message=said)
    f3 = [finding for finding in outside.findings if finding.rule == "F3"]
    assert [finding.severity for finding in f3] == [Verdict.WARN]
    # The gate sees the sender only: a principal may have no fee recorded, so the fee
    # sentence is left to the send paths, which read the lead's fees.
    assert "the heading" in f3[0].reason and "the total fee" not in f3[0].reason
    assert outside.evidence["reg_o_disclosures"]["view"] == "sender only"
    under = outreach_check(lead=lead, contact_point=phone, channel=Channel.SMS, purpose="short_sale_listing",
                           actor=agent, at=at, role_disclosed=True, message=said)
    assert "F3" not in under.rule_ids


def test_f3_the_composer_inserts_the_notice_in_one_click_and_sends_nothing(lead, investor, textable, client_as):
    fee_record(lead=lead, actor=investor, service=FeeService.OTHER, amount=Decimal("2500"))
    client = client_as(investor)
    page = client.get(reverse("messaging:text_compose", args=[lead.pk])).content.decode()
    assert 'name="insert_notice"' in page
    response = client.post(reverse("messaging:text_compose", args=[lead.pk]), {
        "phone": textable.pk, "purpose": "offer_to_buy", "body": "Ivan Stone, Sunbelt Test Realty here.",
        "insert_notice": "1"})
    body = response.context["form"]["body"].value()
    assert body.startswith("Ivan Stone, Sunbelt Test Realty here.\n\nIMPORTANT NOTICE\n")
    assert "pay us $2,500" in body and missing_disclosures(body) == []
    assert not Message.objects.exists()


def test_f3_under_the_stay_the_composer_offers_no_notice(lead, agent, textable, client_as):
    page = client_as(agent).get(reverse("messaging:text_compose", args=[lead.pk])).content.decode()
    assert 'name="insert_notice"' not in page


# Templates and scripts ------------------------------------------------------------------------


def test_f3_an_investors_template_needs_the_notice_and_a_call_script_the_opening(broker, investor):
    with pytest.raises(ValidationError, match="F3: .*the heading"):
        template_save(actor=broker, name="Investor text", kind=TemplateKind.TEXT, shared=True,
                      capacity="principal", body="Hi [First Name], [Agent Name] of [Brokerage] buys houses.")
    with pytest.raises(ValidationError, match="spoken opening"):
        template_save(actor=investor, name="My script", kind=TemplateKind.CALL_SCRIPT,
                      body="Hi [First Name], this is [Agent Name]. I buy houses for myself.")
    saved = template_save(actor=investor, name="My script", kind=TemplateKind.CALL_SCRIPT,
                          body=SPOKEN_OPENING + " Hi [First Name], this is [Agent Name].")
    assert saved.pk
    block = disclosure_block(company="[Brokerage]", fee=disclosures.FEE_FIELD)
    assert template_save(actor=investor, name="My text", kind=TemplateKind.TEXT,
                         body="Hi [First Name], [Agent Name] of [Brokerage].\n\n" + block).pk


def test_f3_under_the_stay_an_agents_own_template_needs_no_notice(agent):
    saved = template_save(actor=agent, name="Hello", kind=TemplateKind.TEXT,
                          body="Hi [First Name], [Agent Name] of [Brokerage] about [Property Address].")
    assert saved.pk


def test_f3_the_script_form_inserts_the_opening_or_the_block_in_one_click(investor, client_as):
    client = client_as(investor)
    templates = MessageTemplate.objects.count()
    assert 'name="insert_notice"' in client.get(reverse("pipeline:scripts")).content.decode()
    form = {"name": "Mine", "kind": TemplateKind.CALL_SCRIPT, "body": "Hi [First Name].", "situation": "any",
            "insert_notice": "1"}
    response = client.post(reverse("pipeline:scripts"), form)
    assert response.context["form"]["body"].value() == SPOKEN_OPENING + "\nHi [First Name]."
    response = client.post(reverse("pipeline:scripts"), {**form, "kind": TemplateKind.TEXT})
    body = response.context["form"]["body"].value()
    assert "IMPORTANT NOTICE" in body and disclosures.FEE_FIELD in body and missing_disclosures(body, template=True) == []
    assert MessageTemplate.objects.count() == templates


# Email -----------------------------------------------------------------------------------


def test_f3_an_investors_email_without_the_notice_is_refused_and_with_it_goes_with_a_bold_heading(
        lead, investor, office):
    from pipeline.tasks import email_campaign_send

    EmailFactory(contact=lead.contacts.first())
    fee_record(lead=lead, actor=investor, service=FeeService.OTHER, amount=Decimal("2500"))
    bare = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=investor, body="[Role Disclosure]")
    assert email_campaign_send.apply(args=(bare.pk, investor.pk, {}, "http://crm.example.com")).get() == {
        "sent": 0, "refused": 1, "failed": 0}
    assert mail.outbox == []
    block = disclosure_block(company="[Brokerage]", fee=disclosures.FEE_FIELD)
    noticed = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=investor, body="[Role Disclosure]\n\n" + block)
    assert email_campaign_send.apply(args=(noticed.pk, investor.pk, {}, "http://crm.example.com")).get() == {
        "sent": 1, "refused": 0, "failed": 0}
    sent = mail.outbox[0]
    assert "IMPORTANT NOTICE" in sent.body and "pay us $2,500 for our services" in sent.body
    html, kind = sent.alternatives[0]
    assert kind == "text/html" and "font-weight:bold;font-size:14pt" in html


def test_f3_an_email_whose_heading_is_not_in_capitals_still_gets_the_bold_heading(lead, investor, office):
    """F3 reads the heading in any case, so the HTML part that sets it in bold follows suit."""
    from pipeline.tasks import email_campaign_send

    EmailFactory(contact=lead.contacts.first())
    fee_record(lead=lead, actor=investor, service=FeeService.OTHER, amount=Decimal("2500"))
    block = disclosure_block(company="[Brokerage]", fee=disclosures.FEE_FIELD).replace(
        "IMPORTANT NOTICE", "Important Notice")
    template = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=investor, body="[Role Disclosure]\n\n" + block)
    assert email_campaign_send.apply(args=(template.pk, investor.pk, {}, "http://crm.example.com")).get() == {
        "sent": 1, "refused": 0, "failed": 0}
    html, kind = mail.outbox[0].alternatives[0]
    assert kind == "text/html" and "font-weight:bold;font-size:14pt" in html


def test_f3_under_the_stay_an_email_needs_no_notice(lead, agent, office):
    from pipeline.tasks import email_campaign_send

    EmailFactory(contact=lead.contacts.first())
    template = MessageTemplateFactory(kind=TemplateKind.EMAIL, owner=agent, body="[Role Disclosure]")
    assert email_campaign_send.apply(args=(template.pk, agent.pk, {}, "http://crm.example.com")).get() == {
        "sent": 1, "refused": 0, "failed": 0}
    assert not mail.outbox[0].alternatives


def test_f3_an_inactive_licensee_is_outside_the_stay(db):
    lapsed = AgentFactory(license_status=LicenseStatus.INACTIVE)
    assert disclosures.disclosures_required(actor=lapsed, service="short_sale_listing")
    assert not disclosures.disclosures_required(actor=AgentFactory(), service="short_sale_listing")
    assert disclosures.disclosures_required(actor=AgentFactory(), service="loan_modification")


# Letters ---------------------------------------------------------------------------------


def test_f3_an_investors_letter_without_the_notice_is_left_out_and_with_it_prints_a_bold_heading(lead, investor):
    from django.template import Context, Template

    from pipeline.outreach.letters import mail_merge

    fee_record(lead=lead, actor=investor, service=FeeService.OTHER, amount=Decimal("2500"))
    bare = MessageTemplateFactory(kind=TemplateKind.LETTER, owner=investor, body="Dear [First Name],\n\nI buy houses.")
    merge = mail_merge(template=bare, leads=Lead.objects.filter(pk=lead.pk), agent=investor)
    assert merge.pieces == [] and "F3" in merge.left_out[0][2] and "the total fee" in merge.left_out[0][2]
    block = disclosure_block(company="[Brokerage]", fee=disclosures.FEE_FIELD)
    noticed = MessageTemplateFactory(kind=TemplateKind.LETTER, owner=investor,
                                     body="Dear [First Name],\n\nI buy houses.\n\n" + block)
    piece = mail_merge(template=noticed, leads=Lead.objects.filter(pk=lead.pk), agent=investor).pieces[0]
    html = Template("{% load notices %}{{ text|notice_linebreaks }}").render(Context({"text": piece.text}))
    assert '<p class="reg-o-heading" style="font-weight:bold;font-size:calc(1em + 2pt)">IMPORTANT NOTICE</p>' in html
    assert "pay us $2,500 for our services" in html


def test_f3_under_the_stay_a_letter_needs_no_notice_but_f5_still_leaves_it_out(lead, agent):
    from pipeline.outreach.letters import mail_merge

    plain = MessageTemplateFactory(kind=TemplateKind.LETTER, owner=agent, body="Dear [First Name],\n\nHello.")
    assert len(mail_merge(template=plain, leads=Lead.objects.filter(pk=lead.pk), agent=agent).pieces) == 1
    steering = MessageTemplateFactory(kind=TemplateKind.LETTER, owner=agent,
                                      body="Dear [First Name],\n\nDo not contact your lender; we will.")
    merge = mail_merge(template=steering, leads=Lead.objects.filter(pk=lead.pk), agent=agent)
    assert merge.pieces == [] and "(F5)" in merge.left_out[0][2]
