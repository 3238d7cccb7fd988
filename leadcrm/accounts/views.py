"""Signing in: the password, the second factor, and the password's change and reset."""

from base64 import b32encode

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import View
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .forms import CodeForm, LoginForm, ThrottledPasswordResetForm
from .middleware import SECOND_FACTOR_DUE_KEY
from .services import user_sessions_end
from .throttle import client_address, code_failure_record, code_refusal, code_success_record
from .two_factor import (
    device_wait_seconds,
    has_second_factor,
    recovery_codes_issue,
    second_factor_mandatory,
    second_factor_required,
    second_factor_verify,
    totp_device_confirm,
    totp_device_start,
)

WRONG_CODE = ("That code is not right. The app shows a new one every 30 seconds: type the one it shows "
              "now, or one of your recovery codes.")
# Setting up, there are no recovery codes yet; a wrong code is mostly the phone's clock.
WRONG_SETUP_CODE = ("That code is not right. The app shows a new one every 30 seconds: type the six digits it "
                    "shows now for LeadCRM. Still refused? Make sure your phone sets its clock automatically.")
CODE_WAIT = "Wait {seconds} second{plural} before trying a code again."
# Shown once, on the GET after the POST that made them (POST/redirect/GET): a reload shows
# the page without them, and re-sends nothing (docs/security.md#second-factor).
RECOVERY_CODES_KEY = "leadcrm_recovery_codes_to_show"
RECOVERY_NEXT_KEY = "leadcrm_recovery_codes_next"


class LoginView(auth_views.LoginView):
    """Django's sign-in page with the throttled form; a throttled attempt is a 429."""

    form_class = LoginForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response


