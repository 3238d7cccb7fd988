"""Failed sign-ins are counted per username and per address; too many and both stop.

Every password check goes through ``authenticate()``: the sign-in page, the admin's, and
anything added later. Its ``user_login_failed`` signal counts a failure against the
username typed and against the client's address, in the shared cache (Redis in
production, so every web worker counts together). Once a count reaches its limit within
the window, ``ThrottledModelBackend`` refuses that username or address, even with the
right password, until the window ends; a sign-in that succeeds clears its username's
count. The address limit is higher than the username's: an office's agents share one.
"""

from __future__ import annotations

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

logger = logging.getLogger(__name__)

LOGIN_THROTTLED = (
    "Too many failed sign-ins for this username or from this address. "
    "Wait {minutes} minutes and try again, or ask your broker to check your account."
)


def _limits() -> tuple[int, int, int]:
    return (settings.LEADCRM_LOGIN_FAILURES_PER_USERNAME, settings.LEADCRM_LOGIN_FAILURES_PER_ADDRESS,
            settings.LEADCRM_LOGIN_FAILURE_WINDOW_SECONDS)


def _key(kind: str, value: str) -> str:
    # Hashed: usernames typed by anyone (and their typos) never sit in the cache as text.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:{kind}:{digest}"


def client_address(request) -> str:
    """The client's address: behind ``LEADCRM_TRUSTED_PROXIES`` reverse proxies, the one
    the nearest proxy saw (X-Forwarded-For), else the connection's."""
    if request is None:
        return ""
    proxies = settings.LEADCRM_TRUSTED_PROXIES
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def login_window_minutes() -> int:
    return max(1, _limits()[2] // 60)


def login_blocked(*, username: str, address: str) -> bool:
    """True when the username or the address has used up its failures in the window."""
    per_username, per_address, _window = _limits()
    counts = cache.get_many([_key("username", username), _key("address", address)])
    return (counts.get(_key("username", username), 0) >= per_username
            or (bool(address) and counts.get(_key("address", address), 0) >= per_address))


def hit_count(key: str, window: int) -> int:
    """One more hit on ``key``; how many in its window. A fixed window from the first hit:
    add() starts it, incr() keeps its expiry. Also the public token pages' rate limit."""
    cache.add(key, 0, window)
    try:
        return cache.incr(key)
    except ValueError:  # it expired between the two
        cache.set(key, 1, window)
        return 1


def over_limit(key: str, *, limit: int, window_seconds: int) -> bool:
    """Count one more hit on ``key``; True once more than ``limit`` came within the window
    (the public token pages: the seller's status page, the calendar feed)."""
    return hit_count(key, window_seconds) > limit


def login_failure_record(*, username: str, address: str) -> None:
    per_username, per_address, window = _limits()
    failures = hit_count(_key("username", username), window)
    if failures == per_username:
        logger.warning("Sign-in throttled: %s failures for username %r in %s s (last from %s)",
                       failures, username, window, address or "an unknown address")
    if address:
        failures = hit_count(_key("address", address), window)
        if failures == per_address:
            logger.warning("Sign-in throttled: %s failures from %s in %s s", failures, address, window)


def login_success_record(*, username: str) -> None:
    cache.delete(_key("username", username))


@receiver(user_login_failed, dispatch_uid="leadcrm.accounts.throttle.failed")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    username = credentials.get("username") or ""
    login_failure_record(username=username, address=client_address(request))


@receiver(user_logged_in, dispatch_uid="leadcrm.accounts.throttle.succeeded")
def _on_logged_in(sender, request, user, **kwargs):
    login_success_record(username=user.get_username())
