from django.urls import path

from . import (
    board_views,
    bulk_views,
    deal_views,
    marketing_views,
    queue_views,
    reminder_views,
    script_views,
    views,
)

app_name = "pipeline"

urlpatterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("leads/<int:pk>/outreach/", views.OutreachLogView.as_view(), name="outreach_log"),
    path("leads/<int:pk>/outreach/preview/", views.OutreachPreviewView.as_view(), name="outreach_preview"),
    path("leads/<int:pk>/stage/", views.StageChangeView.as_view(), name="stage_change"),
    path("leads/<int:pk>/notes/", views.LeadNoteView.as_view(), name="note_add"),
    path("follow-ups/<int:pk>/done/", views.FollowUpCompleteView.as_view(), name="follow_up_done"),
    path("queue/", queue_views.QueueView.as_view(), name="queue"),
    path("queue/next/", queue_views.QueueNextView.as_view(), name="queue_next"),
    path("scripts/", script_views.ScriptsView.as_view(), name="scripts"),
    path("scripts/<int:pk>/", script_views.ScriptsView.as_view(), name="script_edit"),
    path("marketing/", marketing_views.MarketingView.as_view(), name="marketing"),
    path("marketing/print/", marketing_views.MailPrintView.as_view(), name="mail_print"),
    path("unsubscribe/<str:token>/", marketing_views.UnsubscribeView.as_view(), name="unsubscribe"),
    path("leads/bulk/", bulk_views.BulkActionView.as_view(), name="bulk"),
    path("board/", board_views.BoardView.as_view(), name="board"),
    path("board/move/", board_views.BoardMoveView.as_view(), name="board_move"),
    path("leads/<int:pk>/lenders/", deal_views.LendersView.as_view(), name="lenders"),
    path("leads/<int:pk>/documents/", deal_views.DocumentsView.as_view(), name="documents"),
    path("leads/<int:pk>/offers/", deal_views.OffersView.as_view(), name="offers"),
    path("documents/<int:pk>/", deal_views.DocumentDownloadView.as_view(), name="document_download"),
    path("notifications/", reminder_views.NotificationListView.as_view(), name="notifications"),
    path("notifications/<int:pk>/open/", reminder_views.NotificationOpenView.as_view(), name="notification_open"),
    path("notifications/read/", reminder_views.NotificationsReadView.as_view(), name="notifications_read"),
    path("settings/", reminder_views.MySettingsView.as_view(), name="my_settings"),
    path("calendar/<str:token>.ics", reminder_views.CalendarFeedView.as_view(), name="calendar_feed"),
]
