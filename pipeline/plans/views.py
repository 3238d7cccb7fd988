"""The plans' own pages: the list, the editor, a plan's page, deleting and copying one.

Who may do what is the services' (``plan_save``, ``plan_delete`` refuse an agent a shared
plan); these views only keep an agent from a page that would be refused anyway, saying
why, and a plan that is another agent's own is a 404 like anything else not theirs.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.views.generic import TemplateView, View

from leadcrm.accounts.roles import Perm
from leads.models import Stage
from pipeline.common import add_service_error
from pipeline.outreach.scripts import KNOWN_FIELDS

from .forms import (
    EDIT_PLAN_ROWS,
    NEW_PLAN_ROWS,
    PlanForm,
    rows_arranged,
    rows_data,
    rows_of,
    step_formset,
    step_initial,
)
from .selectors import (
    NO_RULE,
    next_step_of,
    plan_enrollments,
    plan_figures,
    plan_get,
    plan_list,
    plan_open_count,
    step_short,
    step_when,
    steps_done_by,
)
from .services import SHARED_NEEDS_BROKER, plan_copy, plan_delete, plan_save

LEADS_PER_PAGE = 25
PLAN_FIELDS_SHOWN = f"{KNOWN_FIELDS}, [Status Page Link]"
NOT_SAVED_YET = "Not saved yet: press Save plan to keep these changes."
SAVED = "Saved “{name}”."
COPIED = "Saved “{name}”: a copy of your own to change as you like."
DELETED = "Deleted “{name}”. {count} lead{s} had steps left in it: those steps are cancelled, saying why."
DELETED_EMPTY = "Deleted “{name}”."
COPY_REFUSED = "That plan could not be copied: {reason}"


def may_edit(user, plan) -> bool:
    if plan.is_shared:
        return user.has_perm(Perm.MANAGE_PLANS)
    return plan.owner_id == user.pk


def _refuse_shared(request, plan):
    """An agent at a shared plan's edit or delete page: back to the plan, told why (the
    plan page offers a copy of their own instead)."""
    messages.warning(request, SHARED_NEEDS_BROKER)
    return HttpResponseRedirect(reverse("plans:detail", args=[plan.pk]))


class PlanListView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """The plans the user may use: the brokerage's shared ones, then their own."""

    permission_required = "pipeline.view_actionplan"
    template_name = "plans/plan_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        plans = plan_list(fetched_by=user)
        for plan in plans:
            plan.steps_line = [step_short(step, plan=plan) for step in plan.steps.all()]
            plan.editable = may_edit(user, plan)
        return super().get_context_data(
            plans=plans, sees_all=user.has_perm(Perm.VIEW_ALL_LEADS), **kwargs)


class PlanDetailView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """A plan's steps in words, its figures, and the leads in it now that the user may see."""

    permission_required = "pipeline.view_actionplan"
    template_name = "plans/plan_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        plan = plan_get(fetched_by=user, pk=self.kwargs["pk"])
        figures = plan_figures(plans=[plan], fetched_by=user)[plan.pk]
        page = Paginator(plan_enrollments(plan=plan, fetched_by=user), LEADS_PER_PAGE).get_page(
            self.request.GET.get("page"))
        done = steps_done_by(page.object_list)
        for enrollment in page:
            enrollment.next_step = next_step_of(plan, enrollment, done[enrollment.pk])
        steps = list(plan.steps.all())
        for step in steps:
            step.when = step_when(step, plan=plan)
        try:
            automations_url = reverse("plans:automations", args=[plan.pk])
        except NoReverseMatch:  # the automations' pages are not part of this build
            automations_url = None
        return super().get_context_data(
            plan=plan, steps=steps, figures=figures, page=page, editable=may_edit(user, plan),
            stage_names=[Stage(stage).label for stage in plan.stages], sees_all=user.has_perm(Perm.VIEW_ALL_LEADS),
            skipped_by_rule=[(rule or None, count) for rule, count in figures.skipped_by_rule.items()],
            automations_url=automations_url, no_rule=NO_RULE, **kwargs)


