"""Moving in from another CRM (namespace ``moving_in``): docs/moving-in.md."""

from django.urls import path

from . import views

app_name = "moving_in"

urlpatterns = [
    path("leads/imports/crm/", views.CrmUploadView.as_view(), name="upload"),
    path("leads/imports/crm/<int:pk>/", views.CrmImportDetailView.as_view(), name="detail"),
    path("leads/imports/crm/<int:pk>/mapping/", views.CrmMappingView.as_view(), name="mapping"),
    path("leads/imports/crm/<int:pk>/report.csv", views.CrmImportReportView.as_view(), name="report"),
]
