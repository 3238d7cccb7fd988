import functools
import time
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from leadcrm.shared.api import problem_json_response

from .two_factor import has_second_factor, second_factor_mandatory

LAST_SEEN_KEY = "leadcrm_last_seen"
SECOND_FACTOR_DUE_KEY = "leadcrm_second_factor_due"
# The last-seen time is written at most this often: not a session write on every request.
LAST_SEEN_RESOLUTION_SECONDS = 60
IDLE_SIGNED_OUT = ("You were signed out after {hours} without using LeadCRM, so nobody else can carry on "
                   "from your screen. Sign in again to continue.")
SECOND_FACTOR_OWED = "Sign in with your second factor first: open /accounts/two-factor/ in the browser."


class UserTimezoneMiddleware:
    """Show every time in the signed-in user's own zone; storage stays UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.time_zone:
            timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def _idle_words(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    if hours and not minutes:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{seconds // 60} minutes"


@functools.cache
def _second_factor_free_prefixes() -> tuple[str, ...]:
    # Reversed once per process, not on every request of a user who owes the factor.
    return (reverse("two_factor"), reverse("two_factor_setup"), reverse("logout"), "/accounts/password/reset/")


def _second_factor_free(path: str) -> bool:
    """Pages a user who still owes the second factor may open: the factor's own pages,
    signing out, and the password reset (it signs no one in)."""
    return path.startswith(_second_factor_free_prefixes())


class SignInMiddleware:
    """Two rules for every signed-in request (docs/security.md#signing-in):

    - a session unused for ``LEADCRM_SESSION_IDLE_SECONDS`` is signed out on its next
      request; the last-seen time lives in the session, written at most once a minute;
    - a user who must pass the second factor (brokers, the admin's users, agents who
      turned it on) and has not yet in this session sees only the factor's pages, the
      admin included: one middleware covers every page, where django-otp's
      ``OTPAdminSite`` would cover the admin alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        session = request.session
        now = int(time.time())
        last_seen = session.get(LAST_SEEN_KEY)
        idle = settings.LEADCRM_SESSION_IDLE_SECONDS
        if last_seen is not None and now - last_seen > idle:
            logout(request)
            messages.info(request, IDLE_SIGNED_OUT.format(hours=_idle_words(idle)))
            return self.get_response(request)
        if last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION_SECONDS:
            session[LAST_SEEN_KEY] = now
        # The page header reads it (templates/base.html): while the factor is owed, the menu's
        # links would only bounce back here, so the header shows the brand and "Sign out".
        request.second_factor_owed = self._owes_second_factor(request, user)
        if request.second_factor_owed and not _second_factor_free(request.path):
            if request.path.startswith("/api/"):
                return problem_json_response(403, SECOND_FACTOR_OWED)
            target = reverse("two_factor")
            if request.method == "GET":
                target += "?" + urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(target)
        return self.get_response(request)

    @staticmethod
    def _owes_second_factor(request, user) -> bool:
        if user.is_verified():
            return False
        if second_factor_mandatory(user):  # read each time: a promotion applies at once
            return True
        chosen = request.session.get(SECOND_FACTOR_DUE_KEY)
        if chosen is None:  # a session from before the factor: read it once
            chosen = request.session[SECOND_FACTOR_DUE_KEY] = has_second_factor(user)
        return chosen


@receiver(user_logged_in, dispatch_uid="leadcrm.accounts.middleware.signed_in")
def _on_signed_in(sender, request, user, **kwargs):
    """Stamp the new session: used now, and whether its user turned the second factor on
    (read here once, not on every request)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[LAST_SEEN_KEY] = int(time.time())
        session[SECOND_FACTOR_DUE_KEY] = has_second_factor(user)