class PlanEditView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """A new plan (no pk) or a change to one: its settings, then its steps as rows.

    The rows' buttons (add, move up or down, remove) post the whole form and come back to
    it rearranged, not saved; Save calls ``plan_save`` once, and what it refuses is shown
    above the steps and on the step it is about, with everything typed kept.
    """

    template_name = "plans/plan_form.html"

    def get_permission_required(self):
        return ["pipeline.change_actionplan" if self.kwargs.get("pk") else "pipeline.add_actionplan"]

    def dispatch(self, request, *args, **kwargs):
        self.plan = None
        if request.user.is_authenticated and kwargs.get("pk"):
            self.plan = plan_get(fetched_by=request.user, pk=kwargs["pk"])
            if self.plan.is_shared and not request.user.has_perm(Perm.MANAGE_PLANS):
                return _refuse_shared(request, self.plan)
        return super().dispatch(request, *args, **kwargs)

    @property
    def may_share(self) -> bool:
        # Whether a plan is shared is decided when it is made (a copy changes hands, an edit does not).
        return self.plan is None and self.request.user.has_perm(Perm.MANAGE_PLANS)

    def get(self, request, *args, **kwargs):
        plan = self.plan
        if plan is None:
            form = PlanForm(may_share=self.may_share)
            formset = step_formset(extra=NEW_PLAN_ROWS)
        else:
            form = PlanForm(may_share=self.may_share, initial={
                "name": plan.name, "description": plan.description, "shared": plan.is_shared,
                "stages": plan.stages, "key_date": plan.key_date, "pause_on_response": plan.pause_on_response,
                "pause_call_seconds": plan.pause_call_seconds})
            formset = step_formset(initial=[step_initial(step) for step in plan.steps.all()], extra=EDIT_PLAN_ROWS)
        return self.render_to_response(self.get_context_data(form=form, formset=formset))

    def post(self, request, *args, **kwargs):
        action = request.POST.get("step_action", "")
        rows = rows_arranged(rows_of(request.POST), "" if "save" in request.POST else action)
        data = rows_data(rows, request.POST)
        form = PlanForm(data, may_share=self.may_share)
        formset = step_formset(data=data)
        if "save" not in request.POST:
            return self.render_to_response(self.get_context_data(form=form, formset=formset, rearranged=True))
        step_messages = []
        valid = [form.is_valid(), formset.is_valid()]  # both, so every row shows its errors
        if all(valid):
            cleaned = form.cleaned_data
            try:
                saved = plan_save(
                    actor=request.user, plan=self.plan, name=cleaned["name"], description=cleaned["description"],
                    steps=[step for _form, step in formset.steps()],
                    shared=cleaned.get("shared", self.plan.is_shared if self.plan else False),
                    stages=cleaned["stages"], key_date=cleaned["key_date"],
                    pause_on_response=cleaned["pause_on_response"],
                    pause_call_seconds=cleaned["pause_call_seconds"] if cleaned["pause_call_seconds"] is not None
                    else 60)
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    by_field = dict(error.message_dict)
                    step_messages = by_field.pop("steps", [])
                    formset.step_errors(step_messages)
                    if by_field:
                        add_service_error(form, ValidationError(by_field))
                else:
                    add_service_error(form, error)
            else:
                messages.success(request, SAVED.format(name=saved.name))
                return HttpResponseRedirect(reverse("plans:detail", args=[saved.pk]))
        context = self.get_context_data(form=form, formset=formset, step_messages=step_messages)
        return self.render_to_response(context, status=400)

    def get_context_data(self, **kwargs):
        plan = self.plan
        return super().get_context_data(
            plan=plan, open_count=plan_open_count(plan=plan) if plan else 0, merge_fields=PLAN_FIELDS_SHOWN,
            not_saved_yet=NOT_SAVED_YET, **kwargs)


class PlanDeleteView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """Asks first, saying how many leads are in the plan and what becomes of their steps."""

    permission_required = "pipeline.change_actionplan"
    template_name = "plans/plan_confirm_delete.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.plan = plan_get(fetched_by=request.user, pk=kwargs["pk"])
            if self.plan.is_shared and not request.user.has_perm(Perm.MANAGE_PLANS):
                return _refuse_shared(request, self.plan)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(plan=self.plan, open_count=plan_open_count(plan=self.plan), **kwargs)

    def post(self, request, *args, **kwargs):
        if request.POST.get("confirm") != "delete":
            # Only the confirm page's button deletes; any other POST asks again.
            return self.get(request, *args, **kwargs)
        try:
            count = plan_delete(plan=self.plan, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(reverse("plans:detail", args=[self.plan.pk]))
        if count:
            messages.success(request, DELETED.format(name=self.plan.name, count=count, s="" if count == 1 else "s"))
        else:
            messages.success(request, DELETED_EMPTY.format(name=self.plan.name))
        return HttpResponseRedirect(reverse("plans:list"))


class PlanCopyView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A copy of a plan the user may use, theirs to change (how an agent adapts a shared one)."""

    permission_required = "pipeline.add_actionplan"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        plan = plan_get(fetched_by=request.user, pk=kwargs["pk"])
        try:
            copy = plan_copy(plan=plan, actor=request.user)
        except ValidationError as error:
            messages.error(request, COPY_REFUSED.format(reason=" ".join(error.messages)))
            return HttpResponseRedirect(reverse("plans:detail", args=[plan.pk]))
        messages.success(request, COPIED.format(name=copy.name))
        return HttpResponseRedirect(reverse("plans:edit", args=[copy.pk]))
