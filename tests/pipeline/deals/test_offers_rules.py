"""The contract rules on offers: an investor's written interest disclosure before an offer
(F8) and California's equity-purchase cancellation window before closing (F7).
Frozen at Wednesday 18 November 2026, 20:00 UTC (noon in California; conftest)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from compliance import rules
from compliance.models import StateHoliday
from compliance.transactions import CALIFORNIA, OFFER_NEEDS_DISCLOSURE, ComplianceRefusal
from leadcrm.accounts.models import LicenseStatus
from leadcrm.accounts.services import team_member_set
from leads.models import ForeclosureRecord, Stage
from pipeline.deals.lenders import approval_letter_record
from pipeline.deals.offers import DISCLOSURE_WHAT_TO_DO, offer_create, offer_set_status
from pipeline.deals.purchase import equity_purchase_cancel_window
from pipeline.deals.services import StageChangeRefused, lead_stage_change
from pipeline.deals.stages import CANCEL_WINDOW_WHAT_TO_DO
from pipeline.models import Offer, OfferStatus

from ...compliance.factories import EvidenceRevocationFactory, InterestDisclosureFactory
from ...leadcrm.factories import InvestorFactory
from ...leads.factories import LeadFactory, LienFactory
from ..factories import OfferFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 18)
OFFER = {"buyer_name": "Frank Molina", "price": Decimal("180000"), "financing": "cash", "received_on": TODAY}


@pytest.fixture
def investor(team):
    user = InvestorFactory(first_name="Frank", last_name="Molina")
    team_member_set(team=team, user=user)
    return user


@pytest.fixture
def investor_lead(investor, team, brokerage):
    return LeadFactory(assigned_agent=investor, team=team, stage=Stage.NEGOTIATE)


def page_text(response) -> str:
    return " ".join(response.content.decode().split())


# F8: the written interest disclosure before any offer -------------------------------------


def test_an_investors_offer_is_refused_without_the_written_disclosure(investor, investor_lead):
    with pytest.raises(ComplianceRefusal) as refused:
        offer_create(lead=investor_lead, actor=investor, **OFFER)
    assert refused.value.code == rules.PRINCIPAL_DISCLOSURE.id == "F8"
    assert refused.value.messages == [f"F8: {OFFER_NEEDS_DISCLOSURE.format(name='Frank Molina')}"]
    assert not Offer.objects.exists()


def test_an_investors_offer_cannot_be_accepted_without_the_disclosure(investor, investor_lead):
    offer = OfferFactory(lead=investor_lead)  # typed in before the rule was enforced
    with pytest.raises(ComplianceRefusal):
        offer_set_status(offer=offer, status=OfferStatus.ACCEPTED, actor=investor)
    offer.refresh_from_db()
    assert offer.status == OfferStatus.PENDING and offer.contract_signed_at is None


def test_with_the_disclosure_on_file_the_offer_is_made_and_accepted(investor, investor_lead):
    InterestDisclosureFactory(lead=investor_lead, disclosed_on=TODAY - timedelta(days=2))
    offer = offer_create(lead=investor_lead, actor=investor, **OFFER)
    offer = offer_set_status(offer=offer, status=OfferStatus.ACCEPTED, actor=investor)
    assert offer.status == OfferStatus.ACCEPTED
    # The investor's accepted offer is the signed purchase contract (F7's clock starts).
    assert offer.contract_signed_at is not None


def test_a_disclosure_a_broker_revoked_is_not_on_file(investor, investor_lead, broker):
    disclosure = InterestDisclosureFactory(lead=investor_lead, disclosed_on=TODAY - timedelta(days=2))
    EvidenceRevocationFactory(consent=None, disclosure=disclosure, revoked_by=broker,
                              reason="Not signed by the homeowner.")
    with pytest.raises(ComplianceRefusal) as refused:
        offer_create(lead=investor_lead, actor=investor, **OFFER)
    assert refused.value.code == "F8"
    assert not Offer.objects.exists()


def test_a_disclosure_given_after_the_offer_was_made_does_not_cover_it(investor, investor_lead):
    InterestDisclosureFactory(lead=investor_lead, disclosed_on=TODAY)
    with pytest.raises(ComplianceRefusal):
        offer_create(lead=investor_lead, actor=investor, **{**OFFER, "received_on": TODAY - timedelta(days=3)})


def test_someone_else_typing_the_investors_offer_in_does_not_skip_the_rule(investor_lead, team_lead):
    # The buyer is the lead's investor, whoever records it.
    with pytest.raises(ComplianceRefusal):
        offer_create(lead=investor_lead, actor=team_lead, **OFFER)


def test_another_investors_disclosure_does_not_count(investor, investor_lead, team):
    other = InvestorFactory()
    InterestDisclosureFactory(lead=investor_lead, principal=other)
    with pytest.raises(ComplianceRefusal):
        offer_create(lead=investor_lead, actor=investor, **OFFER)


def test_a_listing_agents_offers_are_unaffected(lead, agent):
    offer = offer_create(lead=lead, actor=agent, **{**OFFER, "buyer_name": "K. Nguyen"})
    offer = offer_set_status(offer=offer, status=OfferStatus.ACCEPTED, actor=agent)
    assert offer.status == OfferStatus.ACCEPTED
    assert offer.contract_signed_at is None  # a listing: the buyer's contract, no F7 clock


def test_an_unlicensed_investor_needs_no_licensee_disclosure(investor, investor_lead):
    investor.license_status = LicenseStatus.UNLICENSED
    investor.save()
    assert offer_create(lead=investor_lead, actor=investor, **OFFER).pk


def test_the_offers_page_says_why_and_where_to_record_the_disclosure(investor, investor_lead, client_as):
    client = client_as(investor)
    url = reverse("pipeline:offers", args=[investor_lead.pk])
    response = client.post(url, {"action": "offer", "buyer_name": "Frank Molina", "price": "180000",
                                 "financing": "cash", "buyer_proof": "proof_of_funds",
                                 "buyer_concessions": "0", "received_on": "2026-11-18"})
    assert response.status_code == 400
    text = page_text(response)
    assert "F8: Frank Molina is a licensee buying for themselves" in text
    assert "on the lead page&#x27;s “Consent and records” card first" in text
    assert f'href="{reverse("leads:detail", args=[investor_lead.pk])}#evidence-add-disclosure"' in response.content.decode()
    assert not Offer.objects.exists()
    # Accepting an offer already there is refused the same way, above the page.
    offer = OfferFactory(lead=investor_lead)
    response = client.post(url, {"action": "status", "offer": offer.pk, "status": "accepted"}, follow=True)
    assert DISCLOSURE_WHAT_TO_DO.replace("'", "&#x27;") in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == OfferStatus.PENDING


def test_the_offers_page_drops_the_warning_once_the_disclosure_is_on_file(investor, investor_lead, client_as):
    client = client_as(investor)
    url = reverse("pipeline:offers", args=[investor_lead.pk])
    assert 'id="disclosure-missing"' in client.get(url).content.decode()
    InterestDisclosureFactory(lead=investor_lead)
    assert 'id="disclosure-missing"' not in client.get(url).content.decode()


def test_a_listing_agents_offers_page_shows_no_disclosure_warning(lead, agent, client_as):
    response = client_as(agent).get(reverse("pipeline:offers", args=[lead.pk]))
    assert response.context["disclosure_refusal"] == ""


# F7: California's equity purchase ---------------------------------------------------------


@pytest.fixture
def ca_purchase(investor, team, brokerage):
    """An investor's purchase of a California house, the lender approved, ready for Close."""
    lead = LeadFactory(assigned_agent=investor, team=team, stage=Stage.NEGOTIATE, property__state="CA",
                       property__city="Fresno", property__zip_code="93701")
    lien = LienFactory(lead=lead, position=1, balance=Decimal("250000"))
    approval_letter_record(lien=lien, issued_on=TODAY - timedelta(days=1), expires_on=date(2027, 1, 31),
                           actor=investor)
    InterestDisclosureFactory(lead=lead, disclosed_on=TODAY - timedelta(days=5))
    return lead


