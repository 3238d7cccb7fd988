from django.urls import path

from . import import_views, routing_views

# Served under /leads/ with the lead pages that show every part of a lead (its list,
# its page, the workload: ``pipeline.workspace``), in this one namespace (leadcrm/urls.py).
app_name = "leads"

urlpatterns = [
    path("imports/", import_views.ImportListView.as_view(), name="imports"),
    path("imports/<int:pk>/", import_views.ImportDetailView.as_view(), name="import_detail"),
    path("imports/<int:pk>/map/", import_views.ImportMapView.as_view(), name="import_map"),
    path("imports/<int:pk>/cancel/", import_views.ImportCancelView.as_view(), name="import_cancel"),
    path("imports/<int:pk>/report.csv", import_views.ImportIssuesCsvView.as_view(), name="import_report"),
    path("<int:pk>/route/", routing_views.LeadRouteView.as_view(), name="route"),
    path("routing/", routing_views.RoutingView.as_view(), name="routing"),
    path("pond/", routing_views.PondView.as_view(), name="pond"),
    path("pond/<int:pk>/claim/", routing_views.PondClaimView.as_view(), name="pond_claim"),
    path("pond/<int:pk>/assign/", routing_views.PondAssignView.as_view(), name="pond_assign"),
    path("workload/<int:pk>/depart/", routing_views.DepartureView.as_view(), name="departure"),
]
