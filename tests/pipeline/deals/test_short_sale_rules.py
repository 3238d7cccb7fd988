"""The negotiate, close and closed entry rules, both ways, through ``lead_stage_change``.

Also the lien stack's services (negotiator history, approval letters), offers, and the
forecast. Frozen at Wednesday 18 November 2026 (conftest).
"""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.models import Stage
from pipeline.deals.documents import checklist_item_update
from pipeline.deals.forecast.durations import (
    MIN_CLOSINGS,
    REFERENCE_STAGE_DAYS,
    is_running_late,
    learn_stage_durations,
)
from pipeline.deals.forecast.lead import forecast_for
from pipeline.deals.lenders import approval_letter_record, lien_stack, milestone_record, negotiator_assign
from pipeline.deals.offers import offer_create, offer_set_status
from pipeline.deals.services import StageChangeRefused, lead_stage_change
from pipeline.models import (
    ChecklistItem,
    DocumentKind,
    DocumentStatus,
    Financing,
    Milestone,
    OfferStatus,
    StageChange,
)

from ...leads.factories import LeadFactory, LienFactory
from ..factories import StageChangeFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 18)


def move(lead, stage, agent, **kwargs):
    return lead_stage_change(lead=lead, to_stage=stage, actor=agent, **kwargs)


def an_offer(lead, agent, **fields):
    return offer_create(lead=lead, actor=agent, **{
        "buyer_name": "K. Nguyen", "price": Decimal("280000"), "financing": Financing.CONVENTIONAL,
        "received_on": TODAY, **fields,
    })


def approve(lien, agent, *, expires_on=TODAY + timedelta(days=30), issued_on=TODAY - timedelta(days=1), **terms):
    return approval_letter_record(lien=lien, issued_on=issued_on, expires_on=expires_on, actor=agent, **terms)


@pytest.fixture
def qualifying(agent, team):
    lead = LeadFactory(assigned_agent=agent, team=team, stage=Stage.QUALIFY)
    first = LienFactory(lead=lead, position=1, balance=Decimal("320000"))
    return lead, first


@pytest.fixture
def negotiating(agent, team):
    lead = LeadFactory(assigned_agent=agent, team=team, stage=Stage.NEGOTIATE)
    first = LienFactory(lead=lead, position=1, lender="PennyMac", balance=Decimal("320000"))
    second = LienFactory(lead=lead, position=2, lender="Chase", lien_type="heloc", balance=Decimal("40000"))
    return lead, first, second


# Negotiate ----------------------------------------------------------------------------


def test_negotiate_needs_the_signed_listing_and_a_package_submitted(qualifying, agent):
    lead, first = qualifying
    with pytest.raises(StageChangeRefused) as refused:
        move(lead, Stage.NEGOTIATE, agent)
    assert len(refused.value.messages) == 2  # both named at once
    assert "listing agreement" in refused.value.messages[0]

    checklist_item_update(lead=lead, kind=DocumentKind.LISTING_AGREEMENT, actor=agent,
                          status=DocumentStatus.REQUESTED)
    milestone_record(lien=first, kind=Milestone.AUTHORIZATION_SENT, occurred_on=TODAY, actor=agent)
    with pytest.raises(StageChangeRefused) as refused:
        move(lead, Stage.NEGOTIATE, agent)
    assert len(refused.value.messages) == 2  # a listing asked for is not signed; authorization is not the package

    checklist_item_update(lead=lead, kind=DocumentKind.LISTING_AGREEMENT, actor=agent,
                          status=DocumentStatus.RECEIVED)
    with pytest.raises(StageChangeRefused) as refused:
        move(lead, Stage.NEGOTIATE, agent)
    assert len(refused.value.messages) == 2  # an upload to review is not yet known to be signed
    checklist_item_update(lead=lead, kind=DocumentKind.LISTING_AGREEMENT, actor=agent,
                          status=DocumentStatus.ACCEPTED)
    with pytest.raises(StageChangeRefused, match="package"):
        move(lead, Stage.NEGOTIATE, agent)
    milestone_record(lien=first, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=TODAY, actor=agent)
    assert move(lead, Stage.NEGOTIATE, agent).stage == Stage.NEGOTIATE


