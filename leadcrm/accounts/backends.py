"""The password check, refused outright while a username or address is throttled."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .throttle import client_address, login_blocked


class ThrottledModelBackend(ModelBackend):
    """Django's backend, after ``login_blocked``: a throttled sign-in fails even with the
    right password, so guessing on cannot find it (PermissionDenied stops every backend)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._user_model_field())
        if login_blocked(username=username or "", address=client_address(request)):
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _user_model_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
