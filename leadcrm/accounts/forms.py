"""The sign-in forms (ours and the admin's): a throttled sign-in is told why and how long to
wait, not that the password is wrong; and the second factor's forms."""

import hashlib

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm

from .throttle import client_address, login_refusal, over_limit


class ThrottledLoginMixin:
    def clean(self):
        username = self.cleaned_data.get("username") or ""
        refusal = login_refusal(username=username, address=client_address(self.request))
        if refusal is not None:
            raise forms.ValidationError(refusal.message, code="throttled")
        return super().clean()

    @property
    def throttled(self) -> bool:
        return any(error.code == "throttled" for error in self.errors.as_data().get("__all__", []))


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "That username and password do not match. Check Caps Lock, or reset your password.",
    }


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class ThrottledPasswordResetForm(PasswordResetForm):
    """Django's reset form, sending at most a few emails an hour per address and per email
    typed, silently: the page says the same whether or not the email is ours, and whether
    or not this request was one too many, so it tells a prober nothing."""

    def save(self, *args, request=None, **kwargs):
        email = self.cleaned_data["email"]
        window = settings.LEADCRM_PASSWORD_RESET_WINDOW_SECONDS
        by_address = over_limit(f"password-reset:address:{client_address(request)}",
                                limit=settings.LEADCRM_PASSWORD_RESETS_PER_ADDRESS, window_seconds=window)
        by_email = over_limit(f"password-reset:email:{_digest(email)}",
                              limit=settings.LEADCRM_PASSWORD_RESETS_PER_EMAIL, window_seconds=window)
        if by_address or by_email:
            return
        super().save(*args, request=request, **kwargs)


def _digest(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:32]


class CodeForm(forms.Form):
    """Six digits from the authenticator app, or one recovery code."""

    code = forms.CharField(label="Code", max_length=16, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "autofocus": True}))

    def clean_code(self):
        return self.cleaned_data["code"].replace(" ", "").replace("-", "")