def test_a_package_submitted_to_another_leads_lender_does_not_count(qualifying, agent, other_lead):
    lead, _first = qualifying
    checklist_item_update(lead=lead, kind=DocumentKind.LISTING_AGREEMENT, actor=agent,
                          status=DocumentStatus.ACCEPTED)
    elsewhere = LienFactory(lead=other_lead)
    milestone_record(lien=elsewhere, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=TODAY, actor=agent)
    with pytest.raises(StageChangeRefused, match="package"):
        move(lead, Stage.NEGOTIATE, agent)


# Close --------------------------------------------------------------------------------


def test_close_needs_an_accepted_offer_and_every_lien_holders_unexpired_approval(negotiating, agent):
    lead, first, second = negotiating
    with pytest.raises(StageChangeRefused) as refused:
        move(lead, Stage.CLOSE, agent)
    assert refused.value.messages[0] == "Accept an offer first."
    assert "1st lien (PennyMac): no approval letter; 2nd lien (Chase): no approval letter" in refused.value.messages[1]

    offer = an_offer(lead, agent)
    with pytest.raises(StageChangeRefused, match="Accept an offer"):
        move(lead, Stage.CLOSE, agent)  # an offer on file is not an accepted one
    offer_set_status(offer=offer, status=OfferStatus.ACCEPTED, actor=agent)
    approve(first, agent)
    with pytest.raises(StageChangeRefused) as refused:
        move(lead, Stage.CLOSE, agent)
    assert refused.value.messages == [
        "Every lien holder must have approved, with a letter that has not expired. "
        "Missing: 2nd lien (Chase): no approval letter."
    ]
    approve(second, agent, junior_payoff=Decimal("4000"))
    assert move(lead, Stage.CLOSE, agent).stage == Stage.CLOSE


def test_an_expired_approval_letter_does_not_open_the_close_stage(negotiating, agent):
    lead, first, second = negotiating
    offer_set_status(offer=an_offer(lead, agent), status=OfferStatus.ACCEPTED, actor=agent)
    approve(first, agent, issued_on=TODAY - timedelta(days=40), expires_on=TODAY - timedelta(days=1))
    approve(second, agent)
    with pytest.raises(StageChangeRefused, match=r"1st lien \(PennyMac\): letter expired Nov 17, 2026"):
        move(lead, Stage.CLOSE, agent)
    # A newer letter (an extension) supersedes the expired one.
    approve(first, agent, issued_on=TODAY, expires_on=TODAY + timedelta(days=21))
    assert move(lead, Stage.CLOSE, agent).stage == Stage.CLOSE


def test_a_letter_expiring_today_is_still_good_today(negotiating, agent):
    lead, first, second = negotiating
    offer_set_status(offer=an_offer(lead, agent), status=OfferStatus.ACCEPTED, actor=agent)
    approve(first, agent, expires_on=TODAY)
    approve(second, agent, expires_on=TODAY)
    assert move(lead, Stage.CLOSE, agent).stage == Stage.CLOSE


def test_a_lead_with_no_liens_cannot_close_on_approvals(agent):
    lead = LeadFactory(assigned_agent=agent, stage=Stage.NEGOTIATE)
    offer_set_status(offer=an_offer(lead, agent), status=OfferStatus.ACCEPTED, actor=agent)
    with pytest.raises(StageChangeRefused, match="No liens are recorded"):
        move(lead, Stage.CLOSE, agent)


# Closed -------------------------------------------------------------------------------


@pytest.fixture
def closing(negotiating, agent):
    """A lead in close since 10 days ago, its offer accepted and both liens approved."""
    lead, first, second = negotiating
    offer = an_offer(lead, agent)
    offer_set_status(offer=offer, status=OfferStatus.ACCEPTED, actor=agent)
    approve(first, agent, issued_on=TODAY - timedelta(days=12), expires_on=TODAY + timedelta(days=20))
    approve(second, agent, issued_on=TODAY - timedelta(days=12), expires_on=TODAY + timedelta(days=20))
    move(lead, Stage.CLOSE, agent, at=timezone.now() - timedelta(days=10))
    return lead, first, second, offer


