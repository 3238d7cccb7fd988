"""A broker's webhook endpoints and their deliveries (namespace ``webhooks``)."""

from django.urls import path  # noqa: F401 - each part adds its paths

app_name = "webhooks"

urlpatterns = []
