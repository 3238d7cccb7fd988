from django.contrib import admin

from compliance.admin import ReadOnlyAdminMixin
from leadcrm.accounts.roles import Perm
from leads.admin import LeadScopedAdminMixin, ReportFiguresAdminMixin
from leads.models import Lead

from .models import (
    AgentPhoto,
    ApprovalLetter,
    CalendarFeed,
    CheckCount,
    ChecklistItem,
    DocumentUpload,
    FollowUp,
    GuideSection,
    LeadNote,
    LenderFile,
    LenderMilestone,
    MailBatch,
    MessageTemplate,
    Negotiator,
    Notification,
    Offer,
    OutreachAttempt,
    OutreachCount,
    ReminderSettings,
    SellerBriefing,
    SellerEvent,
    SellerLink,
    StageChange,
)
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
    list_display = ["due_at", "title", "kind", "source", "lead", "assignee", "notified_at", "done_at"]
    list_filter = ["kind", "source", ("done_at", admin.EmptyFieldListFilter)]
    list_select_related = ["lead__property", "assignee"]
    autocomplete_fields = ["lead", "assignee"]
    readonly_fields = ["created_by", "source", "source_key", "requested_at", "notify_at", "notified_at",
                       "escalate_at", "escalated_at"]

    def save_model(self, request, obj, form, change):
        from .reminders import when_to_tell

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


# The short sale: looked at in the admin, written through the lead's pages (the services
# keep one accepted offer, the approval's checklist entry and the negotiator history).


class _ShortSaleAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    pass


class MilestoneInline(admin.TabularInline):
    model = LenderMilestone
    extra = 0
    can_delete = False
    fields = ["occurred_on", "kind", "amount", "note", "recorded_by"]
    readonly_fields = fields


class NegotiatorInline(admin.TabularInline):
    model = Negotiator
    extra = 0
    can_delete = False
    fields = ["role", "name", "phone", "email", "assigned_on", "replaced_on"]
    readonly_fields = fields


class ApprovalLetterInline(admin.StackedInline):
    model = ApprovalLetter
    extra = 0
    can_delete = False
    exclude = ["recorded_by"]
    readonly_fields = [f.name for f in ApprovalLetter._meta.fields if f.name not in ("id", "recorded_by")]


@admin.register(LenderFile)
class LenderFileAdmin(_ShortSaleAdmin):
    list_display = ["lead", "lien", "servicer", "portal", "updated_at"]
    list_filter = ["portal"]
    list_select_related = ["lead__property", "lien"]
    inlines = [NegotiatorInline, MilestoneInline, ApprovalLetterInline]


@admin.register(LenderMilestone)
class LenderMilestoneAdmin(_ShortSaleAdmin):
    list_display = ["occurred_on", "kind", "lender_file", "amount", "recorded_by"]
    list_filter = ["kind"]
    list_select_related = ["lender_file__lien", "recorded_by"]
    date_hierarchy = "occurred_on"


@admin.register(Negotiator)
class NegotiatorAdmin(_ShortSaleAdmin):
    list_display = ["name", "role", "lender_file", "assigned_on", "replaced_on"]
    list_select_related = ["lender_file__lien"]


@admin.register(ApprovalLetter)
class ApprovalLetterAdmin(_ShortSaleAdmin):
    list_display = ["lender_file", "issued_on", "expires_on", "approved_price", "minimum_net_proceeds", "deficiency"]
    list_filter = ["deficiency"]
    list_select_related = ["lender_file__lien"]
    date_hierarchy = "expires_on"


@admin.register(ChecklistItem)
class ChecklistItemAdmin(_ShortSaleAdmin):
    list_display = ["lead", "kind", "lien", "status", "dated_on", "received_on", "expires_on"]
    list_filter = ["kind", "status"]
    list_select_related = ["lead__property", "lien"]


@admin.register(DocumentUpload)
class DocumentUploadAdmin(_ShortSaleAdmin):
    # The stored path is ours alone; the file itself is served by the documents page.
    list_display = ["original_name", "item", "content_type", "size", "uploaded_by", "uploaded_at"]
    exclude = ["stored_file"]
    list_select_related = ["item", "uploaded_by"]


@admin.register(Offer)
class OfferAdmin(_ShortSaleAdmin):
    list_display = ["lead", "buyer_name", "price", "financing", "status", "received_on", "target_closing"]
    list_filter = ["status", "financing"]
    list_select_related = ["lead__property"]


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
class LeadNoteAdmin(_ShortSaleAdmin):
    list_display = ["created_at", "lead", "author", "body"]
    list_select_related = ["lead__property", "author"]
    date_hierarchy = "created_at"


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


@admin.register(CalendarFeed)
class CalendarFeedAdmin(admin.ModelAdmin):
    """Who has a calendar address, and when it was last fetched; deleting one revokes it."""

    list_display = ["user", "created_at", "last_fetched_at"]
    readonly_fields = ["user", "token_hash", "created_at", "last_fetched_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class _RollupAdmin(ReportFiguresAdminMixin, admin.ModelAdmin):
    """The reports' counts, kept by database triggers."""

    list_per_page = 100
    date_hierarchy = "starts"


@admin.register(OutreachCount)
class OutreachCountAdmin(_RollupAdmin):
    list_display = ["starts", "agent", "attempts", "talks", "appointments"]
    list_select_related = ["agent"]


@admin.register(CheckCount)
class CheckCountAdmin(_RollupAdmin):
    list_display = ["starts", "verdict", "rule_ids", "checks"]
    list_filter = ["verdict"]


# The seller's side (issue 10) ---------------------------------------------------------------


@admin.register(GuideSection)
class GuideSectionAdmin(admin.ModelAdmin):
    """The seller guide, edited by the brokerage; every save passes the language rule (F6)
    (``GuideSection.clean``), which the admin's form runs."""

    list_display = ["position", "title", "updated_at", "updated_by"]
    list_display_links = ["title"]
    list_editable = ["position"]
    readonly_fields = ["updated_at", "updated_by"]

    def has_add_permission(self, request):
        return request.user.has_perm(Perm.MANAGE_TEMPLATES)

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm(Perm.MANAGE_TEMPLATES)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm(Perm.MANAGE_TEMPLATES)

    def has_view_permission(self, request, obj=None):
        return request.user.is_staff

    def has_module_permission(self, request):
        return request.user.is_staff

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(SellerLink)
class SellerLinkAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    """Which leads have a status page open; made and revoked from the lead page."""

    list_display = ["lead", "created_at", "created_by", "expires_at", "revoked_at", "asks_phone_digits", "last_visit_at"]
    list_select_related = ["lead__property", "created_by"]
    exclude = ["token_hash"]


@admin.register(SellerEvent)
class SellerEventAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["at", "lead", "kind", "actor", "detail"]
    list_filter = ["kind"]
    list_select_related = ["lead__property", "actor"]
    date_hierarchy = "at"


@admin.register(SellerBriefing)
class SellerBriefingAdmin(LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["lead", "topic", "told_on", "told_by"]
    list_filter = ["topic"]
    list_select_related = ["lead__property", "told_by"]


@admin.register(AgentPhoto)
class AgentPhotoAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Agents set their own photo on their settings page."""

    list_display = ["user", "uploaded_at"]
    exclude = ["stored_file"]