def sign(lead, investor, at: datetime) -> Offer:
    with time_machine.travel(at, tick=False):
        offer = offer_create(lead=lead, actor=investor, **{**OFFER, "received_on": at.astimezone(CALIFORNIA).date()})
        return offer_set_status(offer=offer, status=OfferStatus.ACCEPTED, actor=investor)


def move(lead, investor, to_stage, at: datetime, **kwargs):
    with time_machine.travel(at, tick=False):
        return lead_stage_change(lead=lead, to_stage=to_stage, actor=investor, **kwargs)


def test_the_deadline_skips_the_sunday(ca_purchase, investor):
    # Signed Wednesday noon: Thu, Fri, Sat, (Sun skipped), Mon, Tue; ends at midnight Tuesday.
    sign(ca_purchase, investor, datetime(2026, 11, 18, 20, 0, tzinfo=UTC))
    window = equity_purchase_cancel_window(ca_purchase)
    assert window.until == datetime(2026, 11, 25, 0, 0, tzinfo=CALIFORNIA)


def test_a_california_holiday_does_not_count(ca_purchase, investor):
    StateHoliday.objects.create(state="CA", observed_on=date(2026, 11, 26), name="Thanksgiving Day")
    # Signed Friday: Sat, (Sun), Mon, Tue, Wed, (Thanksgiving), Fri; ends at midnight Friday.
    sign(ca_purchase, investor, datetime(2026, 11, 20, 18, 0, tzinfo=UTC))
    assert equity_purchase_cancel_window(ca_purchase).until == datetime(2026, 11, 28, 0, 0, tzinfo=CALIFORNIA)


