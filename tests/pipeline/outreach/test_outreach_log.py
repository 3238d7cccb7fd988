"""``outreach_log``: the only writer of the outreach log, always behind the gate."""

import ast
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import connection  # noqa: F401 - read by a skipif condition below
from django.utils import timezone

from compliance.models import Channel, CheckMode, ComplianceCheck, InternalDncEntry, StopOrigin, Verdict
from compliance.services import dnc_numbers_add
from leads.models import PhoneStatus
from pipeline.models import FollowUp, Outcome, OutreachAttempt
from pipeline.outreach.services import OutreachBlocked, outreach_log

from ...compliance.factories import DncSourceFactory
from ...leadcrm.factories import AgentFactory
from ...leads.factories import PhoneFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


def log(lead, agent, outcome=Outcome.NO_ANSWER, disclosed=True, point=None, **kwargs):
    return outreach_log(
        lead=lead,
        channel=kwargs.pop("channel", Channel.CALL),
        contact_point=point or lead.contacts.first().phones.first(),
        outcome=outcome,
        actor=agent,
        role_disclosed=disclosed,
        **kwargs,
    )


def test_outreach_log_refuses_number_on_national_dnc_and_writes_no_attempt(lead, agent):
    registry = DncSourceFactory()
    dnc_numbers_add(source=registry, numbers=["9185550104"], as_of=registry.data_as_of)
    with pytest.raises(OutreachBlocked) as blocked:
        log(lead, agent)
    assert blocked.value.decision.rule_ids == ["A5"]
    assert OutreachAttempt.objects.count() == 0
    # The refusal itself is evidence, kept after the transaction.
    assert ComplianceCheck.objects.get().verdict == Verdict.BLOCK


def test_outreach_log_refuses_an_undisclosed_role_and_writes_no_attempt(lead, agent):
    with pytest.raises(OutreachBlocked) as blocked:
        log(lead, agent, disclosed=False)
    assert blocked.value.decision.rule_ids == ["D3"]
    assert OutreachAttempt.objects.count() == 0
    assert ComplianceCheck.objects.count() == 1


def test_an_allowed_attempt_points_at_the_check_it_passed(lead, agent):
    attempt = log(lead, agent, notes="No answer, no voicemail box.")
    assert attempt.compliance_check.verdict == Verdict.ALLOW
    assert attempt.compliance_check.mode == CheckMode.LOG
    assert attempt.contact_point == "+19185550104"
    assert (attempt.phone, attempt.contact) == (lead.contacts.first().phones.first(), lead.contacts.first())


def test_talking_to_the_homeowner_sets_last_contact_and_rescoring(lead, agent):
    log(lead, agent, outcome=Outcome.TALKED)
    lead.refresh_from_db()
    assert lead.last_contacted_at is not None
    assert any("contacted in the last 2 days" in reason for reason in lead.score_reasons)


def test_wrong_number_marks_that_phone_wrong_party_and_blocks_the_next_call(lead, agent):
    log(lead, agent, outcome=Outcome.WRONG_NUMBER)
    phone = lead.contacts.first().phones.first()
    phone.refresh_from_db()
    assert phone.status == PhoneStatus.WRONG_PARTY
    with pytest.raises(OutreachBlocked) as blocked:
        log(lead, agent)
    assert blocked.value.decision.rule_ids == ["D7"]


def test_bad_number_marks_only_that_phone_bad(lead, agent):
    second = PhoneFactory(contact=lead.contacts.first(), number="+19185550111")
    log(lead, agent, outcome=Outcome.BAD_NUMBER)
    second.refresh_from_db()
    assert lead.contacts.first().phones.get(number="+19185550104").status == PhoneStatus.BAD
    assert second.status == PhoneStatus.GOOD


def test_a_do_not_call_request_puts_the_number_on_the_internal_list_for_everyone(lead, agent):
    log(lead, agent, outcome=Outcome.DNC_REQUEST, homeowner_words="Don't call this number again.")
    entry = InternalDncEntry.objects.exclude(origin=StopOrigin.COVERED).get()
    assert (entry.phone_number, entry.recorded_by, entry.homeowner_words) == (
        "+19185550104", agent, "Don't call this number again."
    )
    with pytest.raises(OutreachBlocked) as blocked:
        log(lead, AgentFactory())
    assert blocked.value.decision.rule_ids == ["B1"]


