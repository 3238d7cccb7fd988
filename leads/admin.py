"""Admin pages for leads and what hangs off them, scoped by ``visible_to`` like every view.

A lead (or its owner, phone, lien ...) the user may not see is a 404 here too.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin

from leadcrm.accounts.models import Team, User
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import teams_visible_to, users_assignable_by
from leadcrm.shared.append_only import ReadOnlyAdminMixin
from leadcrm.shared.pagination import EstimatedCountPaginator

from .addresses import address_key
from .models import (
    ColumnMapping,
    Contact,
    DuplicateDismissal,
    Email,
    ForeclosureRecord,
    HardshipRecord,
    ImportJob,
    ImportRowIssue,
    Lead,
    LeadAssignment,
    LeadList,
    LeadMerge,
    LeadSourceKey,
    LeadSourcePost,
    Lien,
    ListDncCount,
    ListMembership,
    Phone,
    Property,
    RoutingRule,
)
from .querysets import lead_scope
from .services import (
    check_address_free,
    check_agent_on_team,
    lead_assign,
    lead_refresh_lien_total,
    lead_rescore,
    mask_loan_number,
)
from .sources import source_key_create, source_key_revoke


class LeadScopedAdminMixin:
    """Rows reachable only through leads the user may see; anything else is a 404.

    Foreign keys offered (and accepted) in forms are scoped the same way, so nobody can
    attach a row to a lead, owner or agent outside their view by posting an id.
    """

    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scoped = scoped_choices(db_field.related_model, request.user)
        if scoped is not None:
            kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such record.")
        return obj


class RecordHistoryAdmin(SimpleHistoryAdmin):
    """The history of a row of a lead (who changed what, docs/architecture.md#history),
    shown to those who see the lead, a removed row's too; read only: a revert would skip
    the services that keep lien totals and versions."""

    def get_urls(self):
        # One version's page with named parts, like every other admin URL.
        urls = [url for url in super().get_urls() if not str(url.pattern).endswith("/history/([^/]+)/$")]
        info = self.model._meta.app_label, self.model._meta.model_name
        return [path("<path:object_id>/history/<int:version_id>/", self.admin_site.admin_view(self.history_form_view),
                     name="{}_{}_simple_history".format(*info)), *urls]

    def history_scope(self, user) -> Q | None:
        """The historical rows ``user`` may read: by the lead the row was on."""
        if lead_scope(user) is None:
            return None
        leads = Lead.objects.visible_to(user).values("pk")
        if self.model is Property:
            return Q(id__in=Property.objects.visible_to(user).values("pk"))
        if self.model in (Phone, Email):
            return (Q(contact_id__in=Contact.history.filter(lead_id__in=leads).values("id"))
                    | Q(contact_id__in=Contact.objects.visible_to(user).values("pk")))
        return Q(lead_id__in=leads)

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        queryset = super().get_history_queryset(request, history_manager, pk_name, object_id)
        scope = self.history_scope(request.user)
        return queryset if scope is None else queryset.filter(scope)

    def history_view(self, request, object_id, extra_context=None):
        if not self.get_history_queryset(request, self.model.history, self.model._meta.pk.attname,
                                         object_id).exists() and not self.get_queryset(request).filter(
                pk=object_id).exists():
            raise Http404("No such record.")
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET"])
        history = self.get_history_queryset(request, self.model.history, self.model._meta.pk.attname, object_id)
        if not history.filter(history_id=version_id).exists():
            raise Http404("No such record.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_model(self, request, obj, form, change):
        if change:  # an edit opened on the lead page before this save is refused (leads.editing)
            obj.version += 1
        super().save_model(request, obj, form, change)


def scoped_choices(model, user):
    """The rows of ``model`` a form may offer ``user``; None when not ours to scope."""
    if model in (Lead, Contact, Property):
        return model.objects.visible_to(user)
    if model is User:
        return users_assignable_by(user)
    if model is Team:
        return teams_visible_to(user)
    return None


class LienAdminForm(forms.ModelForm):
    loan_number = forms.CharField(
        required=False,
        help_text="Type the full number; only the last four characters are kept.",
    )

    class Meta:
        model = Lien
        exclude = ["loan_number_masked"]


class LienMaskingMixin:
    """Loan numbers are masked before they are stored, whichever form they came through."""

    @staticmethod
    def mask_into(form, lien: Lien) -> None:
        typed = form.cleaned_data.get("loan_number")
        if typed:
            lien.loan_number_masked = mask_loan_number(typed)


class LeadAdminForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = "__all__"

    def clean(self):
        data = super().clean()
        agent, team = data.get("assigned_agent"), data.get("team")
        if agent and team and "team" in self.changed_data:
            try:
                check_agent_on_team(agent=agent, team=team)
            except ValidationError as error:
                self.add_error("team", error)
        return data


class ContactInline(admin.StackedInline):
    model = Contact
    extra = 0
    fields = [
        ("position", "first_name", "last_name", "company_name"),
        ("mailing_street", "mailing_unit", "mailing_city", "mailing_state", "mailing_zip"),
        ("deceased", "do_not_mail"),
    ]


class LienInline(LienMaskingMixin, admin.TabularInline):
    model = Lien
    form = LienAdminForm
    extra = 0
    fields = [
        "position", "lien_type", "lender", "loan_number", "masked", "balance",
        "monthly_payment", "arrears", "recording_date",
    ]
    readonly_fields = ["masked"]

    @admin.display(description="Stored as")
    def masked(self, lien):
        return lien.loan_number_masked or "—"


class HardshipInline(admin.StackedInline):
    model = HardshipRecord
    extra = 0
    fields = [("category", "started_on", "letter_received_on"), "narrative"]


@admin.register(Lead)
class LeadAdmin(LeadScopedAdminMixin, admin.ModelAdmin):
    form = LeadAdminForm
    list_display = [
        "__str__", "city", "lead_type", "stage", "score", "assigned_agent", "team",
        "next_follow_up_at",
    ]
    list_filter = ["stage", "lead_type", "source", "team"]
    list_select_related = ["property", "assigned_agent", "team"]
    search_fields = ["property__street", "property__city", "property__zip_code", "=property__apn"]
    autocomplete_fields = ["property", "assigned_agent"]
    readonly_fields = [
        "stage", "stage_entered_at", "dead_reason", "score", "score_reasons", "lien_total",
        "next_follow_up_at", "last_contacted_at", "created_at", "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["property", "lead_type", "source", "source_list"]}),
        ("Assignment", {"fields": ["assigned_agent", "team"]}),
        (
            "Stage (moved from the lead page, which checks the stage rules)",
            {"fields": ["stage", "stage_entered_at", "dead_reason"]},
        ),
        ("Computed", {"fields": ["score", "score_reasons", "lien_total", "next_follow_up_at",
                                 "last_contacted_at", "created_at", "updated_at"]}),
    ]
    inlines = [ContactInline, HardshipInline, LienInline]

    @admin.display(ordering="property__city")
    def city(self, lead):
        return lead.property.city

    def save_model(self, request, obj, form, change):
        moved = {"assigned_agent", "team"} & set(form.changed_data)
        agent, team = obj.assigned_agent, obj.team
        if change and moved:
            # The service makes the move (and its audit entry) from where the lead was.
            obj.assigned_agent_id, obj.team_id = form.initial.get("assigned_agent"), form.initial.get("team")
        super().save_model(request, obj, form, change)
        if moved:
            # Through the service: a new agent brings their team unless one was chosen.
            extra = {"team": team} if "team" in form.changed_data else {}
            lead_assign(lead=obj, agent=agent, actor=request.user, reason="Changed in the admin", **extra)

    def save_formset(self, request, form, formset, change):
        if formset.model is Lien:
            liens = formset.save(commit=False)
            for lien_form in formset.forms:
                if lien_form.instance in liens:
                    LienMaskingMixin.mask_into(lien_form, lien_form.instance)
            for lien in liens:
                lien.save()
            for lien in formset.deleted_objects:
                lien.delete()
            formset.save_m2m()
            lead_refresh_lien_total(lead=form.instance)
        else:
            super().save_formset(request, form, formset, change)


class PropertyAdminForm(forms.ModelForm):
    class Meta:
        model = Property
        exclude = ["address_key"]

    def clean(self):
        data = super().clean()
        if data.get("street") and data.get("state"):
            try:
                check_address_free(
                    key=property_address_key(data), exclude_pk=self.instance.pk
                )
            except ValidationError as error:
                self.add_error("street", error)
        return data


def property_address_key(data) -> str:
    return address_key(street=data.get("street", ""), unit=data.get("unit", ""),
                       city=data.get("city", ""), state=data.get("state", ""),
                       zip_code=data.get("zip_code", ""))


@admin.register(Property)
class PropertyAdmin(LeadScopedAdminMixin, RecordHistoryAdmin):
    form = PropertyAdminForm
    list_display = ["street", "unit", "city", "state", "zip_code", "county", "estimated_value"]
    list_filter = ["state", "property_type"]
    search_fields = ["street", "city", "zip_code", "=apn"]
    readonly_fields = ["address_key"]

    def save_model(self, request, obj, form, change):
        # The dedupe key follows the address, whichever form changed it.
        obj.address_key = property_address_key(form.cleaned_data)
        super().save_model(request, obj, form, change)


@admin.register(Contact)
class ContactAdmin(LeadScopedAdminMixin, RecordHistoryAdmin):
    list_display = ["display_name", "lead", "mailing_city", "mailing_state", "deceased", "do_not_mail"]
    list_filter = ["deceased", "do_not_mail"]
    list_select_related = ["lead__property"]
    search_fields = ["first_name", "last_name", "company_name"]
    autocomplete_fields = ["lead"]


@admin.register(Phone)
class PhoneAdmin(LeadScopedAdminMixin, RecordHistoryAdmin):
    list_display = ["display", "contact", "phone_type", "status", "source"]
    list_filter = ["status", "phone_type", "source"]
    list_select_related = ["contact"]
    search_fields = ["number"]
    autocomplete_fields = ["contact"]
    # Set by logged outcomes (wrong number, bad number), which the log explains (D7).
    readonly_fields = ["status"]


@admin.register(Email)
class EmailAdmin(LeadScopedAdminMixin, RecordHistoryAdmin):
    list_display = ["address", "contact", "status", "source"]
    list_filter = ["status", "source"]
    list_select_related = ["contact"]
    search_fields = ["address"]
    autocomplete_fields = ["contact"]


@admin.register(HardshipRecord)
class HardshipRecordAdmin(LeadScopedAdminMixin, RecordHistoryAdmin):
    list_display = ["lead", "category", "started_on", "letter_received_on", "recorded_by"]
    list_filter = ["category"]
    list_select_related = ["lead__property", "recorded_by"]
    autocomplete_fields = ["lead"]
    readonly_fields = ["recorded_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.recorded_by = request.user
        super().save_model(request, obj, form, change)
        lead_rescore(lead=obj.lead)


@admin.register(Lien)
class LienAdmin(LienMaskingMixin, LeadScopedAdminMixin, RecordHistoryAdmin):
    form = LienAdminForm
    list_display = ["lead", "position", "lien_type", "lender", "loan_number_masked", "balance"]
    list_filter = ["lien_type", "position"]
    list_select_related = ["lead__property"]
    search_fields = ["lender"]
    autocomplete_fields = ["lead"]
    readonly_fields = ["loan_number_masked"]

    def save_model(self, request, obj, form, change):
        self.mask_into(form, obj)
        super().save_model(request, obj, form, change)
        lead_refresh_lien_total(lead=obj.lead)

    def delete_model(self, request, obj):
        lead = obj.lead
        super().delete_model(request, obj)
        lead_refresh_lien_total(lead=lead)

    def delete_queryset(self, request, queryset):
        leads = list(Lead.objects.filter(pk__in=queryset.values("lead")))
        super().delete_queryset(request, queryset)
        for lead in leads:
            lead_refresh_lien_total(lead=lead)


@admin.register(ListMembership)
class ListMembershipAdmin(LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["lead", "lead_list", "added_at"]
    list_select_related = ["lead__property", "lead_list"]
    autocomplete_fields = ["lead"]


@admin.register(LeadList)
class LeadListAdmin(admin.ModelAdmin):
    list_display = ["name", "source", "cost", "created_by", "created_at"]
    list_filter = ["source"]
    search_fields = ["name"]
    readonly_fields = ["created_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class ReportFiguresAdminMixin(ReadOnlyAdminMixin):
    """Counts kept for the broker's reports (by a task or a trigger): brokers look, nobody
    edits. Team leads are staff too, but office-wide figures are the broker's."""

    def has_module_permission(self, request):
        return request.user.has_perm(Perm.VIEW_ALL_LEADS)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(Perm.VIEW_ALL_LEADS)


@admin.register(ListDncCount)
class ListDncCountAdmin(ReportFiguresAdminMixin, admin.ModelAdmin):
    """The DNC-by-list report's counts, made by a periodic task."""

    list_display = ["lead_list", "numbers", "on_dnc", "counted_at"]
    list_select_related = ["lead_list"]


@admin.register(ForeclosureRecord)
class ForeclosureRecordAdmin(LeadScopedAdminMixin, RecordHistoryAdmin):
    list_display = ["lead", "record_type", "recording_date", "auction_date", "lender", "default_amount"]
    list_filter = ["record_type"]
    list_select_related = ["lead__property"]
    autocomplete_fields = ["lead"]
    date_hierarchy = "auction_date"


@admin.register(ColumnMapping)
class ColumnMappingAdmin(admin.ModelAdmin):
    list_display = ["name", "source", "created_by", "created_at"]
    readonly_fields = ["created_by"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    """What was imported, by whom, and how it went; the rows themselves are on the import page."""

    list_display = ["file_name", "lead_list", "created_by", "status", "rows_done", "rows_total", "leads_created",
                    "leads_merged", "rows_rejected", "created_at"]
    list_filter = ["status", "source"]
    list_select_related = ["lead_list", "created_by"]
    readonly_fields = [f.name for f in ImportJob._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def get_queryset(self, request):
        jobs = super().get_queryset(request)
        return jobs if request.user.has_perm("leads.view_all_leads") else jobs.filter(created_by=request.user)


@admin.register(ImportRowIssue)
class ImportRowIssueAdmin(admin.ModelAdmin):
    list_display = ["job", "row_number", "rejected", "reason"]
    list_filter = ["rejected"]
    list_select_related = ["job"]
    readonly_fields = ["job", "row_number", "rejected", "reason", "row"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def get_queryset(self, request):
        issues = super().get_queryset(request)
        return issues if request.user.has_perm("leads.view_all_leads") else issues.filter(job__created_by=request.user)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    """Looked at here; written on the Routing rules page (leads.routing checks them)."""

    list_display = ["priority", "name", "is_active", "target", "agent", "team", "zip_codes", "counties", "state",
                    "lead_type"]
    list_select_related = ["agent", "team"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(LeadAssignment)
class LeadAssignmentAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    """The routing audit: who or which rule gave each lead to whom, and why. Append-only."""

    list_display = ["created_at", "lead", "method", "from_agent", "to_agent", "to_team", "rule", "actor", "reason"]
    list_filter = ["method"]
    list_select_related = ["lead__property", "from_agent", "to_agent", "to_team", "rule", "actor"]


class MergeRecordsAdminMixin(ReadOnlyAdminMixin):
    """Merges and "not a duplicate" are made (and undone) on the lead's pages, which check
    who may; here the broker only reads them, for leads they may see (merged ones too)."""

    lead_fields = ()

    def has_module_permission(self, request):
        return request.user.has_perm(Perm.VIEW_ALL_LEADS)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(Perm.VIEW_ALL_LEADS)

    def get_queryset(self, request):
        visible = Lead.objects.visible_to(request.user, merged=True).values("pk")
        return super().get_queryset(request).filter(**{f"{name}__in": visible for name in self.lead_fields})


@admin.register(LeadMerge)
class LeadMergeAdmin(MergeRecordsAdminMixin, admin.ModelAdmin):
    lead_fields = ("survivor", "merged")
    list_display = ("__str__", "merged_by", "merged_at", "undone_at", "undone_by")
    list_select_related = ("merged_by", "undone_by")
    date_hierarchy = "merged_at"


@admin.register(DuplicateDismissal)
class DuplicateDismissalAdmin(MergeRecordsAdminMixin, admin.ModelAdmin):
    lead_fields = ("lead_low", "lead_high")
    list_display = ("__str__", "dismissed_by", "dismissed_at")
    list_select_related = ("dismissed_by",)


KEY_SHOWN_ONCE = ("The key of “{name}”: {key} — copy it now into the source's settings (as "
                  "`Authorization: Bearer <key>` or `X-Api-Key`); it is kept only as a digest and is not shown again.")


@admin.register(LeadSourceKey)
class LeadSourceKeyAdmin(admin.ModelAdmin):
    """A broker makes a source's key here (shown once, on the next page) and revokes it;
    a key is never deleted, the leads it posted keep it for the reports."""

    list_display = ["name", "source", "prefix", "cost_per_lead", "is_active", "created_by", "created_at",
                    "last_used_at", "revoked_at"]
    list_filter = ["is_active", "source"]
    list_select_related = ["created_by"]
    fields = ["name", "source", "cost_per_lead", "prefix", "is_active", "created_by", "created_at", "last_used_at",
              "revoked_at"]
    readonly_fields = ["prefix", "is_active", "created_by", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def _may(self, request) -> bool:
        return request.user.has_perm(Perm.MANAGE_SOURCE_KEYS)

    def has_module_permission(self, request):
        return self._may(request)

    def has_view_permission(self, request, obj=None):
        return self._may(request)

    def has_add_permission(self, request):
        return self._may(request)

    def has_change_permission(self, request, obj=None):
        return self._may(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request, obj=None):
        return self.fields if obj is not None else ["name", "source", "cost_per_lead"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        made, key = source_key_create(name=obj.name, source=obj.source, cost_per_lead=obj.cost_per_lead,
                                      created_by=request.user)
        # The admin goes on with ``obj`` (its log entry, the redirect): it becomes the row made.
        obj.__dict__.update({field.attname: getattr(made, field.attname) for field in made._meta.concrete_fields})
        obj._state.adding = False
        messages.warning(request, KEY_SHOWN_ONCE.format(name=made.name, key=key))

    @admin.action(description="Revoke the selected keys (their posts are refused from now on)")
    def revoke(self, request, queryset):
        for source_key in queryset.filter(is_active=True):
            source_key_revoke(source_key=source_key)


@admin.register(LeadSourcePost)
class LeadSourcePostAdmin(admin.ModelAdmin):
    """What each source posted, under its own id: read only, for the broker who keeps the keys
    (a source's bill is checked against these)."""

    list_display = ["external_id", "source_key", "lead", "created_lead", "cost", "posted_at", "updated_at"]
    list_filter = ["source_key", "created_lead"]
    list_select_related = ["source_key", "lead__property"]
    search_fields = ["external_id"]
    date_hierarchy = "posted_at"
    show_full_result_count = False

    def has_module_permission(self, request):
        return request.user.has_perm(Perm.MANAGE_SOURCE_KEYS)

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(Perm.MANAGE_SOURCE_KEYS)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# Tags and saved searches: their own module, registered on import.
from . import tags_admin  # noqa: E402, F401

