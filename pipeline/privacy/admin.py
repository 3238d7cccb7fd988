"""The record of privacy requests in the admin: the broker's to read, nobody's to edit
(append-only, docs/privacy.md#the-record-of-requests). The requests are answered on the
privacy pages (/admin/privacy/), which list them too."""

from django.contrib import admin

from leads.admin import ReportFiguresAdminMixin
from pipeline.models import PrivacyAction, PrivacyRequest


class PrivacyActionInline(ReportFiguresAdminMixin, admin.TabularInline):
    model = PrivacyAction
    fields = ["model", "rows", "fields", "files_removed"]
    readonly_fields = fields
    extra = 0


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(ReportFiguresAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "kind", "requester", "handled_by", "lead_ids"]
    list_filter = ["kind"]
    list_select_related = ["handled_by"]
    inlines = [PrivacyActionInline]


@admin.register(PrivacyAction)
class PrivacyActionAdmin(ReportFiguresAdminMixin, admin.ModelAdmin):
    list_display = ["request", "model", "rows", "files_removed"]
    list_select_related = ["request"]