def test_a_stop_request_at_the_door_covers_the_door_every_number_and_the_mail(lead, agent):
    PhoneFactory(contact=lead.contacts.first(), number="+19185550111")
    log(lead, agent, outcome=Outcome.DNC_REQUEST, channel=Channel.DOOR, point=lead.property,
        homeowner_words="Leave us alone.")
    assert set(InternalDncEntry.objects.exclude(phone_number="").values_list("phone_number", flat=True)) == {
        "+19185550104", "+19185550111"
    }
    assert lead.property.address_key in set(InternalDncEntry.objects.values_list("postal_address", flat=True))
    assert lead.contacts.first().do_not_mail
    for channel, point in ((Channel.DOOR, lead.property), (Channel.MAIL, lead.contacts.first()),
                           (Channel.SMS, None)):
        with pytest.raises(OutreachBlocked) as blocked:
            log(lead, AgentFactory(), outcome=Outcome.TALKED if channel == Channel.DOOR else Outcome.SENT,
                channel=channel, point=point)
        assert "B1" in blocked.value.decision.rule_ids


def test_b1_a_stop_request_is_recorded_even_when_the_attempt_is_blocked(lead, agent):
    # given an agent who forgot to confirm the disclosure
    with pytest.raises(OutreachBlocked) as blocked:
        log(lead, agent, outcome=Outcome.DNC_REQUEST, disclosed=False, homeowner_words="Stop calling.")
    # then the attempt is refused, but the homeowner's request is honoured for everyone
    assert blocked.value.stop_recorded
    assert OutreachAttempt.objects.count() == 0
    assert InternalDncEntry.objects.exclude(origin=StopOrigin.COVERED).get().phone_number == "+19185550104"


def test_b1_a_mail_stop_survives_unticking_do_not_mail(lead, agent):
    owner = lead.contacts.first()
    log(lead, agent, outcome=Outcome.DNC_REQUEST, channel=Channel.MAIL, point=owner,
        homeowner_words="Reply card: take me off your mailing list.")
    owner.refresh_from_db()
    owner.do_not_mail = False  # someone edits the list flag back
    owner.save()
    with pytest.raises(OutreachBlocked) as blocked:
        log(lead, agent, outcome=Outcome.SENT, channel=Channel.MAIL, point=owner)
    assert blocked.value.decision.rule_ids == ["B1"]


def test_a_stop_request_on_a_typed_number_is_recorded(lead, agent):
    attempt = log(lead, agent, outcome=Outcome.DNC_REQUEST, point="(918) 555-0177", homeowner_words="stop")
    assert attempt.contact_point == "+19185550177"
    assert InternalDncEntry.objects.get().phone_number == "+19185550177"


@pytest.mark.parametrize(("channel", "outcome"), [
    (Channel.MAIL, Outcome.TALKED), (Channel.EMAIL, Outcome.LEFT_VOICEMAIL), (Channel.DOOR, Outcome.SENT),
])
def test_outcomes_that_a_channel_cannot_have_are_refused(lead, agent, channel, outcome):
    point = {Channel.MAIL: lead.contacts.first(), Channel.DOOR: lead.property}.get(channel, "x@example.com")
    with pytest.raises(ValidationError) as refused:
        log(lead, agent, outcome=outcome, channel=channel, point=point)
    assert "is not a result of" in str(refused.value)
    assert ComplianceCheck.objects.count() == 0


def test_a_do_not_call_request_needs_the_homeowners_words(lead, agent):
    with pytest.raises(ValidationError):
        log(lead, agent, outcome=Outcome.DNC_REQUEST)


def test_the_check_is_committed_on_its_own_so_no_caller_can_roll_it_back(lead, agent):
    from django.db import transaction

    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        log(lead, agent)


@pytest.fixture
def attempt_on_blocked_check(lead, agent):
    """An attempt built by hand around a check that blocked: what no code may save."""
    from compliance.services import outreach_check

    blocked = outreach_check(lead=lead, contact_point=lead.contacts.first().phones.first(), channel=Channel.CALL,
                             purpose="short_sale_listing", actor=agent, role_disclosed=False)
    return OutreachAttempt(lead=lead, contact_point="+19185550104", channel=Channel.CALL, outcome=Outcome.TALKED,
                           role_disclosed=False, agent=agent, compliance_check=blocked.check)


def test_an_attempt_cannot_ride_on_a_blocked_check(attempt_on_blocked_check):
    with pytest.raises(ValidationError, match="did not block"):
        attempt_on_blocked_check.full_clean()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_an_attempt_whose_check_blocked_even_past_the_orm(attempt_on_blocked_check):
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError, match="did not pass"), transaction.atomic():
        OutreachAttempt.objects.bulk_create([attempt_on_blocked_check])  # skips save() and clean()
    assert OutreachAttempt.objects.count() == 0


