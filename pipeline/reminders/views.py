"""The notification centre, the calendar feed itself, and marking a follow-up done."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.generic import TemplateView

from leadcrm.accounts.roles import Perm
from leadcrm.accounts.throttle import client_address, over_limit
from pipeline.common import safe_next_url
from pipeline.models import FollowUp, Notification

from .calendar import feed_ics, feed_user
from .services import follow_up_complete, notification_mark_read, notifications_mark_all_read

PER_PAGE = 30
# Per client address (an office's calendars share one): plenty for polling, too few to guess.
FEED_REQUESTS_PER_10_MINUTES = 300
FEED_MISSES_PER_HOUR = 20


class NotificationListView(LoginRequiredMixin, TemplateView):
    template_name = "pipeline/notifications.html"

    def get_context_data(self, **kwargs):
        mine = Notification.objects.filter(recipient=self.request.user).select_related("lead__property")
        page = Paginator(mine, PER_PAGE).get_page(self.request.GET.get("page"))
        return super().get_context_data(page=page, **kwargs)


class NotificationOpenView(LoginRequiredMixin, View):
    """Mark one of the user's own notifications read and go where it points."""

    def get(self, request, pk):
        note = get_object_or_404(Notification, pk=pk, recipient=request.user)
        notification_mark_read(notification=note)
        target = note.url if url_has_allowed_host_and_scheme(note.url, allowed_hosts=None) and note.url.startswith("/") \
            else reverse("pipeline:notifications")
        return HttpResponseRedirect(target)


class NotificationsReadView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        count = notifications_mark_all_read(user=request.user)
        messages.success(request, f"Marked {count} notification{'s' if count != 1 else ''} read.")
        return HttpResponseRedirect(reverse("pipeline:notifications"))



@method_decorator(never_cache, name="dispatch")
class CalendarFeedView(View):
    """The feed, for calendar apps that cannot sign in: the secret address is the key."""

    http_method_names = ["get", "head"]

    def get(self, request, token):
        # Calendar apps poll every quarter hour or so; a guesser asks thousands of times.
        address = client_address(request)
        guesses = f"calendar:miss:{address}"
        if over_limit(f"calendar:req:{address}", limit=FEED_REQUESTS_PER_10_MINUTES, window_seconds=600) \
                or cache.get(guesses, 0) >= FEED_MISSES_PER_HOUR:
            return HttpResponse("Too many requests; try again later.", status=429, content_type="text/plain")
        user = feed_user(token)
        if user is None:
            over_limit(guesses, limit=FEED_MISSES_PER_HOUR, window_seconds=3600)
            raise Http404("No such calendar.")
        response = HttpResponse(feed_ics(user=user), content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="leadcrm.ics"'
        response["X-Robots-Tag"] = "noindex"
        response["Referrer-Policy"] = "no-referrer"
        return response


class FollowUpCompleteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = Perm.MANAGE_FOLLOW_UPS
    http_method_names = ["post"]

    def post(self, request, pk):
        follow_up = get_object_or_404(FollowUp.objects.visible_to(request.user), pk=pk)
        follow_up_complete(follow_up=follow_up)
        messages.success(request, f"Done: {follow_up.title}.")
        return HttpResponseRedirect(safe_next_url(request, reverse("pipeline:dashboard")))
