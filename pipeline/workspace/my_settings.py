"""The user's own settings page: working hours and email (reminders), the calendar address,
API tokens (and for a broker the brokerage's integration keys), the photo shown to sellers,
and signing in (password, second factor, signing out everywhere else): every part's setting
of one person."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from leadcrm.accounts.roles import Perm
from leadcrm.accounts.services import user_preferences_update, user_sessions_end
from leadcrm.accounts.tokens import ApiToken, Scope
from leadcrm.accounts.two_factor import has_second_factor, second_factor_mandatory
from pipeline.api.services import api_token_create, api_token_revoke, integration_key_create
from pipeline.messaging.forms import CallPhoneForm
from pipeline.models import AgentPhoto, CalendarFeed
from pipeline.reminders.calendar import feed_create, feed_revoke, feed_url
from pipeline.reminders.forms import MySettingsForm

# A new API token or calendar address is shown once, on the GET after the POST that made it
# (POST/redirect/GET): reloading that page shows it no more and makes no new one, so the
# one just copied keeps working.
NEW_API_TOKEN_KEY = "leadcrm_new_api_token"
NEW_INTEGRATION_KEY = "leadcrm_new_integration_key"
NEW_FEED_URL_KEY = "leadcrm_new_feed_url"
EXPIRY_DAYS = (30, 90, 365)
ON_A_DATE = "date"


class ApiTokenForm(forms.Form):
    """A token's name, scopes and expiry (the same for an integration key)."""

    name = forms.CharField(max_length=80, help_text="What will use it, e.g. “Zapier sync”.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, initial=[Scope.READ],
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="Read: look only. Write: change leads, follow-ups, stages. Log outreach: record calls and texts "
                  "(through the compliance gate), with Write.")
    expires = forms.ChoiceField(label="Works for", initial="90", choices=[
        *[(str(days), f"{days} days") for days in EXPIRY_DAYS], (ON_A_DATE, "until a date")])
    expires_on = forms.DateField(required=False, label="Until (with “until a date”)",
                                 widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, prefix_name: str, **kwargs):
        super().__init__(*args, prefix=prefix_name, **kwargs)
        self.fields["expires"].initial = str(settings.LEADCRM_API_TOKEN_DAYS)

    def clean(self):
        data = super().clean()
        if data.get("expires") == ON_A_DATE:
            if data.get("expires_on") is None:
                self.add_error("expires_on", "Give the date it stops working.")
            else:  # the end of that day where the user is
                end = datetime.combine(data["expires_on"], time(23, 59, 59))
                data["expires_at"] = timezone.make_aware(end)
        elif data.get("expires"):
            data["lifetime"] = timedelta(days=int(data["expires"]))
        return data


class MySettingsView(LoginRequiredMixin, TemplateView):
    """Working hours decide when reminders reach you; the calendar address is shown once."""

    template_name = "pipeline/my_settings.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        kwargs.setdefault("form", MySettingsForm(user=user))
        kwargs.setdefault("phone_form", CallPhoneForm(initial={"call_phone": user.call_phone}))
        session = self.request.session
        kwargs.setdefault("new_api_token", session.pop(NEW_API_TOKEN_KEY, None))
        kwargs.setdefault("new_integration_key", session.pop(NEW_INTEGRATION_KEY, None))
        kwargs.setdefault("new_feed_url", session.pop(NEW_FEED_URL_KEY, None))
        kwargs.setdefault("token_form", ApiTokenForm(prefix_name="token"))
        feed = CalendarFeed.objects.filter(user=user).first()
        # Revoked ones are gone from the page (the API still lists them, with when).
        api_tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
        if user.has_perm(Perm.MANAGE_INTEGRATION_KEYS):
            kwargs.setdefault("integration_form", ApiTokenForm(prefix_name="integration"))
            kwargs["integration_keys"] = ApiToken.objects.filter(
                user__is_integration=True, revoked_at__isnull=True).select_related("created_by")
        return super().get_context_data(feed=feed, api_tokens=api_tokens,
                                        api_token_days=settings.LEADCRM_API_TOKEN_DAYS,
                                        api_token_max_days=settings.LEADCRM_API_TOKEN_MAX_DAYS,
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
        if action in ("api_token_new", "integration_key_new"):
            return self.token_post(request, integration=action == "integration_key_new")
        if action in ("api_token_revoke", "integration_key_revoke"):
            keys = (ApiToken.objects.filter(user__is_integration=True)
                    if action == "integration_key_revoke" and request.user.has_perm(Perm.MANAGE_INTEGRATION_KEYS)
                    else ApiToken.objects.filter(user=request.user))
            token = keys.filter(pk=request.POST.get("token_id", "") or None, revoked_at__isnull=True).first()
            if token is not None:
                api_token_revoke(token=token)
                messages.success(request, f"“{token.name}” revoked: it works no more.")
            where = "#integration-keys" if action == "integration_key_revoke" else "#api-tokens"
            return HttpResponseRedirect(reverse("pipeline:my_settings") + where)
        if action == "sessions_end":
            user_sessions_end(user=request.user, request=request)
            message = ("Signed out everywhere else: every other browser and phone signed in as you must sign in "
                       "again. You are still signed in here.")
            # A key is not a session: an integration keeps working until its token is revoked.
            if ApiToken.objects.filter(user=request.user, revoked_at__isnull=True).exists():
                message += " Your API tokens still work: revoke any below you did not make."
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

    def token_post(self, request, *, integration: bool):
        """Make a token (or, for a broker, an integration key); its key is shown once, on the GET after."""
        if integration and not request.user.has_perm(Perm.MANAGE_INTEGRATION_KEYS):
            return HttpResponseRedirect(reverse("pipeline:my_settings"))
        form = ApiTokenForm(request.POST, prefix_name="integration" if integration else "token")
        if form.is_valid():
            data = form.cleaned_data
            make = integration_key_create if integration else api_token_create
            who = {"created_by": request.user} if integration else {"user": request.user}
            try:
                token, key = make(**who, name=data["name"], scopes=data["scopes"], expires_at=data.get("expires_at"),
                                  lifetime=data.get("lifetime"))
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    shown_at = {"expires_at": "expires_on"}.get(field, field if field in form.fields else None)
                    form.add_error(shown_at, problems)
            else:
                request.session[NEW_INTEGRATION_KEY if integration else NEW_API_TOKEN_KEY] = key
                messages.success(request, f"“{token.name}” made: its key is below. Copy it now: it is not shown again.")
                where = "#integration-keys" if integration else "#api-tokens"  # back to the card it was made on
                return HttpResponseRedirect(reverse("pipeline:my_settings") + where)
        context = {"integration_form": form} if integration else {"token_form": form}
        return self.render_to_response(self.get_context_data(**context), status=400)

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
