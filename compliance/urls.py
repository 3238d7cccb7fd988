from django.urls import path

from . import evidence_views, views

app_name = "compliance"

urlpatterns = [
    path("", views.ComplianceOverviewView.as_view(), name="overview"),
    path("registries/", views.RegistryListView.as_view(), name="registries"),
    path("registries/loads/<int:pk>/", views.RegistryLoadView.as_view(), name="registry_load"),
    path("reviews/<int:pk>/decide/", views.ReviewDecideView.as_view(), name="review_decide"),
    path("procedures/", views.ProceduresView.as_view(), name="procedures"),
    path("rules/", views.RulesView.as_view(), name="rules"),
    path("checks.csv", views.CheckExportView.as_view(), name="checks_export"),
    path("my-list/", views.AgentListView.as_view(), name="agent_list"),
    path("leads/<int:pk>/relationships/<int:relationship>/end/", views.RelationshipTerminateView.as_view(),
         name="relationship_terminate"),
    path("leads/<int:pk>/evidence/", evidence_views.LeadEvidenceView.as_view(), name="evidence"),
    path("evidence/files/<int:pk>/", evidence_views.EvidenceFileView.as_view(), name="evidence_file"),
]
