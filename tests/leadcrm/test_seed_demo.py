import pytest
from django.core.management import call_command

from leadcrm.accounts.models import Team, User
from leadcrm.accounts.roles import Role
from leadcrm.demo import demo_counts, seed_demo
from leads.models import FUNNEL_STAGES, Lead, Lien, Stage

pytestmark = pytest.mark.django_db


def test_seed_demo_twice_gives_the_same_counts():
    first = seed_demo(lead_count=60)
    second = seed_demo(lead_count=60)
    assert first.leads_created == 60
    assert (second.leads_created, second.leads_skipped) == (0, 60)
    assert first.counts == second.counts == demo_counts()


def test_seed_demo_builds_the_brokerage_the_issue_describes():
    seed_demo(lead_count=120)
    roles = {role: sum(1 for u in User.objects.prefetch_related("groups") if u.role == role) for role in Role}
    assert roles == {Role.BROKER: 1, Role.TEAM_LEAD: 2, Role.AGENT: 6}
    assert Team.objects.count() == 2
    stages = set(Lead.objects.values_list("stage", flat=True))
    assert set(FUNNEL_STAGES) | {Stage.CLOSED, Stage.DEAD} <= stages
    assert Lien.objects.filter(position=2).exists()
    assert Lead.objects.filter(contacts__phones__number__regex=r"^\+1\d{3}5550[1][0-9]{2}$").exists()
    # Leads past contact reached the homeowner through the gate; qualified ones have the facts.
    for lead in Lead.objects.filter(stage__in=[Stage.QUALIFY, Stage.NEGOTIATE, Stage.CLOSE]):
        assert lead.hardships.exists() and lead.liens.exists()
        assert lead.outreach_attempts.filter(outcome="talked").exists()


def test_seed_demo_command_if_empty_does_nothing_on_a_database_with_leads(capsys):
    call_command("seed_demo", leads=10)
    call_command("seed_demo", leads=30, if_empty=True)
    assert Lead.objects.count() == 10
    assert "not loaded" in capsys.readouterr().out
