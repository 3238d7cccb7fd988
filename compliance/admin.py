import json
import re

from django import forms
from django.contrib import admin
from django.db import connections
from django.db.models import Q
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from leadcrm.accounts.roles import Perm
from leadcrm.shared.append_only import ReadOnlyAdminMixin  # noqa: F401 (pipeline.admin imports it from here too)
from leadcrm.shared.pagination import EstimatedCountPaginator
from leads.admin import LeadScopedAdminMixin
from leads.models import Lead
from leads.phones import parse_phone

from .models import (
    AgentDncEntry,
    AreaCodeVersion,
    ComplianceCheck,
    ConsentRecord,
    DncNumber,
    DncPolicy,
    DncSource,
    EstablishedRelationship,
    EvidenceFile,
    EvidenceRevocation,
    InterestDisclosure,
    InternalDncEntry,
    PolicyAcknowledgement,
    ProhibitedPhrase,
    ReassignedNumberCheck,
    RegistryLoad,
    RelationshipTermination,
    RevocationReview,
    RevocationWord,
    RuleParameter,
    StateCallingRule,
    StateHoliday,
    TextResubscription,
    Verdict,
    rules_that_decided,
)
from .rules import RULES
from .services import internal_dnc_add, revocation_review_decide
from .words import day_of


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


@admin.register(DncSource)
class DncSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "state", "subscription_account_number", "subscription_expires_on",
                    "data_as_of", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]


@admin.register(DncNumber)
class DncNumberAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["e164", "source", "area_code", "added_on"]
    list_filter = ["source"]
    list_select_related = ["source"]
    search_fields = ["=id"]
    search_help_text = "A phone number, written any way."

    def get_search_results(self, request, queryset, search_term):
        # Search a number written any way: "(918) 555-0104" finds 9185550104.
        digits = "".join(ch for ch in search_term if ch.isdigit())[-10:]
        if len(digits) == 10:
            return queryset.for_number(int(digits)), False
        return super().get_search_results(request, queryset, search_term)
    paginator = EstimatedCountPaginator
    show_full_result_count = False


def with_leads_seen_or_none(queryset, user):
    """The gate applies every entry to everyone; the list of them (numbers and the
    homeowners' words) is shown only for leads the user may see, plus entries recorded
    without a lead."""
    if user.has_perm(Perm.VIEW_ALL_LEADS):
        return queryset
    return queryset.filter(Q(lead__isnull=True) | Q(lead__in=Lead.objects.visible_to(user)))


@admin.register(TextResubscription)
class TextResubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A homeowner's START by text, appended beside the internal list (docs/compliance-rules.md#b4-start);
    written only by the inbound-text service. Shown like the list: for leads the user may see, and
    those that came in with no lead."""

    list_display = ["__str__", "words", "received_at", "lead", "recorded_by"]
    list_select_related = ["lead__property", "recorded_by"]
    search_fields = ["=phone_number"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        return with_leads_seen_or_none(super().get_queryset(request), request.user)


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
        return with_leads_seen_or_none(super().get_queryset(request), request.user)

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


class DecidedByFilter(admin.SimpleListFilter):
    """Checks a rule decided, as the compliance report counts them (``rules_that_decided``):
    a finding of the rule with the check's own verdict (a block by A5, not a block that A5
    only warned about), or, when no finding carries the verdict, the rules that fired."""

    title = "decided by rule"
    parameter_name = "decided_by"

    def lookups(self, request, model_admin):
        return [(rule_id, f"{rule_id}: {rule.title}") for rule_id, rule in sorted(RULES.items())]

    def queryset(self, request, queryset):
        rule = self.value()
        if not rule:
            return queryset
        if connections[queryset.db].features.supports_json_field_contains:
            return queryset.filter(self.decided_in_sql(rule))
        return self.decided_in_python(queryset, rule)

    @staticmethod
    def decided_in_sql(rule: str) -> Q:
        """JSON containment (PostgreSQL's ``@>``): one query, whatever the number of checks."""
        decided = Q()
        for verdict in (Verdict.BLOCK, Verdict.WARN):
            severity = str(verdict)
            told = Q(findings__contains=[{"severity": severity}])
            decided |= Q(verdict=verdict) & (Q(findings__contains=[{"rule": rule, "severity": severity}])
                                             | (~told & Q(rule_ids__contains=[rule])))
        return decided

    @staticmethod
    def decided_in_python(queryset, rule: str):
        """SQLite (the first run's and the tests' fallback) has no JSON containment: the
        checks whose JSON text names the rule are read, and each is kept if the rule
        decided it as the report says (a rule named only in a warning's reason is not)."""
        named = Q(findings__icontains=f'"{rule}"') | Q(rule_ids__icontains=f'"{rule}"')
        candidates = (queryset.filter(named, verdict__in=[Verdict.BLOCK, Verdict.WARN])
                      .values_list("pk", "verdict", "rule_ids", "findings"))
        decided = [pk for pk, verdict, rule_ids, findings in candidates.iterator(chunk_size=2000)
                   if rule in rules_that_decided(verdict, rule_ids, findings)]
        return queryset.filter(pk__in=decided)


@admin.register(ComplianceCheck)
class ComplianceCheckAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["checked_at", "verdict", "rules", "channel", "contact_point", "actor", "lead", "mode"]
    list_filter = ["verdict", DecidedByFilter, "channel", "mode", "purpose"]
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



@admin.register(RegistryLoad)
class RegistryLoadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "source", "kind", "version_date", "status", "numbers_added",
                    "numbers_removed", "loaded_by"]
    list_filter = ["status", "kind", "source"]
    list_select_related = ["source", "loaded_by"]
    exclude = ["stored_file"]