def test_closed_needs_a_closing_date_not_in_the_future(closing, agent):
    lead = closing[0]
    with pytest.raises(StageChangeRefused, match="closing date"):
        move(lead, Stage.CLOSED, agent)
    with pytest.raises(StageChangeRefused) as refused:
        move(lead, Stage.CLOSED, agent, closing_date=TODAY + timedelta(days=1))
    assert "closing_date" in refused.value.message_dict
    lead.refresh_from_db()
    assert (lead.stage, lead.closing_date) == (Stage.CLOSE, None)
    assert StageChange.objects.filter(lead=lead, to_stage=Stage.CLOSED).count() == 0

    move(lead, Stage.CLOSED, agent, closing_date=TODAY)
    lead.refresh_from_db()
    assert (lead.stage, lead.closing_date) == (Stage.CLOSED, TODAY)
    assert StageChange.objects.filter(lead=lead, to_stage=Stage.CLOSED).count() == 1


def test_a_closing_date_before_the_lead_entered_close_is_refused(closing, agent):
    lead = closing[0]
    with pytest.raises(StageChangeRefused, match="entered Close on Nov 8, 2026"):
        move(lead, Stage.CLOSED, agent, closing_date=TODAY - timedelta(days=11))
    assert move(lead, Stage.CLOSED, agent, closing_date=TODAY - timedelta(days=10)).stage == Stage.CLOSED


def test_closed_still_needs_the_accepted_offer(closing, agent):
    lead, _first, _second, offer = closing
    offer_set_status(offer=offer, status=OfferStatus.WITHDRAWN, actor=agent)
    with pytest.raises(StageChangeRefused, match="Accept an offer"):
        move(lead, Stage.CLOSED, agent, closing_date=TODAY)


def test_closed_needs_every_approval_good_on_the_closing_date(closing, agent):
    lead, first, _second, _offer = closing
    approve(first, agent, issued_on=TODAY - timedelta(days=3), expires_on=TODAY - timedelta(days=2))
    with pytest.raises(StageChangeRefused, match="letter expired Nov 16, 2026"):
        move(lead, Stage.CLOSED, agent, closing_date=TODAY)
    # It closed before the newest letter ran out: the letter was good that day.
    assert move(lead, Stage.CLOSED, agent, closing_date=TODAY - timedelta(days=2)).stage == Stage.CLOSED


def test_a_denial_after_the_approval_unapproves_the_lien(closing, agent):
    lead, _first, second, _offer = closing
    milestone_record(lien=second, kind=Milestone.DENIED, occurred_on=TODAY, actor=agent,
                     note="Investor refused the junior payoff")
    with pytest.raises(StageChangeRefused, match=r"2nd lien \(Chase\): denied Nov 18, 2026"):
        move(lead, Stage.CLOSED, agent, closing_date=TODAY)
    # A new letter after the denial approves it again.
    approve(second, agent, issued_on=TODAY, expires_on=TODAY + timedelta(days=30))
    assert move(lead, Stage.CLOSED, agent, closing_date=TODAY).stage == Stage.CLOSED


def test_reopening_a_dead_lead_checks_the_rules_of_the_stage_it_returns_to(closing, agent):
    lead, _first, _second, offer = closing
    move(lead, Stage.DEAD, agent, dead_reason="other")
    offer_set_status(offer=offer, status=OfferStatus.WITHDRAWN, actor=agent)
    with pytest.raises(StageChangeRefused, match="Accept an offer"):
        move(lead, Stage.CLOSE, agent)
    offer_set_status(offer=offer, status=OfferStatus.ACCEPTED, actor=agent)
    assert move(lead, Stage.CLOSE, agent).stage == Stage.CLOSE


# Lender files -------------------------------------------------------------------------


def test_a_new_negotiator_replaces_the_last_and_the_history_is_kept(negotiating, agent):
    lead, first, _second = negotiating
    negotiator_assign(lien=first, name="Dana Whitfield", assigned_on=TODAY - timedelta(days=20), actor=agent)
    negotiator_assign(lien=first, name="Luis Ortega", assigned_on=TODAY - timedelta(days=3), actor=agent,
                      phone="(800) 555-0142")
    negotiator_assign(lien=first, name="Priya Raman", role="processor", assigned_on=TODAY, actor=agent)
    entry = lien_stack(lead=lead)[0]
    assert [n.name for n in entry.current_negotiators] == ["Priya Raman", "Luis Ortega"]
    assert [(n.name, n.replaced_on) for n in entry.past_negotiators] == [("Dana Whitfield", TODAY - timedelta(days=3))]
    notes = [m.note for m in entry.milestones if m.kind == Milestone.NEGOTIATOR_ASSIGNED]
    assert notes == ["Dana Whitfield", "Luis Ortega, replacing Dana Whitfield"]


