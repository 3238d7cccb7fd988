"""Forms of outreach: the log, templates, notes; the rules live in the services and the gate."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance.models import PHONE_CHANNELS, Channel, Direction, Purpose, Technology
from compliance.selectors import phone_suppressions
from leadcrm.accounts.models import Capacity
from leads.models import Contact, Email, EmailStatus, Lead, Phone, PhoneStatus
from pipeline.common import DateTimeLocalInput, add_service_error, plain_form_helper
from pipeline.models import (
    Outcome,
    OutreachAttempt,
    TemplateKind,
    TemplateSituation,
)

PICK_NUMBER = "Pick the number you called or texted."


PICK_EMAIL = "Pick the email address you wrote to."


PICK_OWNER = "Pick the owner you mailed."


CORRECTION_NEEDS_NOTE = "Say in the notes what was wrong with the entry you are correcting."


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
        help_text="In your time zone. A call falls due when the homeowner's calling hours open, if later.",
    )
    follow_up_title = forms.CharField(required=False, max_length=200, label="Follow-up note")
    # The log is append-only: a mistake is fixed by an entry that corrects it.
    corrects = forms.ModelChoiceField(queryset=OutreachAttempt.objects.none(), required=False,
                                      widget=forms.HiddenInput)

    def __init__(self, *args, lead: Lead, user, disclosure_sentence: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead = lead
        # An erased number or email is never offered (docs/privacy.md#an-erased-lead).
        offered_phones = Phone.objects.filter(contact__lead=lead).exclude(status=PhoneStatus.ERASED)
        phones = list(offered_phones.select_related("contact"))
        # Say on the choice itself which numbers the gate will refuse, and never offer
        # one of them first.
        suppressed = phone_suppressions(numbers=[phone.number for phone in phones])
        self.fields["phone"].queryset = offered_phones.select_related("contact")
        self.fields["phone"].label_from_instance = (
            lambda p: f"{p.display} · {p.contact.display_name} · {p.get_phone_type_display()}"
            + ("" if p.status == "good" else f" · {p.get_status_display()}")
            + (" · on a do-not-call list" if p.number in suppressed else "")
        )
        self.fields["email"].queryset = Email.objects.filter(contact__lead=lead).exclude(
            status=EmailStatus.ERASED).select_related("contact")
        self.fields["contact"].queryset = Contact.objects.filter(lead=lead)
        first_phone = next((p for p in phones if p.status == "good" and p.number not in suppressed), None)
        if first_phone is not None:
            self.fields["phone"].initial = first_phone.pk
        self.fields["role_disclosed"].label = (
            "I told the homeowner who I am and why I called: “" + disclosure_sentence + "”"
        )
        if user.capacity == Capacity.PRINCIPAL:
            self.fields["purpose"].initial = Purpose.OFFER_TO_BUY
        self.fields["corrects"].queryset = OutreachAttempt.objects.filter(lead=lead)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def correcting(self, attempt: OutreachAttempt) -> None:
        """Start from the entry being corrected: same channel and contact point."""
        self.initial.update(corrects=attempt.pk, channel=attempt.channel, phone=attempt.phone_id,
                            email=attempt.email_id, contact=attempt.contact_id, purpose=attempt.purpose)
        self.corrected = attempt

    def clean_corrects(self):
        attempt = self.cleaned_data["corrects"]
        if attempt is not None and not (self.data.get("notes") or "").strip():
            raise forms.ValidationError(CORRECTION_NEEDS_NOTE)
        return attempt

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
        add_service_error(self, error)

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


class MessageTemplateForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=TemplateKind.choices, label="For")
    situation = forms.ChoiceField(
        choices=TemplateSituation.choices, initial=TemplateSituation.ANY, label="Written for", required=False,
        help_text="One written after a conversation (“thank you for talking with me”) is left out for "
                  "homeowners nobody has reached yet; one for a first contact, for homeowners already reached.",
    )
    subject = forms.CharField(max_length=200, required=False, help_text="Emails only.")
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 12}),
        help_text="Merge fields as you write them: [First Name], [Property Address], [Agent Name], "
                  "[Agent Phone], [Brokerage], [Role Disclosure] ... A letter is laid out for you: the date, "
                  "the owners' names and address, “Dear ...,”, then your text, “Sincerely,” and "
                  "your signature with your role in writing; write only what goes in between.",
    )
    attach_guide = forms.BooleanField(required=False, label="Attach the seller guide (PDF, with your name on it)",
                                      help_text="Emails only.")
    capacity = forms.ChoiceField(
        choices=[("", "Anyone"), (Capacity.SELLER_AGENT, "Listing agents (the homeowner's agent)"),
                 (Capacity.PRINCIPAL, "Investors buying for themselves")],
        required=False, label="Who uses it",
        help_text="A script is offered on a lead only to callers it is meant for.",
    )
    shared = forms.BooleanField(required=False, label="Share with the whole brokerage")

    def __init__(self, *args, may_share: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_share:
            del self.fields["shared"]
        self.helper = plain_form_helper()

    def clean_situation(self):
        return self.cleaned_data["situation"] or TemplateSituation.ANY


class LeadNoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Add a note to the timeline"}),
                           label="Note", max_length=5000)
