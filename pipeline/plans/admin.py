"""Admin of action plans: looked at here, never edited (docs/action-plans.md).

A plan is written on the plans pages, which check every step's words (merge fields, the
F6 phrases, who is writing) and re-time the leads in it; an enrollment moves only through
its services (pause, resume, stop), which cancel or re-time its steps; a step run is the
record of what was sent. Editing any of them here would skip that, so every page is
read-only. An enrollment or a run of a lead the user may not see is a 404, as everywhere;
a plan or an automation is the broker's to see, or its owner's, or shared.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import admin
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_date

from leadcrm.accounts.roles import Perm
from leadcrm.shared.append_only import ReadOnlyAdminMixin
from leads.admin import LeadScopedAdminMixin
from pipeline.models import (
    ActionPlan,
    PlanAutomation,
    PlanEnrollment,
    PlanStep,
    PlanStepRun,
)

from .figures import replied_between

BAD_PERIOD = "Give the period as YYYY-MM-DD..YYYY-MM-DD."


class _OwnedAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A plan or automation: the shared ones and the user's own; a broker sees every one."""

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return queryset
        return queryset.filter(Q(owner__isnull=True) | Q(owner=request.user))

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such plan.")
        return obj


class _ReadOnlyInline(admin.TabularInline):
    """Shown to whoever may see the row it hangs off (steps and runs have no view
    permission of their own to grant)."""

    extra = 0
    can_delete = False
    show_change_link = False
    parent_perm = ""

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(self.parent_perm)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PlanStepInline(_ReadOnlyInline):
    model = PlanStep
    parent_perm = "pipeline.view_actionplan"
    fields = ["position", "kind", "task_kind", "anchor", "delay_days", "delay_hours", "window_start", "window_end",
              "weekdays_only", "subject", "body"]
    readonly_fields = fields
    ordering = ["position", "pk"]


@admin.register(ActionPlan)
class ActionPlanAdmin(_OwnedAdmin):
    list_display = ["name", "owner", "seeded", "key_date", "pause_on_response", "version", "deleted_at"]
    list_filter = ["key_date", "pause_on_response", ("owner", admin.EmptyFieldListFilter),
                   ("deleted_at", admin.EmptyFieldListFilter)]
    list_select_related = ["owner"]
    search_fields = ["name"]
    inlines = [PlanStepInline]


@admin.register(PlanStep)
class PlanStepAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A plan's steps, on their own; usually read on the plan's page."""

    list_display = ["plan", "position", "kind", "task_kind", "anchor", "delay_days", "subject"]
    list_filter = ["kind", ("plan", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["plan"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return queryset
        return queryset.filter(Q(plan__owner__isnull=True) | Q(plan__owner=request.user))

    def has_view_permission(self, request, obj=None):
        # Steps have no permission of their own: whoever may see plans may see their steps.
        return request.user.has_perm("pipeline.view_actionplan")

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such step.")
        return obj


class RunInline(_ReadOnlyInline):
    model = PlanStepRun
    fk_name = "enrollment"
    parent_perm = "pipeline.view_planenrollment"
    fields = ["position", "kind", "title", "status", "due_at", "ran_at", "rules", "reason"]
    readonly_fields = fields
    ordering = ["position", "pk"]


class RepliedFilter(admin.SimpleListFilter):
    """Enrollments whose homeowner wrote back while in the plan, in a period
    (``2026-09-01..2026-11-30``): the report's "Replies"."""

    title = "homeowner replied"
    parameter_name = "replied"

    def lookups(self, request, model_admin):
        today = timezone.localdate()
        return [(f"{today - timedelta(days=89)}..{today}", "In the last 90 days")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        start, _, end = self.value().partition("..")
        start, end = parse_date(start), parse_date(end)
        if start is None or end is None:
            raise admin.options.IncorrectLookupParameters(BAD_PERIOD)
        zone = timezone.get_current_timezone()
        since = datetime.combine(start, time.min, tzinfo=zone)
        until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
        return queryset.filter(replied_between(since, until))


@admin.register(PlanEnrollment)
class PlanEnrollmentAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["started_at", "lead", "plan", "status", "source", "last_position", "next_due_at", "pause_reason"]
    # Only the plans of the rows listed: the filter never names a plan the user may not see.
    list_filter = ["status", "source", "pause_reason", ("plan", admin.RelatedOnlyFieldListFilter), RepliedFilter]
    list_select_related = ["lead__property", "plan"]
    date_hierarchy = "started_at"
    inlines = [RunInline]


class RuleFilter(admin.SimpleListFilter):
    """Runs the gate refused, by one of the rules that refused them (``any``: by any)."""

    title = "refused by rule"
    parameter_name = "rule"

    def lookups(self, request, model_admin):
        return [("any", "Any rule")]

    def queryset(self, request, queryset):
        rule = self.value()
        if not rule:
            return queryset
        refused = queryset.exclude(rules=[])
        # The rules are a JSON list of IDs ("D1"): quoted, so D1 does not match D10.
        return refused if rule == "any" else refused.filter(rules__icontains=f'"{rule}"')


@admin.register(PlanStepRun)
class PlanStepRunAdmin(ReadOnlyAdminMixin, LeadScopedAdminMixin, admin.ModelAdmin):
    list_display = ["ran_at", "lead", "plan", "title", "status", "rules"]
    list_filter = ["status", "kind", ("enrollment__plan", admin.RelatedOnlyFieldListFilter), RuleFilter]
    list_select_related = ["lead__property", "enrollment__plan"]
    date_hierarchy = "ran_at"

    @admin.display(description="plan", ordering="enrollment__plan__name")
    def plan(self, run):
        return run.enrollment.plan


@admin.register(PlanAutomation)
class PlanAutomationAdmin(_OwnedAdmin):
    list_display = ["__str__", "plan", "trigger", "owner", "is_active", "active_since", "last_run_at"]
    list_filter = ["trigger", "is_active"]
    list_select_related = ["plan", "owner"]
