"""The history of a lead's rows in the admin: shown to those who see the lead, a removed
row's too; a 404 for everyone else; never reverted there."""

import pytest
from django.urls import reverse

from leads import editing

from .factories import ContactFactory

pytestmark = pytest.mark.django_db


def history_url(contact_pk):
    return reverse("admin:leads_contact_history", args=[contact_pk])


def test_the_broker_and_the_team_lead_read_who_changed_an_owner(lead, agent, team_lead, broker, client_as):
    contact = lead.contacts.get()
    editing.owner_update(contact=contact, actor=agent, version=1, last_name="Smith")
    for user in (team_lead, broker):
        page = client_as(user).get(history_url(contact.pk)).content.decode()
        assert "Smith" in page and "Ana Torres" in page


def test_another_teams_lead_gets_a_404_even_for_a_removed_owner(lead, agent, other_team, client_as):
    heir = ContactFactory(lead=lead, position=2, first_name="Hal")
    editing.owner_remove(contact=heir, actor=agent, version=heir.version, reason="Not on the deed")
    client = client_as(other_team.lead)
    assert client.get(history_url(heir.pk)).status_code == 404
    assert client.get(history_url(lead.contacts.get().pk)).status_code == 404
    version = heir.history.first().history_id
    assert client.get(reverse("admin:leads_contact_simple_history", args=[heir.pk, version])).status_code == 404


def test_a_removed_owners_history_stays_readable_by_the_broker(lead, agent, broker, client_as):
    heir = ContactFactory(lead=lead, position=2, first_name="Hal")
    editing.owner_remove(contact=heir, actor=agent, version=heir.version, reason="Not on the deed")
    assert "Not on the deed" in client_as(broker).get(history_url(heir.pk)).content.decode()


def test_a_version_is_read_only_in_the_admin(lead, broker, client_as):
    contact = lead.contacts.get()
    version = contact.history.first().history_id
    url = reverse("admin:leads_contact_simple_history", args=[contact.pk, version])
    client = client_as(broker)
    assert client.get(url).status_code == 200
    assert client.post(url, {"last_name": "Reverted"}).status_code == 405
    contact.refresh_from_db()
    assert contact.last_name != "Reverted"
