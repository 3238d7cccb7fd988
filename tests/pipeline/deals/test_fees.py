"""Fees charged to the homeowner: asked for and paid only as the advance-fee rule allows (F4),
a licensed seller's agent's short-sale listing excepted (F2). Frozen at Wednesday 18
November 2026 (conftest)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from compliance.transactions import FEE_TOO_EARLY, ComplianceRefusal
from leadcrm.accounts.services import team_member_set
from pipeline.deals.fees import (
    ACCEPTANCE_IN_FUTURE,
    FEE_NOT_RECORDED,
    FEE_TOO_EARLY_WHAT_TO_DO,
    approval_letter_homeowner_accept,
    fee_mark_due,
    fee_mark_paid,
    fee_record,
    fee_waive,
    lender_offer_accepted_at,
)
from pipeline.deals.lenders import approval_letter_record
from pipeline.models import FEE_MAX, Fee, FeeService, FeeStatus

from ...leadcrm.factories import InvestorFactory
from ...leads.factories import LeadFactory, LienFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 18)
NOW = datetime(2026, 11, 18, 20, 0, tzinfo=UTC)


def letter_for(lead, actor):
    lien = LienFactory(lead=lead, position=1, balance=Decimal("300000"))
    return approval_letter_record(lien=lien, issued_on=TODAY - timedelta(days=3), expires_on=TODAY + timedelta(days=30),
                                  actor=actor)


def page_text(response) -> str:
    return " ".join(response.content.decode().split())


# The rule ------------------------------------------------------------------------------------


def test_a_fee_cannot_be_marked_due_before_the_homeowner_accepts_the_lenders_offer(lead, agent):
    fee = fee_record(lead=lead, actor=agent, service=FeeService.LOAN_MODIFICATION, amount=Decimal("1500"))
    with pytest.raises(ComplianceRefusal) as refused:
        fee_mark_due(fee=fee, actor=agent, due_on=TODAY)
    assert refused.value.code == "F4"
    assert refused.value.messages == [f"F4: {FEE_TOO_EARLY}"]
    fee.refresh_from_db()
    assert (fee.status, fee.due_on) == (FeeStatus.RECORDED, None)


def test_a_licensed_sellers_agent_may_charge_for_the_short_sale_listing_at_once(lead, agent):
    # The licensee stay (F2): no acceptance needed for the listing's own fee.
    fee = fee_record(lead=lead, actor=agent, service=FeeService.SHORT_SALE_LISTING, amount=Decimal("495"))
    fee_mark_due(fee=fee, actor=agent, due_on=TODAY)
    fee = fee_mark_paid(fee=fee, actor=agent, paid_on=TODAY)
    assert (fee.status, fee.due_on, fee.paid_on) == (FeeStatus.PAID, TODAY, TODAY)


def test_the_stay_follows_the_leads_agent_not_who_clicks(team, agent, team_lead, brokerage):
    investor = InvestorFactory()
    team_member_set(team=team, user=investor)
    investors_lead = LeadFactory(assigned_agent=investor, team=team)
    fee = fee_record(lead=investors_lead, actor=team_lead, service=FeeService.SHORT_SALE_LISTING,
                     amount=Decimal("495"))
    # The investor is not the seller's agent: no stay, even when a team lead marks it.
    with pytest.raises(ComplianceRefusal):
        fee_mark_due(fee=fee, actor=team_lead, due_on=TODAY)


def test_after_the_homeowner_accepted_the_lenders_written_offer_any_fee_may_be_asked(lead, agent):
    letter = letter_for(lead, agent)
    fee = fee_record(lead=lead, actor=agent, service=FeeService.LOAN_MODIFICATION, amount=Decimal("1500"))
    approval_letter_homeowner_accept(letter=letter, accepted_at=NOW - timedelta(days=1), actor=agent)
    assert lender_offer_accepted_at(lead=lead) == NOW - timedelta(days=1)
    fee_mark_due(fee=fee, actor=agent, due_on=TODAY + timedelta(days=7))
    fee = fee_mark_paid(fee=fee, actor=agent, paid_on=TODAY)
    assert fee.status == FeeStatus.PAID


def test_a_payment_dated_before_the_acceptance_was_taken_too_early(lead, agent):
    letter = letter_for(lead, agent)
    fee = fee_record(lead=lead, actor=agent, service=FeeService.OTHER, amount=Decimal("800"))
    approval_letter_homeowner_accept(letter=letter, accepted_at=NOW - timedelta(hours=1), actor=agent)
    fee_mark_due(fee=fee, actor=agent, due_on=TODAY)
    with pytest.raises(ComplianceRefusal):
        fee_mark_paid(fee=fee, actor=agent, paid_on=TODAY - timedelta(days=1))
    assert fee_mark_paid(fee=fee, actor=agent, paid_on=TODAY).status == FeeStatus.PAID


def test_an_acceptance_cannot_be_in_the_future_or_before_the_letter(lead, agent):
    letter = letter_for(lead, agent)
    with pytest.raises(ValidationError) as refused:
        approval_letter_homeowner_accept(letter=letter, accepted_at=NOW + timedelta(days=1), actor=agent)
    assert refused.value.message_dict == {"accepted_at": [ACCEPTANCE_IN_FUTURE]}
    with pytest.raises(ValidationError):
        approval_letter_homeowner_accept(letter=letter, accepted_at=NOW - timedelta(days=10), actor=agent)
    assert lender_offer_accepted_at(lead=lead) is None


@pytest.mark.parametrize(("amount", "says"), [
    (Decimal("0"), "more than $0"), (Decimal("-10"), "more than $0"), (FEE_MAX + 1, "at most $50,000"),
])
def test_a_fee_out_of_range_is_refused_with_the_limit(lead, agent, amount, says):
    with pytest.raises(ValidationError) as refused:
        fee_record(lead=lead, actor=agent, service=FeeService.OTHER, amount=amount)
    assert says in refused.value.message_dict["amount"][0]
    assert not Fee.objects.exists()


def test_a_fee_moves_only_forward(lead, agent):
    fee = fee_record(lead=lead, actor=agent, service=FeeService.SHORT_SALE_LISTING, amount=Decimal("495"))
    with pytest.raises(ValidationError):
        fee_mark_paid(fee=fee, actor=agent, paid_on=TODAY)  # never asked for
    fee_waive(fee=fee, actor=agent)
    with pytest.raises(ValidationError) as refused:
        fee_mark_due(fee=fee, actor=agent, due_on=TODAY)
    assert refused.value.messages == [FEE_NOT_RECORDED.format(status="waived")]
    with pytest.raises(ValidationError):
        fee_waive(fee=fee, actor=agent)


# The offers page's Fees card -----------------------------------------------------------------


def test_the_page_records_a_fee_and_refuses_asking_for_it_too_early(lead, agent, client_as):
    client = client_as(agent)
    url = reverse("pipeline:offers", args=[lead.pk])
    response = client.post(url, {"action": "fee", "service": "loan_modification", "amount": "1500",
                                 "description": "Modification help"})
    assert response.status_code == 302
    fee = Fee.objects.get()
    assert (fee.lead, fee.recorded_by, fee.status) == (lead, agent, FeeStatus.RECORDED)
    response = client.post(url, {"action": "fee_due", "fee": fee.pk, f"fee{fee.pk}-due_on": "2026-11-20"},
                           follow=True)
    text = page_text(response)
    assert "F4: No fee may be asked for or taken before the homeowner accepts the lender&#x27;s written offer" in text
    assert FEE_TOO_EARLY_WHAT_TO_DO.replace("'", "&#x27;") in text
    fee.refresh_from_db()
    assert fee.status == FeeStatus.RECORDED


def test_the_page_records_the_homeowners_acceptance_then_the_fee_goes_through(lead, agent, client_as):
    letter = letter_for(lead, agent)
    fee = fee_record(lead=lead, actor=agent, service=FeeService.LOAN_MODIFICATION, amount=Decimal("1500"))
    client = client_as(agent)
    url = reverse("pipeline:offers", args=[lead.pk])
    response = client.post(url, {"action": "accepted", "letter": letter.pk,
                                 f"letter{letter.pk}-accepted_at": "2026-11-17T10:00"})
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.homeowner_accepted_at is not None
    client.post(url, {"action": "fee_due", "fee": fee.pk, f"fee{fee.pk}-due_on": "2026-11-20"})
    client.post(url, {"action": "fee_paid", "fee": fee.pk, f"fee{fee.pk}-paid_on": "2026-11-18"})
    fee.refresh_from_db()
    assert (fee.status, fee.due_on, fee.paid_on) == (FeeStatus.PAID, date(2026, 11, 20), TODAY)
    assert "accepted by the homeowner" in page_text(client.get(url))


def test_an_amount_over_the_cap_comes_back_with_the_limit(lead, agent, client_as):
    response = client_as(agent).post(reverse("pipeline:offers", args=[lead.pk]),
                                     {"action": "fee", "service": "other", "amount": "75000"})
    assert response.status_code == 400
    assert "A fee is at most $50,000" in page_text(response)
    assert not Fee.objects.exists()


@pytest.mark.parametrize("action", ["fee_due", "fee_paid", "fee_waive"])
def test_a_forged_fee_id_of_another_lead_is_a_404(lead, other_lead, other_agent, agent, client_as, action):
    theirs = fee_record(lead=other_lead, actor=other_agent, service=FeeService.OTHER, amount=Decimal("100"))
    response = client_as(agent).post(reverse("pipeline:offers", args=[lead.pk]),
                                     {"action": action, "fee": theirs.pk, f"fee{theirs.pk}-due_on": "2026-11-20",
                                      f"fee{theirs.pk}-paid_on": "2026-11-18"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == FeeStatus.RECORDED


def test_a_forged_letter_id_of_another_lead_is_a_404(lead, other_lead, other_agent, agent, client_as):
    theirs = letter_for(other_lead, other_agent)
    response = client_as(agent).post(reverse("pipeline:offers", args=[lead.pk]),
                                     {"action": "accepted", "letter": theirs.pk,
                                      f"letter{theirs.pk}-accepted_at": "2026-11-17T10:00"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.homeowner_accepted_at is None


@pytest.mark.parametrize(("who", "status"), [
    ("agent", 200), ("other_agent", 404), ("team_lead", 200), ("broker", 200),
])
def test_who_sees_a_leads_fees(request, lead, agent, client_as, who, status):
    fee_record(lead=lead, actor=agent, service=FeeService.SHORT_SALE_LISTING, amount=Decimal("495.50"))
    response = client_as(request.getfixturevalue(who)).get(reverse("pipeline:offers", args=[lead.pk]))
    assert response.status_code == status
    if status == 200:
        assert 'id="fees"' in response.content.decode() and "$495.50" in page_text(response)


def test_another_agent_cannot_add_a_fee_to_my_lead(lead, other_agent, client_as):
    response = client_as(other_agent).post(reverse("pipeline:offers", args=[lead.pk]),
                                           {"action": "fee", "service": "other", "amount": "100"})
    assert response.status_code == 404
    assert not Fee.objects.exists()


def test_the_fees_card_costs_the_same_queries_for_many_fees_and_letters(lead, agent, client_as,
                                                                        django_assert_max_num_queries):
    client = client_as(agent)
    url = reverse("pipeline:offers", args=[lead.pk])
    letter_for(lead, agent)
    fee_record(lead=lead, actor=agent, service=FeeService.OTHER, amount=Decimal("100"))
    client.get(url)  # warm the session and the caches
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for position in range(2, 6):
        lien = LienFactory(lead=lead, position=position, balance=Decimal("20000"))
        approval_letter_record(lien=lien, issued_on=TODAY - timedelta(days=2), expires_on=TODAY + timedelta(days=30),
                               actor=agent)
    for amount in range(1, 15):
        fee_record(lead=lead, actor=agent, service=FeeService.OTHER, amount=Decimal(amount))
    with django_assert_max_num_queries(len(few)):
        response = client.get(url)
    assert len(response.context["fees"]) == 15 and len(response.context["letters"]) == 5
