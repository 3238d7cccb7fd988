"""The user's own settings: working hours and how they are told."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms

from leadcrm.accounts.models import US_TIME_ZONES

WEEKDAYS = [("0", "Mon"), ("1", "Tue"), ("2", "Wed"), ("3", "Thu"), ("4", "Fri"), ("5", "Sat"), ("6", "Sun")]


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class MySettingsForm(forms.Form):
    """The user's hours and how they are told; the service re-times waiting reminders."""

    time_zone = forms.ChoiceField(choices=US_TIME_ZONES, help_text="Times on screen and in emails are in this zone.")
    work_starts = forms.TimeField(widget=TimeInput(), label="Working day starts")
    work_ends = forms.TimeField(widget=TimeInput(), label="and ends")
    work_days = forms.MultipleChoiceField(choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple(
                                              attrs={"class": "form-check-input"}),
                                          label="Working days")
    email = forms.EmailField(required=False, label="Email for reminders")
    email_reminders = forms.BooleanField(required=False, label="Email me reminders and the 7:30 digest, not only in the app")

    def __init__(self, *args, user, **kwargs):
        initial = {"time_zone": user.time_zone, "work_starts": user.work_starts, "work_ends": user.work_ends,
                   "work_days": list(user.work_days), "email": user.email, "email_reminders": user.email_reminders}
        super().__init__(*args, initial=initial, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean(self):
        data = super().clean()
        if data.get("email_reminders") and not data.get("email"):
            self.add_error("email", "Give an address, or turn email reminders off.")
        if data.get("work_starts") and data.get("work_ends") and data["work_starts"] >= data["work_ends"]:
            self.add_error("work_ends", "The working day must end after it starts.")
        return data

    def changes(self) -> dict:
        data = dict(self.cleaned_data)
        data["work_days"] = "".join(sorted(data["work_days"]))
        return data
