"""D2 caller ID: a call shows a number of ours that answers on our voice line, or nothing is placed.

Through the Twilio stand-in (its IncomingPhoneNumbers list) and the local backend.
"""

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from compliance.models import ComplianceCheck
from leadcrm.accounts.models import User
from pipeline.messaging import calls
from pipeline.messaging.caller_id import (
    CALLER_ID_BLOCKED,
    CALLER_ID_NOT_E164,
    CALLER_ID_REFUSED,
    caller_id_refusal,
    voice_url,
)
from pipeline.messaging.providers import twilio as twilio_provider
from pipeline.messaging.providers.local import LOCAL_NUMBER
from pipeline.models import Message, MessageStatus

from .conftest import SENDER

OWN_NUMBER = "+19185550777"


def refused_with_d2(lead, phone, caller) -> str:
    with pytest.raises(ValidationError) as refused:
        calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)
    [message] = refused.value.messages
    assert "(D2)" in message and refused.value.code == "D2"
    # Nothing placed, nothing recorded: a click that cannot become a call counts toward no cap.
    assert not Message.objects.exists()
    assert not ComplianceCheck.objects.filter(contact_point=phone.number).exists()
    return message


# Through the Twilio stand-in ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_d2_number_held_and_answering_on_our_voice_line_places_the_call(lead, caller, phone, twilio_standin):
    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)

    [asked] = [r for r in twilio_standin.requests if "IncomingPhoneNumbers" in r.path]
    assert asked.method == "GET" and "PhoneNumber=%2B15005550006" in asked.path and asked.authorised
    [placed] = twilio_standin.calls
    assert placed.value("From") == SENDER and call.from_address == SENDER
    twilio_standin.wait_for_callbacks()
    [twiml] = twilio_standin.bridges
    assert f'<Dial callerId="{SENDER}">' in twiml  # the number checked is the one the homeowner sees


@pytest.mark.django_db(transaction=True)
def test_d2_answer_is_kept_briefly_so_a_click_makes_no_round_trip(lead, caller, phone, twilio_standin):
    assert caller_id_refusal(SENDER) == ""
    assert caller_id_refusal(SENDER) == ""

    asked = [r for r in twilio_standin.requests if "IncomingPhoneNumbers" in r.path]
    assert len(asked) == 1


@pytest.mark.django_db(transaction=True)
def test_d2_refuses_a_number_the_account_does_not_hold(lead, caller, phone, twilio_standin):
    twilio_standin.release_number(SENDER)

    message = refused_with_d2(lead, phone, caller)

    assert message == CALLER_ID_REFUSED.format(number=SENDER, reason=twilio_provider.NOT_HELD)
    assert twilio_standin.calls == []


@pytest.mark.django_db(transaction=True)
def test_d2_refuses_a_number_whose_calls_go_elsewhere(lead, caller, phone, twilio_standin):
    twilio_standin.hold_number(SENDER, voice_url="https://old-crm.example.com/voice")

    message = refused_with_d2(lead, phone, caller)

    assert "https://old-crm.example.com/voice" in message and voice_url() in message
    assert twilio_standin.calls == []


@pytest.mark.django_db(transaction=True)
def test_d2_refuses_a_voice_url_without_its_trailing_slash(lead, caller, phone, twilio_standin):
    # Django answers that address's POST with an APPEND_SLASH redirect: the caller hears an error.
    twilio_standin.hold_number(SENDER, voice_url=voice_url().rstrip("/"))

    message = refused_with_d2(lead, phone, caller)

    assert message == CALLER_ID_REFUSED.format(number=SENDER, reason=twilio_provider.ANSWERS_ELSEWHERE.format(
        found=voice_url().rstrip("/"), expected=voice_url()))
    assert twilio_standin.calls == []


@pytest.mark.django_db(transaction=True)
def test_d2_refuses_a_number_that_posts_to_us_by_get(lead, caller, phone, twilio_standin):
    # Our voice line answers POST only: a GET is a 405, and no stop is taken.
    twilio_standin.hold_number(SENDER, voice_url=voice_url(), voice_method="GET")

    message = refused_with_d2(lead, phone, caller)

    assert message == CALLER_ID_REFUSED.format(number=SENDER,
                                               reason=twilio_provider.ANSWERS_BY_GET.format(found="GET"))
    assert twilio_standin.calls == []


