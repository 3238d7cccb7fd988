"""Admin of the deal: stage history, lender files, the package, offers (read-only evidence)."""

from django.contrib import admin

from compliance.admin import ReadOnlyAdminMixin
from leads.admin import LeadScopedAdminMixin
from pipeline.models import (
    ApprovalLetter,
    ChecklistItem,
    DocumentUpload,
    Fee,
    LenderFile,
    LenderMilestone,
    Negotiator,
    Offer,
    StageChange,
)


@admin.register(StageChange)
class StageChangeAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["changed_at", "lead", "from_stage", "to_stage", "dead_reason", "changed_by"]
    list_filter = ["to_stage", "from_stage", "dead_reason"]
    list_select_related = ["lead__property", "changed_by"]
    date_hierarchy = "changed_at"


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


@admin.register(Fee)
class FeeAdmin(_ShortSaleAdmin):
    # Read-only like the rest of the deal: the offers page's Fees card checks the fee rules.
    list_display = ["lead", "service", "amount", "status", "due_on", "paid_on", "recorded_by"]
    list_filter = ["status", "service"]
    list_select_related = ["lead__property", "recorded_by"]
