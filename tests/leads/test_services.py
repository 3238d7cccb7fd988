from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads.models import Lead, LeadType, LienType, Stage
from leads.services import (
    DUPLICATE_PROPERTY,
    hardship_record_create,
    lead_assign,
    lead_create,
    lead_list_add,
    lien_create,
    lien_delete,
    lien_update,
    mask_loan_number,
    open_leads_rescore,
    phone_add,
    property_create,
)

from .factories import ContactFactory, ForeclosureRecordFactory, LeadFactory, LeadListFactory, PropertyFactory

pytestmark = pytest.mark.django_db


def test_property_create_computes_the_dedupe_key_and_refuses_the_same_door_twice():
    property_create(street="1633 Elm Street", unit="Apt 2", city="Overland Park", state="KS", zip_code="66285")
    with pytest.raises(ValidationError) as refused:
        property_create(street="1633 ELM ST #2", city="Overland Park", state="KS", zip_code="66285")
    assert DUPLICATE_PROPERTY.split(":")[0] in str(refused.value)


def test_lead_create_starts_on_the_list_follows_the_agents_team_and_records_its_list(agent, team):
    prop = property_create(street="12 Oak Ln", city="Tulsa", state="OK", zip_code="74130")
    nod_list = LeadListFactory()
    lead = lead_create(property=prop, lead_type=LeadType.NOD, source_list=nod_list, assigned_agent=agent)
    assert lead.stage == Stage.LIST
    assert lead.team == team
    assert list(lead.lists.all()) == [nod_list]
    assert lead.score > 0 and lead.score_reasons


def test_lead_assign_refuses_a_team_the_agent_is_not_on(agent, other_team):
    lead = LeadFactory(assigned_agent=None)
    with pytest.raises(ValidationError):
        lead_assign(lead=lead, agent=agent, team=other_team)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("0012345678", "****5678"), ("12-345-6789 ", "****6789"), ("", ""), ("AB12", "****AB12")],
)
def test_loan_numbers_are_masked_before_they_are_stored(typed, stored):
    assert mask_loan_number(typed) == stored


def test_lien_create_stores_only_the_masked_loan_number_and_updates_the_total():
    lead = LeadFactory(property=PropertyFactory(estimated_value=Decimal("332000")))
    lien = lien_create(lead=lead, position=1, lender="Rocket Mortgage", loan_number="7700123456789",
                       balance=Decimal("349621"))
    lien_create(lead=lead, position=2, lien_type=LienType.HELOC, lender="Mr. Cooper",
                balance=Decimal("53011"))
    lien.refresh_from_db()
    lead.refresh_from_db()
    assert lien.loan_number_masked == "****6789"
    assert "7700123456789" not in str(Lead.objects.filter(pk=lead.pk).values().get())
    assert lead.lien_total == Decimal("402632")


def test_equity_ltv_and_short_sale_candidacy_from_the_sample_export():
    # The fourth row of the PropStream sample: value 332,000, liens 349,621 + 53,011.
    lead = LeadFactory(property=PropertyFactory(estimated_value=Decimal("332000")))
    lien_create(lead=lead, position=1, balance=Decimal("349621"))
    lien_create(lead=lead, position=2, lien_type=LienType.HELOC, balance=Decimal("53011"))
    lead.refresh_from_db()
    money = lead.financials()
    assert money.equity == Decimal("-70632")
    assert money.ltv_percent == Decimal("121.3")
    assert money.selling_costs == Decimal("26560.00")
    assert money.is_short_sale_candidate is True
    annotated = Lead.objects.with_financials().get(pk=lead.pk)
    assert annotated.equity == Decimal("-70632")
    assert annotated.is_short_sale_candidate is True


def test_a_lead_with_equity_after_selling_costs_is_not_a_candidate():
    # Value 300,000, selling costs 24,000: liens of 275,000 still leave 1,000.
    lead = LeadFactory(property=PropertyFactory(estimated_value=Decimal("300000")))
    lien_create(lead=lead, position=1, balance=Decimal("275000"))
    lead.refresh_from_db()
    assert lead.financials().is_short_sale_candidate is False
    assert Lead.objects.with_financials().get(pk=lead.pk).is_short_sale_candidate is False
    lien_create(lead=lead, position=2, balance=Decimal("1001"))
    lead.refresh_from_db()
    assert lead.financials().is_short_sale_candidate is True


