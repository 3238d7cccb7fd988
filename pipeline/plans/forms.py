"""The plan editor's forms: the plan's settings and its steps as a formset.

The forms only shape input: what a step may say and when it may run is checked by
``pipeline.plans.services.plan_save``, whose refusals the view puts back on these forms.
Step rows are added, removed and moved by submit buttons, so the editor works without
JavaScript; every button posts what was typed, and nothing is lost on the way.
"""

from __future__ import annotations

import re
from datetime import time

from django import forms
from django.forms import formset_factory
from django.http import QueryDict

from leads.models import FUNNEL_STAGES, Stage
from pipeline.models import KeyDate, StepAnchor, StepKind, TaskKind

from .services import StepInput

STEP_PREFIX = "steps"
# Blank rows offered under the steps: one to type a new step into without pressing "Add".
NEW_PLAN_ROWS = 3
EDIT_PLAN_ROWS = 1
MAX_ROWS = 60  # the service allows 40 steps; room for blank rows on top
STEP_NUMBER = re.compile(r"^Step (\d+) \(")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class PlanForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                  help_text="Who it is for and what it is meant to do, for whoever picks a plan.")
    shared = forms.BooleanField(required=False, label="Shared with the whole brokerage",
                                help_text="Every agent may use it; only a broker changes it.")
    stages = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="For leads in",
        choices=[(stage, Stage(stage).label) for stage in FUNNEL_STAGES],
        help_text="None ticked: any stage. A lead that moves out of them pauses (when pausing on a response).")
    key_date = forms.ChoiceField(choices=KeyDate.choices, required=False, label="Steps may count back from",
                                 help_text="The nearest one ahead on the lead: the auction, the approval letter's "
                                           "closing deadline, the pre-foreclosure filing.")
    pause_on_response = forms.BooleanField(
        required=False, initial=True, label="Pause when the homeowner responds",
        help_text="A text or email back, a conversation logged, a long call, or a move out of the plan's stages.")
    pause_call_seconds = forms.IntegerField(min_value=0, max_value=3600, initial=60, label="A call counts from (seconds)")

    def __init__(self, *args, may_share: bool, **kwargs):
        kwargs.setdefault("use_required_attribute", False)
        super().__init__(*args, **kwargs)
        if not may_share:
            del self.fields["shared"]


