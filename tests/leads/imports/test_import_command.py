"""``import_leads``: its whole summary, and who gets the new leads (--assign-to, --round-robin)."""

from datetime import date

import pytest
from django.core.management import CommandError, call_command

from compliance.services import dnc_numbers_add
from leads.models import ImportJob, Lead, LeadAssignment, Phone

from .test_imports import MESSY, PROPSTREAM

pytestmark = pytest.mark.django_db


@pytest.fixture
def messy_file(tmp_path):
    path = tmp_path / "messy.csv"
    path.write_bytes(MESSY)
    return path


@pytest.fixture
def propstream_file(tmp_path):
    path = tmp_path / "propstream.csv"
    path.write_bytes(PROPSTREAM)
    return path


def test_the_summary_counts_rows_leads_phones_dnc_and_rejections(broker, national_registry, messy_file, capsys):
    # given one of the file's numbers on the national registry held (A5)
    dnc_numbers_add(source=national_registry, numbers=["9185550102"], as_of=date(2026, 11, 16))
    # when
    call_command("import_leads", str(messy_file), "--source", "generic", "--list", "Messy", "--as", broker.username)
    # then: four rows (the same house twice, one without a street), eight numbers, one unreadable
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Imported messy.csv into the list 'Messy' in ")
    assert lines[1:9] == [
        "  rows read                              4",
        "  leads created                          2",
        "  leads merged                           1",
        "  phones valid                           7",
        "  phones invalid                         1",
        "  phones on a do-not-call list           1",
        "  rows rejected                          1",
        "  line 5: No street address.",
    ]
    assert Phone.objects.get(on_dnc_list=True).number == "+19185550102"


def test_assign_to_gives_every_new_lead_to_that_agent_and_their_team(broker, agent, team, propstream_file):
    call_command("import_leads", str(propstream_file), "--source", "propstream", "--as", broker.username,
                 "--assign-to", agent.username)
    assert set(Lead.objects.values_list("assigned_agent", "team")) == {(agent.pk, team.pk)}
    assert Lead.objects.count() == 40
    assert set(LeadAssignment.objects.values_list("to_agent", "actor")) == {(agent.pk, broker.pk)}
    assert ImportJob.objects.get().assign_to == agent


def test_round_robin_shares_the_new_leads_among_a_teams_agents(broker, agent, team, propstream_file):
    from leadcrm.accounts.services import team_member_set

    from ...leadcrm.factories import AgentFactory

    second = AgentFactory()
    team_member_set(team=team, user=second)
    call_command("import_leads", str(propstream_file), "--source", "propstream", "--as", broker.username,
                 "--round-robin", team.name)
    per_agent = {pk: Lead.objects.filter(assigned_agent=pk).count() for pk in (agent.pk, second.pk)}
    assert per_agent == {agent.pk: 20, second.pk: 20}
    assert set(Lead.objects.values_list("team", flat=True)) == {team.pk}
    assert ImportJob.objects.get().round_robin_team == team


def test_unknown_agent_or_team_is_refused_by_name(broker, propstream_file):
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("import_leads", str(propstream_file), "--as", broker.username, "--assign-to", "nobody")
    with pytest.raises(CommandError, match="No team named 'Nowhere'"):
        call_command("import_leads", str(propstream_file), "--as", broker.username, "--round-robin", "Nowhere")
    assert not ImportJob.objects.exists()


def test_assign_to_and_round_robin_cannot_both_be_given(broker, agent, team, propstream_file):
    with pytest.raises(CommandError, match="not allowed with argument"):
        call_command("import_leads", str(propstream_file), "--as", broker.username, "--assign-to", agent.username,
                     "--round-robin", team.name)
    assert not ImportJob.objects.exists()
