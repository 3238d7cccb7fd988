from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views import defaults
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from leadcrm.accounts import views as account_views
from leadcrm.shared import health
from leadcrm.shared.api import SERVER_ERROR, problem_json_response
from leadcrm.shared.versioning import API_VERSION, UNVERSIONED_NAMESPACE
from leads import urls as leads_urls
from pipeline.api.people import TeamViewSet, UserViewSet
from pipeline.api.plans import PlanEnrollmentViewSet, PlanViewSet
from pipeline.api.reports import ReportViewSet
from pipeline.api.schema import ApiDocsView
from pipeline.api.sources import SourceLeadPostView, SourceLeadUpsertView
from pipeline.api.tokens import ApiTokenViewSet, IntegrationKeyViewSet
from pipeline.api.views import (
    ComplianceCheckView,
    FollowUpViewSet,
    ImportViewSet,
    LeadViewSet,
    OutreachViewSet,
)
from pipeline.messaging.email import email_webhook_urls
from pipeline.privacy.views import urls as privacy_urls
from pipeline.reports.views import report_read
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
    """An unknown address under /api/ answers as the API does (a JSON problem), not with a page."""
    if request.path.startswith("/api/"):
        return problem_json_response(404, "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request):
    """A crash under /api/ answers as the API does: a script reading JSON gets JSON, not
    the error page. The error is logged either way, with the traceback."""
    if request.path.startswith("/api/"):
        return problem_json_response(500, SERVER_ERROR)
    return defaults.server_error(request)


handler404 = not_found
handler500 = server_error


# (prefix, viewset, basename) of the API's router.
API_RESOURCES = [
    ("leads", LeadViewSet, "lead"),
    ("follow-ups", FollowUpViewSet, "follow-up"),
    ("outreach", OutreachViewSet, "outreach"),
    ("imports", ImportViewSet, "import"),
    ("plans", PlanViewSet, "plan"),
    ("plan-enrollments", PlanEnrollmentViewSet, "plan-enrollment"),
    ("users", UserViewSet, "user"),
    ("teams", TeamViewSet, "team"),
    # The report pages' own reading, passed in: the API and the reports do not import each other.
    ("reports", ReportViewSet.reading(report_read), "report"),
    ("tokens", ApiTokenViewSet, "token"),
    ("integration-keys", IntegrationKeyViewSet, "integration-key"),
]


def api_urls(slash: str) -> list:
    """The API's paths ending in ``slash``. v1's end in ``/?``: published without the slash
    (docs/architecture.md#api-versioning), and one sent with it is the same path, since a
    redirect would lose a POST's body. The unversioned aliases keep their one slash."""
    router = DefaultRouter()
    router.trailing_slash = slash  # DRF's own argument is a yes or no: "/" or nothing
    # No `.json` suffixes on v1: JSON is its only format, and with an optional slash a
    # suffix would be read as part of the id. The aliases keep theirs, as they were.
    router.include_format_suffixes = slash == "/"
    for prefix, viewset, basename in API_RESOURCES:
        router.register(prefix, viewset, basename=basename)
    return [
        *router.urls,
        # Lead sources post leads with their own key (docs/architecture.md#lead-source-api).
        re_path(rf"^lead-sources/leads{slash}$", SourceLeadPostView.as_view(), name="api-lead-source-post"),
        re_path(rf"^lead-sources/leads/(?P<external_id>[^/]+){slash}$", SourceLeadUpsertView.as_view(),
                name="api-lead-source-upsert"),
        re_path(rf"^compliance/check{slash}$", ComplianceCheckView.as_view(), name="api-compliance-check"),
    ]


v1_urls = api_urls("/?")
v1_named = {"api-lead-source-post", "api-lead-source-upsert", "api-compliance-check"}

urlpatterns = [
    # The API is versioned in the path; the names reverse to the current version and the
    # unversioned paths answer the same, announced as deprecated (docs/architecture.md#api-versioning).
    path(f"api/{API_VERSION}/", include(([url for url in v1_urls if url.name not in v1_named], "api"))),
    path(f"api/{API_VERSION}/", include([url for url in v1_urls if url.name in v1_named])),
    path("api/", include((api_urls("/"), UNVERSIONED_NAMESPACE))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", ApiDocsView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("pipeline.urls")),
    # Texts, calls and emails through the providers, and their webhooks (docs/messaging.md).
    path("", include("pipeline.messaging.urls")),
    # Action plans: follow-up sequences and the automations that start them (docs/action-plans.md).
    path("", include("pipeline.plans.urls")),
    # The public seller form and its settings (docs/intake.md).
    path("", include("pipeline.intake.urls")),
    # Outgoing webhooks: a broker's endpoints and their deliveries (docs/webhooks.md).
    path("", include("pipeline.webhooks.urls")),
    # Moving in from Follow Up Boss or Podio (docs/moving-in.md).
    path("", include("pipeline.moving_in.urls")),
    # The email service's reports and replies: anymail's signed webhooks (docs/messaging.md#email).
    path("webhooks/anymail/", include((email_webhook_urls(), "anymail"))),
    # leads' own pages and the lead pages that show every part of a lead, one namespace.
    path("leads/", include(([*lead_pages.urlpatterns, *leads_urls.urlpatterns], leads_urls.app_name))),
    path("compliance/", include("compliance.urls")),
    # Signing in: docs/security.md#signing-in (failures throttled: accounts/throttle.py).
    path("accounts/login/", account_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", account_views.TwoFactorView.as_view(), name="two_factor"),
    path("accounts/two-factor/setup/", account_views.TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("accounts/two-factor/recovery-codes/", account_views.RecoveryCodesView.as_view(),
         name="two_factor_recovery_codes"),
    path("accounts/two-factor/off/", account_views.TwoFactorOffView.as_view(), name="two_factor_off"),
    path("accounts/password/change/", account_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/reset/", account_views.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password/reset/sent/", account_views.PasswordResetDoneView.as_view(),
         name="password_reset_done"),
    path("accounts/password/reset/<uidb64>/<token>/", account_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/password/reset/done/", auth_views.PasswordResetCompleteView.as_view(),
         name="password_reset_complete"),
    # The broker's reports, pages of the admin (before it, so its catch-all does not take them).
    path("admin/reports/", include((report_urls(), "reports"))),
    # A homeowner's requests to see or erase their data: the broker's, pages of the admin too.
    path("admin/privacy/", include((privacy_urls(), "privacy"))),
    path("admin/", admin.site.urls),
    # Liveness (the process answers) and readiness (what it needs answers): leadcrm/shared/health.py.
    path("healthz", health.live, name="healthz"),
    path("healthz/live", health.live, name="healthz-live"),
    path("healthz/ready", health.ready, name="healthz-ready"),
    # Browsers ask for it on pages that name no icon (the admin's).
    path("favicon.ico", favicon, name="favicon"),
]