@admin.register(AreaCodeVersion)
class AreaCodeVersionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["area_code", "version_date", "source", "load"]
    list_filter = ["source"]
    list_select_related = ["source", "load"]
    search_fields = ["=area_code"]


class VersionedAdminMixin:
    """Rules change by adding a row with a new effective date, so history stays readable."""

    save_as = True
    list_filter = ["is_active", "verified"]


@admin.register(RuleParameter)
class RuleParameterAdmin(VersionedAdminMixin, admin.ModelAdmin):
    list_display = ["rule", "key", "value", "effective_from", "effective_to", "verified", "is_active", "source"]
    search_fields = ["rule", "key"]


@admin.register(StateCallingRule)
class StateCallingRuleAdmin(VersionedAdminMixin, admin.ModelAdmin):
    list_display = ["state", "window_start", "window_end", "no_sunday", "no_holidays", "frequency_cap",
                    "cap_window_hours", "cap_automated_only", "registration_required", "effective_from",
                    "effective_to", "verified", "is_active"]
    list_filter = ["is_active", "verified", "state"]


@admin.register(StateHoliday)
class StateHolidayAdmin(VersionedAdminMixin, admin.ModelAdmin):
    """The brokerage's changes to the holiday calendars, which are computed by rule for any
    year (docs/compliance-rules.md#e3): a day added, or a computed day taken away."""

    list_display = ["observed_on", "state", "name", "change", "effective_from", "effective_to", "is_active", "source"]
    list_filter = ["change", "is_active", "state"]
    date_hierarchy = "observed_on"


class ProhibitedPhraseForm(forms.ModelForm):
    class Meta:
        model = ProhibitedPhrase
        fields = "__all__"

    def clean_pattern(self):
        pattern = self.cleaned_data["pattern"]
        try:
            re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            raise forms.ValidationError(f"Not a valid pattern: {error}") from error
        return pattern


@admin.register(ProhibitedPhrase)
class ProhibitedPhraseAdmin(VersionedAdminMixin, admin.ModelAdmin):
    form = ProhibitedPhraseForm
    list_display = ["label", "pattern", "rule", "effective_from", "effective_to", "is_active", "why"]
    list_filter = ["is_active", "rule"]
    search_fields = ["label", "pattern"]


class RecordedEvidenceAdmin(admin.ModelAdmin):
    """Evidence anyone may add (recorded as them) and nobody may change or delete."""

    # Proofs are uploaded or picked on the lead page, which checks them; never chosen from a
    # list of every file and check here.
    proof_fields = ("proof_file", "proof_message", "signed_document")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return [f.name for f in self.model._meta.fields]
        return ["recorded_by", *(f.name for f in self.model._meta.fields if f.name in self.proof_fields)]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.recorded_by = request.user
        super().save_model(request, obj, form, change)


