"""The one outreach gate: what it refuses in the foundation, and that it records the check
of every attempt (and nothing for a preview). Rule IDs are those of compliance/rules.py.
"""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from compliance.models import (
    Channel,
    CheckMode,
    ComplianceCheck,
    InternalDncEntry,
    Purpose,
    RegistryKind,
    Verdict,
)
from compliance.services import dnc_numbers_add, internal_dnc_add, outreach_check, outreach_preview
from leadcrm.accounts.models import Capacity
from leadcrm.shared.append_only import AppendOnlyError
from leads.models import PhoneStatus
from pipeline.models import OutreachAttempt

from ..leadcrm.factories import AgentFactory
from ..leads.factories import EmailFactory
from .factories import DncSourceFactory

pytestmark = pytest.mark.django_db


def check(lead, actor, point=None, channel=Channel.CALL, disclosed=True, **kwargs):
    if point is None:
        point = lead.contacts.first().phones.first()
    return outreach_check(
        lead=lead, contact_point=point, channel=channel, purpose=kwargs.pop("purpose", Purpose.LISTING),
        actor=actor, role_disclosed=disclosed, **kwargs,
    )


def test_a_clean_number_with_the_role_disclosed_is_allowed_and_recorded(lead, agent):
    decision = check(lead, agent)
    assert decision.verdict == Verdict.ALLOW
    assert decision.findings == ()
    row = ComplianceCheck.objects.get()
    assert (row.verdict, row.contact_point, row.mode) == (Verdict.ALLOW, "+19185550104", CheckMode.LOG)
    assert row.evidence["disclosure"]["confirmed"] is True


def test_a5_number_on_the_national_registry_is_blocked_with_its_version_in_the_evidence(
    lead, agent, national_registry
):
    registry = national_registry
    dnc_numbers_add(source=registry, numbers=["918,5550104"], as_of=registry.data_as_of)
    decision = check(lead, agent)
    assert decision.verdict == Verdict.BLOCK
    assert decision.rule_ids == ["A5"]
    assert "National DNC Registry" in decision.reasons[0]
    held = {entry["source"]: entry for entry in decision.evidence["registries"]}
    assert held["National DNC Registry"]["listed"] is True
    assert held["National DNC Registry"]["data_as_of"] == registry.data_as_of.isoformat()


def test_c3_a_call_seeking_a_listing_is_telemarketing_so_the_registry_applies(lead, agent, national_registry):
    """C3: asking a homeowner to list is a solicitation, not a call about an existing deal."""
    dnc_numbers_add(source=national_registry, numbers=["9185550104"], as_of=national_registry.data_as_of)
    assert check(lead, agent, purpose=Purpose.LISTING).rule_ids == ["A5"]


def test_c5_a_marketing_text_counts_as_a_call_for_the_registry(lead, agent, national_registry):
    """C5: texts are calls under the national DNC rules: a text to a registered number is refused."""
    from .factories import ConsentRecordFactory

    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone)  # written consent to texts: D5 is met, the registry still applies
    dnc_numbers_add(source=national_registry, numbers=["9185550104"], as_of=national_registry.data_as_of)
    decision = check(lead, agent, channel=Channel.SMS)
    assert "A5" in decision.rule_ids and decision.verdict == Verdict.BLOCK


def test_a6_litigator_list_blocks(lead, agent):
    litigators = DncSourceFactory(kind=RegistryKind.LITIGATOR, name="Litigators")
    dnc_numbers_add(source=litigators, numbers=["9185550104"], as_of=litigators.data_as_of)
    assert check(lead, agent).rule_ids == ["A6"]


def test_an_inactive_registry_is_not_consulted(lead, agent):
    registry = DncSourceFactory(is_active=False)
    dnc_numbers_add(source=registry, numbers=["9185550104"], as_of=registry.data_as_of)
    assert check(lead, agent).verdict == Verdict.ALLOW


def test_b1_another_agents_internal_dnc_entry_blocks_every_agent_and_text_too(lead, agent, team):
    colleague = AgentFactory()
    internal_dnc_add(phone_number="(918) 555-0104", channel=Channel.CALL,
                     homeowner_words="Stop calling me.", recorded_by=colleague)
    for channel in (Channel.CALL, Channel.SMS):
        decision = check(lead, agent, channel=channel)
        assert decision.verdict == Verdict.BLOCK
        assert "B1" in decision.rule_ids
        assert "internal do-not-contact list" in decision.reasons[0]


def test_b1_an_unsubscribed_email_is_blocked(lead, agent):
    email = EmailFactory(contact=lead.contacts.first(), address="owner@example.com")
    internal_dnc_add(email="Owner@Example.com", channel=Channel.EMAIL, homeowner_words="unsubscribe",
                     recorded_by=agent)
    assert check(lead, agent, point=email, channel=Channel.EMAIL).rule_ids == ["B1"]


def test_d3_an_undisclosed_role_is_blocked_with_the_sentence_to_say(lead, agent, brokerage):
    decision = check(lead, agent, disclosed=False)
    assert decision.verdict == Verdict.BLOCK
    assert decision.rule_ids == ["D3"]
    assert "licensed real estate agent with Sunbelt Test Realty" in decision.reasons[0]