def test_the_foreclosure_sale_cuts_the_window_short(ca_purchase, investor):
    ForeclosureRecord.objects.create(lead=ca_purchase, record_type="NTS", recording_date=date(2026, 10, 1),
                                     auction_date=date(2026, 11, 23))
    sign(ca_purchase, investor, datetime(2026, 11, 18, 20, 0, tzinfo=UTC))
    assert equity_purchase_cancel_window(ca_purchase).until == datetime(2026, 11, 23, 8, 0, tzinfo=CALIFORNIA)


def test_the_offers_page_shows_until_when_the_seller_may_cancel(ca_purchase, investor, client_as):
    sign(ca_purchase, investor, datetime(2026, 11, 18, 20, 0, tzinfo=UTC))
    response = client_as(investor).get(reverse("pipeline:offers", args=[ca_purchase.pk]))
    text = page_text(response)
    assert "The seller may cancel until midnight at the end of Tue Nov 24, 2026 (California time) (F7)." in text
    assert "The purchase contract was signed Wed Nov 18, 2026, 12:00 PM (California time)." in text


def test_no_cancel_window_outside_california_or_for_a_listing(lead, agent, investor_lead, investor):
    InterestDisclosureFactory(lead=investor_lead)
    offer = offer_create(lead=investor_lead, actor=investor, **OFFER)
    offer_set_status(offer=offer, status=OfferStatus.ACCEPTED, actor=investor)
    assert equity_purchase_cancel_window(investor_lead) is None  # an Oklahoma house
    lead.property.state = "CA"
    lead.property.save()
    listing = offer_create(lead=lead, actor=agent, **OFFER)
    offer_set_status(offer=listing, status=OfferStatus.ACCEPTED, actor=agent)
    assert equity_purchase_cancel_window(lead) is None


def test_the_lead_cannot_move_to_close_while_the_seller_may_cancel(ca_purchase, investor):
    sign(ca_purchase, investor, datetime(2026, 11, 18, 20, 0, tzinfo=UTC))
    just_before = datetime(2026, 11, 24, 23, 59, tzinfo=CALIFORNIA)
    with pytest.raises(StageChangeRefused) as refused:
        move(ca_purchase, investor, Stage.CLOSE, just_before)
    message = " ".join(refused.value.messages)
    assert "The seller may cancel until midnight at the end of Tue Nov 24, 2026 (California time) (F7)." in message
    assert CANCEL_WINDOW_WHAT_TO_DO in message
    ca_purchase.refresh_from_db()
    assert ca_purchase.stage == Stage.NEGOTIATE
    moved = move(ca_purchase, investor, Stage.CLOSE, datetime(2026, 11, 25, 0, 0, tzinfo=CALIFORNIA))
    assert moved.stage == Stage.CLOSE


def test_a_closing_dated_inside_the_window_is_refused(ca_purchase, investor):
    # A lead already in Close when its contract was signed: the closing's own date counts.
    ca_purchase.stage, ca_purchase.stage_entered_at = Stage.CLOSE, datetime(2026, 11, 17, 18, 0, tzinfo=UTC)
    ca_purchase.save()
    sign(ca_purchase, investor, datetime(2026, 11, 18, 20, 0, tzinfo=UTC))
    after = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    with pytest.raises(StageChangeRefused) as refused:
        move(ca_purchase, investor, Stage.CLOSED, after, closing_date=date(2026, 11, 24))
    assert "ended midnight at the end of Tue Nov 24, 2026 (California time) (F7)" in " ".join(refused.value.messages)
    closed = move(ca_purchase, investor, Stage.CLOSED, after, closing_date=date(2026, 11, 25))
    assert closed.stage == Stage.CLOSED


def test_the_window_moves_with_a_corrected_signing_time(ca_purchase, investor, client_as):
    offer = sign(ca_purchase, investor, datetime(2026, 11, 16, 18, 0, tzinfo=UTC))
    assert equity_purchase_cancel_window(ca_purchase).until == datetime(2026, 11, 22, 0, 0, tzinfo=CALIFORNIA)
    client = client_as(investor)
    url = reverse("pipeline:offers", args=[ca_purchase.pk])
    response = client.post(url, {"action": "signed", "offer": offer.pk, "signed_at": "2026-11-17T09:00"})
    assert response.status_code == 302
    # Signed Tuesday in fact: Wed, Thu, Fri, Sat, (Sun), Mon; ends at midnight Monday.
    assert equity_purchase_cancel_window(ca_purchase).until == datetime(2026, 11, 24, 0, 0, tzinfo=CALIFORNIA)
    response = client.post(url, {"action": "signed", "offer": offer.pk, "signed_at": "2026-11-30T09:00"})
    assert response.status_code == 400
    assert "record the signing once it has happened" in page_text(response)


def test_an_offer_of_another_lead_cannot_have_its_signing_changed(ca_purchase, other_lead, investor, client_as):
    theirs = OfferFactory(lead=other_lead, status=OfferStatus.ACCEPTED)
    response = client_as(investor).post(reverse("pipeline:offers", args=[ca_purchase.pk]),
                                        {"action": "signed", "offer": theirs.pk, "signed_at": "2026-11-18T09:00"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.contract_signed_at is None
