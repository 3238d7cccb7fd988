"""Mail merge, printing, email sending, and the public unsubscribe page."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from compliance.selectors import lead_list
from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.roles import Perm
from pipeline.models import MailBatch, MessageTemplate, TemplateKind
from pipeline.tasks import email_campaign_send

from .email import (
    NO_POSTAL_ADDRESS,
    brokerage_postal_address,
    email_merge,
    unsubscribe,
    unsubscribe_target,
)
from .letters import (
    mail_merge,
    mailing_confirm,
    print_run,
    printed_batch,
    signature_for,
)
from .merge import MERGE_LIMIT, PRINT_KINDS, discloses_role

LEAD_FILTERS = ("q", "status", "stage", "lead_type", "assigned_agent", "team", "list", "min_score", "area",
                "auction_within", "callable")


class MergeMixin(LoginRequiredMixin):
    """The template chosen and the leads picked with the lead list's filters."""

    def merge_inputs(self, data):
        templates = MessageTemplate.objects.usable_by(self.request.user).filter(
            kind__in=[*PRINT_KINDS, TemplateKind.EMAIL])
        template = templates.filter(pk=data.get("template") or 0).first() if str(data.get("template", "")).isdigit() \
            else None
        filters = {key: data[key] for key in LEAD_FILTERS if data.get(key)}
        leads, lead_filter = lead_list(fetched_by=self.request.user, filters=filters)
        return list(templates), template, leads, lead_filter, filters

    def merge(self, template, leads):
        if template is None:
            return None
        make = email_merge if template.kind == TemplateKind.EMAIL else mail_merge
        return make(template=template, leads=leads, agent=self.request.user)


class MarketingView(MergeMixin, TemplateView):
    template_name = "pipeline/marketing.html"

    def get_context_data(self, **kwargs):
        templates, template, leads, lead_filter, filters = self.merge_inputs(self.request.GET)
        merge = self.merge(template, leads)
        query = self.request.GET.urlencode()
        brokerage = Brokerage.objects.current()
        return {
            **super().get_context_data(**kwargs), "templates": templates, "template": template, "merge": merge,
            "filter": lead_filter, "filters": filters, "query": query, "limit": MERGE_LIMIT,
            "preview": merge.pieces[0] if merge and merge.pieces else None,
            "can_send": self.request.user.has_perm(Perm.LOG_OUTREACH),
            "discloses_role": discloses_role(template) if template else True,
            "brokerage": brokerage, "signature": signature_for(self.request.user, brokerage),
            "letter_date": timezone.localdate(),
        }

    def post(self, request):
        """Send the emails (letters are printed, and so recorded, by MailPrintView)."""
        if not request.user.has_perm(Perm.LOG_OUTREACH):
            raise PermissionDenied
        _templates, template, _leads, _filter, filters = self.merge_inputs(request.POST)
        back = HttpResponseRedirect(reverse("pipeline:marketing") + "?" + request.POST.get("query", ""))
        if template is None or template.kind != TemplateKind.EMAIL:
            messages.error(request, "Pick an email template first.")
            return back
        if brokerage_postal_address(Brokerage.objects.current()) is None:
            messages.error(request, NO_POSTAL_ADDRESS)
            return back
        # Sent by a worker: a long list never holds the page, and a retry never sends twice.
        transaction.on_commit(lambda: email_campaign_send.delay(
            template.pk, request.user.pk, filters, request.build_absolute_uri("/").rstrip("/")))
        messages.success(request, f"Sending {template.name} to the leads picked; each email is logged as outreach "
                                  "as it goes. One the mail server refuses is noted on its lead's timeline.")
        return back


class MailPrintView(MergeMixin, View):
    """Printing letters is mailing them, so it asks first.

    GET shows the letters as they will print (each owner asked of the gate, nothing
    recorded) and asks "Mark N letters as mailed?"; only the POST of that confirmation
    logs them, each through the gate, once (``mailing_confirm``), and then shows them to
    print (post/redirect/get: reloading the printed page logs nothing)."""

    def get(self, request):
        if not request.user.has_perm(Perm.LOG_OUTREACH):
            raise PermissionDenied
        _templates, template, leads, _filter, filters = self.merge_inputs(request.GET)
        if template is None or template.kind not in PRINT_KINDS:
            raise Http404("Pick a letter or postcard template.")
        run = print_run(template=template, leads=leads, agent=request.user)
        brokerage = Brokerage.objects.current()
        response = render(request, "pipeline/mail_print.html", {
            "template": template, "merge": run.merge, "run": run, "pieces": run.merge.pieces, "confirming": True,
            "brokerage": brokerage, "signature": signature_for(request.user, brokerage),
            "letter_date": timezone.localdate(), "back": reverse("pipeline:marketing") + "?" + request.GET.urlencode(),
        })
        # Coming back to it (the browser's Back) asks the server again: what is already
        # logged then prints again instead of being offered as new.
        response["Cache-Control"] = "no-store"
        return response

    def post(self, request):
        if not request.user.has_perm(Perm.LOG_OUTREACH):
            raise PermissionDenied
        try:
            batch = mailing_confirm(confirmation=request.POST.get("confirmation", ""), agent=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(reverse("pipeline:marketing"))
        return HttpResponseRedirect(reverse("pipeline:mail_batch", args=[batch.pk]))


class MailBatchView(LoginRequiredMixin, View):
    """The letters a confirmation logged, ready to print; the agent's own (404 otherwise)."""

    def get(self, request, pk):
        batch = get_object_or_404(MailBatch.objects.select_related("template"), pk=pk, agent=request.user)
        printed = printed_batch(batch=batch, agent=request.user)
        brokerage = Brokerage.objects.current()
        return render(request, "pipeline/mail_print.html", {
            "template": batch.template, "printed": printed, "pieces": printed.printable, "confirming": False,
            "brokerage": brokerage, "signature": signature_for(request.user, brokerage),
            "letter_date": batch.letter_date, "back": reverse("pipeline:marketing"),
        })


@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeView(View):
    """Public: the link in every marketing email. A GET only asks (a mail scanner following
    links unsubscribes nobody); the POST unsubscribes, from the page or from the mail
    program's one-click button (RFC 8058), which carries no CSRF token: the signed link is
    the proof, and unsubscribing is all it can do."""

    def get(self, request, token):
        target = unsubscribe_target(token)
        return render(request, "pipeline/unsubscribe.html",
                      {"target": target, "done": False, "brokerage": Brokerage.objects.current()},
                      status=200 if target else 404)

    def post(self, request, token):
        target = unsubscribe_target(token)
        if target is None:
            return render(request, "pipeline/unsubscribe.html", {"target": None, "done": False}, status=404)
        unsubscribe(target=target)
        return render(request, "pipeline/unsubscribe.html",
                      {"target": target, "done": True, "brokerage": Brokerage.objects.current()})
