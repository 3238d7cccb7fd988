import json

from django import forms
from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from django.db.models import Q

from leadcrm.accounts.roles import Perm
from leadcrm.pagination import EstimatedCountPaginator
from leads.admin import LeadScopedAdminMixin
from leads.models import Lead

from .models import ComplianceCheck, DncNumber, DncSource, InternalDncEntry
from leads.phones import parse_phone

from .services import internal_dnc_add


class InternalDncEntryForm(forms.ModelForm):
    class Meta:
        model = InternalDncEntry
        fields = ["phone_number", "email", "postal_address", "channel", "homeowner_words", "requested_at"]
        widgets = {"phone_number": forms.TextInput(attrs={"placeholder": "(918) 555-0104"})}

    def clean_phone_number(self):
        raw = self.cleaned_data["phone_number"]
        if not raw:
            return raw
        parsed = parse_phone(raw)
        if not parsed.ok:
            raise forms.ValidationError(parsed.error)
        return parsed.e164


class ReadOnlyAdminMixin:
    """Evidence is looked at, never edited or deleted (append-only)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DncSource)
class DncSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "state", "subscription_account_number", "data_as_of", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]


@admin.register(DncNumber)
class DncNumberAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "source", "area_code", "added_on"]
    list_filter = ["source"]
    list_select_related = ["source"]
    search_fields = ["=number", "=area_code"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False


@admin.register(InternalDncEntry)
class InternalDncEntryAdmin(admin.ModelAdmin):
    """Anyone who hears "stop" may record it here; nobody may edit or remove it (B1, B2)."""

    form = InternalDncEntryForm
    list_display = ["__str__", "channel", "requested_at", "recorded_by", "homeowner_words"]
    list_filter = ["channel"]
    list_select_related = ["recorded_by"]
    search_fields = ["=phone_number", "=email"]
    fields = ["phone_number", "email", "postal_address", "channel", "homeowner_words", "requested_at"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        # The gate applies every entry to everyone; the list of them (numbers and the
        # homeowners' words) is shown only for leads the user may see, plus entries
        # recorded without a lead.
        queryset = super().get_queryset(request)
        if request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return queryset
        return queryset.filter(Q(lead__isnull=True) | Q(lead__in=Lead.objects.visible_to(request.user)))

    def get_readonly_fields(self, request, obj=None):
        return self.fields if obj is not None else []

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Through the service, so the number is normalised like every other entry.
        entry = internal_dnc_add(
            phone_number=obj.phone_number,
            email=obj.email,
            postal_address=obj.postal_address,
            channel=obj.channel,
            homeowner_words=obj.homeowner_words,
            recorded_by=request.user,
            requested_at=obj.requested_at,
        )
        obj.pk, obj._state.adding = entry.pk, False


@admin.register(ComplianceCheck)
class ComplianceCheckAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["checked_at", "verdict", "rules", "channel", "contact_point", "actor", "lead", "mode"]
    list_filter = ["verdict", "channel", "mode", "purpose"]
    list_select_related = ["actor", "lead__property"]
    search_fields = ["=contact_point"]
    date_hierarchy = "checked_at"
    fields = ["checked_at", "verdict", "findings_list", "actor", "lead", "channel", "purpose",
              "contact_point", "mode", "evidence_pretty"]
    readonly_fields = ["findings_list", "evidence_pretty"]

    @admin.display(description="Rules")
    def rules(self, check):
        return ", ".join(check.rule_ids) or "—"

    @admin.display(description="Findings")
    def findings_list(self, check):
        if not check.findings:
            return "None: every rule passed."
        return format_html_join(
            mark_safe("<br>"), "<strong>{}</strong> ({}): {}",
            ((f["rule"], f["severity"], f["reason"]) for f in check.findings),
        )

    @admin.display(description="Evidence")
    def evidence_pretty(self, check):
        return format_html("<pre>{}</pre>", json.dumps(check.evidence, indent=2))

