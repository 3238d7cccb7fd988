"""Admin of messaging: what the providers did with each text, call and email (read only)."""

from django.contrib import admin

from compliance.admin import ReadOnlyAdminMixin
from leadcrm.accounts.roles import Perm
from leads.admin import LeadScopedAdminMixin
from pipeline.models import Message, WebhookReceipt


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    """Written by the messaging services and the providers' webhooks only."""

    list_display = ["created_at", "channel", "direction", "lead", "from_address", "to_address", "status",
                    "error_code", "agent", "provider"]
    list_filter = ["channel", "direction", "status", "provider", "inbox_state"]
    list_select_related = ["lead__property", "agent"]
    search_fields = ["provider_id", "from_address", "to_address"]
    date_hierarchy = "created_at"


@admin.register(WebhookReceipt)
class WebhookReceiptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The provider events already taken in: a replay of one of these changes nothing."""

    list_display = ["received_at", "provider", "event_id"]
    list_filter = ["provider"]
    search_fields = ["event_id"]

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(Perm.VIEW_ALL_LEADS) and super().has_view_permission(request, obj)