class RevocableEvidenceAdmin(RecordedEvidenceAdmin):
    """Shows whether a broker revoked the record (the revocation is its own row, below)."""

    @admin.display(boolean=True, description="revoked")
    def revoked(self, obj) -> bool:
        return hasattr(obj, "revocation")


@admin.register(ConsentRecord)
class ConsentRecordAdmin(LeadScopedAdminMixin, RevocableEvidenceAdmin):
    list_display = ["phone_number", "lead", "obtained_at", "covers_sms", "covers_autodialer",
                    "covers_prerecorded", "recorded_by", "revoked"]
    list_select_related = ["lead__property", "recorded_by", "revocation"]
    search_fields = ["=phone_number"]
    autocomplete_fields = ["lead"]


@admin.register(ReassignedNumberCheck)
class ReassignedNumberCheckAdmin(LeadScopedAdminMixin, RevocableEvidenceAdmin):
    list_display = ["phone_number", "lead", "result", "consent_date", "queried_at", "recorded_by", "revoked"]
    list_filter = ["result"]
    list_select_related = ["lead__property", "recorded_by", "revocation"]
    search_fields = ["=phone_number"]
    autocomplete_fields = ["lead"]


@admin.register(EstablishedRelationship)
class EstablishedRelationshipAdmin(LeadScopedAdminMixin, RevocableEvidenceAdmin):
    list_display = ["phone_number", "lead", "kind", "started_on", "recorded_by", "revoked"]
    list_filter = ["kind"]
    list_select_related = ["lead__property", "recorded_by", "revocation"]
    search_fields = ["=phone_number"]
    autocomplete_fields = ["lead"]


@admin.register(InterestDisclosure)
class InterestDisclosureAdmin(LeadScopedAdminMixin, RevocableEvidenceAdmin):
    list_display = ["lead", "principal", "disclosed_on", "recorded_by", "revoked"]
    list_select_related = ["lead__property", "principal", "recorded_by", "revocation"]
    autocomplete_fields = ["lead", "principal"]


