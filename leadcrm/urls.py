from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.urls import include, path
from django.views import defaults
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from leadcrm.accounts.views import LoginView
from leadcrm.shared import health
from leads import urls as leads_urls
from pipeline.api.schema import ApiDocsView
from pipeline.api.views import (
    ComplianceCheckView,
    FollowUpViewSet,
    ImportViewSet,
    LeadViewSet,
    OutreachViewSet,
)
from pipeline.reports.views import urls as report_urls
from pipeline.workspace import lead_pages

admin.site.site_header = "LeadCRM administration"
admin.site.site_title = "LeadCRM admin"
admin.site.index_title = "Brokerage administration"


@require_GET
def favicon(request):
    # Looked up per request: the hashed name exists only once collectstatic has run.
    return HttpResponsePermanentRedirect(static("favicon.svg"))


def not_found(request, exception):
    """An unknown address under /api/ answers as the API does (JSON), not with a page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found


api = DefaultRouter()
api.register("leads", LeadViewSet, basename="lead")
api.register("follow-ups", FollowUpViewSet, basename="follow-up")
api.register("outreach", OutreachViewSet, basename="outreach")
api.register("imports", ImportViewSet, basename="import")

urlpatterns = [
    path("api/", include((api.urls, "api"))),
    path("api/compliance/check/", ComplianceCheckView.as_view(), name="api-compliance-check"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("pipeline.urls")),
    # leads' own pages and the lead pages that show every part of a lead, one namespace.
    path("leads/", include(([*lead_pages.urlpatterns, *leads_urls.urlpatterns], leads_urls.app_name))),
    path("compliance/", include("compliance.urls")),
    path("accounts/login/", LoginView.as_view(), name="login"),  # failures throttled (accounts/throttle.py)
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The broker's reports, pages of the admin (before it, so its catch-all does not take them).
    path("admin/reports/", include((report_urls(), "reports"))),
    path("admin/", admin.site.urls),
    # Liveness (the process answers) and readiness (what it needs answers): leadcrm/shared/health.py.
    path("healthz", health.live, name="healthz"),
    path("healthz/live", health.live, name="healthz-live"),
    path("healthz/ready", health.ready, name="healthz-ready"),
    # Browsers ask for it on pages that name no icon (the admin's).
    path("favicon.ico", favicon, name="favicon"),
]
