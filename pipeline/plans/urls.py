"""Action plans' pages: the plans themselves, a lead's plans, automations (namespace ``plans``)."""

from django.urls import path  # noqa: F401 - each part below adds its paths

app_name = "plans"

urlpatterns = []

# The plans: list, editor, detail, delete, copy (pipeline/plans/views.py).
urlpatterns += [
]


# A lead's plans: enroll, pause, resume, stop, letters to print; bulk enrollment
# (pipeline/plans/lead_views.py).
urlpatterns += [
]


# Automations that start plans (pipeline/plans/automation_views.py).
urlpatterns += [
]
