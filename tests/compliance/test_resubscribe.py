"""START after STOP re-opens texts only where the rules allow (B4; docs/compliance-rules.md#b4):
only texts, only from the same number, only when every stop on file was texted from it
before the START. The internal list itself never changes (B2)."""

import contextlib
from datetime import timedelta

import pytest
from django.utils import timezone

from compliance.gate import (
    START_NOT_FOR_CHANNEL,
    STOP_AFTER_START,
    STOP_NOT_TEXTED,
    STOP_ON_REVIEW,
    STOP_SAID_ELSEWHERE,
    STOP_WHOLE_CONTACT,
)
from compliance.models import (
    Channel,
    ComplianceCheck,
    InternalDncEntry,
    Purpose,
    StopOrigin,
    TextResubscription,
    Verdict,
)
from compliance.services import (
    internal_dnc_add,
    outreach_preview,
    revocation_review_decide,
    revocation_review_raise,
    stop_request_record,
    text_resubscribe,
)
from leadcrm.accounts.services import automation_user
from leads.models import Phone
from pipeline.messaging.providers.base import InboundText
from pipeline.messaging.services import inbound_text_receive, message_deliver, text_send
from pipeline.models import InboxState, Message, MessageStatus, Outcome
from pipeline.outreach.services import OutreachBlocked, outreach_log

from .factories import ConsentRecordFactory, ReassignedNumberCheckFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def phone(lead):
    """The lead's number, with written consent to texts and a fresh reassigned-numbers "no"."""
    phone = lead.contacts.first().phones.first()
    ConsentRecordFactory(phone=phone)
    ReassignedNumberCheckFactory(phone=phone)
    return phone


@pytest.fixture
def local_provider(settings):
    settings.LEADCRM_TELEPHONY = "local"


def minutes_ago(minutes: int):
    return timezone.now() - timedelta(minutes=minutes)


def verdict(lead, phone, agent, channel=Channel.SMS):
    return outreach_preview(lead=lead, contact_point=phone, channel=channel, purpose=Purpose.LISTING,
                            actor=agent, role_disclosed=True)


def texted_stop(lead, phone, agent, at):
    """The homeowner's STOP, as an inbound text files it: through the log, on that number."""
    from pipeline.messaging.keywords import read_inbound

    outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.REPLIED, actor=agent,
                 role_disclosed=True, purpose=Purpose.FOLLOW_UP, notes="STOP", homeowner_words="STOP",
                 occurred_at=at, direction="inbound", revocation=read_inbound("STOP").revocation)


def test_a_text_stop_an_agent_logs_by_hand_is_not_lifted_by_start(lead, agent, phone):
    # The agent's account of a text ("they texted me to stop") is not the homeowner's own text.
    from pipeline.outreach.services import OutreachBlocked

    with contextlib.suppress(OutreachBlocked):  # no consent on file here: refused, its stop recorded (B1)
        outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.DNC_REQUEST, actor=agent,
                     role_disclosed=True, homeowner_words="Texted me: stop", occurred_at=minutes_ago(5))
    assert InternalDncEntry.objects.filter(phone_number=phone.number).exists()
    texted_start(lead, phone, minutes_ago(3))

    assert not verdict(lead, phone, agent).allowed


def texted_start(lead, phone, at, message_id=None):
    return text_resubscribe(phone_number=phone.number, words="START", lead=lead, at=at,
                            recorded_by=automation_user(), message_id=message_id)


def internal_reason(decision) -> str:
    return next(finding.reason for finding in decision.findings if finding.rule == "B1")


# End to end, through the provider seam -------------------------------------------------------


def inbound(phone, body, provider_id, at, to="+15005550006"):
    return inbound_text_receive(provider="local", inbound=InboundText(
        provider_id=provider_id, from_number=phone.number, to_number=to, body=body, received_at=at))


