"""Admin of reminders: follow-ups, the reminder settings, notifications, calendar feeds."""

from django.contrib import admin

from compliance.admin import ReadOnlyAdminMixin
from leadcrm.accounts.roles import Perm
from leads.admin import LeadScopedAdminMixin
from leads.models import Lead
from pipeline.models import (
    CalendarFeed,
    FollowUp,
    Notification,
    ReminderSettings,
)

from .services import lead_refresh_next_follow_up


@admin.register(FollowUp)
class FollowUpAdmin(LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["due_at", "title", "kind", "source", "lead", "assignee", "notified_at", "done_at"]
    list_filter = ["kind", "source", ("done_at", admin.EmptyFieldListFilter)]
    list_select_related = ["lead__property", "assignee"]
    autocomplete_fields = ["lead", "assignee"]
    readonly_fields = ["created_by", "source", "source_key", "requested_at", "notify_at", "notified_at",
                       "escalate_at", "escalated_at"]

    def save_model(self, request, obj, form, change):
        from leadcrm.accounts.hours import when_to_tell

        if not change:
            obj.created_by = request.user
        if not change or {"due_at", "assignee"} & set(form.changed_data):
            # A new time (or person): told again at the new time, within their working hours.
            obj.notify_at = when_to_tell(obj.assignee, obj.due_at)
            obj.notified_at = obj.dispatched_at = obj.escalate_at = obj.escalated_at = None
        moved_from = form.initial.get("lead") if change and "lead" in form.changed_data else None
        super().save_model(request, obj, form, change)
        lead_refresh_next_follow_up(lead=obj.lead)
        if moved_from is not None:
            lead_refresh_next_follow_up(lead=Lead.objects.get(pk=moved_from))


@admin.register(ReminderSettings)
class ReminderSettingsAdmin(admin.ModelAdmin):
    """One row: escalation delay, stale-lead days per stage, the valuation follow-up."""

    list_display = ["__str__", "escalate_after_hours", "stale_contact_days", "stale_qualify_days",
                    "stale_negotiate_days", "stale_close_days", "updated_at"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ReminderSettings.objects.exists()


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What was sent to whom, and whether the email went: a broker's delivery log."""

    list_display = ["created_at", "recipient", "kind", "title", "email_state", "read_at"]
    list_per_page = 50
    list_filter = ["kind", "email_state"]
    list_select_related = ["recipient"]
    search_fields = ["title", "key"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return queryset
        return queryset.filter(recipient=request.user)  # anyone else: their own


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Who has a calendar address, and when it was last fetched; deleting one revokes it."""

    list_display = ["user", "created_at", "last_fetched_at"]
    readonly_fields = ["user", "token_hash", "created_at", "last_fetched_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
