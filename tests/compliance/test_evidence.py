"""Consent and records recorded from the lead page, and a broker's revocation of one.

The owner agent, their team lead and the broker record; another agent gets a 404, forged
ids too; only a broker revokes (a 403 for those who see the lead, as for every action on
a visible lead the user lacks the permission for); the gate reads only unrevoked records.
"""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from compliance import evidence
from compliance.evidence import (
    consent_record,
    evidence_revoke,
    interest_disclosure_record,
    reassigned_number_check_record,
    relationship_record,
)
from compliance.forms import PICK_A_NUMBER
from compliance.gate import NO_CONSENT
from compliance.models import (
    Channel,
    ConsentRecord,
    EstablishedRelationship,
    EvidenceFile,
    EvidenceRevocation,
    InterestDisclosure,
    ReassignedNumberCheck,
    RelationshipKind,
    RndResult,
    Verdict,
)
from compliance.rulebook import rulebook
from compliance.selectors import EXPIRED, IN_FORCE, REVOKED, lead_evidence
from compliance.services import dnc_numbers_add, outreach_check
from leadcrm.accounts.models import Capacity
from leadcrm.shared.append_only import AppendOnlyError
from leads.phones import format_national
from pipeline.models import Outcome
from pipeline.outreach.services import OutreachBlocked, outreach_log

from ..leadcrm.factories import InvestorFactory
from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory
from .factories import (
    ConsentRecordFactory,
    EstablishedRelationshipFactory,
    InterestDisclosureFactory,
    ReassignedNumberCheckFactory,
)

pytestmark = pytest.mark.django_db

NUMBER = "+19185550104"  # the ``lead`` fixture's phone
PDF = b"%PDF-1.4 signed consent"


def url(lead):
    return reverse("compliance:evidence", args=[lead.pk])


def signed(name="consent.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def consent_post(**overrides):
    data = {"action": "consent", "consent-phone_number": NUMBER,
            "consent-consent_text": "I agree to texts from Sunbelt about selling my home.",
            "consent-covers_sms": "on", "consent-obtained_at": "2026-11-17T10:00",
            "consent-method": "signed form", "consent-proof_file": signed()}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def relationship_post(**overrides):
    return {"action": "relationship", "relationship-phone_number": NUMBER, "relationship-kind": "inquiry",
            "relationship-started_on": "2026-10-01", "relationship-evidence": "Web form of Oct 1",
            "relationship-formed_with_brokerage": "on", **overrides}


def number_check_post(**overrides):
    return {"action": "number_check", "number_check-phone_number": NUMBER,
            "number_check-consent_date": "2026-11-17", "number_check-queried_at": "2026-11-18T09:00",
            "number_check-result": "no", **overrides}


POSTS = {"consent": (consent_post, ConsentRecord), "relationship": (relationship_post, EstablishedRelationship),
         "number_check": (number_check_post, ReassignedNumberCheck)}


# Recording -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent", "team_lead", "broker"])
@pytest.mark.parametrize("kind", list(POSTS))
def test_the_owner_their_team_lead_and_the_broker_record_each_kind(who, kind, lead, client_as, request):
    user = request.getfixturevalue(who)
    make, model = POSTS[kind]
    response = client_as(user).post(url(lead), make())
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == reverse("leads:detail", args=[lead.pk]) + "#evidence"
    record = model.objects.get()
    assert (record.lead, record.phone_number, record.recorded_by) == (lead, NUMBER, user)


def test_a_consent_keeps_its_signed_form_served_only_to_who_may_see_the_lead(
        lead, agent, team_lead, broker, other_agent, client_as):
    client_as(agent).post(url(lead), consent_post())
    consent = ConsentRecord.objects.select_related("proof_file").get()
    stored = consent.proof_file
    # Typed in the user's zone (Chicago): 10:00 there is 16:00 UTC.
    assert (consent.covers_sms, consent.covers_autodialer, consent.obtained_at) == (
        True, False, datetime(2026, 11, 17, 16, 0, tzinfo=UTC))
    assert (stored.lead, stored.content_type, stored.original_name, stored.uploaded_by) == (
        lead, "application/pdf", "consent.pdf", agent)
    assert stored.stored_file.startswith("evidence/") and stored.stored_file.endswith(".pdf")
    download = reverse("compliance:evidence_file", args=[stored.pk])
    for user in (agent, team_lead, broker):
        response = client_as(user).get(download)
        assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
        assert response["X-Content-Type-Options"] == "nosniff"
    assert client_as(other_agent).get(download).status_code == 404
    assert client_as(None).get(download).status_code == 302


def test_a_consent_can_cite_the_inbound_message_it_came_in_on(lead, agent, client_as):
    phone = lead.contacts.first().phones.first()
    attempt = outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED,
                           actor=agent, role_disclosed=True, direction="inbound",
                           notes="Yes, you can text me about the house.")
    page = client_as(agent).get(url(lead)).content.decode()
    assert f'value="{attempt.compliance_check_id}"' in page  # offered as a proof
    response = client_as(agent).post(url(lead), consent_post(**{
        "consent-proof_file": None, "consent-proof_message": str(attempt.compliance_check_id),
        "consent-proof_note": "Replied yes to our first text."}))
    assert response.status_code == 302
    consent = ConsentRecord.objects.get()
    assert (consent.proof_message_id, consent.proof_file, consent.proof_note) == (
        attempt.compliance_check_id, None, "Replied yes to our first text.")


