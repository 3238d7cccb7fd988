from django.urls import path

from . import call_views, views, webhooks

app_name = "messaging"

urlpatterns = [
    path("webhooks/twilio/sms/", webhooks.InboundTextWebhook.as_view(), name="twilio_inbound"),
    # Calls to the brokerage's numbers: "A call comes in" in Twilio's console points here (D2).
    path("webhooks/twilio/voice/", webhooks.InboundCallWebhook.as_view(), name="twilio_voice"),
    path("webhooks/twilio/voice/menu/", webhooks.InboundCallMenuWebhook.as_view(), name="twilio_voice_menu"),
    path("webhooks/twilio/voice/dialled/", webhooks.InboundCallDialledWebhook.as_view(), name="twilio_voice_dialled"),
    path("webhooks/twilio/voice/voicemail/", webhooks.VoicemailWebhook.as_view(), name="twilio_voicemail"),
    path("webhooks/twilio/voice/transcription/", webhooks.VoicemailTranscriptionWebhook.as_view(),
         name="twilio_transcription"),
    path("webhooks/twilio/status/<int:pk>/", webhooks.StatusWebhook.as_view(), name="twilio_status"),
    path("webhooks/twilio/call/<int:pk>/bridge/", call_views.CallBridgeWebhook.as_view(), name="call_bridge"),
    path("webhooks/twilio/call/<int:pk>/announcement/", call_views.CallAnnouncementWebhook.as_view(),
         name="call_announcement"),
    path("leads/<int:pk>/call/", call_views.CallStartView.as_view(), name="call_start"),
    path("calls/<int:pk>/", call_views.CallStatusView.as_view(), name="call_status"),
    path("calls/<int:pk>/result/", call_views.CallResultView.as_view(), name="call_result"),
    path("calls/<int:pk>/local-finish/", call_views.CallLocalFinishView.as_view(), name="call_local_finish"),
    # The pages: compose a text, its status, Sent (and the demo's replies), the inbox.
    path("leads/<int:pk>/text/", views.TextComposeView.as_view(), name="text_compose"),
    path("leads/<int:pk>/text/preview/", views.TextPreviewView.as_view(), name="text_preview"),
    path("messages/<int:pk>/status/", views.MessageStatusView.as_view(), name="message_status"),
    path("messages/sent/", views.SentView.as_view(), name="sent"),
    path("messages/<int:pk>/reply/", views.PlayReplyView.as_view(), name="play_reply"),
    path("messages/inbox/", views.InboxView.as_view(), name="inbox"),
    path("messages/inbox/<int:pk>/file/", views.InboxFileView.as_view(), name="inbox_file"),
    path("messages/inbox/<int:pk>/dismiss/", views.InboxDismissView.as_view(), name="inbox_dismiss"),
]
