"""The password check, refused outright while its pair or address is throttled, or its
username is slowed (``throttle.py``)."""

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .access import access_of
from .throttle import client_address, login_blocked, mark_refused


class ThrottledModelBackend(ModelBackend):
    """Django's backend, after ``login_blocked``: a throttled sign-in fails even with the
    right password, so guessing on cannot find it (PermissionDenied stops every backend);
    the refusal itself is not counted as a failure."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._user_model_field())
        if login_blocked(username=username or "", address=client_address(request)):
            mark_refused(request)
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)

    def user_can_authenticate(self, user):
        """An integration's user acts only through its API key: no password signs it in,
        even one a broker set in the admin (pipeline/api/services.py)."""
        return super().user_can_authenticate(user) and not getattr(user, "is_integration", False)

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
