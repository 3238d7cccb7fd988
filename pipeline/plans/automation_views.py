"""A plan's automations: the list, the form (trigger first, then what it needs), pause,
resume and delete. Thin: ``pipeline.plans.automations`` decides.

The plan is one the user may use (shared, or their own), else 404; an automation is one of
theirs or the brokerage's, else 404; a shared one is changed by a broker only (403 to
anyone else, who can see it but not touch it)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.views import View
from django.views.generic import TemplateView

from leadcrm.accounts.roles import Perm
from pipeline.common import add_service_error
from pipeline.models import TriggerKind

from .automation_forms import TRIGGER_HINTS, AutomationForm, TriggerChoiceForm
from .automations import (
    automation_delete,
    automation_get,
    automation_list,
    automation_pause,
    automation_plan_get,
    automation_resume,
    automation_save,
    automation_scope_words,
    automation_words,
    may_change,
)


def _plan_url(plan) -> str | None:
    # The plan's own page is another part's (pipeline/plans/views.py); link it when it is there.
    try:
        return reverse("plans:detail", args=[plan.pk])
    except NoReverseMatch:
        return None


class PlanAutomationView(LoginRequiredMixin, PermissionRequiredMixin):
    """A page under one of the plans the user may use (404 otherwise)."""

    permission_required = Perm.USE_PLANS

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.plan = automation_plan_get(fetched_by=request.user, pk=kwargs["plan_pk"])
            self.automation = None
            if "pk" in kwargs:
                self.automation = automation_get(fetched_by=request.user, plan=self.plan, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def check_may_change(self):
        if self.automation is not None and not may_change(self.request.user, self.automation):
            raise PermissionDenied("Only a broker changes the brokerage's shared automations.")

    def list_url(self) -> str:
        return reverse("plans:automations", args=[self.plan.pk])

    def get_context_data(self, **kwargs):
        return super().get_context_data(plan=self.plan, plan_url=_plan_url(self.plan), list_url=self.list_url(),
                                        automation=self.automation, **kwargs)


class AutomationListView(PlanAutomationView, TemplateView):
    template_name = "plans/automation_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        rows = [{"automation": automation, "words": automation_words(automation),
                 "scope": automation_scope_words(automation, viewer=user), "may_change": may_change(user, automation)}
                for automation in automation_list(fetched_by=user, plan=self.plan)]
        return super().get_context_data(rows=rows, **kwargs)


class AutomationFormView(PlanAutomationView, TemplateView):
    """New (``automation`` None) or edit. Without a trigger (or with ``?trigger=`` to change
    it) the page asks for one first; then the form has only the fields that trigger needs."""

    template_name = "plans/automation_form.html"

    def trigger_asked(self, data) -> str | None:
        trigger = data.get("trigger") or (self.automation.trigger if self.automation else "")
        return trigger if trigger in TriggerKind.values else None

    def form_for(self, trigger, data=None) -> AutomationForm:
        initial = AutomationForm.initial_of(self.automation) if self.automation else {}
        initial["trigger"] = trigger
        return AutomationForm(data, initial=initial, trigger=trigger, user=self.request.user, plan=self.plan)

    def choosing(self, status=200, data=None):
        chooser = TriggerChoiceForm(data, initial={"trigger": self.automation.trigger if self.automation else None})
        if data is not None:
            chooser.is_valid()
        choices = [(value, label, TRIGGER_HINTS[value]) for value, label in TriggerKind.choices]
        return self.render_to_response(self.get_context_data(chooser=chooser, trigger_choices=choices),
                                       status=status)

    def get(self, request, *args, **kwargs):
        self.check_may_change()
        trigger = self.trigger_asked(request.GET)
        if trigger is None or "change" in request.GET:
            return self.choosing(data=request.GET if "trigger" in request.GET else None)
        return self.render_to_response(self.get_context_data(form=self.form_for(trigger), trigger=trigger))

    def post(self, request, *args, **kwargs):
        self.check_may_change()
        if request.POST.get("trigger") not in TriggerKind.values:
            return self.choosing(status=400, data=request.POST)
        trigger = request.POST["trigger"]
        form = self.form_for(trigger, data=request.POST)
        if form.is_valid():
            try:
                saved = automation_save(actor=request.user, plan=self.plan, automation=self.automation,
                                        **form.service_kwargs())
            except ValidationError as error:
                add_service_error(form, error)
            else:
                verb = "Saved" if self.automation else "Switched on"
                messages.success(request, f"{verb}: {automation_words(saved)} → “{self.plan.name}”.")
                return HttpResponseRedirect(self.list_url())
        return self.render_to_response(self.get_context_data(form=form, trigger=trigger), status=400)

    def get_context_data(self, **kwargs):
        trigger = kwargs.get("trigger")
        return super().get_context_data(trigger_label=TriggerKind(trigger).label if trigger else "", **kwargs)


class AutomationSwitchView(PlanAutomationView, View):
    """Pause or resume (``switch_on``): a POST from the list, back to the list."""

    http_method_names = ["post"]
    switch_on = False

    def post(self, request, *args, **kwargs):
        self.check_may_change()
        try:
            if self.switch_on:
                automation_resume(automation=self.automation, actor=request.user)
                messages.success(request, f"Switched on again: {automation_words(self.automation)}. "
                                          "It counts what happens from now on.")
            else:
                automation_pause(automation=self.automation, actor=request.user)
                messages.success(request, f"Paused: {automation_words(self.automation)}. "
                                          "The leads it started stay in the plan.")
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(self.list_url())


class AutomationDeleteView(PlanAutomationView, TemplateView):
    template_name = "plans/automation_confirm_delete.html"

    def get(self, request, *args, **kwargs):
        self.check_may_change()
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        enrolled = self.automation.enrollments.count()
        return super().get_context_data(words=automation_words(self.automation), enrolled=enrolled, **kwargs)

    def post(self, request, *args, **kwargs):
        self.check_may_change()
        words = automation_words(self.automation)
        try:
            automation_delete(automation=self.automation, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"Deleted: {words}. The leads it started stay in the plan.")
        return HttpResponseRedirect(self.list_url())
