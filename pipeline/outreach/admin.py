"""Admin of outreach: the log (read-only), templates, notes, mail batches."""

from django.contrib import admin

from compliance.admin import ReadOnlyAdminMixin
from leadcrm.accounts.roles import Perm
from leads.admin import LeadScopedAdminMixin
from pipeline.models import (
    LeadNote,
    MailBatch,
    MessageTemplate,
    OutreachAttempt,
)


@admin.register(OutreachAttempt)
class OutreachAttemptAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    """The outreach log; written only by the outreach form through the compliance gate."""

    list_display = ["occurred_at", "lead", "channel", "contact_point", "outcome", "agent", "role_disclosed"]
    list_filter = ["channel", "outcome", "purpose"]
    list_select_related = ["lead__property", "agent"]
    date_hierarchy = "occurred_at"


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """Read here; written on the Scripts page, which checks merge fields and language (F6)."""

    list_display = ["name", "kind", "owner", "is_active", "updated_at"]
    list_filter = ["kind", "is_active"]
    readonly_fields = ["name", "kind", "subject", "body", "owner", "updated_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Switching a shared script off is the broker's call, like editing it.
        return request.user.has_perm(Perm.MANAGE_TEMPLATES)

    def get_queryset(self, request):
        from django.db.models import Q

        queryset = super().get_queryset(request)
        if request.user.has_perm("leads.view_all_leads"):
            return queryset
        return queryset.filter(Q(owner__isnull=True) | Q(owner=request.user))


@admin.register(LeadNote)
class LeadNoteAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "lead", "author", "body"]
    list_select_related = ["lead__property", "author"]
    date_hierarchy = "created_at"


@admin.register(MailBatch)
class MailBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each confirmed "mark these letters as mailed": the letters are logged as outreach
    (their leads' timelines); here only who confirmed which template, when, and how many."""

    list_display = ["created_at", "agent", "template", "letter_date", "letter_count", "done"]
    list_select_related = ["agent", "template"]
    exclude = ["letters"]

    @admin.display(description="letters")
    def letter_count(self, batch):
        return len(batch.letters)

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return queryset
        return queryset.filter(agent=request.user)  # anyone else: their own
