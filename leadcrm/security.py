"""The Content Security Policy every response carries (issue 9).

Scripts, styles, fonts and images come from our own origin only: no inline script, no
inline style attribute, no CDN. Pages pass it: the browser tests fail on any console
error, which is where a violation shows. Data for scripts travels in
``<script type="application/json">`` blocks (json_script), which are never run.
"""

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