def test_milestones_refuse_the_future_and_an_approval_without_its_letter(negotiating, agent):
    _lead, first, _second = negotiating
    with pytest.raises(ValidationError) as error:
        milestone_record(lien=first, kind=Milestone.ACKNOWLEDGED, occurred_on=TODAY + timedelta(days=1), actor=agent)
    assert "occurred_on" in error.value.message_dict
    with pytest.raises(ValidationError, match="approval letter"):
        milestone_record(lien=first, kind=Milestone.APPROVED, occurred_on=TODAY, actor=agent)


def test_an_authorization_received_ticks_the_checklist_for_that_lien_only(negotiating, agent):
    lead, first, second = negotiating
    milestone_record(lien=first, kind=Milestone.AUTHORIZATION_RECEIVED, occurred_on=TODAY, actor=agent)
    held = ChecklistItem.objects.get(lead=lead, kind=DocumentKind.AUTHORIZATION)
    assert (held.lien, held.status, held.received_on) == (first, DocumentStatus.ACCEPTED, TODAY)
    assert not ChecklistItem.objects.filter(lien=second).exists()


def test_an_approval_letter_files_its_expiry_on_the_checklist(negotiating, agent):
    lead, first, second = negotiating
    approve(first, agent, expires_on=date(2026, 12, 20), minimum_net_proceeds=Decimal("240000"),
            junior_lien_allowance=Decimal("6000"))
    item = ChecklistItem.objects.get(lead=lead, lien=first, kind=DocumentKind.APPROVAL_LETTER)
    assert (item.status, item.dated_on, item.expires_on) == (DocumentStatus.RECEIVED, TODAY - timedelta(days=1),
                                                            date(2026, 12, 20))
    entry = lien_stack(lead=lead)[0]
    assert entry.step.kind == Milestone.APPROVED and entry.letter_days_left == 32


@pytest.mark.parametrize(("lien_index", "field", "match"), [
    (1, "junior_lien_allowance", "first lien's letter"),
    (0, "junior_payoff", "junior lien"),
])
def test_each_lien_letter_carries_only_its_own_terms(negotiating, agent, lien_index, field, match):
    liens = negotiating[1:]
    with pytest.raises(ValidationError, match=match):
        approve(liens[lien_index], agent, **{field: Decimal("5000")})


def test_a_letter_cannot_expire_before_it_was_issued(negotiating, agent):
    with pytest.raises(ValidationError, match="expire before"):
        approve(negotiating[1], agent, issued_on=TODAY, expires_on=TODAY - timedelta(days=1))


# Offers -------------------------------------------------------------------------------


def test_one_accepted_offer_and_backups_in_order(negotiating, agent):
    lead = negotiating[0]
    first, second, third = (an_offer(lead, agent, buyer_name=name) for name in ("A", "B", "C"))
    offer_set_status(offer=first, status=OfferStatus.ACCEPTED, actor=agent)
    with pytest.raises(ValidationError, match="A's offer is the accepted one"):
        offer_set_status(offer=second, status=OfferStatus.ACCEPTED, actor=agent)
    offer_set_status(offer=third, status=OfferStatus.BACKUP, actor=agent)
    offer_set_status(offer=second, status=OfferStatus.BACKUP, actor=agent)
    ranks = {o.buyer_name: (o.status, o.backup_rank) for o in lead.offers.all()}
    assert ranks == {"A": ("accepted", None), "B": ("backup", 2), "C": ("backup", 1)}
    # The buyer walks away: withdraw, and the first backup can be accepted.
    offer_set_status(offer=first, status=OfferStatus.WITHDRAWN, actor=agent)
    offer_set_status(offer=third, status=OfferStatus.ACCEPTED, actor=agent)
    third.refresh_from_db()
    assert (third.status, third.backup_rank) == ("accepted", None)


