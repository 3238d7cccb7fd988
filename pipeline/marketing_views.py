"""Mail merge, printing, email sending, and the public unsubscribe page."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.roles import Perm
from leads.selectors import lead_list

from .marketing import (
    MERGE_LIMIT,
    NO_POSTAL_ADDRESS,
    PRINT_KINDS,
    brokerage_postal_address,
    discloses_role,
    email_merge,
    mail_merge,
    mailing_record,
    unsubscribe,
    unsubscribe_target,
)
from .models import MessageTemplate, TemplateKind
from .tasks import email_campaign_send

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
        return {
            **super().get_context_data(**kwargs), "templates": templates, "template": template, "merge": merge,
            "filter": lead_filter, "filters": filters, "query": query, "limit": MERGE_LIMIT,
            "preview": merge.pieces[0] if merge and merge.pieces else None,
            "can_send": self.request.user.has_perm(Perm.LOG_OUTREACH),
            "discloses_role": discloses_role(template) if template else True,
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
    """Record the letters as mailed, each through the gate, and print the ones logged (one
    a page; the browser's "Save as PDF" makes the PDF). A POST: printing is mailing."""

    http_method_names = ["post"]

    def post(self, request):
        if not request.user.has_perm(Perm.LOG_OUTREACH):
            raise PermissionDenied
        _templates, template, leads, _filter, _filters = self.merge_inputs(request.POST)
        if template is None or template.kind not in PRINT_KINDS:
            raise Http404("Pick a letter or postcard template.")
        merge = mail_merge(template=template, leads=leads, agent=request.user)
        mailing = mailing_record(merge=merge, template=template, agent=request.user)
        return render(request, "pipeline/mail_print.html", {
            "template": template, "merge": merge, "mailing": mailing, "brokerage": Brokerage.objects.current(),
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
