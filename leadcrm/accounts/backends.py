"""The password check, refused outright while a username or address is throttled."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .access import access_of
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

    def get_all_permissions(self, user_obj, obj=None):
        """ModelBackend's answer, from the cache between requests (``access.py``)."""
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = set(access_of(user_obj).permissions)
        return user_obj._perm_cache
