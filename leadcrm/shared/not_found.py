"""The app's own "Not found" page while DEBUG is on (``make run``, the demo).

With DEBUG on, Django answers every 404 with its technical page: the site's URL patterns
and "You're seeing this error because you have DEBUG = True". That page is for someone
writing a route; someone trying the demo who mistypes an address, or opens a lead that is
not theirs, should see what production shows them. This middleware (added by the local
settings only) renders the app's 404 for both: an address no URL matches and an Http404
a view raises. Every other error is left to Django, so a real failure (a 500) still gets
the debug page with its traceback and local variables, the page a developer needs.
``LEADCRM_TECHNICAL_404=true`` leaves the middleware out, for a developer who wants
Django's list of patterns back.
"""

from django.http import Http404
from django.urls import Resolver404, get_resolver, resolve


class AppNotFoundMiddleware:
    """Last in the middleware, so the page is drawn with the session, user and messages."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # An address nothing matches never reaches a view (nor process_exception): Django
        # answers it while resolving, so it is resolved here first. A 404 returned here
        # still passes CommonMiddleware, which redirects "/leads" to "/leads/".
        try:
            resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404 as exception:
            return self.not_found(request, exception)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, Http404):
            return self.not_found(request, exception)
        return None

    @staticmethod
    def not_found(request, exception):
        # The project's own handler404 (leadcrm.urls.not_found: JSON under /api/).
        handler = get_resolver(getattr(request, "urlconf", None)).resolve_error_handler(404)
        return handler(request, exception)
