"""Click-to-call pages: "Call" (the gate, then the provider), the call's live status, its
result, and the bridge TwiML Twilio asks for once the agent answers (docs/messaging.md#click-to-call).

The lead page and the queue post "Call" here and swap in the partial; without JavaScript
the same partial comes as a page of its own.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views import View
from django_htmx.http import HttpResponseClientRedirect

from compliance.models import Channel, Purpose
from leadcrm.accounts.roles import Perm
from leads.models import Phone, PhoneStatus
from leads.selectors import lead_get
from pipeline.common import DateTimeLocalInput, add_service_error
from pipeline.models import OUTCOMES_BY_CHANNEL, Message, Outcome
from pipeline.outreach.services import OutreachBlocked

from .calls import announcement_twiml, bridge_twiml, call_finish_local, call_result_log, call_start
from .webhooks import ProviderWebhook

LOGGED = "Logged: {outcome} (call)."
TRUE_VALUES = ("1", "on", "true", "yes")
CALL_OUTCOMES = [(value, label) for value, label in Outcome.choices if value in OUTCOMES_BY_CHANNEL[Channel.CALL]]


def _ticked(request, name: str) -> bool:
    return request.POST.get(name, "").lower() in TRUE_VALUES


def _call_of(request, pk: int) -> Message:
    """A call on a lead the user may see, or 404."""
    queryset = Message.objects.visible_to(request.user).filter(channel=Channel.CALL).select_related(
        "lead__property", "compliance_check", "attempt")
    return get_object_or_404(queryset, pk=pk)


def _render(request, context: dict, *, status: int = 200):
    template = "messaging/_call_status.html" if request.htmx else "messaging/_call_page.html"
    return render(request, template, context, status=status)


class CallResultForm(forms.Form):
    """The dialer's result buttons, for a call placed from the CRM."""

    outcome = forms.ChoiceField(choices=CALL_OUTCOMES, widget=forms.RadioSelect)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    homeowner_words = forms.CharField(
        required=False, label="Homeowner's words (for a do-not-call request)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    role_disclosed = forms.BooleanField(required=False, label="I told the homeowner who I am and why I called")
    follow_up_at = forms.DateTimeField(required=False, widget=DateTimeLocalInput(), label="Next follow-up")
    follow_up_title = forms.CharField(required=False, max_length=200, label="Follow-up note")


PICK_NUMBER = "Pick the number to call."


class CallStartView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """"Call": the gate decides now; when it allows, the provider rings the agent's phone."""

    permission_required = Perm.LOG_OUTREACH
    http_method_names = ["post"]

    def post(self, request, pk: int):
        lead = lead_get(fetched_by=request.user, pk=pk)
        chosen = request.POST.get("phone") or ""
        if not chosen.isdigit():
            return _render(request, {"lead": lead, "errors": [PICK_NUMBER]}, status=400)
        # A number of another lead (a forged id) is no number of this one.
        phone = get_object_or_404(Phone.objects.filter(contact__lead=lead).exclude(status=PhoneStatus.ERASED),
                                  pk=chosen)
        purpose = request.POST.get("purpose") or Purpose.LISTING
        if purpose not in Purpose.values:
            purpose = Purpose.LISTING
        context = {"lead": lead, "phone": phone}
        try:
            message = call_start(lead=lead, phone=phone, actor=request.user, purpose=purpose,
                                 role_disclosed=_ticked(request, "role_disclosed"),
                                 recording_consent=_ticked(request, "recording_consent"))
        except OutreachBlocked as blocked:
            return _render(request, {**context, "decision": blocked.decision})
        except ValidationError as error:
            return _render(request, {**context, "errors": error.messages})
        return _render(request, {**context, "call": message, "recording_note": message.recording_note,
                                 "form": CallResultForm()})


class CallStatusView(LoginRequiredMixin, View):
    """The call's status as the provider reports it (polled by the partial until it ends)."""

    def get(self, request, pk: int):
        call = _call_of(request, pk)
        template = "messaging/_call_live.html" if request.htmx else "messaging/_call_page.html"
        return render(request, template, {"lead": call.lead, "call": call, "form": CallResultForm()})


class CallResultView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The agent picks the call's result: logged on the check made when "Call" was clicked."""

    permission_required = Perm.LOG_OUTREACH
    http_method_names = ["post"]

    def post(self, request, pk: int):
        call = _call_of(request, pk)
        form = CallResultForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                attempt = call_result_log(
                    message=call, outcome=data["outcome"], actor=request.user,
                    role_disclosed=data["role_disclosed"], notes=data["notes"],
                    homeowner_words=data["homeowner_words"], follow_up_at=data["follow_up_at"],
                    follow_up_title=data["follow_up_title"],
                )
            except ValidationError as error:
                add_service_error(form, error)
            else:
                messages.success(request, LOGGED.format(outcome=attempt.get_outcome_display()))
                url = reverse("leads:detail", args=[call.lead_id]) + "#timeline"
                return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)
        return _render(request, {"lead": call.lead, "call": call, "form": form})


class CallLocalFinishView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The demo's local backend: play the provider's end of the call (answered or not)."""

    permission_required = Perm.LOG_OUTREACH
    http_method_names = ["post"]

    def post(self, request, pk: int):
        call = _call_of(request, pk)
        try:
            call = call_finish_local(message=call, answered=_ticked(request, "answered"))
        except ValidationError as error:
            return _render(request, {"lead": call.lead, "call": call, "errors": error.messages,
                                     "form": CallResultForm()})
        template = "messaging/_call_live.html" if request.htmx else "messaging/_call_page.html"
        return render(request, template, {"lead": call.lead, "call": call, "form": CallResultForm()})


class CallBridgeWebhook(ProviderWebhook):
    """Twilio asks what to do once the agent answered: dial the homeowner (signed request)."""

    def post(self, request, pk: int):
        call = Message.objects.filter(pk=pk, channel=Channel.CALL).select_related(
            "lead__property", "agent", "compliance_check").first()
        if call is None:
            return HttpResponse(status=404)
        # Only the call placed for this message is bridged (a signed request for another call
        # sent to this address, by a misconfigured console, hangs up instead).
        other_call = bool(call.provider_id) and request.POST.get("CallSid") != call.provider_id
        return HttpResponse(bridge_twiml(message=call, refuse=other_call,
                                         answered_by=request.POST.get("AnsweredBy", "")), content_type="text/xml")


class CallAnnouncementWebhook(ProviderWebhook):
    """Twilio asks what the homeowner hears on answering: that the call is recorded (signed request)."""

    def post(self, request, pk: int):
        call = Message.objects.filter(pk=pk, channel=Channel.CALL).first()
        if call is None:
            return HttpResponse(status=404)
        return HttpResponse(announcement_twiml(message=call), content_type="text/xml")
