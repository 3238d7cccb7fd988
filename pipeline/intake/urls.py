"""The seller form (public) and the pages that make and embed it (namespace ``intake``)."""

from django.urls import path  # noqa: F401 - each part adds its paths

app_name = "intake"

urlpatterns = []
