from django.urls import path

from . import call_views, webhooks

app_name = "messaging"

urlpatterns = [
    path("webhooks/twilio/sms/", webhooks.InboundTextWebhook.as_view(), name="twilio_inbound"),
    path("webhooks/twilio/status/<int:pk>/", webhooks.StatusWebhook.as_view(), name="twilio_status"),
    path("webhooks/twilio/call/<int:pk>/bridge/", call_views.CallBridgeWebhook.as_view(), name="call_bridge"),
    path("webhooks/twilio/call/<int:pk>/announcement/", call_views.CallAnnouncementWebhook.as_view(),
         name="call_announcement"),
    path("leads/<int:pk>/call/", call_views.CallStartView.as_view(), name="call_start"),
    path("calls/<int:pk>/", call_views.CallStatusView.as_view(), name="call_status"),
    path("calls/<int:pk>/result/", call_views.CallResultView.as_view(), name="call_result"),
    path("calls/<int:pk>/local-finish/", call_views.CallLocalFinishView.as_view(), name="call_local_finish"),
]
