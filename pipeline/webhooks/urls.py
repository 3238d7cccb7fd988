"""A broker's webhook endpoints and their deliveries (namespace ``webhooks``)."""

from django.urls import path

from . import views

app_name = "webhooks"

urlpatterns = [
    path("settings/webhooks/", views.EndpointListView.as_view(), name="list"),
    path("settings/webhooks/new/", views.EndpointFormView.as_view(), name="add"),
    path("settings/webhooks/<int:pk>/", views.EndpointDetailView.as_view(), name="detail"),
    path("settings/webhooks/<int:pk>/edit/", views.EndpointFormView.as_view(), name="edit"),
    path("settings/webhooks/<int:pk>/secret/", views.EndpointActionView.as_view(action="reveal"), name="reveal"),
    path("settings/webhooks/<int:pk>/rotate/", views.EndpointActionView.as_view(action="rotate"), name="rotate"),
    path("settings/webhooks/<int:pk>/ping/", views.EndpointActionView.as_view(action="ping"), name="ping"),
    path("settings/webhooks/<int:pk>/enable/", views.EndpointActionView.as_view(action="enable"), name="enable"),
    path("settings/webhooks/<int:pk>/disable/", views.EndpointActionView.as_view(action="disable"), name="disable"),
    path("settings/webhooks/deliveries/<int:pk>/redeliver/", views.DeliveryRedeliverView.as_view(),
         name="redeliver"),
]