def test_an_inbound_message_of_another_lead_is_not_a_proof(lead, other_lead, other_agent, client_as, agent):
    theirs = outreach_log(lead=other_lead, channel=Channel.SMS, contact_point=other_lead.contacts.first().phones.first(),
                          outcome=Outcome.REPLIED, actor=other_agent, role_disclosed=True, direction="inbound",
                          notes="Yes")
    response = client_as(agent).post(url(lead), consent_post(**{
        "consent-proof_file": None, "consent-proof_message": str(theirs.compliance_check_id)}))
    assert response.status_code == 400 and not ConsentRecord.objects.exists()
    assert "Select a valid choice" in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        consent_record(lead=lead, phone_number=NUMBER, consent_text="Yes", obtained_at=timezone.now(),
                       method="text", recorded_by=agent, covers_sms=True, proof_message=theirs.compliance_check)
    assert refused.value.message_dict == {"proof_message": [evidence.MESSAGE_NOT_INBOUND]}


def test_the_htmx_form_swaps_the_card_with_the_record_in_it(lead, agent, client_as):
    response = client_as(agent).post(url(lead), relationship_post(), HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="evidence"' in page and "Recorded the relationship." in page
    assert "<html" not in page  # the card alone, not the page


# The card on the lead page -------------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent", "team_lead", "broker"])
def test_the_lead_page_shows_the_card_with_each_record_who_and_when(who, lead, agent, client_as, request):
    consent_record(lead=lead, phone_number=NUMBER, consent_text="I agree to texts.", covers_sms=True,
                   obtained_at=timezone.now() - timedelta(days=1), method="e-sign", recorded_by=agent,
                   proof_file=signed())
    page = client_as(request.getfixturevalue(who)).get(reverse("leads:detail", args=[lead.pk])).content.decode()
    card = page[page.index('id="evidence"'):page.index('id="timeline"')]  # placed just before the timeline
    assert "Consent and records" in page and "I agree to texts." in card
    assert f"by {agent}" in card and "In force" in card and "consent.pdf" in card


def test_a_relationship_shows_the_day_it_expires_and_then_that_it_expired(lead, agent, client_as):
    relationship_record(lead=lead, phone_number=NUMBER, kind=RelationshipKind.INQUIRY, started_on=date(2026, 10, 1),
                        evidence="Web form", recorded_by=agent)
    relationship_record(lead=lead, phone_number=NUMBER, kind=RelationshipKind.TRANSACTION,
                        started_on=date(2025, 4, 1), evidence="Closed a sale", recorded_by=agent)
    rows = {row.record.kind: row for row in lead_evidence(lead=lead, fetched_by=agent).relationships}
    # An inquiry: the shorter of 3 months and 90 days (C1); a transaction: 18 months.
    assert (rows["inquiry"].until, rows["inquiry"].state) == (date(2026, 12, 30), IN_FORCE)
    assert (rows["transaction"].until, rows["transaction"].state) == (date(2026, 10, 1), EXPIRED)
    card = client_as(agent).get(url(lead)).content.decode()
    assert "allows calls until <strong class=\"evidence-until\">Dec 30, 2026</strong>" in card
    assert "expired after <strong class=\"evidence-until\">Oct 1, 2026</strong>" in card


def test_the_card_reads_in_a_fixed_number_of_queries(lead, agent, django_assert_max_num_queries):
    phone = lead.contacts.first().phones.first()
    for _ in range(3):
        ConsentRecordFactory(phone=phone)
        EstablishedRelationshipFactory(phone=phone)
        ReassignedNumberCheckFactory(phone=phone)
        InterestDisclosureFactory(lead=lead)
    lead = type(lead).objects.get(pk=lead.pk)
    rulebook()  # the rule tables are read once per process, and the user's roles once per request
    agent.has_perm("leads.view_all_leads")
    with django_assert_max_num_queries(6):
        found = lead_evidence(lead=lead, fetched_by=agent)
        assert found.count == 12 and all(row.record.recorded_by for row in found.consents)


# Validation ----------------------------------------------------------------------------------


def test_consent_for_a_number_not_on_the_lead_is_refused(lead, agent, client_as):
    response = client_as(agent).post(url(lead), consent_post(**{"consent-phone_number": "+18505550147"}))
    assert response.status_code == 400 and escape(PICK_A_NUMBER) in response.content.decode()
    with pytest.raises(ValidationError) as refused:
        consent_record(lead=lead, phone_number="+18505550147", consent_text="Yes", obtained_at=timezone.now(),
                       method="text", recorded_by=agent, covers_sms=True, proof_file=signed())
    assert refused.value.message_dict == {
        "phone_number": [evidence.NUMBER_NOT_ON_LEAD.format(number="+18505550147")]}
    assert not ConsentRecord.objects.exists() and not EvidenceFile.objects.exists()


def test_consent_obtained_in_the_future_is_refused(lead, agent, client_as):
    tomorrow = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client_as(agent).post(url(lead), consent_post(**{"consent-obtained_at": tomorrow}))
    assert response.status_code == 400 and evidence.IN_THE_FUTURE in response.content.decode()
    assert not ConsentRecord.objects.exists()


def test_consent_without_any_proof_or_channel_is_refused_and_says_why(lead, agent, client_as):
    response = client_as(agent).post(url(lead), consent_post(**{"consent-proof_file": None,
                                                                 "consent-covers_sms": None}))
    page = response.content.decode()
    assert response.status_code == 400 and evidence.NO_PROOF in page and evidence.CONSENT_COVERS_NOTHING in page
    assert not ConsentRecord.objects.exists()


def test_an_upload_too_large_is_refused_with_the_limit_and_nothing_is_stored(lead, agent, client_as, settings):
    settings.LEADCRM_DOCUMENT_MAX_BYTES = 2 * 2**20
    big = signed(content=b"%PDF-1.4 " + b"x" * (3 * 2**20))
    response = client_as(agent).post(url(lead), consent_post(**{"consent-proof_file": big}))
    assert response.status_code == 400
    assert evidence.TOO_LARGE.format(size=big.size / 2**20, limit=2) in response.content.decode()
    assert not ConsentRecord.objects.exists() and not EvidenceFile.objects.exists()
    assert not (Path(settings.MEDIA_ROOT) / "evidence").exists()


@pytest.mark.parametrize("content", [b"<html><script>alert(1)</script>", b"MZ\x90\x00 an exe", b""])
def test_a_file_that_is_not_a_pdf_or_an_image_is_refused_whatever_its_name(content, lead, agent, client_as):
    response = client_as(agent).post(url(lead), consent_post(**{"consent-proof_file": signed("form.pdf", content)}))
    page = response.content.decode()
    assert response.status_code == 400
    assert (evidence.NOT_A_DOCUMENT in page) if content else ("The submitted file is empty." in page)
    assert not ConsentRecord.objects.exists() and not EvidenceFile.objects.exists()


def test_a_refused_record_leaves_no_file_behind(lead, agent, settings):
    phone = lead.contacts.first().phones.first()
    with pytest.raises(ValidationError):
        # full_clean refuses the method (too long) after the file is written: both go.
        consent_record(lead=lead, phone_number=phone.number, consent_text="Yes", obtained_at=timezone.now(),
                       method="x" * 500, recorded_by=agent, covers_sms=True, proof_file=signed())
    assert not EvidenceFile.objects.exists()
    assert not list((Path(settings.MEDIA_ROOT) / "evidence").rglob("*.pdf"))


def test_a_number_check_queried_in_the_future_is_refused(lead, agent):
    with pytest.raises(ValidationError) as refused:
        reassigned_number_check_record(lead=lead, phone_number=NUMBER, consent_date=date(2026, 11, 1),
                                       queried_at=timezone.now() + timedelta(hours=2), result=RndResult.NO,
                                       recorded_by=agent)
    assert refused.value.message_dict == {"queried_at": [evidence.IN_THE_FUTURE]}


# Visibility ----------------------------------------------------------------------------------


def test_another_agent_gets_a_404_for_the_lead_and_every_form_of_it(lead, other_agent, client_as):
    client = client_as(other_agent)
    assert client.get(url(lead)).status_code == 404
    for make, _ in POSTS.values():
        assert client.post(url(lead), make()).status_code == 404
    assert not (ConsentRecord.objects.exists() or EstablishedRelationship.objects.exists()
                or ReassignedNumberCheck.objects.exists())


def test_a_forged_record_id_of_another_agents_lead_is_a_404(lead, other_lead, broker, client_as):
    theirs = ConsentRecordFactory(phone=other_lead.contacts.first().phones.first())
    response = client_as(broker).post(url(lead), {"action": "revoke", "kind": "consent", "record": theirs.pk,
                                                  f"revoke-consent-{theirs.pk}-reason": "forged"})
    assert response.status_code == 404
    for kind in ("nonsense", ""):
        assert client_as(broker).post(url(lead), {"action": "revoke", "kind": kind, "record": theirs.pk}
                                      ).status_code == 404
    assert client_as(broker).post(url(lead), {"action": "revoke", "kind": "consent", "record": "1 OR 1=1"}
                                  ).status_code == 404
    assert not EvidenceRevocation.objects.exists()


# Revocation ----------------------------------------------------------------------------------


def revoke_post(kind, record, reason="Wrong number: the owner never signed this."):
    return {"action": "revoke", "kind": kind, "record": record.pk, f"revoke-{kind}-{record.pk}-reason": reason}


@pytest.mark.parametrize("who", ["agent", "team_lead"])
def test_only_a_broker_may_revoke_others_who_see_the_lead_are_refused(who, lead, client_as, request):
    consent = ConsentRecordFactory(phone=lead.contacts.first().phones.first())
    user = request.getfixturevalue(who)
    assert client_as(user).post(url(lead), revoke_post("consent", consent)).status_code == 403
    assert "Revoke this record" not in client_as(user).get(url(lead)).content.decode()
    assert not EvidenceRevocation.objects.exists()


def test_a_broker_revokes_with_a_reason_as_a_new_row_and_the_record_stays(lead, broker, client_as):
    consent = ConsentRecordFactory(phone=lead.contacts.first().phones.first())
    client = client_as(broker)
    assert "Revoke this record" in client.get(url(lead)).content.decode()
    refused = client.post(url(lead), revoke_post("consent", consent, reason="  "))
    assert refused.status_code == 400 and not EvidenceRevocation.objects.exists()
    assert client.post(url(lead), revoke_post("consent", consent)).status_code == 302
    revocation = EvidenceRevocation.objects.get()
    assert (revocation.consent, revocation.lead, revocation.revoked_by, revocation.record) == (
        consent, lead, broker, consent)
    assert ConsentRecord.objects.filter(pk=consent.pk).exists()  # never edited, never deleted
    assert list(ConsentRecord.objects.not_revoked()) == []
    row = lead_evidence(lead=lead, fetched_by=broker).consents[0]
    assert row.state == REVOKED
    page = client.get(url(lead)).content.decode()
    assert "Revoked" in page and "the owner never signed this" in page
    with pytest.raises(ValidationError) as again:
        evidence_revoke(lead=lead, record=consent, reason="Twice", revoked_by=broker)
    assert again.value.messages == [evidence.ALREADY_REVOKED]
    with pytest.raises(AppendOnlyError):
        EvidenceRevocation.objects.update(reason="edited")


def test_the_gate_allows_a_text_with_consent_recorded_on_the_page_and_refuses_it_after_the_revocation(
        lead, agent, broker, client_as):
    phone = lead.contacts.first().phones.first()
    client_as(agent).post(url(lead), consent_post())
    client_as(agent).post(url(lead), number_check_post())
    consent = ConsentRecord.objects.get()

    sent = outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.SENT, actor=agent,
                        role_disclosed=True, notes="Hi, this is Ana about your home.")
    assert sent.compliance_check.verdict == Verdict.ALLOW
    assert sent.compliance_check.evidence["consent"]["id"] == consent.pk

    assert client_as(broker).post(url(lead), revoke_post("consent", consent)).status_code == 302
    with pytest.raises(OutreachBlocked) as blocked:
        outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.SENT, actor=agent,
                     role_disclosed=True, notes="Hi again.")
    decision = blocked.value.decision
    assert decision.verdict == Verdict.BLOCK and decision.rule_ids == ["D5"]  # texts need consent
    assert NO_CONSENT.format(what="A text", number=format_national(NUMBER)) in decision.reasons


