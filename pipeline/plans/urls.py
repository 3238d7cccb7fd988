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
from . import automation_views  # noqa: E402 - beside the paths it serves

urlpatterns += [
    path("plans/<int:plan_pk>/automations/", automation_views.AutomationListView.as_view(), name="automations"),
    path("plans/<int:plan_pk>/automations/new/", automation_views.AutomationFormView.as_view(),
         name="automation_new"),
    path("plans/<int:plan_pk>/automations/<int:pk>/edit/", automation_views.AutomationFormView.as_view(),
         name="automation_edit"),
    path("plans/<int:plan_pk>/automations/<int:pk>/pause/", automation_views.AutomationSwitchView.as_view(),
         name="automation_pause"),
    path("plans/<int:plan_pk>/automations/<int:pk>/resume/",
         automation_views.AutomationSwitchView.as_view(switch_on=True), name="automation_resume"),
    path("plans/<int:plan_pk>/automations/<int:pk>/delete/", automation_views.AutomationDeleteView.as_view(),
         name="automation_delete"),
]
