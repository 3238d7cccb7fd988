from django.contrib import admin

from compliance.admin import ReadOnlyAdminMixin
from leads.admin import LeadScopedAdminMixin
from leads.models import Lead

from .models import FollowUp, OutreachAttempt, StageChange
from .services import lead_refresh_next_follow_up


@admin.register(OutreachAttempt)
class OutreachAttemptAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    """The outreach log; written only by the outreach form through the compliance gate."""

    list_display = ["occurred_at", "lead", "channel", "contact_point", "outcome", "agent", "role_disclosed"]
    list_filter = ["channel", "outcome", "purpose"]
    list_select_related = ["lead__property", "agent"]
    date_hierarchy = "occurred_at"


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["changed_at", "lead", "from_stage", "to_stage", "dead_reason", "changed_by"]
    list_filter = ["to_stage", "from_stage", "dead_reason"]
    list_select_related = ["lead__property", "changed_by"]
    date_hierarchy = "changed_at"


@admin.register(FollowUp)
class FollowUpAdmin(LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["due_at", "title", "kind", "lead", "assignee", "done_at"]
    list_filter = ["kind", ("done_at", admin.EmptyFieldListFilter)]
    list_select_related = ["lead__property", "assignee"]
    autocomplete_fields = ["lead", "assignee"]
    readonly_fields = ["created_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        moved_from = form.initial.get("lead") if change and "lead" in form.changed_data else None
        super().save_model(request, obj, form, change)
        lead_refresh_next_follow_up(lead=obj.lead)
        if moved_from is not None:
            lead_refresh_next_follow_up(lead=Lead.objects.get(pk=moved_from))
