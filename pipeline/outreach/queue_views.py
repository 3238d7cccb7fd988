"""The call queue page, its dashboard panel, and "Next": the following lead to call."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from pipeline.messaging.views import click_to_call_enabled

from .queue import call_queue, next_in_queue

QUEUE_EMPTY = "Nobody else in your queue may be called right now."


class QueueView(LoginRequiredMixin, TemplateView):
    """The whole queue; with htmx (the dashboard's panel) only its list."""

    template_name = "pipeline/queue.html"

    def get_template_names(self):
        if self.request.htmx:
            return ["pipeline/partials/_queue.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        compact = bool(self.request.htmx)
        queue = call_queue(user=self.request.user, size=8 if compact else 25)
        return {**super().get_context_data(**kwargs), "queue": queue, "compact": compact, "now": timezone.now(),
                "click_to_call": click_to_call_enabled()}


SKIPPED_KEY = "queue_skipped"
SKIPPED_MAX = 500


class QueueNextView(LoginRequiredMixin, View):
    """Go to the next lead of the queue. The lead just worked or skipped (``?after=``) is
    remembered for the session, so "Next" walks down the queue instead of bouncing back;
    starting afresh from the queue page forgets them."""

    def get(self, request):
        skipped = [pk for pk in request.session.get(SKIPPED_KEY, []) if isinstance(pk, int)]
        after = request.GET.get("after", "")
        if after.isdigit() and int(after) not in skipped:
            skipped = (skipped + [int(after)])[-SKIPPED_MAX:]
        elif not after:
            skipped = []  # "Start calling"
        request.session[SKIPPED_KEY] = skipped
        entry = next_in_queue(user=request.user, skipped=tuple(skipped))
        if entry is None:
            messages.info(request, QUEUE_EMPTY)
            return HttpResponseRedirect(reverse("pipeline:queue"))
        return HttpResponseRedirect(reverse("leads:detail", args=[entry.lead.pk]) + "?queue=1")
