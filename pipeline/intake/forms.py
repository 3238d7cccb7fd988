"""The public seller form as the homeowner fills it, and the broker's form about a form."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from leads.intake import place_of
from leads.models import LeadSource
from leads.phones import parse_phone
from pipeline.models import ActionPlan

from .services import NO_PHONE, NOT_A_NUMBER
from .spam import HONEYPOT, TOKEN_FIELD

BEHIND_CHOICES = [
    ("", "Choose one"),
    ("current", "I am not behind yet"),
    ("1-2", "1 to 2 months behind"),
    ("3-5", "3 to 5 months behind"),
    ("6-11", "6 to 11 months behind"),
    ("12+", "A year or more behind"),
    ("notice", "I have a foreclosure notice or a sale date"),
    ("unsure", "I am not sure"),
]
BEST_TIME_CHOICES = [
    ("", "Any time"),
    ("morning", "Mornings (8 to 12)"),
    ("afternoon", "Afternoons (12 to 5)"),
    ("evening", "Evenings (5 to 8)"),
]
NO_NAME = "Tell us your first name, so the agent knows whom to ask for."

# Where the service's refusals are shown on the public form.
FIELD_OF = {"owners": "first_name", "phones": "phone", "emails": "email"}


class HomeownerForm(forms.Form):
    """What the homeowner sends: the house, how to reach them, what is going on."""

    first_name = forms.CharField(max_length=60, required=False, label="First name",
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    last_name = forms.CharField(max_length=60, required=False, label="Last name",
                                widget=forms.TextInput(attrs={"autocomplete": "family-name"}))
    street = forms.CharField(max_length=120, required=False, label="Street address",
                             widget=forms.TextInput(attrs={"autocomplete": "address-line1"}))
    unit = forms.CharField(max_length=20, required=False, label="Unit or apt.",
                           widget=forms.TextInput(attrs={"autocomplete": "address-line2"}))
    city = forms.CharField(max_length=60, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "address-level2"}))
    state = forms.CharField(max_length=20, required=False,
                            widget=forms.TextInput(attrs={"autocomplete": "address-level1"}))
    zip_code = forms.CharField(max_length=10, required=False, label="ZIP code",
                               widget=forms.TextInput(attrs={"autocomplete": "postal-code", "inputmode": "numeric"}))
    phone = forms.CharField(max_length=30, required=False, label="Mobile phone",
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel", "inputmode": "tel"}))
    other_phone = forms.CharField(max_length=30, required=False, label="Other phone (optional)",
                                  widget=forms.TextInput(attrs={"type": "tel", "inputmode": "tel"}))
    email = forms.EmailField(max_length=254, required=False, label="Email (optional)",
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    hardship = forms.CharField(max_length=3000, required=False, label="What is going on?",
                               widget=forms.Textarea(attrs={"rows": 4}),
                               help_text="In your own words: a job loss, an illness, a divorce, a move, a rate "
                                         "that went up ... whatever you would like us to know.")
    behind = forms.ChoiceField(choices=BEHIND_CHOICES, required=False, label="How behind are the payments?")
    best_time = forms.ChoiceField(choices=BEST_TIME_CHOICES, required=False, label="Best time to call")
    consent = forms.BooleanField(required=False)
    # Never shown to people (intake.css moves it off screen; its label says to leave it).
    website = forms.CharField(max_length=200, required=False, label="Leave this empty",
                              widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))
    started = forms.CharField(required=False, widget=forms.HiddenInput)
    page = forms.CharField(max_length=500, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field.widget, forms.HiddenInput):
                continue
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs.setdefault("class", css)
            if field.help_text:
                field.widget.attrs["aria-describedby"] = f"id_{name}-help"

    def clean(self):
        """Every reason at once: the name, the address as an import reads it, the numbers."""
        data = super().clean()
        if not (data.get("first_name") or data.get("last_name")):
            self.add_error("first_name", NO_NAME)
        try:
            place_of(street=data.get("street", ""), state=data.get("state", ""), unit=data.get("unit", ""),
                     city=data.get("city", ""), zip_code=data.get("zip_code", ""))
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                self.add_error(name if name in self.fields else None, messages)
        if not (data.get("phone") or data.get("other_phone")):
            self.add_error("phone", NO_PHONE)
        for name in ("phone", "other_phone"):
            raw = data.get(name, "")
            if raw and not parse_phone(raw).ok:
                self.add_error(name, NOT_A_NUMBER.format(value=raw))
        return data

    @property
    def honeypot_filled(self) -> bool:
        return bool((self.data.get(HONEYPOT) or "").strip())

    @property
    def token(self) -> str:
        return (self.data.get(TOKEN_FIELD) or "").strip()


class SellerFormForm(forms.Form):
    """A broker's seller form: its name, words, where it may be embedded, its plan."""

    name = forms.CharField(max_length=120, help_text="For you: which site or campaign it is on.")
    source = forms.ChoiceField(choices=LeadSource.choices, initial=LeadSource.WEB_FORM,
                               help_text="Recorded on each new lead, for the source report.")
    consent_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Consent words",
                                   help_text="Shown next to an unticked box and stored, word for word, with each "
                                             "consent. Name the brokerage, say what is agreed to, that it is not a "
                                             "condition of any purchase, and how to stop. A change applies to forms "
                                             "sent from now on; consents already given keep their words.")
    consent_covers_autodialer = forms.BooleanField(
        required=False, label="The words ask consent to autodialed calls",
        help_text="Tick only if they say so (calls made by an automated system); texts are always covered.")
    thank_you_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Thank-you words")
    allowed_origins = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://www.example-brokerage.com"}),
        label="Sites that may show it in an iframe",
        help_text="One address a line, e.g. https://www.example-brokerage.com. Other sites cannot frame it.")
    plan = forms.ModelChoiceField(queryset=ActionPlan.objects.none(), required=False,
                                  label="Start this action plan on each new lead", empty_label="No plan")
    is_active = forms.BooleanField(required=False, initial=True, label="Active: the form takes submissions")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = ActionPlan.objects.filter(owner__isnull=True, deleted_at__isnull=True)
