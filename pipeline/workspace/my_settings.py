"""The user's own settings page: working hours and email (reminders), the calendar address,
the API token, the photo shown to sellers, and signing in (password, second factor, signing
out everywhere else): every part's setting of one person."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import TemplateView

from leadcrm.accounts.services import user_preferences_update, user_sessions_end
from leadcrm.accounts.tokens import ApiToken, TokenPurpose
from leadcrm.accounts.two_factor import has_second_factor, second_factor_mandatory
from pipeline.api.services import api_token_replace, api_token_revoke
from pipeline.messaging.forms import CallPhoneForm
from pipeline.models import AgentPhoto, CalendarFeed
from pipeline.reminders.calendar import feed_create, feed_revoke, feed_url
from pipeline.reminders.forms import MySettingsForm

# A new API token or calendar address is shown once, on the GET after the POST that made it
# (POST/redirect/GET): reloading that page shows it no more and makes no new one, so the
# one just copied keeps working.
NEW_API_TOKEN_KEY = "leadcrm_new_api_token"
NEW_FEED_URL_KEY = "leadcrm_new_feed_url"


class MySettingsView(LoginRequiredMixin, TemplateView):
    """Working hours decide when reminders reach you; the calendar address is shown once."""

    template_name = "pipeline/my_settings.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        kwargs.setdefault("form", MySettingsForm(user=user))
        kwargs.setdefault("phone_form", CallPhoneForm(initial={"call_phone": user.call_phone}))
        session = self.request.session
        kwargs.setdefault("new_api_token", session.pop(NEW_API_TOKEN_KEY, None))
        kwargs.setdefault("new_feed_url", session.pop(NEW_FEED_URL_KEY, None))
        feed = CalendarFeed.objects.filter(user=user).first()
        api_token = ApiToken.objects.filter(user=user, purpose=TokenPurpose.API).first()
        return super().get_context_data(feed=feed, api_token=api_token, api_token_days=settings.LEADCRM_API_TOKEN_DAYS,
                                        has_photo=AgentPhoto.objects.filter(user=user).exists(),
                                        has_second_factor=has_second_factor(user),
                                        second_factor_mandatory=second_factor_mandatory(user), **kwargs)

    def post(self, request):
        action = request.POST.get("action")
        if action == "calendar_new":
            token = feed_create(user=request.user)
            request.session[NEW_FEED_URL_KEY] = feed_url(token)
            messages.success(request, "Your new calendar address is below. Copy it now: it is not shown again. "
                                      "Any address made before stops working.")
            return HttpResponseRedirect(reverse("pipeline:my_settings"))
        if action == "api_token_new":
            _token, key = api_token_replace(user=request.user)
            request.session[NEW_API_TOKEN_KEY] = key
            messages.success(request, "Your new API token is below. Copy it now: it is not shown again; any "
                                      "token made before stops working.")
            return HttpResponseRedirect(reverse("pipeline:my_settings"))
        if action == "api_token_revoke":
            if api_token_revoke(user=request.user):
                messages.success(request, "API token revoked.")
            return HttpResponseRedirect(reverse("pipeline:my_settings"))
        if action == "sessions_end":
            user_sessions_end(user=request.user, request=request)
            message = ("Signed out everywhere else: every other browser and phone signed in as you must sign in "
                       "again. You are still signed in here.")
            # A key is not a session: an integration keeps working until its token is revoked.
            if ApiToken.objects.filter(user=request.user).exists():
                message += " Your API token still works: revoke it below if you did not make it."
            messages.success(request, message)
            return HttpResponseRedirect(reverse("pipeline:my_settings"))
        if action == "calendar_revoke":
            if feed_revoke(user=request.user):
                messages.success(request, "Calendar address revoked: calendars subscribed to it get nothing more.")
            return HttpResponseRedirect(reverse("pipeline:my_settings"))
        if action == "call_phone":
            return self.call_phone_post(request)
        form = MySettingsForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                user_preferences_update(user=request.user, **form.changes())
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                messages.success(request, "Saved. Reminders not yet sent follow your new hours.")
                return HttpResponseRedirect(reverse("pipeline:my_settings"))
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def call_phone_post(self, request):
        """The phone click-to-call rings first: the agent's own, E.164."""
        phone_form = CallPhoneForm(request.POST)
        if phone_form.is_valid():
            try:
                user_preferences_update(user=request.user, call_phone=phone_form.cleaned_data["call_phone"])
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    phone_form.add_error(field if field in phone_form.fields else None, problems)
            else:
                messages.success(request, CALL_PHONE_SAVED)
                return HttpResponseRedirect(reverse("pipeline:my_settings") + "#texts-and-calls")
        return self.render_to_response(self.get_context_data(phone_form=phone_form), status=400)


CALL_PHONE_SAVED = "Saved: click-to-call rings that phone first."
