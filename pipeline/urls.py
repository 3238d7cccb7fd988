from django.urls import path

from pipeline.deals import board_views, bulk_views
from pipeline.deals import views as deal_views
from pipeline.outreach import mail_views, queue_views, script_views
from pipeline.outreach import views as outreach_views
from pipeline.reminders import views as reminder_views
from pipeline.seller import views as seller_views
from pipeline.workspace import (
    dashboard,
    duplicates,
    exports,
    lead_edit_views,
    my_settings,
    new_lead,
    smart_list_views,
    tag_views,
)

app_name = "pipeline"

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="dashboard"),
    path("leads/<int:pk>/outreach/", outreach_views.OutreachLogView.as_view(), name="outreach_log"),
    path("leads/<int:pk>/outreach/preview/", outreach_views.OutreachPreviewView.as_view(), name="outreach_preview"),
    path("leads/<int:pk>/stage/", deal_views.StageChangeView.as_view(), name="stage_change"),
    path("leads/<int:pk>/notes/", outreach_views.LeadNoteView.as_view(), name="note_add"),
    path("follow-ups/<int:pk>/done/", reminder_views.FollowUpCompleteView.as_view(), name="follow_up_done"),
    path("queue/", queue_views.QueueView.as_view(), name="queue"),
    path("queue/next/", queue_views.QueueNextView.as_view(), name="queue_next"),
    path("scripts/", script_views.ScriptsView.as_view(), name="scripts"),
    path("scripts/<int:pk>/", script_views.ScriptsView.as_view(), name="script_edit"),
    path("marketing/", mail_views.MarketingView.as_view(), name="marketing"),
    path("marketing/print/", mail_views.MailPrintView.as_view(), name="mail_print"),
    path("marketing/print/<int:pk>/", mail_views.MailBatchView.as_view(), name="mail_batch"),
    path("unsubscribe/<str:token>/", mail_views.UnsubscribeView.as_view(), name="unsubscribe"),
    path("leads/bulk/", bulk_views.BulkActionView.as_view(), name="bulk"),
    path("leads/<int:pk>/tags/", tag_views.LeadTagAddView.as_view(), name="lead_tag_add"),
    path("leads/<int:pk>/tags/remove/", tag_views.LeadTagRemoveView.as_view(), name="lead_tag_remove"),
    path("searches/", smart_list_views.SavedSearchCreateView.as_view(), name="search_save"),
    path("searches/<int:pk>/", smart_list_views.SavedSearchEditView.as_view(), name="search_edit"),
    path("leads/new/", new_lead.NewLeadView.as_view(), name="lead_new"),
    path("leads/export/", exports.LeadExportView.as_view(), name="lead_export"),
    path("exports/", exports.ExportListView.as_view(), name="exports"),
    path("exports/<int:pk>/download/", exports.ExportDownloadView.as_view(), name="export_download"),
    path("board/", board_views.BoardView.as_view(), name="board"),
    path("board/move/", board_views.BoardMoveView.as_view(), name="board_move"),
    path("leads/<int:pk>/lenders/", deal_views.LendersView.as_view(), name="lenders"),
    path("leads/<int:pk>/documents/", deal_views.DocumentsView.as_view(), name="documents"),
    path("leads/<int:pk>/offers/", deal_views.OffersView.as_view(), name="offers"),
    path("documents/<int:pk>/", deal_views.DocumentDownloadView.as_view(), name="document_download"),
    path("notifications/", reminder_views.NotificationListView.as_view(), name="notifications"),
    path("notifications/<int:pk>/open/", reminder_views.NotificationOpenView.as_view(), name="notification_open"),
    path("notifications/read/", reminder_views.NotificationsReadView.as_view(), name="notifications_read"),
    path("settings/", my_settings.MySettingsView.as_view(), name="my_settings"),
    path("calendar/<str:token>.ics", reminder_views.CalendarFeedView.as_view(), name="calendar_feed"),
    path("settings/photo/", seller_views.MyPhotoView.as_view(), name="my_photo"),
    # The seller's side: the status page opened by its private link, and the guide.
    path("s/<str:token>/", seller_views.SellerPageView.as_view(), name="seller_page"),
    path("s/<str:token>/check/", seller_views.SellerCheckView.as_view(), name="seller_check"),
    path("s/<str:token>/upload/", seller_views.SellerUploadView.as_view(), name="seller_upload"),
    path("s/<str:token>/guide.pdf", seller_views.SellerGuidePdfView.as_view(), name="seller_guide_pdf"),
    path("s/<str:token>/agent-photo/", seller_views.SellerAgentPhotoView.as_view(), name="seller_agent_photo"),
    path("leads/<int:pk>/seller-link/", seller_views.SellerLinkView.as_view(), name="seller_link"),
    path("leads/<int:pk>/seller-preview/", seller_views.SellerPreviewView.as_view(), name="seller_preview"),
    path("leads/<int:pk>/briefing/", seller_views.BriefingView.as_view(), name="briefing"),
    # Possible duplicates, merging two leads and undoing it (pipeline/workspace/duplicates.py).
    path("duplicates/", duplicates.DuplicatesView.as_view(), name="duplicates"),
    path("duplicates/dismiss/", duplicates.DuplicateDismissView.as_view(), name="duplicate_dismiss"),
    path("leads/<int:pk>/merge/", duplicates.LeadMergeView.as_view(), name="lead_merge"),
    path("leads/<int:pk>/merges/", duplicates.LeadMergesView.as_view(), name="lead_merges"),
    path("guide/", seller_views.GuideView.as_view(), name="guide"),
    path("guide.pdf", seller_views.GuidePdfView.as_view(), name="guide_pdf"),
    # Editing the lead's record in place (the lead page's cards).
    *lead_edit_views.urlpatterns,
]
