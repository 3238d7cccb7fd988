"""Admin of the report rollups (read-only figures)."""

from django.contrib import admin

from leads.admin import ReportFiguresAdminMixin
from pipeline.models import (
    CheckCount,
    OutreachCount,
)


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