def test_f8_a_principal_must_say_they_are_buying_for_themselves(lead, agent):
    agent.capacity = Capacity.PRINCIPAL
    agent.save()
    decision = check(lead, agent, disclosed=False, purpose=Purpose.OFFER_TO_BUY)
    assert decision.rule_ids == ["F8"]
    assert "buying for myself" in decision.reasons[0]


def test_d7_a_wrong_party_number_is_blocked(lead, agent):
    phone = lead.contacts.first().phones.first()
    phone.status = PhoneStatus.WRONG_PARTY
    phone.save()
    assert check(lead, agent).rule_ids == ["D7"]


@pytest.mark.parametrize("point", [None, "", "not a number", "555-0104"])
def test_fc_phone_outreach_without_a_dialable_number_fails_closed(lead, agent, point):
    decision = outreach_check(lead=lead, contact_point=point, channel=Channel.CALL,
                              purpose=Purpose.LISTING, actor=agent, role_disclosed=True)
    assert decision.verdict == Verdict.BLOCK
    assert "FC" in decision.rule_ids


def test_fc_a_phone_of_another_lead_is_refused(lead, other_lead, agent):
    foreign = other_lead.contacts.first().phones.first()
    decision = check(lead, agent, point=foreign)
    assert decision.verdict == Verdict.BLOCK
    assert decision.rule_ids == ["FC"]


def test_mail_to_a_do_not_mail_owner_is_blocked(lead, agent):
    owner = lead.contacts.first()
    owner.do_not_mail = True
    owner.save()
    decision = check(lead, agent, point=owner, channel=Channel.MAIL)
    assert decision.rule_ids == ["B1"]


def test_mail_skips_the_telephone_registries_but_not_the_disclosure(lead, agent):
    registry = DncSourceFactory()
    dnc_numbers_add(source=registry, numbers=["9185550104"], as_of=registry.data_as_of)
    owner = lead.contacts.first()
    assert check(lead, agent, point=owner, channel=Channel.MAIL).verdict == Verdict.ALLOW
    assert check(lead, agent, point=owner, channel=Channel.MAIL, disclosed=False).rule_ids == ["D3"]


def test_every_check_is_recorded_allowed_or_not_and_none_writes_an_attempt(lead, agent):
    check(lead, agent)
    check(lead, agent, disclosed=False)
    assert ComplianceCheck.objects.count() == 2
    assert set(ComplianceCheck.objects.values_list("mode", flat=True)) == {CheckMode.LOG}
    assert OutreachAttempt.objects.count() == 0


def test_a_preview_asks_every_rule_and_records_nothing(lead, agent):
    """The outreach form's live verdict: the same rules, no evidence row (it decided nothing)."""
    point = lead.contacts.first().phones.first()
    preview = outreach_preview(lead=lead, contact_point=point, channel=Channel.CALL, purpose=Purpose.LISTING,
                               actor=agent, message="We can save your home")
    assert preview.verdict == Verdict.BLOCK and preview.check is None
    assert preview.rule_ids == ["D3", "F6"] and preview.channel == Channel.CALL
    assert not ComplianceCheck.objects.exists()


def test_checks_and_internal_entries_are_append_only_in_the_orm(lead, agent):
    check(lead, agent)
    row = ComplianceCheck.objects.get()
    entry = internal_dnc_add(phone_number="9185550104", channel=Channel.CALL, homeowner_words="no",
                             recorded_by=agent)
    for attempt in (
        lambda: row.save(),
        lambda: row.delete(),
        lambda: ComplianceCheck.objects.update(verdict=Verdict.BLOCK),
        lambda: ComplianceCheck.objects.all().delete(),
        lambda: entry.save(),
        lambda: InternalDncEntry.objects.filter(pk=entry.pk).delete(),
    ):
        with pytest.raises(AppendOnlyError):
            attempt()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_checks_are_append_only_in_postgresql_itself(lead, agent):
    check(lead, agent)
    for sql in ("UPDATE compliance_compliancecheck SET verdict = 'block'",
                "DELETE FROM compliance_compliancecheck"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql)
    assert ComplianceCheck.objects.get().verdict == Verdict.ALLOW


def test_registry_load_is_all_or_nothing(agent):
    registry = DncSourceFactory()
    with pytest.raises(Exception) as refused:
        dnc_numbers_add(source=registry, numbers=["9185550104", "garbage", "6025550101"],
                        as_of=registry.data_as_of)
    assert "line 2" in str(refused.value)
    assert registry.numbers.count() == 0


def test_d7_a_consented_number_never_checked_is_told_so_not_called_stale(lead, agent):
    from datetime import timedelta

    from django.utils import timezone

    from .factories import ConsentRecordFactory, ReassignedNumberCheckFactory

    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone, obtained_at=timezone.now() - timedelta(days=1))
    never = check(lead, agent, channel=Channel.SMS)
    assert "has never been checked in the Reassigned Numbers Database" in " ".join(never.reasons)
    assert "over" not in " ".join(never.reasons)
    ReassignedNumberCheckFactory(phone=phone, queried_at=timezone.now() - timedelta(days=400))
    stale = check(lead, agent, channel=Channel.SMS)
    assert "was last checked in the Reassigned Numbers Database over" in " ".join(stale.reasons)