@admin.register(EvidenceFile)
class EvidenceFileAdmin(LeadScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The proofs' rows; the files themselves are opened from the lead page (compliance:evidence_file)."""

    list_display = ["uploaded_at", "lead", "original_name", "content_type", "size", "uploaded_by"]
    list_select_related = ["lead__property", "uploaded_by"]
    date_hierarchy = "uploaded_at"


@admin.register(EvidenceRevocation)
class EvidenceRevocationAdmin(LeadScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """A broker's revocations: recorded on the lead page, only looked at here."""

    list_display = ["revoked_at", "lead", "record", "revoked_by", "reason"]
    list_select_related = ["lead__property", "revoked_by", "consent", "relationship", "number_check", "disclosure"]
    date_hierarchy = "revoked_at"


@admin.register(RevocationReview)
class RevocationReviewAdmin(LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["raised_at", "lead", "phone_number", "email", "matched", "status", "reviewed_by"]
    list_filter = ["status"]
    list_select_related = ["lead__property", "reviewed_by"]
    readonly_fields = ["lead", "phone_number", "email", "text", "matched", "status", "raised_by",
                       "raised_at", "reviewed_by", "reviewed_at"]
    actions = ["mark_revoked", "mark_not_revocation"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="It is a revocation: put it on the internal list")
    def mark_revoked(self, request, queryset):
        for review in queryset:
            revocation_review_decide(review=review, revoked=True, reviewed_by=request.user)

    @admin.action(description="Not a revocation")
    def mark_not_revocation(self, request, queryset):
        for review in queryset:
            revocation_review_decide(review=review, revoked=False, reviewed_by=request.user)


@admin.register(DncPolicy)
class DncPolicyAdmin(admin.ModelAdmin):
    """Versions of the written procedures (A4): a change is a new version, never an edit."""

    list_display = ["title", "adopted_on", "adopted_by", "created_at"]
    list_select_related = ["adopted_by"]
    fields = ["title", "adopted_on", "text", "adopted_by", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["title", "adopted_on", "text", "adopted_by", "created_at"] if obj else ["adopted_by", "created_at"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.adopted_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(PolicyAcknowledgement)
class PolicyAcknowledgementAdmin(admin.ModelAdmin):
    """Who acknowledged which version, and when; recorded by the users themselves."""

    list_display = ["user", "policy", "acknowledged_at"]
    list_filter = ["policy"]
    list_select_related = ["user", "policy"]
    readonly_fields = ["policy", "user", "acknowledged_at", "statement"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


# The B4 word lists: changed by adding a version, never by rewriting a day already judged.
WORD_IN_FORCE_SINCE = ("In force since {since}: texts were read with it as it is. Use \u201cSave as new\u201d "
                       "with a later effective date to change it; here only its last day may be set.")
WORD_ENDS_BEFORE_TODAY = ("Its last day may be today at the earliest, and an end already past stays: texts "
                          "already read with it stay read so.")
WORD_STARTS_BEFORE_TODAY = "A new version is in force from today at the earliest: past days keep their lists."
# What a version in force may still change: the day it ends, and its notes.
WORD_OPEN_FIELDS = frozenset({"effective_to", "source", "verified", "why"})


class RevocationWordForm(forms.ModelForm):
    class Meta:
        model = RevocationWord
        fields = ["kind", "word", "anywhere", "language", "why", "effective_from", "effective_to", "source",
                  "verified", "is_active"]

    def clean(self):
        data = super().clean()
        today = day_of()  # the day the gate and the word lists go by
        row = self.instance  # still as saved: the form writes to it only after clean()
        if row.pk is not None and row.effective_from <= today:
            changed = sorted(name for name in self.changed_data if name not in WORD_OPEN_FIELDS)
            if changed:
                raise forms.ValidationError(WORD_IN_FORCE_SINCE.format(since=row.effective_from))
            # Every day up to today (whose texts may be read already) must read the row as it
            # did: it may end today or later, and an end already past stays.
            if _last_day(row.effective_to, today) != _last_day(data.get("effective_to"), today):
                self.add_error("effective_to", WORD_ENDS_BEFORE_TODAY)
        elif (data.get("effective_from") or today) < today:
            self.add_error("effective_from", WORD_STARTS_BEFORE_TODAY)
        return data


def _last_day(effective_to, today):
    return today if effective_to is None else min(effective_to, today)


@admin.register(RevocationWord)
class RevocationWordAdmin(VersionedAdminMixin, admin.ModelAdmin):
    """The words that decide what a homeowner's words ask for, and what a stop confirmation
    may not say (docs/compliance-rules.md#b4-words). A bad pattern is refused here, on save
    (the model's ``clean``), not at the next inbound text."""

    form = RevocationWordForm
    list_display = ["word", "kind", "anywhere", "language", "effective_from", "effective_to", "is_active", "why"]
    list_filter = ["kind", "language", "is_active"]
    search_fields = ["word"]

    def get_actions(self, request):
        # No bulk delete: it would not ask, row by row, whether a version was ever in force.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request, obj=None):
        # A version once in force stays, so a past day can be judged again by it; one not yet
        # in force may go.
        if obj is not None and obj.effective_from <= day_of():
            return False
        return super().has_delete_permission(request, obj)


@admin.register(AgentDncEntry)
class AgentDncEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Agents' own do-not-call lists (docs/compliance-rules.md#b3): written by stops and on the
    agent's own page, only looked at here. A broker sees every agent's; anyone else, their own."""

    list_display = ["requested_at", "__str__", "source", "lead", "recorded_by"]
    list_select_related = ["agent", "lead__property", "recorded_by"]
    list_filter = ["source"]
    search_fields = ["=phone_number", "=email"]
    paginator = EstimatedCountPaginator
    show_full_result_count = False

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return queryset
        return queryset.filter(agent=request.user)


@admin.register(RelationshipTermination)
class RelationshipTerminationAdmin(LeadScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The days relationships ended (docs/compliance-rules.md#c2): recorded from the lead page."""

    list_display = ["terminated_on", "lead", "relationship", "shown_by", "recorded_by", "recorded_at"]
    list_select_related = ["lead__property", "relationship", "recorded_by"]
    date_hierarchy = "terminated_on"
