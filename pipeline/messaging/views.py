"""Pages of messaging: text a homeowner from the CRM, a text's status, Sent, the inbox.

The gate decides at send time (``services.text_send`` through ``outreach_log``); these
views only shape input and output. See docs/messaging.md.
"""

from __future__ import annotations

import dataclasses
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView
from django_htmx.http import HttpResponseClientRedirect

from compliance.disclosures import (
    HEADING,
    missing_disclosures,
    role_disclosure_sentence,
    without_disclosures,
)
from compliance.models import Channel, Purpose, Technology, Verdict
from compliance.services import outreach_preview
from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.roles import Perm
from leads.models import Phone, PhoneStatus, PhoneType
from leads.selectors import lead_get
from pipeline.deals.reg_o import (
    ANY_FEE_SENTENCE,
    disclosures_required_for,
    fee_statement_required,
    with_standard_disclosure,
)
from pipeline.outreach.script_views import INSERT_NOTICE
from pipeline.outreach.scripts import render as render_merge_fields
from pipeline.outreach.services import OutreachBlocked
from pipeline.outreach.views import DISCLOSURE_RULES

from . import selectors, services
from .forms import InboxFileForm, PlayReplyForm, TextComposeForm
from .keywords import Keyword
from .providers import InboundText

QUEUED = "Text queued to {number}: it goes out through {provider} now; its status updates on the timeline."
REPLY_PLAYED = "Played “{body}” as the homeowner's reply from {number}, through the same path as Twilio's webhook."
REPLY_STOP = " It reads as a stop: the number is on the internal do-not-contact list now."
FILED = "Filed on {lead}; the agent is notified."
DISMISSED = "Dismissed: kept, out of the inbox."
PICK_LEAD = "Pick the lead to file it on."
LOCAL_ONLY = "Playing a reply is for the local backend only."
TEMPLATE_STARTED = "The text starts from “{name}”: read it and change what you need."
NOTICE_INSERTED = "The required notice is in the text."


def with_notice_replaced(body: str, *, lead, actor, purpose: str | None) -> str:
    """``body`` with Regulation O's notice (F3) as the insert button gives it, however often
    it is pressed: a text that already complies is kept as it is; otherwise a notice block
    already in it (with the placeholder of a fee not yet recorded, say) is taken out before
    the standard block is added, never added a second time or left as blanks. The one stop
    confirmation gets no notice (B4)."""
    body = body or ""
    if purpose == Purpose.REVOCATION_CONFIRMATION:
        return body
    if not missing_disclosures(body, fee_required=fee_statement_required(actor=actor, lead=lead)):
        return body
    kept = []
    for line in body.splitlines():
        if line.strip().upper() == HEADING:
            continue
        own = ANY_FEE_SENTENCE.sub(" ", without_disclosures(line, with_slots=True))
        if own == line:
            kept.append(line)
        elif own.strip():
            kept.append(" ".join(own.split()))  # the sender's words beside the notice's, spacing tidied
    return with_standard_disclosure("\n".join(kept).strip(), spoken=False, lead=lead, actor=actor, purpose=purpose)


def click_to_call_enabled() -> bool:
    """Whether the click-to-call route is installed (pages show the Call button only then)."""
    try:
        reverse("messaging:call_start", args=[1])
    except NoReverseMatch:
        return False
    return True


def is_local_backend() -> bool:
    return settings.LEADCRM_TELEPHONY == "local"


def compose_form_for(*, lead, user, data=None, phone_id: str = "", template_id: str = ""):
    """The compose form for a lead, the number and template picked; (form, phones, templates)."""
    phones = selectors.textable_phones(lead=lead)
    templates = selectors.text_templates_for(user=user)
    disclosure = role_disclosure_sentence(actor=user, brokerage=Brokerage.objects.current(), lead=lead)
    phone = next((p for p in phones if str(p.pk) == str(phone_id)), phones[0] if phones else None)
    initial = {"phone": phone.pk if phone else None}
    template = next((t for t in templates if str(t.pk) == str(template_id)), None)
    if template is not None:
        initial["body"] = render_merge_fields(template.body, lead=lead, agent=user,
                                              owner=phone.contact if phone else None)
    form = TextComposeForm(data, initial=initial, lead=lead, phones=phones, user=user,
                           disclosure_sentence=disclosure)
    return form, phones, templates, template


class LeadTextMixin(LoginRequiredMixin, PermissionRequiredMixin):
    permission_required = Perm.LOG_OUTREACH

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.lead = lead_get(fetched_by=request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)


