"""A lead added by hand (``leads.intake``): the address read and deduped like an import's,
the owners, phones and emails, the agent who works it, and nothing saved on bad input."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from compliance.services import dnc_numbers_add
from leads.addresses import address_key
from leads.intake import (
    ALREADY_YOURS,
    BAD_STATE,
    MAX_ESTIMATED_VALUE,
    NO_OWNER,
    NO_PLACE,
    NO_STREET,
    NOT_YOUR_AGENT,
    VALUE_TOO_HIGH,
    WORKED_BY_BROKERAGE,
    HouseAlreadyHeld,
    Intake,
    OwnerIn,
    lead_create_by_hand,
)
from leads.models import (
    Contact,
    ContactSource,
    Lead,
    LeadAssignment,
    LeadSource,
    LeadType,
    Phone,
    Property,
    RoutingMethod,
    RoutingTarget,
)

from .factories import LeadFactory, PropertyFactory, RoutingRuleFactory

pytestmark = pytest.mark.django_db


def intake(**changes) -> Intake:
    fields = dict(street="1633 Elm Street", city="Tulsa", state="OK", zip_code="74130",
                  owners=[OwnerIn("Maria", "Garcia")], phones=["(918) 555-0131"], emails=["Maria@Example.com"],
                  source=LeadSource.REFERRAL)
    fields.update(changes)
    return Intake(**fields)


def test_a_referral_becomes_a_lead_of_the_agent_with_its_owner_phone_and_email(agent, team):
    added = lead_create_by_hand(actor=agent, intake=intake(estimated_value=Decimal("250000")))

    lead = Lead.objects.select_related("property").get(pk=added.lead.pk)
    assert added.created and added.visible
    assert (lead.assigned_agent, lead.team, lead.source, lead.lead_type) == (
        agent, team, LeadSource.REFERRAL, LeadType.REFERRAL)
    assert lead.property.address_key == address_key(street="1633 ELM ST", zip_code="74130")
    assert lead.property.estimated_value == Decimal("250000")
    owner = Contact.objects.get(lead=lead)
    assert (owner.first_name, owner.last_name, owner.mailing_street, owner.mailing_zip) == (
        "Maria", "Garcia", "1633 Elm Street", "74130")
    assert list(owner.phones.values_list("number", "source")) == [("+19185550131", ContactSource.MANUAL)]
    assert list(owner.emails.values_list("address", flat=True)) == ["maria@example.com"]
    assert LeadAssignment.objects.filter(lead=lead, to_agent=agent).exists()


def test_the_score_is_computed_when_the_lead_is_added(agent):
    added = lead_create_by_hand(actor=agent, intake=intake(lead_type=LeadType.AUCTION,
                                                           estimated_value=Decimal("300000")))
    assert Lead.objects.get(pk=added.lead.pk).score > 0


def test_the_state_and_city_are_read_from_the_zip_as_an_import_reads_them(agent):
    added = lead_create_by_hand(actor=agent, intake=intake(city="", state="", zip_code="74130-1234"))
    house = Property.objects.get(lead=added.lead)
    assert (house.state, house.zip_code, house.city) == ("OK", "74130", "Tulsa")


def test_a_state_written_out_is_read_like_an_import(agent):
    added = lead_create_by_hand(actor=agent, intake=intake(state="Oklahoma"))
    assert Property.objects.get(lead=added.lead).state == "OK"


def test_a_mailing_address_typed_is_kept_instead_of_the_house(agent):
    added = lead_create_by_hand(actor=agent, intake=intake(mailing={
        "mailing_street": "PO Box 12", "mailing_city": "Tulsa", "mailing_state": "OK", "mailing_zip": "74101"}))
    owner = Contact.objects.get(lead=added.lead)
    assert (owner.mailing_street, owner.mailing_zip) == ("PO Box 12", "74101")


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"street": "  "}, "street", NO_STREET),
    ({"zip_code": "", "city": ""}, "zip_code", NO_PLACE),
    ({"state": "Narnia"}, "state", BAD_STATE.format(value="Narnia")),
    ({"owners": [OwnerIn()]}, "owners", NO_OWNER),
    ({"phones": ["555-01"]}, "phones", None),
    ({"emails": ["maria-at-example"]}, "emails", None),
    ({"estimated_value": MAX_ESTIMATED_VALUE + 1}, "estimated_value", VALUE_TOO_HIGH.format(limit=MAX_ESTIMATED_VALUE)),
])
def test_bad_input_names_the_field_and_saves_nothing(agent, changes, field, message):
    with pytest.raises(ValidationError) as refused:
        lead_create_by_hand(actor=agent, intake=intake(**changes))
    errors = refused.value.message_dict
    assert field in errors
    if message:
        assert errors[field] == [message]
    assert not Lead.objects.exists() and not Property.objects.exists() and not Phone.objects.exists()


def test_the_same_house_written_another_way_opens_the_agents_own_lead(agent, team):
    held = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(street="1633 Elm St", zip_code="74130"))
    with pytest.raises(HouseAlreadyHeld) as already:
        lead_create_by_hand(actor=agent, intake=intake(street="1633 elm street.", phones=["9185550188"]))
    assert already.value.lead == held and str(already.value) == ALREADY_YOURS
    assert Lead.objects.count() == 1 and not Phone.objects.filter(number="+19185550188").exists()


def test_a_house_merged_into_another_lead_opens_the_lead_it_joined(agent, team):
    from leads.merging import lead_merge

    survivor = LeadFactory(assigned_agent=agent, team=team)
    merged = LeadFactory(assigned_agent=agent, team=team,
                         property=PropertyFactory(street="1633 Elm St", zip_code="74130"))
    lead_merge(survivor=survivor, merged=merged, merged_by=agent)
    with pytest.raises(HouseAlreadyHeld) as already:
        lead_create_by_hand(actor=agent, intake=intake(street="1633 Elm St"))
    assert already.value.lead == survivor  # not "worked by the brokerage": it is the agent's own


def test_asked_to_the_new_owner_and_numbers_go_on_the_existing_lead(agent, team):
    held = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(street="1633 Elm St", zip_code="74130"))
    added = lead_create_by_hand(actor=agent, intake=intake(add_to_existing=True))
    assert not added.created and added.lead == held
    assert Lead.objects.count() == 1
    owner = Contact.objects.get(lead=held, last_name="Garcia")
    assert owner.phones.filter(number="+19185550131").exists()


def test_a_house_another_agent_works_is_refused_without_saying_whose(agent, other_agent, other_team):
    LeadFactory(assigned_agent=other_agent, team=other_team,
                property=PropertyFactory(street="1633 Elm St", zip_code="74130"))
    with pytest.raises(ValidationError) as refused:
        lead_create_by_hand(actor=agent, intake=intake(add_to_existing=True))
    assert refused.value.message_dict == {"street": [WORKED_BY_BROKERAGE]}
    assert str(other_agent) not in WORKED_BY_BROKERAGE
    assert not Contact.objects.filter(last_name="Garcia").exists()


def test_routing_rules_decide_when_asked(agent, other_agent, other_team, broker):
    RoutingRuleFactory(target=RoutingTarget.AGENT, agent=other_agent, zip_codes="741")
    added = lead_create_by_hand(actor=agent, intake=intake(), route=True)
    assert added.lead.assigned_agent == other_agent
    assert added.lead.assignments.filter(method=RoutingMethod.RULE).exists()
    assert not added.visible  # the agent who typed it no longer sees it


def test_routing_with_no_rule_matching_gives_the_lead_to_its_author(agent):
    RoutingRuleFactory(target=RoutingTarget.POND, zip_codes="999")
    added = lead_create_by_hand(actor=agent, intake=intake(), route=True)
    assert added.lead.assigned_agent == agent and added.visible


def test_a_team_lead_gives_the_lead_to_an_agent_of_their_team(team_lead, agent):
    added = lead_create_by_hand(actor=team_lead, intake=intake(), assigned_agent=agent)
    assert added.lead.assigned_agent == agent


def test_an_agent_cannot_give_the_lead_to_someone_else(agent, other_agent):
    with pytest.raises(ValidationError) as refused:
        lead_create_by_hand(actor=agent, intake=intake(), assigned_agent=other_agent)
    assert refused.value.message_dict["assigned_agent"] == [NOT_YOUR_AGENT.format(agent=other_agent)]
    assert not Lead.objects.exists()


def test_new_phones_are_flagged_against_the_registries_before_they_are_shown(agent, national_registry):
    dnc_numbers_add(source=national_registry, numbers=["9185550131"], as_of=national_registry.data_as_of)
    added = lead_create_by_hand(actor=agent, intake=intake(phones=["918-555-0131", "918-555-0132"]))
    flags = dict(Phone.objects.filter(contact__lead=added.lead).values_list("number", "on_dnc_list"))
    assert flags == {"+19185550131": True, "+19185550132": False}
    assert {phone.number: phone.on_dnc_list for phone in added.phones} == flags
