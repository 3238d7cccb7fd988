"""Click-to-call: the gate at the click, the provider's two legs, the result on the click's check."""

import sys
import types
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from compliance.models import Channel, ComplianceCheck, Verdict
from compliance.services import internal_dnc_add
from leadcrm.accounts.models import Brokerage
from pipeline.messaging import calls
from pipeline.models import Message, MessageStatus, Outcome, OutreachAttempt
from pipeline.outreach.services import CHECK_NOT_REUSABLE, OutreachBlocked, outreach_log
from tests.leads.factories import ContactFactory, PhoneFactory

from .conftest import AGENT_PHONE, SENDER


def checks_of(number):
    return ComplianceCheck.objects.filter(contact_point=number, mode="log")


@dataclass
class StubRecordingDecision:
    allowed: bool
    all_party_states: list = field(default_factory=list)
    reason: str = ""


@pytest.fixture
def recording(monkeypatch, brokerage):
    """The brokerage records calls; ``recording(...)`` says what the recording rules answer.
    A stand-in for compliance.recording.recording_decision (its signature, nothing more)."""
    Brokerage.objects.filter(pk=brokerage.pk).update(record_calls=True)
    asked = []

    def answer(**decision):
        def recording_decision(*, lead, phone, at, agent=None):
            asked.append((lead, phone, at))
            return StubRecordingDecision(**decision)
        monkeypatch.setitem(sys.modules, "compliance.recording",
                            types.SimpleNamespace(recording_decision=recording_decision))
        return asked
    return answer


# Through the Twilio stand-in ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_call_rings_the_agent_then_bridges_the_homeowner_showing_the_brokerage_number(
        lead, caller, phone, twilio_standin):
    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)

    [request] = twilio_standin.calls
    assert request.value("To") == AGENT_PHONE and request.value("From") == SENDER
    assert request.value("Url").endswith(reverse("messaging:call_bridge", args=[call.pk]))
    assert request.form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
    twilio_standin.wait_for_callbacks()
    assert {callback.status_code for callback in twilio_standin.callbacks} <= {200, 204}
    [twiml] = twilio_standin.bridges
    assert f'<Dial callerId="{SENDER}">' in twiml and f">{phone.number}</Number>" in twiml
    assert "<Say>" not in twiml and "record=" not in twiml and twilio_standin.announcements == []
    call.refresh_from_db()
    assert call.status == MessageStatus.COMPLETED and call.provider_id.startswith("CA")
    assert call.answered is True and call.duration_seconds == 42 and not call.recorded
    # The gate decided at the click; nothing is logged until the agent picks the result.
    assert call.compliance_check.verdict != Verdict.BLOCK and call.attempt is None
    assert not OutreachAttempt.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_homeowner_not_answering_ends_the_call_unanswered(lead, caller, phone, twilio_standin):
    twilio_standin.call_plan(AGENT_PHONE, homeowner_answers=False)

    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    twilio_standin.wait_for_callbacks()

    call.refresh_from_db()
    assert call.status == MessageStatus.NO_ANSWER and call.answered is False


@pytest.mark.django_db(transaction=True)
def test_agent_not_answering_never_dials_the_homeowner(lead, caller, phone, twilio_standin):
    twilio_standin.call_plan(AGENT_PHONE, agent_answers=False)

    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    twilio_standin.wait_for_callbacks()

    call.refresh_from_db()
    assert call.status == MessageStatus.NO_ANSWER and call.answered is False
    assert twilio_standin.bridges == []


@pytest.mark.django_db(transaction=True)
def test_call_refused_by_the_gate_places_nothing(lead, caller, phone, twilio_standin):
    internal_dnc_add(channel=Channel.CALL, phone_number=phone.number, homeowner_words="Stop calling me",
                     recorded_by=caller)

    with pytest.raises(OutreachBlocked) as blocked:
        calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)

    assert "B1" in blocked.value.decision.rule_ids
    assert twilio_standin.calls == [] and twilio_standin.texts == []  # D2 asked about the number only
    assert not Message.objects.exists()
    assert checks_of(phone.number).get().verdict == Verdict.BLOCK  # the refusal is evidence too


@pytest.mark.django_db(transaction=True)
def test_recorded_call_is_announced_and_recorded(lead, caller, phone, twilio_standin, recording):
    recording(allowed=True)

    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    twilio_standin.wait_for_callbacks()

    assert call.recorded and call.recording_note == calls.RECORDING_ON
    [twiml] = twilio_standin.bridges
    assert f"<Say>{calls.ANNOUNCEMENT}</Say>" in twiml and 'record="record-from-answer-dual"' in twiml
    # The homeowner hears it too, on answering, before the agent is connected.
    [announcement] = twilio_standin.announcements
    assert f"<Say>{calls.ANNOUNCEMENT}</Say>" in announcement