def test_stop_by_text_then_start_lets_the_next_text_go_and_still_refuses_the_next_call(
        lead, agent, phone, local_provider):
    # given a text that went out, and the homeowner's STOP
    sent = message_deliver(message_id=text_send(lead=lead, phone=phone, body="Hi, this is Ana with Sunbelt Test Realty",
                                                actor=agent, role_disclosed=True).pk)
    inbound(phone, "STOP", "SM-stop", minutes_ago(2), to=sent.from_address)
    entry = InternalDncEntry.objects.get(phone_number=phone.number)
    assert (entry.channel, entry.origin) == (Channel.SMS, StopOrigin.TEXT_REPLY)
    with pytest.raises(OutreachBlocked):
        text_send(lead=lead, phone=phone, body="Hi again, Ana at Sunbelt Test Realty", actor=agent, role_disclosed=True)

    # when the homeowner texts START from the same number
    start = inbound(phone, "Start.", "SM-start", minutes_ago(1), to=sent.from_address)

    # then the START is on file, the internal list unchanged, and the next text goes
    resubscription = TextResubscription.objects.get()
    assert (resubscription.phone_number, resubscription.lead, resubscription.message_id) == (
        phone.number, lead, start.pk)
    assert list(InternalDncEntry.objects.filter(phone_number=phone.number)) == [entry]
    message = text_send(lead=lead, phone=phone, body="Thanks for coming back, Ana here at Sunbelt Test Realty", actor=agent,
                        role_disclosed=True)
    assert message.status == MessageStatus.QUEUED
    check = ComplianceCheck.objects.get(pk=message.attempt.compliance_check_id)
    assert check.evidence["text_resubscription"] == {
        "id": resubscription.pk, "received_at": resubscription.received_at.isoformat(),
        "lifted_entries": [entry.pk]}

    # and a call is still refused, saying why the START did not lift it
    with pytest.raises(OutreachBlocked) as blocked:
        outreach_log(lead=lead, channel=Channel.CALL, contact_point=phone, outcome=Outcome.NO_ANSWER,
                     actor=agent, role_disclosed=True)
    assert blocked.value.decision.rule_ids == ["B1"]
    assert START_NOT_FOR_CHANNEL.format(channel="phone call") in internal_reason(blocked.value.decision)


def test_a_replayed_start_is_recorded_once(lead, agent, phone, local_provider):
    texted_stop(lead, phone, agent, minutes_ago(3))
    first = inbound(phone, "START", "SM-1", minutes_ago(1))
    again = inbound(phone, "START", "SM-1", minutes_ago(1))
    assert first.pk == again.pk
    assert TextResubscription.objects.count() == 1
    assert texted_start(lead, phone, minutes_ago(1), message_id=first.pk) == TextResubscription.objects.get()


def test_a_start_from_a_number_no_lead_has_is_kept_from_the_inbox(db, local_provider):
    # given a STOP and a START from a number no lead has: both wait in the inbox
    stranger = Phone(number="+19185550177")
    inbound(stranger, "STOP", "SM-a", minutes_ago(2))
    inbound(stranger, "unstop", "SM-b", minutes_ago(1))

    assert Message.objects.filter(inbox_state=InboxState.UNMATCHED).count() == 2
    assert InternalDncEntry.objects.get(phone_number=stranger.number).origin == StopOrigin.TEXT_REPLY
    resubscription = TextResubscription.objects.get()
    assert (resubscription.phone_number, resubscription.lead, resubscription.words) == (
        stranger.number, None, "unstop")


# The gate's rule, case by case ---------------------------------------------------------------


def test_a_stop_said_on_a_call_is_not_lifted_by_a_texted_start(lead, agent, phone):
    stop_request_record(lead=lead, channel=Channel.CALL, contact_point=phone, homeowner_words="Don't call me again",
                        recorded_by=agent, at=minutes_ago(5))
    assert verdict(lead, phone, agent).verdict == Verdict.BLOCK

    texted_start(lead, phone, minutes_ago(1))

    decision = verdict(lead, phone, agent)
    assert decision.verdict == Verdict.BLOCK and decision.rule_ids == ["B1"]
    reason = internal_reason(decision)
    assert "texted \u201cSTART\u201d from it" in reason
    assert STOP_SAID_ELSEWHERE.format(date=minutes_ago(5).date().isoformat(), how="on a call") in reason
    assert decision.evidence["text_resubscription"]["lifted_entries"] == []


def test_start_then_stop_again_blocks(lead, agent, phone):
    texted_stop(lead, phone, agent, minutes_ago(5))
    texted_start(lead, phone, minutes_ago(3))
    assert verdict(lead, phone, agent).allowed

    texted_stop(lead, phone, agent, minutes_ago(1))

    decision = verdict(lead, phone, agent)
    assert decision.verdict == Verdict.BLOCK
    assert STOP_AFTER_START.format(date=minutes_ago(1).date().isoformat()) in internal_reason(decision)


def test_a_later_start_lifts_both_texted_stops(lead, agent, phone):
    texted_stop(lead, phone, agent, minutes_ago(9))
    texted_start(lead, phone, minutes_ago(7))
    texted_stop(lead, phone, agent, minutes_ago(5))
    texted_start(lead, phone, minutes_ago(3))

    decision = verdict(lead, phone, agent)
    assert decision.allowed
    assert len(decision.evidence["text_resubscription"]["lifted_entries"]) == 2


