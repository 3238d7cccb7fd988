"""Forms shape input for the pipeline services; the rules live in the services and the gate."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance.models import PHONE_CHANNELS, Channel, Direction, Purpose, Technology
from compliance.selectors import phone_suppressions
from leadcrm.accounts.models import Capacity
from leads.models import Contact, DeadReason, Email, Lead, Phone, Stage

from .models import Outcome
from .stages import allowed_moves

PICK_NUMBER = "Pick the number you called or texted."
PICK_EMAIL = "Pick the email address you wrote to."
PICK_OWNER = "Pick the owner you mailed."


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class OutreachLogForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.CALL)
    phone = forms.ModelChoiceField(queryset=Phone.objects.none(), required=False, label="Number")
    email = forms.ModelChoiceField(queryset=Email.objects.none(), required=False)
    contact = forms.ModelChoiceField(
        queryset=Contact.objects.none(), required=False, label="Owner (for mail)"
    )
    purpose = forms.ChoiceField(choices=Purpose.choices, initial=Purpose.LISTING)
    technology = forms.ChoiceField(
        choices=Technology.choices, initial=Technology.MANUAL, label="Dialled how", required=False,
        help_text="Automated calls and all texts need the homeowner's written consent.",
    )
    inbound = forms.BooleanField(required=False, label="The homeowner reached out to me (inbound)")
    outcome = forms.ChoiceField(choices=Outcome.choices, widget=forms.RadioSelect)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    homeowner_words = forms.CharField(
        required=False,
        label="Homeowner's words (for a do-not-call request)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    role_disclosed = forms.BooleanField(required=False)
    follow_up_at = forms.DateTimeField(
        required=False, widget=DateTimeLocalInput(), label="Next follow-up",
        help_text="In your time zone.",
    )
    follow_up_title = forms.CharField(required=False, max_length=200, label="Follow-up note")

    def __init__(self, *args, lead: Lead, user, disclosure_sentence: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead = lead
        phones = list(Phone.objects.filter(contact__lead=lead).select_related("contact"))
        # Say on the choice itself which numbers the gate will refuse, and never offer
        # one of them first.
        suppressed = phone_suppressions(numbers=[phone.number for phone in phones])
        self.fields["phone"].queryset = Phone.objects.filter(contact__lead=lead).select_related("contact")
        self.fields["phone"].label_from_instance = (
            lambda p: f"{p.display} · {p.contact.display_name} · {p.get_phone_type_display()}"
            + ("" if p.status == "good" else f" · {p.get_status_display()}")
            + (" · on a do-not-call list" if p.number in suppressed else "")
        )
        self.fields["email"].queryset = Email.objects.filter(contact__lead=lead).select_related("contact")
        self.fields["contact"].queryset = Contact.objects.filter(lead=lead)
        first_phone = next((p for p in phones if p.status == "good" and p.number not in suppressed), None)
        if first_phone is not None:
            self.fields["phone"].initial = first_phone.pk
        self.fields["role_disclosed"].label = (
            "I told the homeowner who I am and why I called: “" + disclosure_sentence + "”"
        )
        if user.capacity == Capacity.PRINCIPAL:
            self.fields["purpose"].initial = Purpose.OFFER_TO_BUY
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def clean_technology(self):
        return self.cleaned_data["technology"] or Technology.MANUAL

    def clean_follow_up_at(self):
        due = self.cleaned_data["follow_up_at"]
        if due is not None and due < timezone.now():
            raise forms.ValidationError("The next follow-up must be in the future.")
        return due

    def clean(self):
        # Only which field holds the contact point; the rules are the service's.
        data = super().clean()
        channel = data.get("channel")
        if channel in PHONE_CHANNELS and not data.get("phone"):
            self.add_error("phone", PICK_NUMBER)
        elif channel == Channel.EMAIL and not data.get("email"):
            self.add_error("email", PICK_EMAIL)
        elif channel == Channel.MAIL and not data.get("contact"):
            self.add_error("contact", PICK_OWNER)
        return data

    def add_service_error(self, error: ValidationError) -> None:
        """Show a service's ValidationError on the field it names, or above the form."""
        errors = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for field, messages in errors.items():
            self.add_error(field if field in self.fields else None, messages)

    @property
    def direction(self) -> Direction:
        return Direction.INBOUND if self.cleaned_data.get("inbound") else Direction.OUTBOUND

    @property
    def contact_point(self):
        channel = self.cleaned_data.get("channel")
        if channel in PHONE_CHANNELS:
            return self.cleaned_data.get("phone")
        if channel == Channel.EMAIL:
            return self.cleaned_data.get("email")
        if channel == Channel.MAIL:
            return self.cleaned_data.get("contact")
        return self.lead.property


class StageChangeForm(forms.Form):
    to_stage = forms.ChoiceField(label="Move to")
    dead_reason = forms.ChoiceField(
        choices=[("", "—")] + list(DeadReason.choices), required=False, label="If dead, why"
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        moves = allowed_moves(lead)
        self.fields["to_stage"].choices = [(stage.value, stage.label) for stage in moves]
        if Stage.DEAD not in moves:
            del self.fields["dead_reason"]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