@pytest.mark.django_db(transaction=True)
def test_forged_bridge_request_is_refused(lead, caller, phone, twilio_standin, live_server, settings):
    settings.LEADCRM_TELEPHONY = "local"
    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    settings.LEADCRM_TELEPHONY = "twilio"
    url = live_server.url + reverse("messaging:call_bridge", args=[call.pk])

    params = {"CallSid": call.provider_id, "CallStatus": "in-progress"}

    forged = twilio_standin.post_signed(url, params, signature="Zm9yZ2Vk")
    another_call = twilio_standin.post_signed(url, {**params, "CallSid": "CA" + "9" * 32})
    signed = twilio_standin.post_signed(url, params)

    assert forged.status_code == 403 and "<Dial" not in forged.text
    assert another_call.status_code == 200 and "<Hangup />" in another_call.text and "<Dial" not in another_call.text
    assert signed.status_code == 200 and f">{phone.number}</Number>" in signed.text


# The gate and the log (local backend) -----------------------------------------------------


def test_result_is_logged_on_the_clicks_check_and_counts_once(lead, caller, phone, local_provider):
    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    assert call.status == MessageStatus.RINGING and call.provider == "local"
    call = calls.call_finish_local(message=call, answered=True)
    assert call.status == MessageStatus.COMPLETED and call.answered is True and call.duration_seconds == 60

    attempt = calls.call_result_log(message=call, outcome=Outcome.TALKED, actor=caller, role_disclosed=True,
                                    notes="Talked about the lender's timeline")

    call.refresh_from_db()
    assert call.attempt == attempt and attempt.compliance_check_id == call.compliance_check_id
    assert attempt.channel == Channel.CALL and attempt.phone == phone
    assert attempt.occurred_at == call.compliance_check.checked_at
    assert checks_of(phone.number).count() == 1  # one call, one check toward the caps (E2)
    with pytest.raises(ValidationError) as again:
        calls.call_result_log(message=call, outcome=Outcome.NO_ANSWER, actor=caller, role_disclosed=True)
    assert again.value.messages == [calls.ALREADY_LOGGED]
    assert OutreachAttempt.objects.count() == 1


def test_a_stop_request_picked_as_the_result_goes_on_the_internal_list(lead, caller, phone, local_provider):
    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)

    attempt = calls.call_result_log(message=call, outcome=Outcome.DNC_REQUEST, actor=caller, role_disclosed=True,
                                    homeowner_words="Take me off your list")

    assert attempt.stop_recorded
    with pytest.raises(OutreachBlocked) as blocked:
        calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    assert "B1" in blocked.value.decision.rule_ids


def test_no_phone_to_ring_is_refused_before_the_gate(lead, agent, phone, local_provider):
    with pytest.raises(ValidationError) as refused:
        calls.call_start(lead=lead, phone=phone, actor=agent, role_disclosed=True)

    assert refused.value.messages == [calls.NO_CALL_PHONE]
    assert not checks_of(phone.number).exists()


def test_provider_refusal_fails_the_call_with_its_reason(lead, caller, phone, local_provider, monkeypatch):
    from pipeline.messaging.providers import ProviderError
    from pipeline.messaging.providers.local import LocalTelephony

    def refuse(self, **kwargs):
        raise ProviderError("The 'To' number is not a valid phone number.", code="21211")
    monkeypatch.setattr(LocalTelephony, "place_call", refuse)

    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)

    assert call.status == MessageStatus.FAILED and call.failed and call.error_code == "21211"
    assert "not a valid phone number" in call.error_message


@pytest.mark.parametrize("consent", [False, True])
def test_all_party_state_records_only_with_the_homeowners_consent(lead, caller, phone, local_provider, recording,
                                                                   consent):
    recording(allowed=False, all_party_states=["CA"], reason="California requires every party's consent.")

    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True, recording_consent=consent)

    assert call.recorded is consent
    if not consent:
        assert "Not recorded: every party must consent in CA" in call.recording_note


@pytest.mark.parametrize("consent", [False, True])
def test_a_florida_homeowner_is_recorded_only_with_consent_by_the_real_rules(lead, caller, phone, local_provider,
                                                                            brokerage, consent):
    # No stand-in: compliance.recording reads the D8 table, where Florida needs every party.
    Brokerage.objects.filter(pk=brokerage.pk).update(record_calls=True)
    lead.property.state = "FL"
    lead.property.save(update_fields=["state"])

    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True, recording_consent=consent)

    assert call.recorded is consent
    if not consent:
        assert "every party must consent in FL" in call.recording_note


def test_recording_is_off_unless_the_brokerage_turns_it_on(lead, caller, phone, local_provider, monkeypatch):
    monkeypatch.setitem(sys.modules, "compliance.recording", None)  # never asked: importing it would fail

    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)

    assert call.recorded is False and call.recording_note == ""


def test_stale_bridge_hangs_up(lead, caller, phone, local_provider):
    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)

    twiml = calls.bridge_twiml(message=call, now=timezone.now() + calls.BRIDGE_WINDOW + timedelta(seconds=1))

    assert "<Hangup />" in twiml and "<Dial" not in twiml


