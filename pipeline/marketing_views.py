"""Mail merge, printing, email sending, and the public unsubscribe page."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.roles import Perm
from leads.selectors import lead_list

from .marketing import (
    MERGE_LIMIT,
    PRINT_KINDS,
    email_merge,
    emails_send,
    mail_merge,
    mailing_record,
    unsubscribe,
    unsubscribe_target,
)
from .models import MessageTemplate, TemplateKind

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
        }

    def post(self, request):
        if not request.user.has_perm(Perm.LOG_OUTREACH):
            raise PermissionDenied
        _templates, template, leads, _filter, _filters = self.merge_inputs(request.POST)
        if template is None:
            messages.error(request, "Pick a template first.")
            return HttpResponseRedirect(reverse("pipeline:marketing"))
        merge = self.merge(template, leads)
        if template.kind == TemplateKind.EMAIL:
            done, refused = emails_send(merge=merge, template=template, agent=request.user,
                                        base_url=request.build_absolute_uri("/").rstrip("/"))
            messages.success(request, f"Sent {done} email{'s' if done != 1 else ''}, each logged as outreach."
                             + (f" {refused} refused by the compliance check." if refused else ""))
        else:
            done, refused = mailing_record(merge=merge, template=template, agent=request.user)
            messages.success(request, f"Logged {done} letter{'s' if done != 1 else ''} as mailed."
                             + (f" {refused} refused by the compliance check." if refused else ""))
        return HttpResponseRedirect(reverse("pipeline:marketing") + "?" + request.POST.get("query", ""))


class MailPrintView(MergeMixin, TemplateView):
    """The letters, one a page, ready to print (the browser's "Save as PDF" makes the PDF)."""

    template_name = "pipeline/mail_print.html"

    def get_context_data(self, **kwargs):
        _templates, template, leads, _filter, _filters = self.merge_inputs(self.request.GET)
        if template is None or template.kind not in PRINT_KINDS:
            raise Http404("Pick a letter or postcard template.")
        return {**super().get_context_data(**kwargs), "template": template,
                "merge": mail_merge(template=template, leads=leads, agent=self.request.user),
                "brokerage": Brokerage.objects.current()}


class UnsubscribeView(View):
    """Public: the link in every marketing email. A GET only asks; the POST unsubscribes,
    so a mail scanner following links never unsubscribes anyone."""

    def get(self, request, token):
        target = unsubscribe_target(token)
        return render(request, "pipeline/unsubscribe.html",
                      {"target": target, "done": False, "brokerage": Brokerage.objects.current()},
                      status=200 if target else 404)

    def post(self, request, token):
        target = unsubscribe_target(token)
        if target is None:
            return render(request, "pipeline/unsubscribe.html", {"target": None, "done": False}, status=404)
        unsubscribe(email=target[0], sender=target[1])
        return render(request, "pipeline/unsubscribe.html",
                      {"target": target, "done": True, "brokerage": Brokerage.objects.current()})
