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
# (pipeline/plans/lead_views.py). ``pk`` is the lead; an enrollment or a run is its own.
from . import lead_views  # noqa: E402 - each section keeps its own imports

urlpatterns += [
    path("leads/<int:pk>/plans/", lead_views.LeadPlansView.as_view(), name="lead"),
    path("leads/<int:pk>/plans/start/", lead_views.PlanStartView.as_view(), name="lead_start"),
    path("leads/<int:pk>/plans/<int:enrollment>/pause/", lead_views.EnrollmentActionView.as_view(action="pause"),
         name="lead_pause"),
    path("leads/<int:pk>/plans/<int:enrollment>/resume/", lead_views.EnrollmentActionView.as_view(action="resume"),
         name="lead_resume"),
    path("leads/<int:pk>/plans/<int:enrollment>/stop/", lead_views.EnrollmentActionView.as_view(action="stop"),
         name="lead_stop"),
    path("leads/<int:pk>/plans/letters/<int:run>/", lead_views.LetterPrintView.as_view(), name="lead_letter"),
    path("leads/<int:pk>/plans/letters/<int:run>/mailed/", lead_views.LetterMailedView.as_view(),
         name="lead_letter_mailed"),
    path("leads/plans/start/", lead_views.BulkPlanStartView.as_view(), name="bulk_start"),
    path("leads/plans/started/", lead_views.BulkPlanResultView.as_view(), name="bulk_result"),
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
