"""Action plans' pages: the plans themselves, a lead's plans, automations (namespace ``plans``)."""

from django.urls import path  # noqa: F401 - each part below adds its paths

from . import views

app_name = "plans"

urlpatterns = []

# The plans: list, editor, detail, delete, copy (pipeline/plans/views.py).
urlpatterns += [
    path("plans/", views.PlanListView.as_view(), name="list"),
    path("plans/new/", views.PlanEditView.as_view(), name="new"),
    path("plans/<int:pk>/", views.PlanDetailView.as_view(), name="detail"),
    path("plans/<int:pk>/edit/", views.PlanEditView.as_view(), name="edit"),
    path("plans/<int:pk>/delete/", views.PlanDeleteView.as_view(), name="delete"),
    path("plans/<int:pk>/copy/", views.PlanCopyView.as_view(), name="copy"),
]


# A lead's plans: enroll, pause, resume, stop, letters to print; bulk enrollment
# (pipeline/plans/lead_views.py).
urlpatterns += [
]


# Automations that start plans (pipeline/plans/automation_views.py).
urlpatterns += [
]