class TextComposeView(LeadTextMixin, View):
    """Write a text to one of the lead's numbers and send it through the provider.

    With htmx the compose card is swapped in place; without JavaScript it is a page of its own.
    """

    template_name = "messaging/text_compose.html"
    partial_template_name = "messaging/partials/_compose_form.html"

    def render_form(self, form, phones, templates, template=None, decision=None, stop_recorded=False,
                    body_news=""):
        """The compose card; body_news, when htmx swaps the card in, puts the focus in the text
        (app.js, data-focus-first) and says what changed in it, e.g. a template picked."""
        name = self.partial_template_name if self.request.htmx else self.template_name
        landlines = list(Phone.objects.filter(contact__lead=self.lead, phone_type=PhoneType.LANDLINE)
                         .exclude(status=PhoneStatus.ERASED))
        return render(self.request, name, {
            "lead": self.lead, "form": form, "phones": phones, "templates": templates, "template": template,
            "decision": decision, "stop_recorded": stop_recorded, "landlines": landlines,
            "local_backend": is_local_backend(),
            "reg_o_notice": disclosures_required_for(actor=self.request.user, lead=self.lead),
            "body_news": body_news if self.request.htmx else "",
        })

    def get(self, request, pk):
        form, phones, templates, template = compose_form_for(
            lead=self.lead, user=request.user, phone_id=request.GET.get("phone", ""),
            template_id=request.GET.get("template", ""))
        # Asked for from a number's "Text" or a template's button: the next thing is writing.
        news = TEMPLATE_STARTED.format(name=template.name) if template else "Write the text."
        return self.render_form(form, phones, templates, template, body_news=news)

    def post(self, request, pk):
        data = request.POST
        if INSERT_NOTICE in data:
            # One click: the standard notice (F3), with the brokerage's name and the lead's fee,
            # added to the text as it stands (a second click changes nothing); nothing is sent.
            data = data.copy()
            data["body"] = with_notice_replaced(data.get("body", ""), lead=self.lead, actor=request.user,
                                                purpose=data.get("purpose"))
            form, phones, templates, _ = compose_form_for(lead=self.lead, user=request.user, data=data)
            form.is_valid()
            form.errors.clear()
            return self.render_form(form, phones, templates, body_news=NOTICE_INSERTED)
        form, phones, templates, _ = compose_form_for(lead=self.lead, user=request.user, data=data)
        if not form.is_valid():
            return self.render_form(form, phones, templates)
        data = form.cleaned_data
        try:
            message = services.text_send(lead=self.lead, phone=data["phone"], body=data["body"], actor=request.user,
                                         role_disclosed=data["role_disclosed"], purpose=data["purpose"])
        except OutreachBlocked as blocked:
            return self.render_form(form, phones, templates, decision=blocked.decision,
                                    stop_recorded=blocked.stop_recorded)
        except ValidationError as error:
            form.add_service_error(error)
            return self.render_form(form, phones, templates)
        messages.success(request, QUEUED.format(number=data["phone"].display,
                                                provider="the local backend" if is_local_backend() else "Twilio"))
        # A query of its own: from the lead page itself a change of fragment alone would not reload it.
        url = reverse("leads:detail", args=[self.lead.pk]) + f"?sent={message.pk}#message-{message.pk}"
        if request.htmx:
            return HttpResponseClientRedirect(url)
        return HttpResponseRedirect(url)


def with_text_content(decision, *, body: str, agent, lead=None, purpose=None):
    """The gate's verdict with what refuses the text's own words (F6, D3 in the text), as
    sending it would: the live verdict never shows "allowed" for a text that will be refused."""
    content = services.text_content_findings(body=body, agent=agent, lead=lead, purpose=purpose)
    if not content:
        return decision
    ruled = {finding.rule for finding in content}
    kept = tuple(finding for finding in decision.findings if finding.rule not in ruled)
    return dataclasses.replace(decision, verdict=Verdict.BLOCK, findings=tuple(content) + kept)


class TextPreviewView(LeadTextMixin, View):
    """The gate's verdict on the text as it stands, before anything is sent (htmx)."""

    http_method_names = ["post"]

    def post(self, request, pk):
        form, *_ = compose_form_for(lead=self.lead, user=request.user, data=request.POST)
        form.is_valid()  # the body may still be empty; the check needs the number
        data = form.cleaned_data
        decision = None
        if data.get("phone") is not None:
            # Asked on every change of the text: never recorded, never counted as a block.
            decision = outreach_preview(
                lead=self.lead, contact_point=data["phone"], channel=Channel.SMS,
                purpose=data.get("purpose") or Purpose.LISTING, actor=request.user,
                role_disclosed=data.get("role_disclosed", False), message=data.get("body", ""),
                technology=Technology.MANUAL,
            )
        if decision is not None:
            decision = with_text_content(decision, body=data.get("body", ""), agent=request.user, lead=self.lead,
                                         purpose=data.get("purpose"))
        blocks = decision.findings_with(Verdict.BLOCK) if decision else []
        disclosure_pending = bool(blocks) and all(f.rule in DISCLOSURE_RULES for f in blocks)
        return render(request, "pipeline/partials/_verdict.html",
                      {"lead": self.lead, "decision": decision, "disclosure_pending": disclosure_pending})


