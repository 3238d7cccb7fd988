from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET

from pipeline.report_views import urls as report_urls

admin.site.site_header = "LeadCRM administration"
admin.site.site_title = "LeadCRM admin"
admin.site.index_title = "Brokerage administration"


@require_GET
def healthz(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", include("pipeline.urls")),
    path("leads/", include("leads.urls")),
    path("compliance/", include("compliance.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The broker's reports, pages of the admin (before it, so its catch-all does not take them).
    path("admin/reports/", include((report_urls(), "reports"))),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
