"""Failed sign-ins slow the guesser down without locking the account's owner out.

Every password check goes through ``authenticate()``: the sign-in page, the admin's, and
anything added later; a wrong second-factor code is counted the same way (``views.py``).
Failures are counted in the shared cache (Redis in production, so every web worker counts
together), three ways (docs/security.md#signing-in):

- per (username, address) pair: ``LEADCRM_LOGIN_FAILURES_PER_PAIR`` failures and that pair
  stops for the window, even with the right password. The guesser at that address is
  stopped; the same person at their desk is not.
- per address: ``LEADCRM_LOGIN_FAILURES_PER_ADDRESS`` failures, whatever the usernames, and
  the address stops. Higher than the pair's: an office's agents share one address.
- per username, from anywhere: never a lock. Past ``LEADCRM_LOGIN_USERNAME_FREE_FAILURES``
  each further check of that username waits a delay growing a second with each failure up
  to ``LEADCRM_LOGIN_USERNAME_MAX_DELAY_SECONDS`` after the last failure. A guesser with
  many addresses gets a few guesses a minute; the owner, from a fresh address, waits at
  most the cap, and from an address they signed in from before, not at all.

The old rule locked the username itself after five failures from anywhere: anyone could
keep any account, the broker's included, locked for good without knowing its password.

Our own code rather than django-axes: axes is not among our pinned packages, and this is a
few cache counters beside the ones the public token pages already use (``over_limit``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

logger = logging.getLogger(__name__)

LOGIN_THROTTLED = (
    "Too many failed sign-ins for this username from this address. "
    "Wait {minutes} minutes and try again, or reset your password (\"Forgot your password?\" on the sign-in page)."
)
ADDRESS_THROTTLED = (
    "Too many failed sign-ins from this address. "
    "Wait {minutes} minutes and try again, or ask your broker to check your account."
)
CODES_THROTTLED = (
    "Too many wrong codes. Wait {minutes} minutes and try again, or use one of your recovery codes "
    "when the wait is over; if you did not just sign in, change your password now."
)
# While setting the app up there are no recovery codes yet, and a wrong code is most often
# the phone's clock or a mistyped key, not a thief.
SETUP_CODES_THROTTLED = (
    "Too many wrong codes. Wait {minutes} minutes and try again. Make sure your phone sets its clock "
    "automatically, then type the six digits the app shows for LeadCRM."
)
USERNAME_SLOWED = (
    "There have been many failed sign-ins for this username lately. "
    "Wait {seconds} seconds and try again; if it was not you, tell your broker."
)


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in is refused before its password is checked, in words for the page."""

    kind: str  # "pair", "address", "username" or "code"
    message: str


def _window() -> int:
    return settings.LEADCRM_LOGIN_FAILURE_WINDOW_SECONDS


