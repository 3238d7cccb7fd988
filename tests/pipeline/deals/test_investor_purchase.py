"""An investor's lead (worked by an agent buying for themselves): the investor's script, the
purchase checklist and stage rule, and the purchase math with the lenders' side; a listing
agent's lead keeps the listing's. Frozen at Wednesday 18 November 2026 (conftest)."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from compliance.disclosures import SPOKEN_OPENING
from leadcrm.accounts.services import team_member_set
from leads.models import Stage
from pipeline.deals.documents import checklist_item_update, package_checklist
from pipeline.deals.lenders import milestone_record
from pipeline.deals.purchase import is_investor_purchase, purchase_math_for
from pipeline.deals.services import StageChangeRefused, lead_stage_change
from pipeline.models import DocumentKind, DocumentStatus, MessageTemplate, Milestone, TemplateKind
from pipeline.outreach.scripts import call_scripts_for, template_check, template_save

from ...leadcrm.factories import InvestorFactory
from ...leads.factories import ContactFactory, LeadFactory, LienFactory, PhoneFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 18)
LISTING_PITCH = "I help homeowners sell"


@pytest.fixture
def investor(team):
    user = InvestorFactory(first_name="Frank", last_name="Molina")
    team_member_set(team=team, user=user)
    return user


@pytest.fixture
def investor_lead(investor, team, brokerage, national_registry):
    lead = LeadFactory(assigned_agent=investor, team=team, property__building_sqft=1500)
    PhoneFactory(contact=ContactFactory(lead=lead, first_name="Heather"), number="+19185550117")
    return lead


def page_text(response) -> str:
    return " ".join(response.content.decode().split())


# The script -----------------------------------------------------------------------------


def test_an_investors_lead_page_shows_the_investor_script_not_the_listing_pitch(investor, investor_lead, client_as):
    response = client_as(investor).get(reverse("leads:detail", args=[investor_lead.pk]))
    script, text = response.context["script"], response.context["script_text"]
    assert script.capacity == "principal"
    assert LISTING_PITCH not in text and "Sometimes a short sale is an option" not in text
    # Who they are, then the house, the liens, the timeline, and a cash offer the lenders decide on.
    assert "calling as an investor buying for myself, not as your agent" in text  # the disclosure
    assert "I buy houses for myself. I'm not offering to be your agent" in text
    for topic in ("The house: How is it holding up?", "The loans: Do you know roughly what you owe",
                  "The timeline:", "a cash offer for the house as it is",
                  "each of your lenders has to agree to take less than what is owed, and that is their decision"):
        assert topic in text
    # The listing script is not even offered to switch to.
    assert all(other.capacity != "seller_agent" for other in response.context["scripts"])


def test_a_listing_agents_lead_page_keeps_the_listing_script(agent, lead, client_as):
    response = client_as(agent).get(reverse("leads:detail", args=[lead.pk]))
    assert response.context["script"].name == "First contact: introduce yourself and offer the free guide"
    assert "I buy houses for myself" not in response.context["script_text"]
    assert all(other.capacity != "principal" for other in response.context["scripts"])


def test_both_seeded_scripts_pass_the_brokerages_phrase_list():
    for script in MessageTemplate.objects.filter(kind=TemplateKind.CALL_SCRIPT, owner=None):
        template_check(body=script.body)  # the language rule (F6) refuses nothing in them
    assert set(MessageTemplate.objects.filter(owner=None, kind=TemplateKind.CALL_SCRIPT)
               .values_list("capacity", flat=True)) == {"seller_agent", "principal"}


def test_a_script_for_anyone_is_offered_to_both_and_ones_own_capacity_comes_first(agent, investor):
    # An investor is outside the licensee stay: their call script opens with Regulation O's
    # spoken disclosure (F3).
    mine = template_save(actor=investor, name="A short opener", kind=TemplateKind.CALL_SCRIPT,
                         body=f"{SPOKEN_OPENING} Hi [First Name].")
    assert mine.capacity == ""
    names = [script.name for script in call_scripts_for(user=investor)]
    assert names[0] == "First contact as an investor: buying for yourself, as-is" and "A short opener" in names
    assert [script.capacity for script in call_scripts_for(user=agent)] == ["seller_agent"]


def test_the_scripts_page_saves_who_a_script_is_for(investor, client_as):
    response = client_as(investor).post(reverse("pipeline:scripts"), {
        "name": "Follow-up as a buyer", "kind": TemplateKind.CALL_SCRIPT, "body": f"{SPOKEN_OPENING} Hi [First Name], it's [Agent Name].", "capacity": "principal"})
    assert response.status_code == 302
    assert MessageTemplate.objects.get(name="Follow-up as a buyer").capacity == "principal"


# The checklist and the stage rule --------------------------------------------------------


def test_an_investors_checklist_has_a_purchase_contract_proof_of_funds_and_the_disclosure(investor_lead, lead):
    LienFactory(lead=investor_lead, position=1)
    LienFactory(lead=investor_lead, position=2, lien_type="heloc", balance=Decimal("40000"))
    rows = package_checklist(lead=investor_lead, today=TODAY)
    kinds = [row.kind for row in rows]
    assert is_investor_purchase(investor_lead) and not is_investor_purchase(lead)
    assert DocumentKind.LISTING_AGREEMENT not in kinds
    assert {DocumentKind.PURCHASE_CONTRACT, DocumentKind.BUYER_FUNDS, DocumentKind.INTEREST_DISCLOSURE} <= set(kinds)
    # The homeowner's hardship package and each lien's authorization and approval, as for a listing.
    assert {DocumentKind.HARDSHIP_LETTER, DocumentKind.BANK_STATEMENTS, DocumentKind.TAX_RETURNS} <= set(kinds)
    assert kinds.count(DocumentKind.AUTHORIZATION) == 2 and kinds.count(DocumentKind.APPROVAL_LETTER) == 2
    contract = next(row for row in rows if row.kind == DocumentKind.PURCHASE_CONTRACT)
    assert "as-is" in contract.rule.why


def test_a_listing_agents_checklist_is_unchanged(lead):
    LienFactory(lead=lead, position=1)
    assert [row.kind for row in package_checklist(lead=lead, today=TODAY)] == [
        DocumentKind.AUTHORIZATION, DocumentKind.HARDSHIP_LETTER, DocumentKind.FINANCIAL_WORKSHEET,
        DocumentKind.PAY_STUBS, DocumentKind.BANK_STATEMENTS, DocumentKind.TAX_RETURNS, DocumentKind.FORM_4506C,
        DocumentKind.LISTING_AGREEMENT, DocumentKind.PURCHASE_CONTRACT, DocumentKind.BUYER_FUNDS,
        DocumentKind.SETTLEMENT_STATEMENT, DocumentKind.APPROVAL_LETTER,
    ]


def test_an_investors_lead_enters_negotiate_on_the_signed_purchase_contract(investor, investor_lead):
    investor_lead.stage = Stage.QUALIFY
    investor_lead.save(update_fields=["stage"])
    first = LienFactory(lead=investor_lead, position=1)
    milestone_record(lien=first, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=TODAY, actor=investor)
    with pytest.raises(StageChangeRefused) as refused:
        lead_stage_change(lead=investor_lead, to_stage=Stage.NEGOTIATE, actor=investor)
    assert refused.value.messages == ["Mark your signed purchase contract as accepted in the document checklist first."]
    checklist_item_update(lead=investor_lead, kind=DocumentKind.PURCHASE_CONTRACT, actor=investor,
                          status=DocumentStatus.ACCEPTED)
    # No listing agreement: an investor lists nothing.
    assert lead_stage_change(lead=investor_lead, to_stage=Stage.NEGOTIATE, actor=investor).stage == Stage.NEGOTIATE


def test_a_listing_lead_is_not_let_through_on_a_purchase_contract(agent, lead):
    lead.stage = Stage.QUALIFY
    lead.save(update_fields=["stage"])
    first = LienFactory(lead=lead, position=1)
    milestone_record(lien=first, kind=Milestone.PACKAGE_SUBMITTED, occurred_on=TODAY, actor=agent)
    checklist_item_update(lead=lead, kind=DocumentKind.PURCHASE_CONTRACT, actor=agent, status=DocumentStatus.ACCEPTED)
    with pytest.raises(StageChangeRefused, match="signed listing agreement"):
        lead_stage_change(lead=lead, to_stage=Stage.NEGOTIATE, actor=agent)


# The purchase math -----------------------------------------------------------------------


def test_the_maximum_offer_worked_by_hand(investor_lead):
    # After-repair value 300,000 (the estimated value); repairs 1,500 sq ft x $20 = 30,000; holding 5 % =
    # 15,000; resale 8 % = 24,000; target profit 10 % = 30,000: 201,000 left for the price and the buying
    # costs, so the price is 201,000 / 1.02 = 197,058.82, rounded down to 197,058 (buying costs 3,941.16).
    math = purchase_math_for(lead=investor_lead)
    assert (math.after_repair_value, math.repairs, math.holding_costs, math.resale_costs, math.target_profit) == (
        Decimal("300000.00"), Decimal("30000.00"), Decimal("15000.00"), Decimal("24000.00"), Decimal("30000.00"))
    assert math.left_for_purchase == Decimal("201000.00")
    assert (math.maximum_offer, math.buying_costs) == (Decimal("197058"), Decimal("3941.16"))
    assert math.profit_at(math.maximum_offer) >= math.target_profit  # the rounding favours the investor
    assert math.profit_at(Decimal("220000")) == Decimal("6600.00")  # 300,000 - 220,000 - 4,400 - 69,000


def test_the_investors_offers_page_shows_the_purchase_math_and_the_lenders_side_without_commission(
        investor, investor_lead, client_as):
    LienFactory(lead=investor_lead, position=1, balance=Decimal("250000"), lender="PennyMac")
    response = client_as(investor).get(reverse("pipeline:offers", args=[investor_lead.pk]))
    context, html = response.context, page_text(response)
    assert context["investor"] and context["purchase"].maximum_offer == Decimal("197058")
    sheet = context["sheet"]
    # The lenders' side at the maximum offer: no listing commission, 2 % closing costs (3,941.16),
    # 193,116.84 for the first lien's 250,000: short 56,883.16.
    assert (sheet.price, sheet.commission, sheet.closing_costs) == (
        Decimal("197058.00"), Decimal("0.00"), Decimal("3941.16"))
    assert (sheet.first.paid, sheet.first.shortfall) == (Decimal("193116.84"), Decimal("56883.16"))
    assert sheet.price_source == "your maximum offer (no offer yet)"
    assert "Your purchase math" in html and "The lenders' side" in html and "Commission (" not in html
    assert re.search(r'id="maximum-offer">\$197,058<', html)


def test_the_investors_figures_are_editable_and_an_empty_one_follows_the_after_repair_value(
        investor, investor_lead, client_as):
    response = client_as(investor).get(reverse("pipeline:offers", args=[investor_lead.pk]), {
        "after_repair_value": "320000", "repairs": "10000", "price": "230000", "buying_cost_percent": "1"})
    math, sheet = response.context["purchase"], response.context["sheet"]
    # Holding 5 % and profit 10 % of 320,000 = 16,000 and 32,000; resale 25,600: 236,400 left,
    # / 1.01 = 234,059.40 -> 234,059. At 230,000: 320,000 - 230,000 - 2,300 - 10,000 - 16,000 - 25,600 = 36,100.
    assert (math.holding_costs, math.target_profit, math.maximum_offer) == (
        Decimal("16000.00"), Decimal("32000.00"), Decimal("234059"))
    assert response.context["profit_at_price"] == Decimal("36100.00")
    assert sheet.price == Decimal("230000.00")
    assert ("At $230,000 (the price you entered) you would make <span class=\"fw-semibold\">$36,100</span>: "
            "$4,059 under your maximum offer.") in page_text(response)
    # A figure typed wrong is said so; the others still count.
    response = client_as(investor).get(reverse("pipeline:offers", args=[investor_lead.pk]),
                                       {"after_repair_value": "320000", "repairs": "-5"})
    assert response.context["purchase"].after_repair_value == Decimal("320000.00")
    assert "Repairs: Ensure this value is greater than or equal to 0." in page_text(response)


def test_a_price_over_the_maximum_offer_says_what_the_investor_would_lose(investor, investor_lead, client_as):
    # At 260,000: 300,000 - 260,000 - 5,200 - 30,000 - 15,000 - 24,000 = -34,200, 62,942 over 197,058.
    response = client_as(investor).get(reverse("pipeline:offers", args=[investor_lead.pk]), {"price": "260000"})
    assert ("you would lose <span class=\"fw-semibold negative\">$34,200</span>, short of your $30,000 target: "
            "$62,942 over your maximum offer.") in page_text(response)


def test_without_the_buildings_size_the_page_asks_for_a_repair_figure(investor, investor_lead, client_as):
    investor_lead.property.building_sqft = None
    investor_lead.property.save(update_fields=["building_sqft"])
    response = client_as(investor).get(reverse("pipeline:offers", args=[investor_lead.pk]))
    assert response.context["purchase"].repairs == Decimal("0.00")
    assert "No repair figure: the building&#x27;s size is unknown. Enter your repair estimate" in page_text(response)
    response = client_as(investor).get(reverse("pipeline:offers", args=[investor_lead.pk]), {"repairs": "25000"})
    assert response.context["purchase"].repairs_basis == "your figure"
    assert "No repair figure" not in page_text(response)


def test_a_listing_agents_offers_page_has_no_purchase_math_and_keeps_the_commission(agent, lead, client_as):
    response = client_as(agent).get(reverse("pipeline:offers", args=[lead.pk]))
    assert not response.context["investor"] and response.context["purchase"] is None
    assert response.context["sheet"].commission == Decimal("18000.00")  # 6 % of the 300,000 estimate
    assert "Your purchase math" not in page_text(response)
