"""The seller form (public) and the pages that make and embed it (namespace ``intake``)."""

from django.urls import path  # noqa: F401 - each part adds its paths

app_name = "intake"

urlpatterns = []

# The public form: no login, embeddable on the form's own sites (pipeline/intake/views.py).
from . import manage_views, views  # noqa: E402 - each section keeps its own imports

urlpatterns += [
    path("f/<str:key>/", views.PublicFormView.as_view(), name="public"),
    path("seller-forms/", manage_views.SellerFormListView.as_view(), name="list"),
    path("seller-forms/new/", manage_views.SellerFormEditView.as_view(), name="new"),
    path("seller-forms/<int:pk>/", manage_views.SellerFormDetailView.as_view(), name="detail"),
    path("seller-forms/<int:pk>/edit/", manage_views.SellerFormEditView.as_view(), name="edit"),
    path("seller-forms/<int:pk>/new-key/", manage_views.SellerFormRotateView.as_view(), name="rotate"),
]
