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
    assert missing_disclosures(template) == []


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
    assert "(F3)" in said and "stop doing business with us at any time" in said
    assert "the total fee" not in said
    assert not Message.objects.exists() and not OutreachAttempt.objects.exists()


def test_f3_an_investors_text_with_the_inserted_notice_is_sent(lead, investor, textable):
    fee_record(lead=lead, actor=investor, service=FeeService.OTHER, amount=Decimal("2500"))
    from pipeline.deals.reg_o import with_standard_disclosure

    body = with_standard_disclosure("Ivan Stone, Sunbelt Test Realty: I buy houses as is.", spoken=False, lead=lead)
    assert "pay us $2,500 for our services" in body and "Sunbelt Test Realty is not associated" in body
    message = text_send(lead=lead, phone=textable, actor=investor, role_disclosed=True, body=body)
    assert message.body == body


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
    assert "the heading" in f3[0].reason and "the total fee" in f3[0].reason
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
    assert "IMPORTANT NOTICE" in body and disclosures.FEE_FIELD in body and missing_disclosures(body) == []
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
