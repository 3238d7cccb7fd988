"""Forms of a lead's plans: starting one on a lead, and on the leads ticked in the list."""

from __future__ import annotations

from django import forms

from pipeline.models import ActionPlan

PICK_A_PLAN = "Pick the plan to start."
NO_SUCH_PLAN = "There is no such plan you may use (it may have been deleted)."
TOO_MANY = "Up to {limit} leads at a time: narrow the filter or tick the leads."
NONE_TICKED = "Tick the leads first, or choose every lead matching the filter."
MAX_LEADS = 200  # as the list's other bulk actions (pipeline/deals/forms.py)


class PlanChoiceField(forms.ModelChoiceField):
    def __init__(self, **kwargs):
        super().__init__(queryset=ActionPlan.objects.none(), label="Plan", empty_label="Pick a plan…",
                         error_messages={"required": PICK_A_PLAN, "invalid_choice": NO_SUCH_PLAN}, **kwargs)


class PlanStartForm(forms.Form):
    """Start a plan on one lead: the plans the user may use (shared and their own)."""

    plan = PlanChoiceField()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = ActionPlan.objects.usable_by(user)


class BulkPlanForm(forms.Form):
    """Start a plan on the ticked leads, or on every lead matching the list's filter
    (``query``, the list's query string), at most ``MAX_LEADS``. The view reads the leads
    through the user's own scope."""

    plan = PlanChoiceField()
    leads = forms.TypedMultipleChoiceField(coerce=int, choices=(), required=False, label="Leads")
    all_matching = forms.BooleanField(required=False, label="Every lead matching the filter")
    query = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = ActionPlan.objects.usable_by(user)
        self.fields["leads"].choices = [(value, value) for value in self.data.getlist("leads")] if self.data else []

    def clean_leads(self):
        ids = self.cleaned_data["leads"]
        if len(ids) > MAX_LEADS:
            raise forms.ValidationError(TOO_MANY.format(limit=MAX_LEADS))
        return ids

    def clean(self):
        data = super().clean()
        if not data.get("all_matching") and not data.get("leads") and "leads" not in self.errors:
            self.add_error("leads", NONE_TICKED)
        return data