def _next_url(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return wanted
    return reverse(settings.LOGIN_REDIRECT_URL)


def _code_refused(request, *, setting_up=False):
    """The sign-in throttle's refusal for this user and address, as a page, or None: wrong
    codes count with wrong passwords, so six digits cannot be guessed either."""
    refusal = code_refusal(username=request.user.get_username(), address=client_address(request),
                           setting_up=setting_up)
    if refusal is None:
        return None
    return _form_with_error(request, refusal.message)


def _form_with_error(request, message):
    form = CodeForm(request.POST)
    form.is_valid()
    form.add_error(None, message)
    return form


def _wait_words(seconds: int) -> str:
    return CODE_WAIT.format(seconds=seconds, plural="" if seconds == 1 else "s")


class TwoFactorView(LoginRequiredMixin, View):
    """After the password: the code from the authenticator app, or a recovery code."""

    template_name = "accounts/two_factor.html"

    def get(self, request):
        if not has_second_factor(request.user):
            return redirect(reverse("two_factor_setup") + (f"?{urlencode({'next': request.GET['next']})}"
                                                           if "next" in request.GET else ""))
        if request.user.is_verified():
            return HttpResponseRedirect(_next_url(request))
        return render(request, self.template_name, {"form": CodeForm(), "next": _next_url(request)})

    def post(self, request):
        if request.user.is_verified():
            return HttpResponseRedirect(_next_url(request))
        refused = _code_refused(request)
        if refused is not None:
            return render(request, self.template_name, {"form": refused, "next": _next_url(request)}, status=429)
        form = CodeForm(request.POST)
        check = second_factor_verify(user=request.user, code=form.cleaned_data["code"]) if form.is_valid() else None
        if check is not None and check.wait_seconds:
            # django-otp's own pause after a wrong code: nothing was checked, so nothing is counted.
            form.add_error(None, _wait_words(check.wait_seconds))
            return render(request, self.template_name, {"form": form, "next": _next_url(request)}, status=429)
        device = check.device if check is not None else None
        if device is None:
            code_failure_record(username=request.user.get_username(), address=client_address(request))
            form.add_error(None, WRONG_CODE)
            return render(request, self.template_name, {"form": form, "next": _next_url(request)})
        otp_login(request, device)
        code_success_record(username=request.user.get_username())
        if isinstance(device, StaticDevice):
            left = device.token_set.count()
            messages.warning(request, f"Recovery code used: {left} left, each good once. If your phone is lost, "
                                      "set up the app again on your settings page.")
        return HttpResponseRedirect(_next_url(request))


class TwoFactorSetupView(LoginRequiredMixin, View):
    """Scan the QR code, confirm with a code, get the recovery codes (shown once); every
    other session of the user's then ends.

    Replacing an app already set up needs this session to have passed it: the password
    alone must never be enough to enrol the thief's phone."""

    template_name = "accounts/two_factor_setup.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.is_verified() and has_second_factor(request.user):
            return redirect("two_factor")
        return super().dispatch(request, *args, **kwargs)

    def _page(self, request, device, form, status=200):
        uri = device.config_url
        return render(request, self.template_name, {
            "form": form, "next": _next_url(request), "qr_svg": segno.make(uri, error="m").svg_inline(scale=4),
            "secret": _in_fours(b32encode(device.bin_key).decode()),
            "required": second_factor_required(request.user),
        }, status=status)

    def get(self, request):
        return self._page(request, totp_device_start(user=request.user), CodeForm())

    def post(self, request):
        device = totp_device_start(user=request.user)
        refused = _code_refused(request, setting_up=True)
        if refused is not None:
            return self._page(request, device, refused, status=429)
        wait = device_wait_seconds(device)
        if wait:
            return self._page(request, device, _form_with_error(request, _wait_words(wait)), status=429)
        form = CodeForm(request.POST)
        codes = totp_device_confirm(device=device, code=form.cleaned_data["code"]) if form.is_valid() else None
        if codes is None:
            code_failure_record(username=request.user.get_username(), address=client_address(request))
            form.add_error(None, WRONG_SETUP_CODE)
            return self._page(request, device, form)
        device.refresh_from_db()
        otp_login(request, device)
        code_success_record(username=request.user.get_username())
        request.session[SECOND_FACTOR_DUE_KEY] = True
        # Sessions signed in with the password alone (perhaps someone else's) end here.
        user_sessions_end(user=request.user, request=request)
        return _recovery_codes_redirect(request, codes, _next_url(request))


def _in_fours(key: str) -> str:
    """The app's key as typed by hand: groups of four, as the apps themselves show it."""
    return " ".join(key[start:start + 4] for start in range(0, len(key), 4))


def _recovery_codes_redirect(request, codes, next_url):
    request.session[RECOVERY_CODES_KEY] = codes
    request.session[RECOVERY_NEXT_KEY] = next_url
    return redirect("two_factor_recovery_codes")


class RecoveryCodesView(LoginRequiredMixin, View):
    """New recovery codes (the old ones stop working), shown once: the POST makes them and
    redirects; the GET shows them and forgets them, so a reload makes nothing new."""

    template_name = "accounts/recovery_codes.html"

    def get(self, request):
        if not request.user.is_verified():
            return redirect("two_factor")
        codes = request.session.pop(RECOVERY_CODES_KEY, None)
        next_url = request.session.pop(RECOVERY_NEXT_KEY, None) or reverse("pipeline:my_settings")
        return render(request, self.template_name, {"codes": codes, "next": next_url})

    def post(self, request):
        if not (request.user.is_verified() and has_second_factor(request.user)):
            return redirect("two_factor")
        codes = recovery_codes_issue(user=request.user)
        return _recovery_codes_redirect(request, codes, reverse("pipeline:my_settings"))


class TwoFactorOffView(LoginRequiredMixin, View):
    """An agent turns their own second factor off; brokers and the admin's users cannot."""

    def post(self, request):
        user = request.user
        if second_factor_mandatory(user):
            messages.error(request, "Your role needs the second factor: it stays on. To move it to a new phone, "
                                    "set it up again.")
        elif user.is_verified():
            TOTPDevice.objects.filter(user=user).delete()
            StaticDevice.objects.filter(user=user).delete()
            request.session[SECOND_FACTOR_DUE_KEY] = False
            messages.success(request, "Second factor turned off: signing in takes only your password now.")
        return redirect("pipeline:my_settings")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's: it keeps this session signed in (the new password's hash) and every other
    session of the user's ends on its next request, their hash being the old password's."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("pipeline:my_settings")

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, "Password changed. You are still signed in here; everywhere else you "
                                       "will need the new password.")
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by email, rate-limited (``ThrottledPasswordResetForm``); the page
    after says the same whether or not the email is ours.

    Its links are single use by construction: the token signs the user's password hash
    and last sign-in, both of which setting the new password changes; they expire after
    ``PASSWORD_RESET_TIMEOUT``. Setting it also ends every session of the user's."""

    form_class = ThrottledPasswordResetForm
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    @property
    def extra_email_context(self):
        return {"reset_hours": reset_period()}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's: a link used already, too old or forged is a 404, with a page saying how
    to ask for a new one (a secret address that is wrong shows nothing else)."""

    def render_to_response(self, context, **response_kwargs):
        if not context.get("validlink"):
            response_kwargs["status"] = 404
        return super().render_to_response(context, **response_kwargs)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    def get_context_data(self, **kwargs):
        return super().get_context_data(reset_hours=reset_period(), **kwargs)


def reset_period() -> str:
    """How long a reset link works, in words for the email and the page."""
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minutes"
