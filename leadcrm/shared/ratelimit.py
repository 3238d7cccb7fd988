"""The API's request limits, told on every answer: ``RateLimit-Limit`` (requests a window
allows), ``RateLimit-Remaining`` (left in it now) and ``RateLimit-Reset`` (seconds until
the oldest request counted leaves the window, so that Remaining grows again), after the
IETF's RateLimit header fields; a 429 has ``Retry-After`` too (DRF's). A client that
paces itself by them never meets the 429 (docs/architecture.md#api-rate-limits).

DRF's throttles count a sliding window per user (or address, or lead-source key). Those
here record what they decided on the request; the middleware writes the tightest of them
into the headers. An answer given before the throttles ran (a 401, a 403, an unknown
path) reads the same windows without counting in them, as DRF does not count those.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from rest_framework import throttling
from rest_framework.settings import api_settings

LIMIT, REMAINING, RESET = "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"


@dataclass(frozen=True)
class Window:
    limit: int
    remaining: int
    reset: int  # seconds


def _django_request(request):
    return getattr(request, "_request", request)  # DRF's Request wraps Django's


class ToldRateThrottle:
    """A mixin for DRF's ``SimpleRateThrottle``: the window it counted in, kept on the request."""

    def allow_request(self, request, view):
        allowed = super().allow_request(request, view)
        if self.rate is not None and getattr(self, "key", None) is not None:
            window = self._window(self.history, self.now)
            if not allowed:
                window = Window(window.limit, 0, window.reset)
            recorded = _django_request(request)
            recorded.rate_limit_windows = [*getattr(recorded, "rate_limit_windows", []), window]
        return allowed

    def _window(self, history: list[float], now: float) -> Window:
        # DRF keeps the newest first; the oldest leaves the window first.
        reset = math.ceil(self.duration - (now - history[-1])) if history else 0
        return Window(self.num_requests, max(0, self.num_requests - len(history)), max(0, reset))

    def peek(self, request, view) -> Window | None:
        """The window as it stands, nothing counted; None when this throttle does not apply."""
        if self.rate is None:
            return None
        key = self.get_cache_key(request, view)
        if key is None:
            return None
        now = self.timer()
        history = [moment for moment in self.cache.get(key, []) if moment > now - self.duration]
        return self._window(history, now)


class UserRateThrottle(ToldRateThrottle, throttling.UserRateThrottle):
    pass


class AnonRateThrottle(ToldRateThrottle, throttling.AnonRateThrottle):
    pass


def tightest(windows: list[Window]) -> Window | None:
    """The window that runs out first: fewest left, then the longest wait."""
    return min(windows, key=lambda window: (window.remaining, -window.reset), default=None)


def _peeked(request) -> list[Window]:
    """The windows an answer given before the throttles ran would have counted in."""
    match = getattr(request, "resolver_match", None)
    view_class = getattr(match.func, "cls", None) if match is not None else None
    classes = view_class.throttle_classes if view_class is not None else api_settings.DEFAULT_THROTTLE_CLASSES
    windows = []
    for throttle_class in classes:
        if issubclass(throttle_class, ToldRateThrottle):
            try:
                window = throttle_class().peek(request, None)
            except (AttributeError, TypeError):  # a throttle that needs the view or the DRF request
                window = None
            if window is not None:
                windows.append(window)
    return windows


class RateLimitHeadersMiddleware:
    """The tightest window on every answer under /api/, successes included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path_info.startswith("/api/"):
            return response
        window = tightest(getattr(request, "rate_limit_windows", None) or _peeked(request))
        if window is not None:
            response[LIMIT] = str(window.limit)
            response[REMAINING] = str(window.remaining)
            response[RESET] = str(window.reset)
        return response
