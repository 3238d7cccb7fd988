"""Admin of moving in: imports and their rows looked at, never edited (they are the record of
what an export became); the remembered stage and agent mappings corrected by a broker."""

from django.contrib import admin

from leadcrm.shared.append_only import ReadOnlyAdminMixin
from pipeline.models import CrmImport, CrmImportRow, CrmLink, CrmValueMapping


@admin.register(CrmImport)
class CrmImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("file_name", "system", "status", "created_by", "created_at", "leads_created", "leads_merged",
                    "rows_rejected")
    list_filter = ("system", "status")
    list_select_related = ("created_by",)
    exclude = ("stored_file",)


@admin.register(CrmImportRow)
class CrmImportRowAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("job", "file", "row_number", "external_id", "outcome", "reason")
    list_filter = ("outcome", "file")
    list_select_related = ("job",)
    raw_id_fields = ("job", "lead")


@admin.register(CrmLink)
class CrmLinkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("system", "kind", "external_id", "lead_id", "created_at")
    list_filter = ("system", "kind")
    search_fields = ("=external_id",)
    raw_id_fields = ("lead", "note", "follow_up", "job")


@admin.register(CrmValueMapping)
class CrmValueMappingAdmin(admin.ModelAdmin):
    """A mapping answered wrongly is put right here; the next export uses it."""

    list_display = ("system", "kind", "value", "stage", "agent", "is_stop", "updated_at")
    list_filter = ("system", "kind")
    list_select_related = ("agent",)
    search_fields = ("value",)
    fields = ("system", "kind", "value", "stage", "agent", "is_stop")
