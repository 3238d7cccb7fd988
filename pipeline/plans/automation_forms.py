"""The automation form: the trigger is chosen first, then only the fields it needs are asked
for, so the page works the same without JavaScript."""

from __future__ import annotations

from django import forms

from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leads.models import FUNNEL_STAGES
from leads.tags import tags_usable_by
from pipeline.models import ActionPlan, KeyDate, PlanAutomation, TriggerKind

from .automations import (
    DATE_KIND_NEEDED,
    DATE_KINDS,
    DAYS_RANGE,
    LIST_NEEDED,
    MAX_DAYS,
    MIN_DAYS,
    STAGE_NEEDED,
    STAGE_WORDS,
    TAG_NEEDED,
    TRIGGER_NEEDED,
    lists_usable_by,
)

# What each trigger asks, in the order the form shows it.
FIELDS_OF = {
    TriggerKind.STAGE_ENTERED: ["stage"],
    TriggerKind.LIST_IMPORTED: ["lead_list"],
    TriggerKind.TAG_ADDED: ["tag"],
    TriggerKind.DATE_APPROACHING: ["date_kind", "days"],
    TriggerKind.NO_CONTACT: ["days", "stage"],
}
TRIGGER_HINTS = {
    TriggerKind.STAGE_ENTERED: "A lead moves into a stage of the funnel (counts from when you switch it on).",
    TriggerKind.LIST_IMPORTED: "A lead is imported into one of your lists.",
    TriggerKind.TAG_ADDED: "Someone puts a tag on a lead.",
    TriggerKind.DATE_APPROACHING: "The auction or the approval's closing deadline is near, or a filing was just "
                                  "recorded.",
    TriggerKind.NO_CONTACT: "Nobody has had a conversation with the homeowner for a number of days.",
}
DATE_CHOICES = [
    (KeyDate.AUCTION, "Days before the auction"),
    (KeyDate.APPROVAL_EXPIRY, "Days before the approval letter's closing deadline"),
    (KeyDate.FILING, "Days after a pre-foreclosure filing is recorded"),
]
OWN, SHARED = "own", "shared"


class TriggerChoiceForm(forms.Form):
    trigger = forms.ChoiceField(label="What starts the plan", widget=forms.RadioSelect,
                                choices=TriggerKind.choices, error_messages={"required": TRIGGER_NEEDED,
                                                                             "invalid_choice": TRIGGER_NEEDED})


class AutomationForm(forms.Form):
    trigger = forms.ChoiceField(choices=TriggerKind.choices, widget=forms.HiddenInput)
    stage = forms.ChoiceField(label="Stage", error_messages={"required": STAGE_NEEDED, "invalid_choice": STAGE_NEEDED})
    lead_list = forms.ModelChoiceField(label="List", queryset=None, empty_label="Pick a list",
                                       error_messages={"required": LIST_NEEDED, "invalid_choice": LIST_NEEDED})
    tag = forms.ModelChoiceField(label="Tag", queryset=None, empty_label="Pick a tag",
                                 error_messages={"required": TAG_NEEDED, "invalid_choice": TAG_NEEDED})
    date_kind = forms.ChoiceField(label="Which date", choices=DATE_CHOICES, widget=forms.RadioSelect,
                                  error_messages={"required": DATE_KIND_NEEDED, "invalid_choice": DATE_KIND_NEEDED})
    days = forms.IntegerField(label="Days", min_value=MIN_DAYS, max_value=MAX_DAYS,
                              widget=forms.NumberInput(attrs={"class": "days-input"}),
                              error_messages={key: DAYS_RANGE for key in ("required", "invalid", "min_value",
                                                                          "max_value")})
    scope = forms.ChoiceField(label="Whose leads", widget=forms.RadioSelect, initial=OWN, choices=[
        (OWN, "Your own leads"), (SHARED, "Every lead of the brokerage (a shared automation)")])
    name = forms.CharField(label="Name (optional)", required=False, max_length=120,
                           help_text="Left empty, the list says what starts it.")

    def __init__(self, *args, trigger: str, user: User, plan: ActionPlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.trigger = TriggerKind(trigger)
        self.fields["trigger"].initial = self.trigger
        wanted = set(FIELDS_OF[self.trigger]) | {"trigger", "name"}
        if user.has_perm(Perm.MANAGE_PLANS) and plan.is_shared:
            wanted.add("scope")
        for name in list(self.fields):
            if name not in wanted:
                del self.fields[name]
        stages = [(stage, STAGE_WORDS[stage]) for stage in FUNNEL_STAGES if not plan.stages or stage in plan.stages]
        if "stage" in self.fields:
            if self.trigger == TriggerKind.NO_CONTACT:
                self.fields["stage"].required = False
                self.fields["stage"].label = "Only in the stage"
                self.fields["stage"].choices = [("", "Any stage")] + stages
            else:
                self.fields["stage"].label = "When a lead enters"
                self.fields["stage"].choices = [("", "Pick a stage")] + stages
        if "lead_list" in self.fields:
            self.fields["lead_list"].queryset = lists_usable_by(user).order_by("name", "pk")
            self.fields["lead_list"].label = "When a lead is imported into"
        if "tag" in self.fields:
            self.fields["tag"].queryset = tags_usable_by(user).order_by("name", "pk")
            self.fields["tag"].label = "When a lead is tagged"
        if "days" in self.fields:
            if self.trigger == TriggerKind.NO_CONTACT:
                self.fields["days"].label = "Days without a conversation"
                self.fields["days"].help_text = "Since the last call, text or visit in which you reached the homeowner."
            else:
                self.fields["days"].label = "How many days"
                self.fields["days"].help_text = (f"From {MIN_DAYS} to {MAX_DAYS}: a lead is started once per date; a "
                                                 "moved auction is a new date.")

    @classmethod
    def initial_of(cls, automation: PlanAutomation) -> dict:
        return {"trigger": automation.trigger, "stage": automation.stage, "lead_list": automation.lead_list_id,
                "tag": automation.tag_id, "date_kind": automation.date_kind or DATE_KINDS[0],
                "days": automation.days or None, "name": automation.name,
                "scope": SHARED if automation.owner_id is None else OWN}

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"trigger": self.trigger, "stage": data.get("stage", ""), "lead_list": data.get("lead_list"),
                "tag": data.get("tag"), "date_kind": data.get("date_kind", ""), "days": data.get("days"),
                "name": data.get("name", ""), "shared": data.get("scope") == SHARED}
