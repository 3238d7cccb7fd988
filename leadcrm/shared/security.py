"""The Content Security Policy every response carries.

Scripts, styles, fonts and images come from our own origin only: no inline script, no
inline style attribute, no CDN. Pages pass it: the browser tests fail on any console
error, which is where a violation shows. Data for scripts travels in
``<script type="application/json">`` blocks (json_script), which are never run.
"""

import re

from django.conf import settings


def policy() -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in settings.LEADCRM_CSP.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.header = policy()

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.header)
        return response


def policy_with(**extra: list[str]) -> str:
    """The policy with more sources for some directives (``style_src=["'unsafe-inline'"]``)."""
    merged = {name: list(sources) for name, sources in settings.LEADCRM_CSP.items()}
    for name, sources in extra.items():
        merged.setdefault(name.replace("_", "-"), []).extend(sources)
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in merged.items())


class SecretPathFilter:
    """Masks the secret part of the addresses that are their own key (a seller's status
    page ``/s/<token>/``, a calendar feed, an unsubscribe link) in log records: Django
    logs the path of every 404 and the development server every request."""

    SECRET_PATHS = re.compile(r"(/s/|/calendar/|/unsubscribe/)[^/\s\"'?]{8,}")

    def filter(self, record) -> bool:
        if isinstance(record.msg, str) and "/" in record.msg:
            record.msg = self.SECRET_PATHS.sub(r"\1…", record.msg)
        if isinstance(record.args, dict):
            record.args = {key: self._mask(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(self._mask(arg) for arg in record.args)
        return True

    def _mask(self, value):
        return self.SECRET_PATHS.sub(r"\1…", value) if isinstance(value, str) else value


try:  # gunicorn is the production server; a laptop trial may not have it
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # pragma: no cover
    _GunicornLogger = object


class GunicornLogger(_GunicornLogger):
    """gunicorn's access log with the secret part of secret addresses masked, in the
    request line, the path, the query and the Referer alike
    (``--logger-class leadcrm.shared.security.GunicornLogger``; README, Running in production)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: SecretPathFilter.SECRET_PATHS.sub(r"\1…", value) if isinstance(value, str) else value
                for key, value in atoms.items()}
