from django.urls import path

from . import webhooks

app_name = "messaging"

urlpatterns = [
    path("webhooks/twilio/sms/", webhooks.InboundTextWebhook.as_view(), name="twilio_inbound"),
    path("webhooks/twilio/status/<int:pk>/", webhooks.StatusWebhook.as_view(), name="twilio_status"),
]
