"""Safe harbor (A4): written procedures on file, and every caller trained on them, before any call."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel, DncPolicy, PolicyAcknowledgement, Purpose, Verdict
from compliance.services import dnc_policy_adopt, outreach_check, registry_version_record
from leadcrm.shared.append_only import AppendOnlyError
from pipeline.models import Outcome
from pipeline.outreach.services import outreach_log

from ..leadcrm.factories import POLICY_TEXT, AgentFactory

pytestmark = pytest.mark.django_db


def call(lead, agent, channel=Channel.CALL):
    point = lead.contacts.first().phones.first() if channel != Channel.MAIL else lead.contacts.first()
    return outreach_check(lead=lead, contact_point=point, channel=channel, purpose=Purpose.LISTING,
                          actor=agent, role_disclosed=True)


def test_a4_an_agent_who_has_not_acknowledged_the_procedures_cannot_call_or_text(lead, agent):
    newcomer = AgentFactory(acknowledged=False)
    lead.assigned_agent = newcomer
    lead.save()
    decision = call(lead, newcomer)
    assert (decision.verdict, decision.rule_ids) == (Verdict.BLOCK, ["A4"])
    assert "not yet acknowledged" in decision.reasons[0]
    assert decision.evidence["policy"]["acknowledged"] is False
    # Mail is not telephone outreach.
    assert call(lead, newcomer, channel=Channel.MAIL).verdict == Verdict.ALLOW
    assert call(lead, agent).verdict == Verdict.ALLOW  # a trained colleague is not held up


def test_a4_a_new_version_needs_a_new_acknowledgement_and_then_calls_flow_again(lead, agent, broker, client_as):
    dnc_policy_adopt(text=POLICY_TEXT + " Version two.", adopted_by=broker)
    assert call(lead, agent).rule_ids == ["A4"]
    client = client_as(agent)
    page = client.get(reverse("pipeline:dashboard")).content.decode()
    assert "acknowledge the brokerage's Do Not Call procedures" in page
    policy = DncPolicy.objects.first()
    response = client.post(reverse("compliance:procedures"), {"acknowledge": "1", "policy": policy.pk})
    assert response.status_code == 302
    assert PolicyAcknowledgement.objects.filter(policy=policy, user=agent).exists()
    assert call(lead, agent).verdict == Verdict.ALLOW
    assert "acknowledge the brokerage's" not in client.get(reverse("pipeline:dashboard")).content.decode()


def test_a4_an_acknowledgement_of_a_superseded_version_is_refused(agent, broker, client_as):
    old = DncPolicy.objects.get()
    dnc_policy_adopt(text=POLICY_TEXT + " Version two.", adopted_by=broker)
    response = client_as(agent).post(reverse("compliance:procedures"), {"acknowledge": "1", "policy": old.pk},
                                     follow=True)
    assert "procedures changed while you were reading" in response.content.decode()
    assert not PolicyAcknowledgement.objects.filter(policy=DncPolicy.objects.first(), user=agent).exists()


def test_a4_with_no_procedures_at_all_every_call_blocks(db):
    from ..leads.factories import ContactFactory, LeadFactory, PhoneFactory

    # No user created yet, so no policy either.
    assert not DncPolicy.objects.exists()
    agent = AgentFactory(acknowledged=False)
    lead = LeadFactory(assigned_agent=agent)
    PhoneFactory(contact=ContactFactory(lead=lead), number="+19185550104")
    decision = call(lead, agent)
    assert "A4" in decision.rule_ids and "no written Do Not Call procedures" in " ".join(decision.reasons)


def test_a4_only_a_broker_publishes_and_sees_who_has_acknowledged(agent, broker, client_as):
    url = reverse("compliance:procedures")
    data = {"title": "Procedures v2", "adopted_on": timezone.localdate().isoformat(), "text": POLICY_TEXT + " v2"}
    assert client_as(agent).post(url, data).status_code == 403
    assert "Publish a new version" not in client_as(agent).get(url).content.decode()
    response = client_as(broker).post(url, data)
    assert response.status_code == 302
    policy = DncPolicy.objects.first()
    assert (policy.title, policy.adopted_by) == ("Procedures v2", broker)
    page = client_as(broker).get(url).content.decode()
    assert "Not yet: calls blocked" in page and str(agent) in page


@pytest.mark.parametrize("text, adopted_on, error", [
    ("Call nicely.", None, "at least 200 characters"),
    (POLICY_TEXT, timezone.now().date() + timedelta(days=3), "today at the latest"),
])
def test_a4_procedures_must_be_written_out_and_in_force(broker, client_as, text, adopted_on, error):
    before = DncPolicy.objects.count()
    data = {"title": "v2", "adopted_on": (adopted_on or timezone.localdate()).isoformat(), "text": text}
    page = client_as(broker).post(reverse("compliance:procedures"), data).content.decode()
    assert error in page and DncPolicy.objects.count() == before


def test_a4_procedures_and_acknowledgements_are_append_only(agent):
    policy = DncPolicy.objects.get()
    with pytest.raises(AppendOnlyError):
        policy.save()
    with pytest.raises(AppendOnlyError):
        PolicyAcknowledgement.objects.filter(user=agent).delete()


def test_a6_the_numbers_attempts_in_the_last_12_months_are_in_the_evidence(lead, agent, national_registry):
    phone = lead.contacts.first().phones.first()
    for days in (202, 402):  # the data as it stood on each call date (A3)
        registry_version_record(source=national_registry, area_codes=["918"],
                                version_date=(timezone.now() - timedelta(days=days)).date())
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.NO_ANSWER, actor=agent,
                 role_disclosed=True, occurred_at=timezone.now() - timedelta(days=200))
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.NO_ANSWER, actor=agent,
                 role_disclosed=True, occurred_at=timezone.now() - timedelta(days=400))
    assert call(lead, agent).evidence["attempts_12_months"] == 1


def test_a4_acknowledging_today_does_not_cover_a_call_logged_for_last_week(lead, brokerage):
    newcomer = AgentFactory(acknowledged=False)
    lead.assigned_agent = newcomer
    lead.save()
    policy = DncPolicy.objects.get()
    from compliance.services import policy_acknowledge

    policy_acknowledge(user=newcomer, policy=policy)  # now (Nov 18)
    last_week = timezone.now() - timedelta(days=7)
    decision = outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                              purpose=Purpose.LISTING, actor=newcomer, role_disclosed=True, at=last_week)
    assert "A4" in decision.rule_ids


def test_a4_a_call_made_under_the_previous_version_is_judged_by_it(lead, agent, broker):
    yesterday = timezone.now() - timedelta(days=1)
    dnc_policy_adopt(text=POLICY_TEXT + " Version two.", adopted_by=broker)  # in force from today
    decision = outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                              purpose=Purpose.LISTING, actor=agent, role_disclosed=True, at=yesterday)
    assert "A4" not in decision.rule_ids


def test_a4_the_admin_checks_procedures_like_the_page(broker):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        DncPolicy(text="Be nice.", adopted_on=timezone.localdate(), adopted_by=broker).full_clean()