def test_the_gate_ignores_a_revoked_relationship_number_check_and_disclosure(lead, agent, broker):
    phone = lead.contacts.first().phones.first()
    check = ReassignedNumberCheckFactory(phone=phone, result=RndResult.YES)
    ConsentRecordFactory(phone=phone, obtained_at=timezone.now() - timedelta(days=40))

    def text():
        return outreach_check(lead=lead, contact_point=phone, channel=Channel.SMS, actor=agent,
                              at=timezone.now(), role_disclosed=True, purpose="short_sale_listing")

    assert "D7" in text().rule_ids and text().verdict == Verdict.BLOCK
    evidence_revoke(lead=lead, record=check, reason="Queried the wrong number.", revoked_by=broker)
    assert text().verdict != Verdict.BLOCK  # only the stale-check warning is left


def test_a_registered_number_called_under_a_relationship_is_blocked_once_a_broker_revokes_it(
        lead, agent, broker, national_registry):
    phone = lead.contacts.first().phones.first()
    dnc_numbers_add(source=national_registry, numbers=[phone.number], as_of=date(2026, 8, 1))
    relationship = relationship_record(lead=lead, phone_number=phone.number, kind=RelationshipKind.INQUIRY,
                                       started_on=date(2026, 11, 1), evidence="Web form", recorded_by=agent)

    def call():
        return outreach_check(lead=lead, contact_point=phone, channel=Channel.CALL, actor=agent,
                              at=timezone.now(), role_disclosed=True, purpose="short_sale_listing")

    assert (call().verdict, call().rule_ids) == (Verdict.WARN, ["C1"])
    evidence_revoke(lead=lead, record=relationship, reason="Another homeowner's form.", revoked_by=broker)
    assert (call().verdict, call().rule_ids) == (Verdict.BLOCK, ["A5"])
    assert list(EstablishedRelationship.objects.not_revoked()) == []


