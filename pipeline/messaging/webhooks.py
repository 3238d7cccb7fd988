"""The addresses providers post to: inbound texts and calls, delivery reports (docs/messaging.md#webhooks).

No session, no CSRF token: each request is judged by the provider's signature instead
(Twilio's X-Twilio-Signature over the exact URL and parameters). A forged request is a
403 and nothing is recorded; a replayed one finds its message already there.
"""

from __future__ import annotations

import logging

from django.http import HttpResponse, HttpResponseForbidden
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from . import inbound_calls
from .providers import telephony
from .providers.base import inbound_text_from, status_update_from
from .services import inbound_text_receive, status_apply

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
FORGED = "The signature does not match: not sent by the provider."


@method_decorator(csrf_exempt, name="dispatch")
class ProviderWebhook(View):
    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        self.provider = telephony()
        if request.method == "POST" and not self.provider.is_authentic(request):
            logger.warning("Refused a webhook to %s: bad or missing signature", request.path)
            return HttpResponseForbidden(FORGED)
        return super().dispatch(request, *args, **kwargs)


class InboundTextWebhook(ProviderWebhook):
    """A homeowner's text (Twilio's "A message comes in")."""

    def post(self, request):
        inbound = inbound_text_from(request.POST)
        if not inbound.provider_id or not inbound.from_number:
            return HttpResponse("Missing MessageSid or From.", status=400)
        inbound_text_receive(provider=self.provider.name, inbound=inbound)
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")


class StatusWebhook(ProviderWebhook):
    """A text's or a call's status callback; the URL names our message."""

    def post(self, request, pk: int):
        status_apply(update=status_update_from(request.POST), message_id=pk, provider=self.provider.name)
        return HttpResponse(status=204)


class InboundCallWebhook(ProviderWebhook):
    """A call to one of the brokerage's numbers (Twilio's "A call comes in"): who we are, and
    "press 1 to stop" (D2: the caller ID a homeowner saw answers and takes a stop)."""

    def post(self, request):
        # A caller who hides their number (From "anonymous", "+266696687", empty) is answered
        # all the same: they may still want to stop, and hear why we cannot take it by number.
        if not request.POST.get("CallSid", ""):
            return HttpResponse("Missing CallSid.", status=400)
        return _twiml(inbound_calls.answer_twiml(message=_call_taken(self.provider, request)))


def _call_taken(provider, request):
    """The call this signed request is about: taken in now if its first request never was
    (a lost or failed "A call comes in"), so a key pressed on it is never lost."""
    call_sid = request.POST.get("CallSid", "")
    if not call_sid:
        return None
    message = inbound_calls.inbound_call_of(provider=provider.name, call_sid=call_sid)
    if message is None:
        message = inbound_calls.inbound_call_receive(provider=provider.name, call_sid=call_sid,
                                                     from_number=request.POST.get("From", ""),
                                                     to_number=request.POST.get("To", ""))
    return message


class InboundCallMenuWebhook(ProviderWebhook):
    """What the caller chose: 1 (or "stop") records the stop; anything else reaches a person."""

    def post(self, request):
        message = _call_taken(self.provider, request)
        return _twiml(inbound_calls.menu_twiml(message=message, digits=request.POST.get("Digits", ""),
                                               speech=request.POST.get("SpeechResult", "")))


class InboundCallDialledWebhook(ProviderWebhook):
    """The forwarded leg ended (``<Dial action>``): nobody took it, so voicemail."""

    def post(self, request):
        message = inbound_calls.inbound_call_of(provider=self.provider.name, call_sid=request.POST.get("CallSid", ""))
        if message is None:
            return _twiml(inbound_calls.hangup_twiml())
        answered = inbound_calls.inbound_call_dialled(message=message, status=request.POST.get("DialCallStatus", ""),
                                                      seconds=request.POST.get("DialCallDuration", ""))
        return _twiml(inbound_calls.dialled_twiml(answered=answered))


class VoicemailWebhook(ProviderWebhook):
    """The caller's voicemail (``<Record action>``): kept on the call."""

    def post(self, request):
        message = _call_taken(self.provider, request)
        if message is not None:
            inbound_calls.voicemail_keep(message=message, recording_url=request.POST.get("RecordingUrl", ""),
                                         seconds=request.POST.get("RecordingDuration", ""))
        return _twiml(inbound_calls.hangup_twiml())


class VoicemailTranscriptionWebhook(ProviderWebhook):
    """Twilio's transcript of the voicemail (``<Record transcribeCallback>``): a stop said in
    it is recorded; once per TranscriptionSid."""

    def post(self, request):
        message = _call_taken(self.provider, request)
        if message is not None:
            inbound_calls.voicemail_keep(message=message, recording_url=request.POST.get("RecordingUrl", ""),
                                         seconds=request.POST.get("RecordingDuration", ""))
            inbound_calls.voicemail_transcript_read(
                message=message, transcription_sid=request.POST.get("TranscriptionSid", ""),
                status=request.POST.get("TranscriptionStatus", ""), text=request.POST.get("TranscriptionText", ""))
        return HttpResponse(status=204)


def _twiml(body: str) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml")
