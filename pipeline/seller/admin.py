"""Admin of the seller's side: the guide, links, events, briefings, agent photos."""

from django.contrib import admin

from compliance.admin import ReadOnlyAdminMixin
from leadcrm.accounts.roles import Perm
from leads.admin import LeadScopedAdminMixin
from pipeline.models import (
    AgentPhoto,
    GuideSection,
    SellerBriefing,
    SellerEvent,
    SellerLink,
)

# The seller's side ---------------------------------------------------------------------------


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