def test_a_start_with_no_stop_changes_nothing(lead, agent, phone):
    before = verdict(lead, phone, agent)

    texted_start(lead, phone, minutes_ago(1))

    after = verdict(lead, phone, agent)
    assert (after.verdict, after.rule_ids) == (before.verdict, before.rule_ids)
    assert "text_resubscription" not in after.evidence
    assert not InternalDncEntry.objects.exists()


def test_a_start_texted_in_the_same_moment_as_the_stop_does_not_lift_it(lead, agent, phone):
    at = minutes_ago(2)
    texted_stop(lead, phone, agent, at)
    texted_start(lead, phone, at)
    assert verdict(lead, phone, agent).verdict == Verdict.BLOCK


def test_a_stop_decided_on_review_is_not_lifted(lead, agent, broker, phone):
    review = revocation_review_raise(lead=lead, contact_point=phone, text="no mas", matched="no mas",
                                     raised_by=agent, at=minutes_ago(5))
    revocation_review_decide(review=review, revoked=True, reviewed_by=broker)
    assert InternalDncEntry.objects.exclude(origin=StopOrigin.COVERED).get().origin == StopOrigin.REVIEW

    texted_start(lead, phone, minutes_ago(1))

    decision = verdict(lead, phone, agent)
    assert decision.verdict == Verdict.BLOCK
    assert STOP_ON_REVIEW.format(date=minutes_ago(5).date().isoformat(), who=broker) in internal_reason(decision)


def test_do_not_contact_at_all_is_not_lifted_even_when_said_by_text(lead, agent, phone):
    stop_request_record(lead=lead, channel=Channel.SMS, contact_point=phone, homeowner_words="Never contact me",
                        recorded_by=agent, at=minutes_ago(5), whole_contact=True)
    assert {entry.origin for entry in InternalDncEntry.objects.all()} == {StopOrigin.WHOLE_CONTACT}

    texted_start(lead, phone, minutes_ago(1))

    decision = verdict(lead, phone, agent)
    assert decision.verdict == Verdict.BLOCK
    assert STOP_WHOLE_CONTACT.format(date=minutes_ago(5).date().isoformat()) in internal_reason(decision)


def test_a_text_channel_entry_added_by_hand_is_not_lifted(lead, agent, team_lead, phone):
    internal_dnc_add(channel=Channel.SMS, phone_number=phone.number, homeowner_words="She texted me to stop",
                     recorded_by=team_lead, requested_at=minutes_ago(5))

    texted_start(lead, phone, minutes_ago(1))

    decision = verdict(lead, phone, agent)
    assert decision.verdict == Verdict.BLOCK
    assert STOP_NOT_TEXTED.format(date=minutes_ago(5).date().isoformat(), who=team_lead) in internal_reason(decision)


def test_a_start_from_another_number_lifts_nothing(lead, agent, phone):
    texted_stop(lead, phone, agent, minutes_ago(5))

    text_resubscribe(phone_number="+19185550199", words="START", lead=lead, at=minutes_ago(1),
                     recorded_by=automation_user())

    assert verdict(lead, phone, agent).verdict == Verdict.BLOCK


def test_a_start_dated_after_the_attempt_lifts_nothing(lead, agent, phone):
    texted_stop(lead, phone, agent, minutes_ago(5))
    texted_start(lead, phone, timezone.now() + timedelta(minutes=5))
    assert verdict(lead, phone, agent).verdict == Verdict.BLOCK


def test_the_other_rules_still_apply_after_a_start(lead, agent):
    # given a number with no written consent to texts (D5)
    phone = lead.contacts.first().phones.first()
    texted_stop(lead, phone, agent, minutes_ago(5))
    texted_start(lead, phone, minutes_ago(1))

    decision = verdict(lead, phone, agent)

    # then the internal list no longer refuses the text, and D5 still does
    assert decision.verdict == Verdict.BLOCK
    assert decision.rule_ids == ["D5"]


def test_the_internal_list_entries_are_untouched(lead, agent, phone):
    texted_stop(lead, phone, agent, minutes_ago(5))
    before = list(InternalDncEntry.objects.values())

    texted_start(lead, phone, minutes_ago(1))

    assert list(InternalDncEntry.objects.values()) == before
    phone.refresh_from_db()
    assert phone.on_dnc_list  # calls stay refused: the flag the lists show still says so
