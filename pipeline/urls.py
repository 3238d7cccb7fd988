from django.urls import path

from . import views

app_name = "pipeline"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("leads/<int:pk>/outreach/", views.OutreachLogView.as_view(), name="outreach_log"),
    path("leads/<int:pk>/outreach/preview/", views.OutreachPreviewView.as_view(), name="outreach_preview"),
    path("leads/<int:pk>/stage/", views.StageChangeView.as_view(), name="stage_change"),
    path("follow-ups/<int:pk>/done/", views.FollowUpCompleteView.as_view(), name="follow_up_done"),
]
