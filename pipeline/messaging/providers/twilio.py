"""The Twilio backend: texts and bridged calls through Twilio's own library.

Credentials come from the environment (``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``);
``TWILIO_API_BASE_URL`` points the library elsewhere (the test stand-in on 127.0.0.1).
What went wrong is told apart by what it means for a second try (docs/messaging.md):
Twilio said no (final), Twilio said "not now" and took nothing (retryable), or the
request left and no answer came back (outcome unknown: never sent again).
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from .base import TWILIO_STATUSES, CallerIdStatus, ProviderError, Sent, TelephonyProvider

logger = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
REQUEST_TIMEOUT_SECONDS = 10
NOT_CONFIGURED = "LEADCRM_TELEPHONY is 'twilio' but TWILIO_ACCOUNT_SID or TWILIO_AUTH_TOKEN is not set."
UNREACHABLE = "Twilio could not be reached ({error}); nothing was sent. It will be tried again."
NO_ANSWER = ("Twilio did not answer in time ({error}): the request may have been taken, so it is "
             "not sent again.")
# Twilio's "not now": too many requests, a full queue. Nothing was sent.
RETRYABLE_CODES = frozenset({"20429", "20503", "30001"})
NOT_HELD = "not a number of this Twilio account"
ANSWERS_ELSEWHERE = "its \"A call comes in\" address is {found}, not our voice line {expected}"
ANSWERS_BY_APP = "calls to it go to a TwiML app or a SIP trunk, not our voice line {expected}"
ANSWERS_BY_GET = ("its \"A call comes in\" method is {found}, not HTTP POST: our voice line answers POST only "
                  "(set it to HTTP POST)")
# Events a bridged call reports to its status callback.
CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


class ApiBaseHttpClient(TwilioHttpClient):
    """Twilio's HTTP client, sending to ``TWILIO_API_BASE_URL`` instead of api.twilio.com."""

    def __init__(self, *, base_url: str, timeout: float | None = None):
        super().__init__(timeout=timeout or REQUEST_TIMEOUT_SECONDS)
        self.base_url = base_url.rstrip("/")

    def request(self, method, url, *args, **kwargs):
        if self.base_url != TWILIO_API and url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