def test_an_offer_needs_a_positive_price(negotiating, agent):
    with pytest.raises(ValidationError):
        an_offer(negotiating[0], agent, price=Decimal("0"))


# Forecast -----------------------------------------------------------------------------


def test_forecast_from_the_reference_until_the_brokerage_has_closings(agent):
    lead = LeadFactory(assigned_agent=agent, stage=Stage.NEGOTIATE,
                       stage_entered_at=timezone.now() - timedelta(days=20))
    forecast = forecast_for(lead, durations=learn_stage_durations(), today=TODAY)
    typical, slow = REFERENCE_STAGE_DAYS[Stage.NEGOTIATE]
    close_typical, close_slow = REFERENCE_STAGE_DAYS[Stage.CLOSE]
    # The range holds the typical and the slow timelines (the assumption spreads around them).
    assert forecast.earliest <= TODAY + timedelta(days=typical - 20 + close_typical)
    assert forecast.latest >= TODAY + timedelta(days=slow - 20 + close_slow)
    assert not forecast.running_late and "typical short-sale timelines" in forecast.source


def test_a_lead_past_the_slow_figure_is_running_late_and_long_past_it_has_no_forecast(agent):
    durations = learn_stage_durations()
    assert is_running_late(Stage.CLOSE, REFERENCE_STAGE_DAYS[Stage.CLOSE][1] + 1, durations)
    late = LeadFactory(assigned_agent=agent, stage=Stage.CLOSE, stage_entered_at=timezone.now() - timedelta(days=60))
    # 60 days in Close, past the slow 45: still a chance, smaller than on entering (85 %).
    forecast = forecast_for(late, durations=durations, today=TODAY)
    assert forecast.running_late and 0 < forecast.chance < 0.85
    # A year in Close: the assumption gives it next to nothing, so no forecast at all.
    stuck = LeadFactory(assigned_agent=agent, stage=Stage.CLOSE, stage_entered_at=timezone.now() - timedelta(days=365))
    assert forecast_for(stuck, durations=durations, today=TODAY) is None
    assert forecast_for(LeadFactory(stage=Stage.CLOSED)) is None


def test_forecast_learns_the_brokerages_own_stage_times_from_its_closings(agent):
    # Five closings that each spent 10 days in close, and one odd one at 40 days.
    start = timezone.now() - timedelta(days=300)
    for days_in_close in (10, 10, 10, 10, 10, 40):
        lead = LeadFactory(assigned_agent=agent, stage=Stage.CLOSED, closing_date=TODAY)
        StageChangeFactory(lead=lead, from_stage=Stage.NEGOTIATE, to_stage=Stage.CLOSE, changed_at=start)
        StageChangeFactory(lead=lead, from_stage=Stage.CLOSE, to_stage=Stage.CLOSED,
                           changed_at=start + timedelta(days=days_in_close))
    durations = learn_stage_durations()
    assert durations.closings == 6 >= MIN_CLOSINGS
    assert durations.days[Stage.CLOSE] == (10, 10)  # median 10; the 80th percentile is 10 too
    assert durations.days[Stage.NEGOTIATE] == REFERENCE_STAGE_DAYS[Stage.NEGOTIATE]  # no sample: the reference
    open_lead = LeadFactory(assigned_agent=agent, stage=Stage.CLOSE, stage_entered_at=timezone.now() - timedelta(days=12))
    forecast = forecast_for(open_lead, durations=durations, today=TODAY)
    # Twelve days in: one lead of the brokerage's stayed that long, against the ten assumed.
    assert forecast.running_late and forecast.assumed
    assert "an assumption: few of the brokerage's leads have stayed in close this long" in forecast.source


def test_a_new_negotiator_cannot_start_before_the_current_one(negotiating, agent):
    first = negotiating[1]
    negotiator_assign(lien=first, name="Dana Whitfield", assigned_on=TODAY - timedelta(days=3), actor=agent)
    with pytest.raises(ValidationError, match="Dana Whitfield has worked the file since Nov 15, 2026"):
        negotiator_assign(lien=first, name="Luis Ortega", assigned_on=TODAY - timedelta(days=5), actor=agent)
