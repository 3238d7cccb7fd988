"""New leads imported for nobody ("Unassigned (team lead decides)") stay where a team lead
can see and assign them, and their auction follow-ups reach that team lead."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads.imports.services import import_job_create, import_run
from leads.models import ImportJob, Lead, LeadAssignment
from pipeline.models import FollowUp

from .test_imports import PROPSTREAM

pytestmark = pytest.mark.django_db


def upload_unassigned(client, **fields):
    return client.post(reverse("leads:imports"), {
        "file": SimpleUploadedFile("nod.csv", PROPSTREAM), "source": "propstream", "list_name": "NOD pull",
        "assign": "none", **fields})


def start(client, job):
    client.post(reverse("leads:import_map", args=[job.pk]), {f"col_{n}": h for n, h in job.columns.items()})
    return import_run(job_id=job.pk)


def test_a_team_leads_unassigned_import_stays_in_their_team_for_them_to_assign(team_lead, team, agent, client_as):
    client = client_as(team_lead)
    upload_unassigned(client)
    job = ImportJob.objects.get()
    assert job.team == team and job.assign_to is None and job.round_robin_team is None
    start(client, job)
    # then: unassigned, in the team, and every one of them visible to the team lead
    assert set(Lead.objects.values_list("assigned_agent", "team")) == {(None, team.pk)}
    assert Lead.objects.visible_to(team_lead).count() == Lead.objects.count() == 40
    assert not Lead.objects.visible_to(agent).exists()
    # the auctions ahead are the team lead's to act on
    assert set(FollowUp.objects.values_list("assignee", flat=True)) == {team_lead.pk}
    follow_up = FollowUp.objects.get(lead__property__street="2571 Pine Rd")
    lead = follow_up.lead
    assert lead.next_follow_up_at == follow_up.due_at
    # and the routing history says how they came in
    entry = LeadAssignment.objects.get(lead=lead)
    assert (entry.to_agent, entry.to_team, entry.actor) == (None, team, team_lead)
    assert entry.reason == "Imported from nod.csv (unassigned, for the team lead)"
    # the team lead's lead list shows them, so they can assign them
    assert client.get(reverse("leads:detail", args=[lead.pk])).status_code == 200


def test_a_team_lead_leading_two_teams_may_pick_the_team(team_lead, team, client_as):
    from ...leadcrm.factories import TeamFactory

    second = TeamFactory(name="Prairie", lead=team_lead)
    client = client_as(team_lead)
    upload_unassigned(client, team=second.pk)
    start(client, ImportJob.objects.get())
    assert set(Lead.objects.values_list("team", flat=True)) == {second.pk}


def test_a_brokers_unassigned_import_stays_brokerage_wide(broker, team):
    job = import_job_create(content=PROPSTREAM, file_name="nod.csv", created_by=broker, list_name="NOD")
    assert job.team is None
    import_run(job_id=job.pk)
    assert set(Lead.objects.values_list("assigned_agent", "team")) == {(None, None)}
    assert set(FollowUp.objects.values_list("assignee", flat=True)) == {broker.pk}  # the broker sees every lead
    assert not LeadAssignment.objects.exists()


def test_round_robin_in_a_team_without_active_agents_keeps_the_leads_in_the_team(broker, team, team_lead):
    job = import_job_create(content=PROPSTREAM, file_name="nod.csv", created_by=broker, list_name="NOD",
                            round_robin_team=team)
    import_run(job_id=job.pk)
    assert set(Lead.objects.values_list("assigned_agent", "team")) == {(None, team.pk)}
    assert set(FollowUp.objects.values_list("assignee", flat=True)) == {team_lead.pk}