class TwilioTelephony(TelephonyProvider):
    name = "twilio"

    def __init__(self):
        if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
            raise ImproperlyConfigured(NOT_CONFIGURED)
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = Client(self.account_sid, self.auth_token,
                                  http_client=ApiBaseHttpClient(base_url=settings.TWILIO_API_BASE_URL))
        return self._client

    def send_text(self, *, to, from_, body, status_callback) -> Sent:
        params = {"to": to, "body": body, "status_callback": status_callback}
        if settings.TWILIO_MESSAGING_SERVICE_SID:
            # The service picks the sender from its pool (and keeps a homeowner on one number).
            params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
            if from_:
                params["from_"] = from_
        else:
            params["from_"] = from_
        message = self._ask(lambda: self.client.messages.create(**params))
        return Sent(provider_id=message.sid, status=TWILIO_STATUSES.get(message.status or "", "sending"))

    def place_call(self, *, agent_phone, to, caller_id, bridge_url, status_callback) -> Sent:
        # ``to`` is dialled by the bridge's TwiML once the agent answers; Twilio rings the agent first.
        call = self._ask(lambda: self.client.calls.create(
            to=agent_phone, from_=caller_id, url=bridge_url, method="POST",
            status_callback=status_callback, status_callback_method="POST",
            status_callback_event=CALL_EVENTS,
            # The agent's voicemail must not be bridged to the homeowner: the bridge hangs up
            # when Twilio says a machine answered (AnsweredBy).
            machine_detection="Enable",
        ))
        return Sent(provider_id=call.sid, status=TWILIO_STATUSES.get(call.status or "", "sending"))

    def _ask(self, request):
        try:
            return request()
        except TwilioRestException as error:
            raise _refusal(_rest_message(error), code=str(error.code or error.status), status=error.status) from error
        except TwilioServiceException as error:
            raise _refusal(error.detail or error.title, code=str(error.code or error.status),
                           status=error.status) from error
        except requests.ConnectTimeout as error:
            # No connection was made: nothing left.
            raise ProviderError(UNREACHABLE.format(error=type(error).__name__), retryable=True) from error
        except requests.ConnectionError as error:
            if _refused(error):
                raise ProviderError(UNREACHABLE.format(error="connection refused"), retryable=True) from error
            # Dropped after the request went out: Twilio may have taken it.
            raise ProviderError(NO_ANSWER.format(error=type(error).__name__), outcome_known=False) from error
        except requests.Timeout as error:
            raise ProviderError(NO_ANSWER.format(error="timed out"), outcome_known=False) from error
        except (requests.RequestException, TwilioException) as error:
            raise ProviderError(NO_ANSWER.format(error=type(error).__name__), outcome_known=False) from error

    def caller_id_status(self, number, *, voice_url) -> CallerIdStatus:
        """Asks Twilio for the number in this account (IncomingPhoneNumbers) and where a
        call to it goes: our voice webhook, or somewhere that takes no stop."""
        found = self._ask(lambda: self.client.incoming_phone_numbers.list(phone_number=number, limit=20))
        held = [record for record in found if record.phone_number == number]
        if not held:
            return CallerIdStatus(number=number, held=False, answers_on_our_line=False, reason=NOT_HELD)
        record = held[0]
        if record.voice_application_sid or record.trunk_sid:
            return CallerIdStatus(number=number, held=True, answers_on_our_line=False,
                                  reason=ANSWERS_BY_APP.format(expected=voice_url))
        # Exactly: without its trailing slash the address answers a POST with a redirect
        # (APPEND_SLASH), which Twilio follows as a GET our POST-only webhook refuses.
        if (record.voice_url or "") != voice_url:
            return CallerIdStatus(number=number, held=True, answers_on_our_line=False,
                                  reason=ANSWERS_ELSEWHERE.format(found=record.voice_url or "empty",
                                                                  expected=voice_url))
        if (record.voice_method or "").upper() != "POST":
            return CallerIdStatus(number=number, held=True, answers_on_our_line=False,
                                  reason=ANSWERS_BY_GET.format(found=record.voice_method or "empty"))
        return CallerIdStatus(number=number, held=True, answers_on_our_line=True)

    def is_authentic(self, request) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            return False
        url = settings.LEADCRM_WEBHOOK_BASE_URL + request.get_full_path()
        return RequestValidator(self.auth_token).validate(url, request.POST, signature)

    def sending_numbers(self) -> list[str]:
        return list(settings.TWILIO_NUMBERS)


def _refusal(message: str, *, code: str, status: int) -> ProviderError:
    """429 and 503 say "not now" and took nothing: tried again. Another 5xx (500, 502, 504)
    may have come after the message was created: outcome unknown, never sent twice."""
    if status == 429 or status == 503 or code in RETRYABLE_CODES:
        return ProviderError(message, code=code, retryable=True)
    if status >= 500:
        return ProviderError(NO_ANSWER.format(error=f"HTTP {status}"), code=code, outcome_known=False)
    return ProviderError(message, code=code)


def _rest_message(error: TwilioRestException) -> str:
    # The library prefixes "Unable to create record: "; the agent needs Twilio's words.
    text = str(error.msg or "")
    return text.split(": ", 1)[1] if text.startswith("Unable to ") and ": " in text else text


def _refused(error: requests.ConnectionError) -> bool:
    """Was the connection refused outright (nothing reached the provider)?

    requests wraps urllib3's error, which names the socket's as its ``reason``."""
    seen, hops = error, 0
    while seen is not None and hops < 8:
        if isinstance(seen, ConnectionRefusedError):
            return True
        nested = getattr(seen, "reason", None) or (seen.args[0] if seen.args else None)
        seen = nested if isinstance(nested, BaseException) else (seen.__cause__ or seen.__context__)
        hops += 1
    return "Connection refused" in str(error)
