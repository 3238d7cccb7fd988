"""Possible duplicates, the merge page, the merged lead's page and the undo (pipeline/workspace/duplicates.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from leads.merging import SAME_LEAD, lead_merge
from leads.models import DuplicateDismissal, Lead, LeadMerge, Stage
from pipeline.workspace.duplicates import (
    NOT_A_NUMBER,
    WHY_EMAIL,
    WHY_PARCEL,
    duplicate_pairs,
)

from ...leads.factories import ContactFactory, EmailFactory, LeadFactory, PhoneFactory, PropertyFactory
from ...pipeline.factories import OutreachAttemptFactory

pytestmark = pytest.mark.django_db

ANON, OTHER, OWNER, TEAM_LEAD, BROKER = "anonymous", "other_agent", "owner", "team_lead", "broker"


def homeowner(agent, *, first="Rosa", last="Delgado", phone=None, email=None, team=None, **house):
    lead = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(**house))
    contact = ContactFactory(lead=lead, first_name=first, last_name=last)
    if phone:
        PhoneFactory(contact=contact, number=phone)
    if email:
        EmailFactory(contact=contact, address=email)
    return lead


def pairs_of(user, **kwargs):
    pairs, _ = duplicate_pairs(fetched_by=user, **kwargs)
    return [(pair.low.pk, pair.high.pk, pair.reasons) for pair in pairs]


# Which pairs ------------------------------------------------------------------------------------


def test_same_owner_with_the_same_phone_pairs_whatever_the_case_and_spaces(agent, team):
    one = homeowner(agent, first="Rosa", last="De La Cruz", phone="+19185550111", team=team)
    two = homeowner(agent, first="ROSA ", last="delacruz", phone="+19185550111", team=team)
    assert pairs_of(agent) == [(one.pk, two.pk, ["Same owner, same phone (918) 555-0111"])]


def test_same_phone_under_another_name_is_no_duplicate(agent):
    homeowner(agent, first="Rosa", phone="+19185550112")
    homeowner(agent, first="Luis", phone="+19185550112")
    homeowner(agent, last="Nguyen", phone="+19185550112")
    assert pairs_of(agent) == []


def test_same_owner_with_the_same_email_pairs(agent):
    one = homeowner(agent, email="rosa@example.com")
    two = homeowner(agent, email="rosa@example.com")
    assert pairs_of(agent) == [(one.pk, two.pk, [WHY_EMAIL.format(value="rosa@example.com")])]


def test_the_same_parcel_in_the_same_county_pairs_and_one_in_another_county_does_not(agent):
    one = homeowner(agent, last="Ames", street="12 Elm St", apn="12-345", county="Tulsa")
    two = homeowner(agent, last="Boyd", street="12 Elm", apn="12-345", county="Tulsa")
    homeowner(agent, last="Cole", street="9 Oak", apn="12-345", county="Creek")
    assert pairs_of(agent) == [(one.pk, two.pk, [WHY_PARCEL.format(value="12-345")])]


def test_a_pair_matched_twice_is_one_pair_with_both_reasons(agent):
    one = homeowner(agent, phone="+19185550113", email="rosa@example.com")
    two = homeowner(agent, phone="+19185550113", email="rosa@example.com")
    assert pairs_of(agent) == [(one.pk, two.pk, ["Same owner, same phone (918) 555-0113",
                                                 WHY_EMAIL.format(value="rosa@example.com")])]


def test_only_pairs_of_leads_the_user_may_see_both_of(agent, other_agent, team_lead, broker, team):
    mine = homeowner(agent, phone="+19185550114", team=team)
    theirs = homeowner(other_agent, phone="+19185550114")
    also_mine = homeowner(agent, phone="+19185550114", team=team)
    assert pairs_of(agent) == [(mine.pk, also_mine.pk, ["Same owner, same phone (918) 555-0114"])]
    assert pairs_of(other_agent) == []
    assert [pair[:2] for pair in pairs_of(team_lead)] == [(mine.pk, also_mine.pk)]
    assert [pair[:2] for pair in pairs_of(broker)] == [
        (mine.pk, theirs.pk), (mine.pk, also_mine.pk), (theirs.pk, also_mine.pk)]


def test_dismissed_and_merged_pairs_are_not_offered(agent):
    one, two, three = (homeowner(agent, phone="+19185550115") for _ in range(3))
    DuplicateDismissal.objects.create(lead_low=one, lead_high=two)
    assert [pair[:2] for pair in pairs_of(agent)] == [(one.pk, three.pk), (two.pk, three.pk)]
    lead_merge(survivor=one, merged=three, merged_by=agent)
    assert pairs_of(agent) == []


def test_the_list_is_cut_at_the_limit_and_says_there_are_more(agent):
    for number in range(4):
        homeowner(agent, last=f"Owner{number}", phone=f"+1918555012{number}")
        homeowner(agent, last=f"Owner{number}", phone=f"+1918555012{number}")
    pairs, more = duplicate_pairs(fetched_by=agent, limit=3)
    assert (len(pairs), more) == (3, True)
    pairs, more = duplicate_pairs(fetched_by=agent, limit=4)
    assert (len(pairs), more) == (4, False)


def test_one_leads_pairs(agent):
    one, two = homeowner(agent, phone="+19185550116"), homeowner(agent, phone="+19185550116")
    homeowner(agent, last="Other", phone="+19185550117"), homeowner(agent, last="Other", phone="+19185550117")
    assert [pair[:2] for pair in pairs_of(agent, lead=two)] == [(one.pk, two.pk)]


# The page -----------------------------------------------------------------------------------------


def test_the_duplicates_page_shows_each_pair_with_why_and_both_leads(agent, client_as, django_assert_max_num_queries):
    for number in range(6):
        homeowner(agent, last=f"Owner{number}", phone=f"+1918555013{number}", street=f"{number} Ash Ave")
        homeowner(agent, last=f"Owner{number}", phone=f"+1918555013{number}", street=f"{number} Ash Avenue Rear")
    client = client_as(agent)
    with django_assert_max_num_queries(12):  # session, user, perms, three kinds, leads, owners
        response = client.get(reverse("pipeline:duplicates"))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count("Not a duplicate") == 6
    assert "Same owner, same phone (918) 555-0130" in body
    assert "5 Ash Avenue Rear" in body and "Owner5" in body


def test_not_a_duplicate_is_remembered_and_a_forged_id_is_404(agent, other_agent, client_as):
    one, two = homeowner(agent, phone="+19185550118"), homeowner(agent, phone="+19185550118")
    theirs = homeowner(other_agent, phone="+19185550118")
    client = client_as(agent)
    refused = client.post(reverse("pipeline:duplicate_dismiss"), {"lead": one.pk, "other": theirs.pk})
    assert refused.status_code == 404
    response = client.post(reverse("pipeline:duplicate_dismiss"), {"lead": two.pk, "other": one.pk}, follow=True)
    assert "Not a duplicate" not in response.content.decode()
    assert DuplicateDismissal.objects.filter(lead_low=one, lead_high=two).exists()


def test_the_lead_list_links_to_the_duplicates(agent, client_as, lead):
    assert reverse("pipeline:duplicates") in client_as(agent).get(reverse("leads:list")).content.decode()


# Merging from the page -------------------------------------------------------------------------------


def test_the_merge_page_previews_what_moves_and_what_stays(agent, client_as):
    one = homeowner(agent, phone="+19185550119", street="4 Birch Ln")
    two = homeowner(agent, phone="+19185550119", street="4 Birch Lane Unit B")
    OutreachAttemptFactory(lead=one, agent=agent)  # one is merged into two below
    response = client_as(agent).get(reverse("pipeline:lead_merge", args=[one.pk]), {"with": two.pk, "keep": two.pk})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Moves to 4 Birch Lane Unit B" in body  # the chosen survivor
    assert "Contacts" in body
    assert "Outreach attempts: 1" in body  # append-only, read through the merge
    assert 'name="keep" value="%d"' % two.pk in body


def test_the_merge_page_without_another_lead_offers_this_leads_pairs(agent, client_as):
    one, two = homeowner(agent, phone="+19185550120"), homeowner(agent, phone="+19185550120", street="77 Yew Ct")
    body = client_as(agent).get(reverse("pipeline:lead_merge", args=[one.pk])).content.decode()
    assert "77 Yew Ct" in body and f"?with={two.pk}" in body


def test_merging_a_lead_with_itself_or_a_word_says_why(agent, client_as, lead):
    client = client_as(agent)
    assert SAME_LEAD in client.get(reverse("pipeline:lead_merge", args=[lead.pk]), {"with": lead.pk}).content.decode()
    assert escape(NOT_A_NUMBER) in client.get(reverse("pipeline:lead_merge", args=[lead.pk]), {"with": "elm"}).content.decode()


def test_merging_with_a_lead_the_user_cannot_see_is_404(agent, client_as, lead, other_lead):
    client = client_as(agent)
    assert client.get(reverse("pipeline:lead_merge", args=[lead.pk]), {"with": other_lead.pk}).status_code == 404
    response = client.post(reverse("pipeline:lead_merge", args=[lead.pk]), {"other": other_lead.pk})
    assert response.status_code == 404
    assert not LeadMerge.objects.exists()


def test_a_broker_merges_two_agents_leads_and_the_survivors_agent_keeps_it(broker, agent, lead, other_lead, client_as):
    response = client_as(broker).post(reverse("pipeline:lead_merge", args=[lead.pk]),
                                      {"other": other_lead.pk, "keep": lead.pk, "same_house": "yes"})
    assert response.status_code == 302 and response["Location"] == reverse("leads:detail", args=[lead.pk])
    other_lead.refresh_from_db()
    lead.refresh_from_db()
    assert (other_lead.merged_into, other_lead.stage, lead.assigned_agent) == (lead, Stage.DEAD, agent)


def test_two_different_houses_merge_only_once_an_address_is_said_to_be_wrong(broker, lead, other_lead, client_as):
    """The same owner with two houses matches on name and phone; merging them would put one
    house's liens on the other's, so the page warns and asks that one address be wrong."""
    from pipeline.workspace.duplicates import TWO_HOUSES_UNCONFIRMED

    client = client_as(broker)
    url = reverse("pipeline:lead_merge", args=[lead.pk])
    page = client.get(url, {"with": other_lead.pk}).content.decode()
    assert "These are two different houses" in page and 'name="same_house"' in page
    response = client.post(url, {"other": other_lead.pk, "keep": lead.pk}, follow=True)
    assert TWO_HOUSES_UNCONFIRMED in [str(message) for message in response.context["messages"]]
    other_lead.refresh_from_db()
    assert other_lead.merged_into is None
    # One parcel in one county is one house, however its address was typed: no question asked.
    for house in (lead.property, other_lead.property):
        house.apn, house.county, house.state = "000123456", "Tulsa", "OK"
        house.save(update_fields=["apn", "county", "state"])
    assert 'name="same_house"' not in client.get(url, {"with": other_lead.pk}).content.decode()
    assert client.post(url, {"other": other_lead.pk, "keep": lead.pk}).status_code == 302
    other_lead.refresh_from_db()
    assert other_lead.merged_into == lead


def test_merging_an_already_merged_lead_is_refused_with_a_message(agent, client_as):
    one, two, three = (LeadFactory(assigned_agent=agent) for _ in range(3))
    lead_merge(survivor=one, merged=two, merged_by=agent)
    # The merged lead is gone from every page: as the other lead, it is not found.
    response = client_as(agent).post(reverse("pipeline:lead_merge", args=[three.pk]), {"other": two.pk})
    assert response.status_code == 404
    assert LeadMerge.objects.count() == 1


# The merged lead and the survivor's page ----------------------------------------------------------


def test_a_merged_leads_page_opens_the_survivor_for_who_may_see_it(agent, other_agent, broker, client_as, team):
    survivor, duplicate = LeadFactory(assigned_agent=agent, team=team), LeadFactory(assigned_agent=other_agent)
    lead_merge(survivor=survivor, merged=duplicate, merged_by=broker)
    url = reverse("leads:detail", args=[duplicate.pk])
    for user in (agent, broker):
        response = client_as(user).get(url)
        assert (response.status_code, response["Location"]) == (302, reverse("leads:detail", args=[survivor.pk]))
    # The merged lead's own agent may not see the survivor: nothing there for them.
    assert client_as(other_agent).get(url).status_code == 404


def test_the_survivors_page_says_merged_from_and_shows_the_merged_leads_calls(agent, client_as, team):
    survivor = homeowner(agent, team=team, street="5 Cedar Rd")
    duplicate = homeowner(agent, team=team, street="5 Cedar Road Apt 2")
    OutreachAttemptFactory(lead=duplicate, agent=agent, notes="Left a voicemail about the Cedar house")
    lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    body = client_as(agent).get(reverse("leads:detail", args=[survivor.pk])).content.decode()
    assert "Merged from" in body and "5 Cedar Road Apt 2" in body
    assert reverse("pipeline:lead_merge", args=[survivor.pk]) in body
    assert "Left a voicemail about the Cedar house" in body


def test_merged_leads_are_not_in_the_lead_list(agent, client_as):
    survivor = LeadFactory(assigned_agent=agent, property=PropertyFactory(street="8 Pine St"))
    duplicate = LeadFactory(assigned_agent=agent, property=PropertyFactory(street="8 Pine Street Rear"))
    lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    body = client_as(agent).get(reverse("leads:list"), {"status": "all"}).content.decode()
    assert "8 Pine St" in body and "8 Pine Street Rear" not in body


# Undo ----------------------------------------------------------------------------------------------


def test_the_merger_undoes_from_the_survivors_merges_page(agent, client_as):
    survivor, duplicate = LeadFactory(assigned_agent=agent), LeadFactory(assigned_agent=agent)
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    client = client_as(agent)
    page = client.get(reverse("pipeline:lead_merges", args=[survivor.pk])).content.decode()
    assert "Undo this merge" in page
    response = client.post(reverse("pipeline:lead_merges", args=[survivor.pk]), {"merge": record.pk}, follow=True)
    assert "Merge undone" in response.content.decode()
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
    assert Lead.objects.visible_to(agent).filter(pk=duplicate.pk).exists()


def test_an_undo_the_next_day_is_refused_with_a_message(agent, client_as):
    survivor, duplicate = LeadFactory(assigned_agent=agent), LeadFactory(assigned_agent=agent)
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        client = client_as(agent)
        assert "Undo this merge" not in client.get(reverse("pipeline:lead_merges", args=[survivor.pk])).content.decode()
        response = client.post(reverse("pipeline:lead_merges", args=[survivor.pk]), {"merge": record.pk}, follow=True)
    assert "within 24 hours only" in response.content.decode()
    duplicate.refresh_from_db()
    assert duplicate.merged_into == survivor


def test_a_merge_of_another_lead_cannot_be_undone_through_this_one(agent, client_as):
    survivor, duplicate, unrelated = (LeadFactory(assigned_agent=agent) for _ in range(3))
    record = lead_merge(survivor=survivor, merged=duplicate, merged_by=agent)
    response = client_as(agent).post(reverse("pipeline:lead_merges", args=[unrelated.pk]), {"merge": record.pk})
    assert response.status_code == 404


# Who may open what ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method", "expected"), [
    ("pipeline:lead_merge", "get", {ANON: 302, OTHER: 404, OWNER: 200, TEAM_LEAD: 200, BROKER: 200}),
    ("pipeline:lead_merges", "get", {ANON: 302, OTHER: 404, OWNER: 200, TEAM_LEAD: 200, BROKER: 200}),
    # Nothing chosen: back to the page with the reason.
    ("pipeline:lead_merge", "post", {ANON: 302, OTHER: 404, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
    ("pipeline:lead_merges", "post", {ANON: 302, OTHER: 404, OWNER: 302, TEAM_LEAD: 302, BROKER: 302}),
])
def test_the_lead_pages_permission_matrix(name, method, expected, lead, agent, other_agent, team_lead, broker,
                                          client_as):
    users = {ANON: None, OTHER: other_agent, OWNER: agent, TEAM_LEAD: team_lead, BROKER: broker}
    url = reverse(name, args=[lead.pk])
    got = {role: getattr(client_as(user), method)(url).status_code for role, user in users.items()}
    assert got == expected


def test_the_duplicates_pages_permission_matrix(agent, other_agent, team_lead, broker, client_as):
    users = {ANON: None, OTHER: other_agent, OWNER: agent, TEAM_LEAD: team_lead, BROKER: broker}
    got = {role: client_as(user).get(reverse("pipeline:duplicates")).status_code for role, user in users.items()}
    assert got == {ANON: 302, OTHER: 200, OWNER: 200, TEAM_LEAD: 200, BROKER: 200}
    dismiss = {role: client_as(user).post(reverse("pipeline:duplicate_dismiss")).status_code
               for role, user in users.items()}
    assert dismiss == {ANON: 302, OTHER: 404, OWNER: 404, TEAM_LEAD: 404, BROKER: 404}


def test_a_stage_move_cannot_mark_a_lead_a_merged_duplicate(lead, agent):
    from pipeline.deals.services import DUPLICATE_ONLY_BY_MERGE, StageChangeRefused, lead_stage_change

    with pytest.raises(StageChangeRefused) as refused:
        lead_stage_change(lead=lead, to_stage=Stage.DEAD, actor=agent, dead_reason="duplicate")
    assert DUPLICATE_ONLY_BY_MERGE in str(refused.value)
    lead.refresh_from_db()
    assert lead.stage == Stage.LIST


def test_the_admin_lets_a_broker_read_merges_and_nobody_change_them(agent, team_lead, broker, client_as):
    survivor = LeadFactory(assigned_agent=agent, property=PropertyFactory(street="3 Alder Way"))
    record = lead_merge(survivor=survivor, merged=LeadFactory(assigned_agent=agent), merged_by=agent)
    changelist = reverse("admin:leads_leadmerge_changelist")
    assert str(record) in client_as(broker).get(changelist).content.decode()
    assert client_as(team_lead).get(changelist).status_code == 403
    before = record.merged_at
    client_as(broker).post(reverse("admin:leads_leadmerge_change", args=[record.pk]), {"merged_at": "2020-01-01"})
    record.refresh_from_db()
    assert record.merged_at == before


def test_many_shared_numbers_do_not_keep_the_email_pairs_from_being_offered(agent, team, monkeypatch):
    """Each kind reads its own rounds: numbers left unread say "more" but the emails are read."""
    from pipeline.workspace import duplicates

    monkeypatch.setattr(duplicates, "SCAN_BATCH", 1)
    monkeypatch.setattr(duplicates, "SCAN_ROUNDS", 1)
    for number in ("+19185550121", "+19185550122"):  # two shared numbers: one round reads one
        homeowner(agent, first="Ana", last="Ruiz", phone=number, team=team)
        homeowner(agent, first="Ana", last="Ruiz", phone=number, team=team)
    one = homeowner(agent, first="Rosa", last="Ibarra", email="rosa@example.com", team=team)
    two = homeowner(agent, first="Rosa", last="Ibarra", email="rosa@example.com", team=team)
    pairs, more = duplicate_pairs(fetched_by=agent)
    assert (one.pk, two.pk) in {(pair.low.pk, pair.high.pk) for pair in pairs}
    assert more is True
