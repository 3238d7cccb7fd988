"""Admin of outgoing webhooks: looked at here, changed on the broker's webhook pages
(which check the address, make the secret and send the pings). A user sees the endpoints
they own and those endpoints' deliveries; the secret is never shown here."""

from __future__ import annotations

from django.contrib import admin
from django.db import models

from leadcrm.shared.append_only import ReadOnlyAdminMixin
from pipeline.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("url", "owner", "is_active", "consecutive_failures", "created_at")
    list_filter = ("is_active",)
    exclude = ("secret",)
    list_select_related = ("owner",)
    # An endpoint is https (pipeline/webhooks/addresses.py): a typed address without one is read so.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return super().get_queryset(request).filter(owner=request.user)


class WebhookAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    fields = ("number", "started_at", "duration_ms", "status_code", "error", "response_excerpt", "succeeded")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "event", "endpoint", "status", "attempts", "created_at", "next_attempt_at")
    list_filter = ("status", "event")
    list_select_related = ("endpoint",)
    raw_id_fields = ("lead", "endpoint")
    inlines = [WebhookAttemptInline]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(endpoint__owner=request.user)


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("delivery", "number", "started_at", "status_code", "duration_ms", "succeeded")
    list_select_related = ("delivery",)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(delivery__endpoint__owner=request.user)