def test_unknown_value_means_candidacy_unknown():
    lead = LeadFactory(property=PropertyFactory(estimated_value=None))
    assert lead.financials().is_short_sale_candidate is None
    assert Lead.objects.with_financials().get(pk=lead.pk).is_short_sale_candidate is None


def test_lien_update_and_delete_keep_the_total_in_step():
    lead = LeadFactory()
    lien = lien_create(lead=lead, position=1, balance=Decimal("100000"))
    lien_update(lien=lien, balance=Decimal("90000"), loan_number="99887766")
    lead.refresh_from_db()
    lien.refresh_from_db()
    assert (lead.lien_total, lien.loan_number_masked) == (Decimal("90000"), "****7766")
    lien_delete(lien=lien)
    lead.refresh_from_db()
    assert lead.lien_total == Decimal("0")


def test_score_rises_with_underwater_liens_hardship_and_stacked_lists():
    lead = LeadFactory(lead_type=LeadType.ABSENTEE, property=PropertyFactory(estimated_value=Decimal("200000")))
    base = Lead.objects.get(pk=lead.pk).score
    lien_create(lead=lead, position=1, balance=Decimal("210000"))
    underwater = Lead.objects.get(pk=lead.pk).score
    hardship_record_create(lead=lead, category="medical")
    with_hardship = Lead.objects.get(pk=lead.pk).score
    for lead_list in LeadListFactory.create_batch(2):
        lead_list_add(lead=lead, lead_list=lead_list)
    open_leads_rescore()
    stacked = Lead.objects.get(pk=lead.pk)
    assert base < underwater < with_hardship < stacked.score
    assert any("underwater" in reason for reason in stacked.score_reasons)
    assert any("on 2 lists" in reason for reason in stacked.score_reasons)


def test_scores_age_when_the_nightly_sweep_runs():
    lead = LeadFactory(lead_type=LeadType.NOD, last_contacted_at=timezone.now() - timedelta(hours=2))
    open_leads_rescore()
    fresh = Lead.objects.get(pk=lead.pk).score
    open_leads_rescore(now=timezone.now() + timedelta(days=40))
    aged = Lead.objects.get(pk=lead.pk)
    assert aged.score > fresh
    assert any("no contact for" in reason for reason in aged.score_reasons)


def test_phone_add_normalises_and_refuses_with_the_reason():
    contact = ContactFactory()
    phone = phone_add(contact=contact, raw="(918) 555-0199")
    assert phone.number == "+19185550199"
    assert phone_add(contact=contact, raw="918.555.0199") == phone  # same number, not a second row
    with pytest.raises(ValidationError) as refused:
        phone_add(contact=contact, raw="call me")
    assert "No digits" in str(refused.value)


def test_reassigning_a_lead_moves_it_to_the_new_agents_team(lead, other_agent, other_team):
    lead_assign(lead=lead, agent=other_agent)
    lead.refresh_from_db()
    assert (lead.assigned_agent, lead.team) == (other_agent, other_team)


def test_unassigning_a_lead_keeps_it_with_its_team(lead, team):
    lead_assign(lead=lead, agent=None)
    lead.refresh_from_db()
    assert (lead.assigned_agent, lead.team) == (None, team)


def test_an_auction_ahead_raises_the_score_the_nearer_the_more(lead):
    from datetime import timedelta

    from django.utils import timezone

    from leads.services import lead_rescore

    base = lead_rescore(lead=lead).score
    record = ForeclosureRecordFactory(lead=lead, auction_date=timezone.now().date() + timedelta(days=60))
    assert lead_rescore(lead=lead).score == base + 10
    record.auction_date = timezone.now().date() + timedelta(days=12)
    record.save()
    lead = lead_rescore(lead=lead)
    assert lead.score == base + 20 and "+20 auction in 12 days" in lead.score_reasons
    record.auction_date = timezone.now().date() - timedelta(days=1)  # past: no longer counts
    record.save()
    assert lead_rescore(lead=lead).score == base