def test_check_may_not_carry_another_numbers_or_an_old_call(lead, caller, phone, local_provider):
    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    other_phone = PhoneFactory(contact=ContactFactory(lead=lead), number="+19185550177")
    refused = CHECK_NOT_REUSABLE.format(hours=4)

    with pytest.raises(ValidationError) as other_number:
        outreach_log(lead=lead, channel=Channel.CALL, contact_point=other_phone, outcome=Outcome.TALKED,
                     actor=caller, role_disclosed=True, check=call.compliance_check)
    with pytest.raises(ValidationError) as as_a_text:
        outreach_log(lead=lead, channel=Channel.SMS, contact_point=phone, outcome=Outcome.SENT,
                     actor=caller, role_disclosed=True, check=call.compliance_check)
    with time_machine.travel(timezone.now() + timedelta(hours=4, minutes=1)), \
            pytest.raises(ValidationError) as too_old:
        calls.call_result_log(message=call, outcome=Outcome.TALKED, actor=caller, role_disclosed=True)

    assert other_number.value.messages == as_a_text.value.messages == too_old.value.messages == [refused]
    assert not OutreachAttempt.objects.exists()


# Pages ------------------------------------------------------------------------------------


def test_call_button_permissions(client_as, lead, caller, other_agent, phone, local_provider):
    url = reverse("messaging:call_start", args=[lead.pk])
    data = {"phone": phone.pk, "role_disclosed": "on"}

    anonymous = client_as(None).post(url, data)
    other = client_as(other_agent).post(url, data)
    owner = client_as(caller).post(url, data, HTTP_HX_REQUEST="true")

    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert other.status_code == 404
    assert owner.status_code == 200
    call = Message.objects.get(channel=Channel.CALL)
    assert f'data-call-status="{MessageStatus.RINGING}"' in owner.content.decode()
    assert reverse("messaging:call_result", args=[call.pk]) in owner.content.decode()
    assert Message.objects.count() == 1  # the other agent placed nothing
    assert client_as(other_agent).get(reverse("messaging:call_status", args=[call.pk])).status_code == 404
    assert client_as(caller).get(reverse("messaging:call_status", args=[call.pk])).status_code == 200


@pytest.mark.parametrize("who", ["team_lead", "broker"])
def test_team_lead_and_broker_may_call_the_lead(client_as, lead, phone, local_provider, request, who):
    user = request.getfixturevalue(who)
    user.call_phone = "+19185550166"
    user.save(update_fields=["call_phone"])

    response = client_as(user).post(reverse("messaging:call_start", args=[lead.pk]),
                                    {"phone": phone.pk, "role_disclosed": "on"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert Message.objects.get(channel=Channel.CALL).agent == user


def test_call_button_for_a_number_of_another_lead_is_404(client_as, lead, other_lead, caller, local_provider):
    foreign = other_lead.contacts.first().phones.first()

    response = client_as(caller).post(reverse("messaging:call_start", args=[lead.pk]), {"phone": foreign.pk})

    assert response.status_code == 404
    assert not Message.objects.exists()


def test_call_button_shows_the_gates_refusal(client_as, lead, caller, phone, local_provider):
    internal_dnc_add(channel=Channel.CALL, phone_number=phone.number, homeowner_words="Stop calling me",
                     recorded_by=caller)

    response = client_as(caller).post(reverse("messaging:call_start", args=[lead.pk]),
                                      {"phone": phone.pk, "role_disclosed": "on"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Not called: the compliance check blocked this call." in response.content.decode()
    assert "B1" in response.content.decode()
    assert not Message.objects.exists()


def test_result_page_logs_the_call(client_as, lead, caller, phone, local_provider):
    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    client = client_as(caller)
    client.post(reverse("messaging:call_local_finish", args=[call.pk]), {"answered": "0"})

    response = client.post(reverse("messaging:call_result", args=[call.pk]),
                           {"outcome": Outcome.NO_ANSWER, "role_disclosed": "on"})

    assert response.status_code == 302 and response["Location"].endswith(f"/leads/{lead.pk}/#timeline")
    call.refresh_from_db()
    assert call.status == MessageStatus.NO_ANSWER and call.attempt.outcome == Outcome.NO_ANSWER
    assert checks_of(phone.number).count() == 1


def test_a_call_is_never_sent_as_a_text(lead, caller, phone, local_provider):
    from pipeline.messaging.services import message_deliver, messages_sweep

    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    Message.objects.filter(pk=call.pk).update(status=MessageStatus.QUEUED)  # as if the request died before placing

    assert message_deliver(message_id=call.pk) is None
    assert messages_sweep(now=timezone.now() + timedelta(minutes=5))["requeued"] == 0
    call.refresh_from_db()
    assert call.status == MessageStatus.QUEUED


def test_result_without_the_promised_disclosure_is_refused(client_as, lead, caller, phone, local_provider):
    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)

    response = client_as(caller).post(reverse("messaging:call_result", args=[call.pk]),
                                      {"outcome": Outcome.TALKED}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "you told the homeowner who you are" in response.content.decode()
    assert not OutreachAttempt.objects.exists()