@pytest.mark.django_db(transaction=True)
def test_d2_refuses_a_number_answered_by_a_twiml_app(lead, caller, phone, twilio_standin):
    twilio_standin.hold_number(SENDER, voice_url=voice_url(), voice_application_sid="AP" + "1" * 32)

    message = refused_with_d2(lead, phone, caller)

    assert "TwiML app" in message
    assert twilio_standin.calls == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("down", ["error", "refused"])
def test_d2_provider_down_refuses_the_call_and_is_not_remembered(lead, caller, phone, twilio_standin, settings,
                                                                 down):
    if down == "error":
        twilio_standin.next_request("error", status=503, code="20503")
    else:
        up, settings.TWILIO_API_BASE_URL = settings.TWILIO_API_BASE_URL, "http://127.0.0.1:9"

    message = refused_with_d2(lead, phone, caller)

    assert "could not tell whether +15005550006 answers on our voice line" in message
    assert twilio_standin.calls == []
    if down == "refused":
        settings.TWILIO_API_BASE_URL = up
    # Up again: asked again (a failure is never kept), and the call goes out.
    assert calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True).provider_id


@pytest.mark.django_db(transaction=True)
def test_d2_refuses_a_blocked_caller_id(lead, caller, phone, twilio_standin, settings):
    # A messaging service alone sends texts; a call would show no number of ours.
    settings.TWILIO_NUMBERS = []
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32

    assert refused_with_d2(lead, phone, caller) == CALLER_ID_BLOCKED
    assert twilio_standin.requests == []


# The local backend ------------------------------------------------------------------------------


def test_d2_local_backend_passes_its_own_number(lead, caller, phone, local_provider):
    assert caller_id_refusal(LOCAL_NUMBER) == ""

    call = calls.call_start(lead=lead, phone=phone, actor=caller, role_disclosed=True)

    assert call.from_address == LOCAL_NUMBER and call.status == MessageStatus.RINGING


def test_d2_local_backend_refuses_a_number_it_does_not_have(lead, caller, phone, local_provider):
    User.objects.filter(pk=caller.pk).update(sending_number=OWN_NUMBER)
    caller.refresh_from_db()

    assert "not one of the local backend's numbers" in refused_with_d2(lead, phone, caller)


def test_d2_refuses_a_caller_id_not_in_e164(lead, caller, phone, local_provider):
    # Saved around the form's validation (an import, the shell): still never shown to a homeowner.
    User.objects.filter(pk=caller.pk).update(sending_number="9185550777")
    caller.refresh_from_db()

    assert refused_with_d2(lead, phone, caller) == CALLER_ID_NOT_E164.format(number="9185550777")


def test_d2_refusal_shows_on_the_call_button(client_as, lead, caller, phone, local_provider):
    User.objects.filter(pk=caller.pk).update(sending_number=OWN_NUMBER)

    response = client_as(caller).post(reverse("messaging:call_start", args=[lead.pk]),
                                      {"phone": phone.pk, "role_disclosed": "on"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Not called (D2)" in response.content.decode()
    assert not Message.objects.exists()


# The broker's check ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_d2_check_command_lists_each_number_and_why_it_fails(agent, twilio_standin, capsys):
    User.objects.filter(pk=agent.pk).update(sending_number=OWN_NUMBER)
    twilio_standin.hold_number(OWN_NUMBER, voice_url="https://old-crm.example.com/voice")

    with pytest.raises(CommandError):
        call_command("caller_id_check")

    out = capsys.readouterr().out
    assert f"{SENDER}  (the shared pool)  passes D2: answers on our voice line" in out
    assert f"{OWN_NUMBER}  ({agent.username})  Not called (D2)" in out and "old-crm.example.com" in out
    assert voice_url() in out


@pytest.mark.django_db(transaction=True)
def test_d2_check_command_passes_when_every_number_answers(db, twilio_standin, capsys):
    call_command("caller_id_check")

    assert "passes D2" in capsys.readouterr().out