def _key(kind: str, *values: str) -> str:
    # Hashed: usernames typed by anyone (and their typos) never sit in the cache as text.
    text = "\x00".join(value.strip().lower() for value in values)
    return f"login-failures:{kind}:{hashlib.sha256(text.encode()).hexdigest()[:32]}"


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
    return max(1, _window() // 60)


def _username_wait(count: int, last_failure: float | None) -> int:
    """Seconds the username's next check must still wait (0: none)."""
    excess = count - settings.LEADCRM_LOGIN_USERNAME_FREE_FAILURES
    if excess <= 0 or last_failure is None:
        return 0
    delay = min(excess, settings.LEADCRM_LOGIN_USERNAME_MAX_DELAY_SECONDS)
    return max(0, math.ceil(last_failure + delay - time.time()))


def login_refusal(*, username: str, address: str) -> Refusal | None:
    """Why this sign-in must not have its password checked now, or None: go ahead."""
    keys = {"pair": _key("pair", username, address), "address": _key("address", address),
            "username": _key("username", username), "last": _key("last", username),
            "known": _key("known", username, address)}
    held = cache.get_many(list(keys.values()))
    minutes = login_window_minutes()
    if address and held.get(keys["address"], 0) >= settings.LEADCRM_LOGIN_FAILURES_PER_ADDRESS:
        return Refusal("address", ADDRESS_THROTTLED.format(minutes=minutes))
    if held.get(keys["pair"], 0) >= settings.LEADCRM_LOGIN_FAILURES_PER_PAIR:
        return Refusal("pair", LOGIN_THROTTLED.format(minutes=minutes))
    if not held.get(keys["known"]):
        wait = _username_wait(held.get(keys["username"], 0), held.get(keys["last"]))
        if wait:
            return Refusal("username", USERNAME_SLOWED.format(seconds=wait))
    return None


def code_refusal(*, username: str, address: str, setting_up: bool = False) -> Refusal | None:
    """Why a second-factor code must not be checked now, or None. Besides the sign-in's
    limits, wrong codes have a count of their own per username that the right password
    does not clear: signing in again must not buy a fresh set of guesses at six digits.
    ``setting_up``: the code confirms a new app, so the words suit enrolment."""
    refusal = login_refusal(username=username, address=address)
    if refusal is not None:
        return refusal
    if (cache.get(_key("code", username)) or 0) >= settings.LEADCRM_LOGIN_CODE_FAILURES:
        message = SETUP_CODES_THROTTLED if setting_up else CODES_THROTTLED
        return Refusal("code", message.format(minutes=login_window_minutes()))
    return None


def code_failure_record(*, username: str, address: str) -> None:
    """A wrong second-factor code: counted as a failed sign-in, and on the codes' own count."""
    login_failure_record(username=username, address=address)
    if hit_count(_key("code", username), _window()) == settings.LEADCRM_LOGIN_CODE_FAILURES:
        logger.warning("Second factor throttled: %s wrong codes for username %r (last from %s)",
                       settings.LEADCRM_LOGIN_CODE_FAILURES, username, address or "an unknown address")


def code_success_record(*, username: str) -> None:
    cache.delete(_key("code", username))


def login_blocked(*, username: str, address: str) -> bool:
    """True when a sign-in for ``username`` from ``address`` is refused for now."""
    return login_refusal(username=username, address=address) is not None


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
    """A wrong password or a wrong second-factor code for ``username`` from ``address``."""
    window = _window()
    failures = hit_count(_key("pair", username, address), window)
    if failures == settings.LEADCRM_LOGIN_FAILURES_PER_PAIR:
        logger.warning("Sign-in throttled: %s failures for username %r from %s in %s s",
                       failures, username, address or "an unknown address", window)
    failures = hit_count(_key("username", username), window)
    cache.set(_key("last", username), time.time(), window)
    if failures == settings.LEADCRM_LOGIN_USERNAME_FREE_FAILURES + 1:
        logger.warning("Sign-in slowed: %s failures for username %r in %s s (last from %s)",
                       failures, username, window, address or "an unknown address")
    if address:
        failures = hit_count(_key("address", address), window)
        if failures == settings.LEADCRM_LOGIN_FAILURES_PER_ADDRESS:
            logger.warning("Sign-in throttled: %s failures from %s in %s s", failures, address, window)


def login_success_record(*, username: str, address: str) -> None:
    """The password was right: that pair starts afresh, and the address is one this
    username signs in from (spared its username's delay). The username's own count stays:
    a guesser elsewhere is still slowed."""
    cache.delete(_key("pair", username, address))
    cache.set(_key("known", username, address), True, settings.LEADCRM_LOGIN_KNOWN_ADDRESS_SECONDS)


def mark_refused(request) -> None:
    """This request's check was refused unchecked: its failure signal must not count, or a
    refused guess would lengthen the wait it was refused for."""
    if request is not None:
        request.leadcrm_login_refused = True


@receiver(user_login_failed, dispatch_uid="leadcrm.accounts.throttle.failed")
def _on_login_failed(sender, credentials, request=None, **kwargs):
    if getattr(request, "leadcrm_login_refused", False):
        return
    username = credentials.get("username") or ""
    login_failure_record(username=username, address=client_address(request))


@receiver(user_logged_in, dispatch_uid="leadcrm.accounts.throttle.succeeded")
def _on_logged_in(sender, request, user, **kwargs):
    login_success_record(username=user.get_username(), address=client_address(request))
