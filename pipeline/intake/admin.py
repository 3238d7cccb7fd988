"""Admin of seller forms and their submissions: looked at here, made on the forms' pages.

A form's words are checked on save (the F6 phrases, the consent's must-haves) by
``seller_form_save``, so the admin only shows them; a submission is a log line.
"""

from __future__ import annotations

from django.contrib import admin

from leadcrm.accounts.roles import Perm
from leadcrm.shared.append_only import ReadOnlyAdminMixin
from pipeline.models import FormSubmission, SellerForm


class _BrokersOnly(ReadOnlyAdminMixin, admin.ModelAdmin):
    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(Perm.MANAGE_SELLER_FORMS)

    def has_module_permission(self, request):
        return request.user.has_perm(Perm.MANAGE_SELLER_FORMS)


@admin.register(SellerForm)
class SellerFormAdmin(_BrokersOnly):
    list_display = ["name", "source", "owner", "is_active", "plan", "created_at"]
    list_filter = ["is_active", "source"]
    list_select_related = ["owner", "plan"]
    exclude = ["key"]  # the public address is on the form's page, with its embed code


@admin.register(FormSubmission)
class FormSubmissionAdmin(_BrokersOnly):
    list_display = ["received_at", "form", "outcome", "lead", "consented"]
    list_filter = ["outcome", "form"]
    list_select_related = ["form", "lead__property"]
    date_hierarchy = "received_at"
