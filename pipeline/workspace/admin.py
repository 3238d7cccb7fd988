"""Admin of the workspace's own rows: lead-list export jobs, read only.

The file and the filter are left out: an export's rows are its requester's alone (the
download checks it), and the filter may hold a homeowner's name searched for.
"""

from django.contrib import admin

from leadcrm.shared.append_only import ReadOnlyAdminMixin
from pipeline.models import LeadExport


@admin.register(LeadExport)
class LeadExportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Who exported how many leads, when, and whether the job finished."""

    list_display = ["created_at", "requested_by", "format", "status", "row_count", "finished_at", "expires_at"]
    list_filter = ["status", "format"]
    list_select_related = ["requested_by"]
    fields = ["requested_by", "format", "status", "row_count", "error", "created_at", "started_at",
              "finished_at", "expires_at"]