def test_an_htmx_refusal_comes_back_in_the_card_with_the_form_open_and_its_errors(lead, agent, client_as):
    response = client_as(agent).post(url(lead), relationship_post(**{"relationship-started_on": "2027-01-05"}),
                                     HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200 and "<html" not in page  # htmx swaps only a 2xx answer
    assert '<details class="evidence-add mt-2" open id="evidence-add-relationship">' in page
    assert evidence.IN_THE_FUTURE in page and not EstablishedRelationship.objects.exists()


# The principal's written disclosure (F8) ----------------------------------------------------


@pytest.fixture
def investor_lead(team, brokerage, national_registry):
    from leadcrm.accounts.services import team_member_set

    investor = InvestorFactory(first_name="Frank", last_name="Investor")
    team_member_set(team=team, user=investor)
    lead = LeadFactory(assigned_agent=investor, team=team)
    PhoneFactory(contact=ContactFactory(lead=lead), number="+19185550160")
    return lead


def disclosure_post(**overrides):
    return {"action": "disclosure", "disclosure-disclosed_on": "2026-11-17",
            "disclosure-document_text": "I am a licensed agent and would buy your home for myself.",
            "disclosure-signed_document": signed("disclosure.pdf"), **overrides}


@pytest.mark.parametrize("who", ["principal", "team_lead", "broker"])
def test_a_principal_records_their_disclosure_or_their_team_lead_or_broker_does_for_them(
        who, investor_lead, team_lead, broker, client_as):
    principal = investor_lead.assigned_agent
    user = {"principal": principal, "team_lead": team_lead, "broker": broker}[who]
    client = client_as(user)
    assert "Add the signed disclosure" in client.get(url(investor_lead)).content.decode()
    assert client.post(url(investor_lead), disclosure_post()).status_code == 302
    disclosure = InterestDisclosure.objects.select_related("signed_document").get()
    assert (disclosure.principal, disclosure.recorded_by, disclosure.signed_document.original_name) == (
        principal, user, "disclosure.pdf")


def test_a_seller_agent_has_no_disclosure_to_record(lead, agent, client_as):
    assert agent.capacity == Capacity.SELLER_AGENT
    client = client_as(agent)
    assert "Add the signed disclosure" not in client.get(url(lead)).content.decode()
    response = client.post(url(lead), disclosure_post())
    assert response.status_code == 400
    assert escape(evidence.NOT_A_PRINCIPAL.format(agent=agent)) in response.content.decode()
    assert not InterestDisclosure.objects.exists() and not EvidenceFile.objects.exists()


def test_a_disclosure_needs_the_signed_document(investor_lead):
    with pytest.raises(ValidationError) as refused:
        interest_disclosure_record(lead=investor_lead, disclosed_on=date(2026, 11, 17), document_text="I would buy.",
                                   signed_document=None, recorded_by=investor_lead.assigned_agent)
    assert refused.value.message_dict == {"signed_document": [evidence.SIGNED_DOCUMENT_NEEDED]}


def test_the_principals_offer_check_can_read_only_unrevoked_disclosures(investor_lead, broker):
    disclosure = interest_disclosure_record(
        lead=investor_lead, disclosed_on=date(2026, 11, 17), document_text="I would buy.",
        signed_document=signed(), recorded_by=investor_lead.assigned_agent)
    assert list(InterestDisclosure.objects.not_revoked()) == [disclosure]
    evidence_revoke(lead=investor_lead, record=disclosure, reason="Unsigned copy.", revoked_by=broker)
    assert list(InterestDisclosure.objects.not_revoked()) == []
    # the gate's own reading (D3/F8 evidence) follows
    at = datetime(2026, 11, 18, 14, 0, tzinfo=timezone.get_current_timezone())
    decision = outreach_check(lead=investor_lead, contact_point=investor_lead.contacts.first().phones.first(),
                              channel=Channel.CALL, actor=investor_lead.assigned_agent, at=at,
                              role_disclosed=True, purpose="offer_to_buy")
    assert decision.evidence["disclosure"]["written_interest_disclosure"] is False


def test_the_timeline_tells_who_recorded_and_who_revoked_each_record(lead, agent, broker, client_as):
    phone = lead.contacts.first().phones.first()
    consent = ConsentRecordFactory(phone=phone, recorded_by=agent)
    evidence_revoke(lead=lead, record=consent, reason="The owner never signed this.", revoked_by=broker)
    page = " ".join(client_as(agent).get(reverse("leads:detail", args=[lead.pk])).content.decode().split())
    number = format_national(phone.number)
    assert f"{agent.get_full_name()} recorded the homeowner&#x27;s written consent for {number} (texts)" in page
    assert f"{broker.get_full_name()} revoked the written consent for {number}: The owner never signed this." in page
