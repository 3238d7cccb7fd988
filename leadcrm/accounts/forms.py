"""The sign-in forms (ours and the admin's): a throttled sign-in is told why, not that the
password is wrong."""

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from .throttle import LOGIN_THROTTLED, client_address, login_blocked, login_window_minutes


class ThrottledLoginMixin:
    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if login_blocked(username=username, address=client_address(self.request)):
            raise forms.ValidationError(LOGIN_THROTTLED.format(minutes=login_window_minutes()), code="throttled")
        return super().clean()

    @property
    def throttled(self) -> bool:
        return any(error.code == "throttled" for error in self.errors.as_data().get("__all__", []))


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
