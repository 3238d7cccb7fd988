"""Forms of messaging: compose a text, play a demo reply, file an inbox text, the phone to ring.

They only read input; the gate and the provider are the services' (pipeline/messaging/services.py).
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator

from compliance.models import InternalDncEntry, Purpose
from leadcrm.accounts.models import Capacity, User
from leads.models import Lead, Phone, PhoneStatus
from leads.phones import parse_phone
from pipeline.common import add_service_error

from .providers.local import LOCAL_NUMBER
from .services import TEXT_LIMIT

PICK_TEXT_NUMBER = "Pick the number to text."
# The phone to ring is the agent's own: the homeowner's side of a call is dialled only after
# the gate allowed it, so a number here that is anyone else's would ring them ungated, showing
# the brokerage's caller ID.
NOT_YOUR_PHONE_HOMEOWNER = ("That is a homeowner's number in the CRM, not your phone: enter the phone you answer "
                            "yourself (click-to-call rings it first).")
NOT_YOUR_PHONE_DNC = ("That number is on the internal do-not-contact list: it cannot be the phone click-to-call "
                      "rings. Enter the phone you answer yourself.")
NOT_YOUR_PHONE_SENDING = ("That is one of the brokerage's sending numbers, not your phone: enter the phone you "
                          "answer yourself.")
E164 = RegexValidator(r"^\+[1-9]\d{6,14}$", "Enter the number in E.164 form, e.g. +19185550123.")


class TextComposeForm(forms.Form):
    phone = forms.ModelChoiceField(queryset=Phone.objects.none(), label="To", empty_label=None,
                                   error_messages={"required": PICK_TEXT_NUMBER, "invalid_choice": PICK_TEXT_NUMBER})
    purpose = forms.ChoiceField(choices=Purpose.choices, initial=Purpose.LISTING)
    body = forms.CharField(
        label="Text", max_length=TEXT_LIMIT, required=False,
        widget=forms.Textarea(attrs={"rows": 5, "data-sms-counter": "", "maxlength": TEXT_LIMIT}),
    )
    role_disclosed = forms.BooleanField(required=False)

    def __init__(self, *args, lead: Lead, phones: list[Phone], user, disclosure_sentence: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead = lead
        # Offered: the numbers a text may go to; taken: any of the lead's numbers, so a landline
        # posted anyway is refused by the service with its reason, on the field.
        self.fields["phone"].queryset = Phone.objects.filter(contact__lead=lead).exclude(status=PhoneStatus.ERASED)
        self.fields["phone"].choices = [
            (phone.pk, f"{phone.display} · {phone.contact.display_name} · {phone.get_phone_type_display()}")
            for phone in phones
        ]
        self.fields["role_disclosed"].label = (
            "The text says who I am and why I write: “" + disclosure_sentence + "”"
        )
        if user.capacity == Capacity.PRINCIPAL:
            self.fields["purpose"].initial = Purpose.OFFER_TO_BUY

    def add_service_error(self, error) -> None:
        add_service_error(self, error)


class PlayReplyForm(forms.Form):
    """The homeowner's side of a demo: what they text back (local backend only)."""

    body = forms.CharField(max_length=TEXT_LIMIT, initial="STOP", label="The homeowner replies")


class InboxFileForm(forms.Form):
    lead = forms.ModelChoiceField(queryset=Lead.objects.none(), widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = Lead.objects.visible_to(user)


def brokerage_sending_numbers() -> set[str]:
    """The shared pool texts and calls go out from (and the local backend's stand-in number)."""
    return {parse_phone(number).e164 or number for number in settings.TWILIO_NUMBERS} | {LOCAL_NUMBER}


class CallPhoneForm(forms.Form):
    call_phone = forms.CharField(
        max_length=30, required=False, label="Phone to ring for calls",
        help_text="Click-to-call rings this phone first, then connects the homeowner. E.164, e.g. +19185550123; "
                  "empty: calls cannot be placed for you.",
    )

    def clean_call_phone(self):
        raw = self.cleaned_data["call_phone"].strip()
        if not raw:
            return ""
        parsed = parse_phone(raw)
        if parsed.error:
            raise forms.ValidationError(parsed.error)
        E164(parsed.e164)
        number = parsed.e164
        if Phone.objects.filter(number=number).exists():
            raise forms.ValidationError(NOT_YOUR_PHONE_HOMEOWNER, code="homeowner")
        if InternalDncEntry.objects.filter(phone_number=number).exists():
            raise forms.ValidationError(NOT_YOUR_PHONE_DNC, code="internal_dnc")
        if number in brokerage_sending_numbers() or User.objects.filter(sending_number=number).exists():
            raise forms.ValidationError(NOT_YOUR_PHONE_SENDING, code="sending_number")
        return number