def test_the_next_follow_up_is_set_in_the_same_step(lead, agent):
    due = timezone.now() + timedelta(days=2)
    log(lead, agent, outcome=Outcome.LEFT_VOICEMAIL, follow_up_at=due, follow_up_title="Call back Tuesday")
    follow_up = FollowUp.objects.get()
    lead.refresh_from_db()
    assert (follow_up.title, follow_up.assignee, follow_up.due_at) == ("Call back Tuesday", agent, due)
    assert lead.next_follow_up_at == due


def test_a_blocked_attempt_sets_no_follow_up(lead, agent):
    with pytest.raises(OutreachBlocked):
        log(lead, agent, disclosed=False, follow_up_at=timezone.now() + timedelta(days=1))
    assert FollowUp.objects.count() == 0


def test_future_attempts_and_phone_outcomes_without_a_phone_are_refused(lead, agent):
    with pytest.raises(ValidationError):
        log(lead, agent, occurred_at=timezone.now() + timedelta(minutes=5))
    with pytest.raises(ValidationError):
        log(lead, agent, outcome=Outcome.WRONG_NUMBER, channel=Channel.MAIL, point=lead.contacts.first())


def test_an_attempt_older_than_the_call_records_retention_is_refused(lead, agent, settings):
    settings.LEADCRM_RETENTION_MONTHS = "outreach_attempt=72"
    # The checks keep 60 months: a call 61 months back would leave a check in a dropped month.
    with pytest.raises(ValidationError, match="past the call records' retention of 60 months"):
        log(lead, agent, occurred_at=timezone.now() - timedelta(days=61 * 31))
    assert not OutreachAttempt.objects.exists()
    assert log(lead, agent, occurred_at=timezone.now() - timedelta(hours=1)).pk


def test_a_mistake_is_fixed_by_an_appended_correction(lead, agent):
    wrong = log(lead, agent, outcome=Outcome.NO_ANSWER)
    fixed = log(lead, agent, outcome=Outcome.LEFT_VOICEMAIL, corrects=wrong, notes="Correction: left a message.")
    assert list(wrong.corrections.all()) == [fixed]
    assert OutreachAttempt.objects.count() == 2


def test_nothing_but_outreach_log_creates_an_outreach_attempt():
    """Every construction of OutreachAttempt in the code base is in pipeline/outreach/services.py."""
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        if any(part in {".venv", "tests", "migrations", "bench"} for part in path.parts):
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            writes = (
                isinstance(node, ast.Call)
                and (
                    (isinstance(node.func, ast.Name) and node.func.id == "OutreachAttempt")
                    or (isinstance(node.func, ast.Attribute) and node.func.attr in {"create", "bulk_create", "get_or_create", "update_or_create"}
                        and "OutreachAttempt" in ast.unparse(node.func.value))
                )
            )
            if writes:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert [offender.split(":")[0] for offender in offenders] == ["pipeline/outreach/services.py"], offenders


def test_do_not_contact_puts_every_number_and_email_of_that_owner_on_the_internal_list(lead, agent):
    from compliance.models import InternalDncEntry

    from ...leads.factories import ContactFactory, EmailFactory, PhoneFactory

    owner = lead.contacts.first()
    second = PhoneFactory(contact=owner, number="+19185550177", position=2)
    email = EmailFactory(contact=owner)
    co_owner_phone = PhoneFactory(contact=ContactFactory(lead=lead, position=2), number="+19185550178")
    outreach_log(lead=lead, channel=Channel.CALL, contact_point=owner.phones.first(),
                 outcome=Outcome.DO_NOT_CONTACT, actor=agent, role_disclosed=True,
                 homeowner_words="Don't contact me again, any way.")
    listed = set(InternalDncEntry.objects.values_list("phone_number", flat=True)) - {""}
    assert listed == {"+19185550104", second.number}
    assert InternalDncEntry.objects.filter(email=email.address).exists()
    owner.refresh_from_db()
    assert owner.do_not_mail
    assert co_owner_phone.number not in listed  # the co-owner did not ask


def test_do_not_contact_needs_the_homeowners_words(lead, agent):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        outreach_log(lead=lead, channel=Channel.CALL, contact_point=lead.contacts.first().phones.first(),
                     outcome=Outcome.DO_NOT_CONTACT, actor=agent, role_disclosed=True)