class MessageStatusView(LoginRequiredMixin, View):
    """One message's status badge; the timeline polls it every 2 s until it is final."""

    def get(self, request, pk):
        message = selectors.lead_message_get(fetched_by=request.user, pk=pk)
        # The timeline's title ("Text sending") comes along out of band, so it turns with the badge.
        with_title = request.GET.get("with") == "title" and message.direction != "inbound"
        response = render(request, "messaging/partials/_status.html", {"message": message, "with_title": with_title})
        if with_title:
            response.write(render_to_string("messaging/partials/_message_title.html", {"message": message, "oob": True}))
        return response


class SentView(LoginRequiredMixin, TemplateView):
    """Texts, calls and emails that went out on the leads the user may see (a broker: all)."""

    template_name = "messaging/sent.html"
    page_size = selectors.SENT_PAGE_SIZE

    def get_context_data(self, **kwargs):
        failed_only = self.request.GET.get("status") == "failed"
        page = selectors.sent_page(fetched_by=self.request.user, before=self.request.GET.get("before", ""),
                                   failed_only=failed_only, size=self.page_size)
        return super().get_context_data(page=page, failed_only=failed_only, local_backend=is_local_backend(),
                                        play_form=PlayReplyForm(), first_page=not self.request.GET.get("before"),
                                        **kwargs)


class PlayReplyView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The demo's homeowner: a reply to a sent text, through the path Twilio's webhook takes.

    A STOP played here lands on the internal list, so it is for those who work the lead: the
    permission to log outreach, and a text on a lead the user may see (404 else)."""

    http_method_names = ["post"]
    permission_required = Perm.LOG_OUTREACH

    def post(self, request, pk):
        if not is_local_backend():
            raise Http404(LOCAL_ONLY)
        sent = selectors.sent_message_get(fetched_by=request.user, pk=pk)
        if sent.channel != Channel.SMS:
            raise Http404(LOCAL_ONLY)
        form = PlayReplyForm(request.POST)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors.get("body", ["Write the reply."])))
            return HttpResponseRedirect(reverse("messaging:sent"))
        body = form.cleaned_data["body"]
        inbound = services.inbound_text_receive(provider="local", inbound=InboundText(
            provider_id=f"LOCAL-SM{uuid.uuid4().hex}", from_number=sent.to_address, to_number=sent.from_address,
            body=body, received_at=timezone.now()))
        note = REPLY_PLAYED.format(body=body, number=sent.to_address)
        if inbound.keyword == Keyword.STOP:
            note += REPLY_STOP
        messages.success(request, note)
        if inbound.lead_id:
            return HttpResponseRedirect(reverse("leads:detail", args=[inbound.lead_id]) + f"#message-{inbound.pk}")
        return HttpResponseRedirect(reverse("messaging:inbox"))


class InboxMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not selectors.may_work_inbox(request.user):
            raise PermissionDenied("The inbox is for team leads and brokers.")
        return super().dispatch(request, *args, **kwargs)


class InboxView(InboxMixin, TemplateView):
    """Texts and emails nobody's lead matched, for a team lead to file or dismiss."""

    template_name = "messaging/inbox.html"

    def get_context_data(self, **kwargs):
        page = selectors.inbox_page(before=self.request.GET.get("before", ""))
        search = self.request.GET.get("q", "")
        candidates = selectors.inbox_candidates(fetched_by=self.request.user, messages=page.rows, search=search)
        for message in page.rows:
            message.candidates = candidates.get(message.pk, [])
        return super().get_context_data(page=page, search=search, first_page=not self.request.GET.get("before"),
                                        **kwargs)


class InboxFileView(InboxMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        message = selectors.inbox_message_get(pk=pk)
        if not request.POST.get("lead"):
            messages.error(request, PICK_LEAD)
            return HttpResponseRedirect(reverse("messaging:inbox"))
        form = InboxFileForm(request.POST, user=request.user)
        if not form.is_valid():
            raise Http404("No such lead.")  # not one the user may see
        try:
            services.inbox_file(message=message, lead=form.cleaned_data["lead"], filed_by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(reverse("messaging:inbox"))
        selectors.inbox_count_forget()
        messages.success(request, FILED.format(lead=form.cleaned_data["lead"].property.street_line))
        return HttpResponseRedirect(reverse("messaging:inbox"))


class InboxDismissView(InboxMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        message = selectors.inbox_message_get(pk=pk)
        try:
            services.inbox_dismiss(message=message, dismissed_by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            selectors.inbox_count_forget()
            messages.success(request, DISMISSED)
        return HttpResponseRedirect(reverse("messaging:inbox"))