class StepForm(forms.Form):
    """One step. Every field is optional here: a row left blank is no step, and what a step
    needs is the service's to say (with the step's number)."""

    pk = forms.IntegerField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=[("", "Pick…"), *StepKind.choices], required=False, label="What")
    task_kind = forms.ChoiceField(choices=[("", "(for a task)"), *TaskKind.choices], required=False,
                                  label="Task")
    delay_days = forms.IntegerField(min_value=0, max_value=730, required=False, label="Days")
    delay_hours = forms.IntegerField(min_value=0, max_value=23 * 24, required=False, label="Hours")
    anchor = forms.ChoiceField(choices=StepAnchor.choices, required=False, label="Counted",
                               initial=StepAnchor.PREVIOUS)
    window_start = forms.TimeField(required=False, widget=TimeInput(), label="From", initial=time(9, 0))
    window_end = forms.TimeField(required=False, widget=TimeInput(), label="To", initial=time(17, 0))
    weekdays_only = forms.BooleanField(required=False, label="Weekdays only")
    subject = forms.CharField(max_length=200, required=False, label="Subject (email) or title (task)")
    body = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Words")
    position = forms.IntegerField(min_value=1, max_value=MAX_ROWS, required=False, label="Position")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("use_required_attribute", False)
        super().__init__(*args, **kwargs)

    def is_blank(self) -> bool:
        """Nothing typed that makes a step (a blank row's times and anchor are defaults)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return not (data.get("kind") or (data.get("subject") or "").strip() or (data.get("body") or "").strip())

    def step_input(self) -> StepInput:
        data = self.cleaned_data
        return StepInput(
            kind=data.get("kind") or "", subject=data.get("subject") or "", body=data.get("body") or "",
            task_kind=data.get("task_kind") or "", anchor=data.get("anchor") or StepAnchor.PREVIOUS,
            delay_days=data.get("delay_days") or 0, delay_hours=data.get("delay_hours") or 0,
            window_start=data.get("window_start") or time(9, 0), window_end=data.get("window_end") or time(17, 0),
            weekdays_only=bool(data.get("weekdays_only")), pk=data.get("pk"))


class BaseStepFormSet(forms.BaseFormSet):
    def steps(self) -> list[tuple[StepForm, StepInput]]:
        """The rows that are steps, in their order on the page (blank rows left out)."""
        return [(form, form.step_input()) for form in self.forms if not form.is_blank()]

    def step_errors(self, messages: list[str]) -> list[str]:
        """Put each "Step N (...): ..." message on the row of step N; return the others."""
        rows = [form for form, _step in self.steps()]
        unplaced = []
        for message in messages:
            match = STEP_NUMBER.match(message)
            number = int(match.group(1)) if match else 0
            if 1 <= number <= len(rows):
                # On the step's own row its number goes without saying.
                rows[number - 1].add_error(None, message.split(": ", 1)[1])
            else:
                unplaced.append(message)
        return unplaced


def step_formset(*, data=None, initial=None, extra: int = 0):
    StepFormSet = formset_factory(StepForm, formset=BaseStepFormSet, extra=extra, max_num=MAX_ROWS,
                                  absolute_max=MAX_ROWS, validate_max=True)
    formset = StepFormSet(data=data, initial=initial, prefix=STEP_PREFIX)
    if data is None:
        for number, form in enumerate(formset.forms, start=1):
            form.initial.setdefault("position", number)
    return formset


def step_initial(step) -> dict:
    """A saved step as a row of the editor."""
    return {"pk": step.pk, "kind": step.kind, "task_kind": step.task_kind, "delay_days": step.delay_days,
            "delay_hours": step.delay_hours, "anchor": step.anchor, "window_start": step.window_start,
            "window_end": step.window_end, "weekdays_only": step.weekdays_only, "subject": step.subject,
            "body": step.body}


ROW_FIELDS = [name for name in StepForm.base_fields]


def rows_of(data) -> list[dict]:
    """The step rows as posted (raw strings, as typed), in the order they came."""
    try:
        total = min(int(data.get(f"{STEP_PREFIX}-TOTAL_FORMS", 0)), MAX_ROWS)
    except (TypeError, ValueError):
        total = 0
    rows = []
    for index in range(total):
        row = {name: data.get(f"{STEP_PREFIX}-{index}-{name}", "") for name in ROW_FIELDS}
        row["index"] = index
        rows.append(row)
    return rows


def row_is_blank(row: dict) -> bool:
    return not (row.get("kind") or (row.get("subject") or "").strip() or (row.get("body") or "").strip())


def rows_arranged(rows: list[dict], action: str = "") -> list[dict]:
    """The rows in the order their position numbers ask, then one button's change: "add",
    "up-3", "down-3", "remove-3" (3 being the row's place on the page, from 0)."""
    def position(row):
        try:
            return int(row.get("position") or 0) or row["index"] + 1
        except ValueError:
            return row["index"] + 1

    def moved(row):
        # Typed to a place another row holds: a row moved up goes before it, one moved
        # down after it ("1" on the third step makes it the first).
        place = position(row)
        return -1 if place < row["index"] + 1 else (1 if place > row["index"] + 1 else 0)

    rows = sorted(rows, key=lambda row: (position(row), moved(row), row["index"]))
    verb, _, where = action.partition("-")
    at = next((n for n, row in enumerate(rows) if where.isdigit() and row["index"] == int(where)), None)
    if verb == "add":
        rows.append({})
    elif at is not None and verb == "up" and at > 0:
        rows[at - 1], rows[at] = rows[at], rows[at - 1]
    elif at is not None and verb == "down" and at < len(rows) - 1:
        rows[at + 1], rows[at] = rows[at], rows[at + 1]
    elif at is not None and verb == "remove":
        rows.pop(at)
    return rows


def rows_data(rows: list[dict], posted: QueryDict) -> QueryDict:
    """What was posted, with the step rows in their new order, numbered afresh."""
    data = QueryDict(mutable=True)
    for key in posted:
        if not key.startswith(f"{STEP_PREFIX}-"):
            data.setlist(key, posted.getlist(key))
    for index, row in enumerate(rows):
        for name in ROW_FIELDS:
            value = str(index + 1) if name == "position" else row.get(name, "")
            if value not in ("", None):
                data[f"{STEP_PREFIX}-{index}-{name}"] = value
    data[f"{STEP_PREFIX}-TOTAL_FORMS"] = str(len(rows))
    data[f"{STEP_PREFIX}-INITIAL_FORMS"] = "0"
    return data
