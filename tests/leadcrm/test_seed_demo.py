import pytest
from django.core.management import call_command

from leadcrm.accounts.models import Team, User
from leadcrm.accounts.roles import Role
from leadcrm.demo import demo_counts, seed_demo
from leads.models import FUNNEL_STAGES, Lead, Lien, Stage

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_seed_demo_twice_gives_the_same_counts():
    first = seed_demo(lead_count=60)
    second = seed_demo(lead_count=60)
    assert first.leads_created == 60
    assert (second.leads_created, second.leads_skipped) == (0, 60)
    assert first.counts == second.counts == demo_counts()


@pytest.mark.slow
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
    # Some calls to listed numbers were refused: the compliance pages show real blocks.
    from compliance.models import CheckMode, ComplianceCheck, Verdict

    refused = ComplianceCheck.objects.filter(mode=CheckMode.LOG, verdict=Verdict.BLOCK)
    assert refused.count() >= 3
    assert not ComplianceCheck.objects.filter(mode=CheckMode.PREVIEW).exists()


@pytest.mark.slow
def test_seed_demo_dates_every_lender_step_after_its_package_and_prices_the_investors_offers():
    from pipeline.deals.purchase import is_investor_purchase, purchase_math_for
    from pipeline.models import LenderMilestone, Milestone, Offer, OfferStatus

    seed_demo(lead_count=120)
    packages = {}
    for file_id, day in LenderMilestone.objects.filter(kind=Milestone.PACKAGE_SUBMITTED).values_list(
            "lender_file", "occurred_on"):
        packages[file_id] = min(day, packages.get(file_id, day))
    later_steps = [Milestone.VALUATION_ORDERED, Milestone.VALUATION_COMPLETED, Milestone.OFFER_SUBMITTED,
                   Milestone.APPROVED]
    steps = LenderMilestone.objects.filter(kind__in=later_steps).values_list("lender_file", "kind", "occurred_on")
    assert steps, "the demo has lender files past their package"
    # The lender turnaround report times package to approval: never a step before the package.
    assert [step for step in steps if step[2] < packages[step[0]]] == []
    investors = [offer for offer in Offer.objects.filter(status=OfferStatus.ACCEPTED).select_related(
        "lead__assigned_agent", "lead__property") if is_investor_purchase(offer.lead)]
    assert investors, "the demo's investor has accepted offers"
    for offer in investors:
        assert offer.price <= purchase_math_for(lead=offer.lead).maximum_offer


def test_seed_demo_command_if_empty_does_nothing_on_a_database_with_leads(capsys):
    call_command("seed_demo", leads=10)
    call_command("seed_demo", leads=30, if_empty=True)
    assert Lead.objects.count() == 10
    assert "not loaded" in capsys.readouterr().out
