"""Forms of the leads pages: the list upload and its column mapping, and the edits of a
lead's record made in place on the lead page (``leads.editing`` does the writing)."""

from django import forms
from django.conf import settings

from leadcrm.accounts.models import Team, User
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import teams_visible_to, users_assignable_by
from leadcrm.shared.zips import megabytes

from . import editing
from .imports.columns import FIELDS
from .imports.services import TOO_LARGE
from .models import (
    ColumnMapping,
    Contact,
    ContactSource,
    EmailStatus,
    ForeclosureRecord,
    HardshipRecord,
    LeadSource,
    Lien,
    PhoneStatus,
    PhoneType,
    Property,
)
from .phones import parse_phone

IMPORT_SOURCES = [(LeadSource.PROPSTREAM, "PropStream export"), (LeadSource.BATCHLEADS, "BatchLeads export"),
                  (LeadSource.DEALMACHINE, "DealMachine export"), (LeadSource.COUNTY, "County records"),
                  (LeadSource.CSV, "Other CSV or Excel list")]
ASSIGN_CHOICES = [("me", "To me"), ("agent", "To one agent"), ("round_robin", "Round-robin within a team"),
                  ("none", "Unassigned (team lead decides)")]


class ImportUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV or Excel (.xlsx), as exported: headers on the first line.")
    source = forms.ChoiceField(choices=IMPORT_SOURCES, initial=LeadSource.PROPSTREAM)
    list_name = forms.CharField(max_length=120, label="List name",
                                help_text="E.g. “PropStream NOD pull, Dec 2026”. A house on several lists scores higher.")
    list_cost = forms.DecimalField(
        required=False, min_value=0, max_digits=11, decimal_places=2, label="What this list cost ($)",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "Optional"}),
        help_text="Added to the list's cost when the import is done: the list report shows the cost per lead and "
                  "per closing.")
    mapping = forms.ModelChoiceField(queryset=ColumnMapping.objects.all(), required=False,
                                     empty_label="Detect the columns from the headers", label="Column mapping")
    assign = forms.ChoiceField(choices=ASSIGN_CHOICES, initial="me", label="New leads go")
    agent = forms.ModelChoiceField(queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False,
                                  help_text="Round-robin: whose agents share them. Unassigned: the team they wait "
                                            "in for its lead (a team lead's own team if none is picked).")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if user.has_perm(Perm.ASSIGN_LEADS):
            self.fields["agent"].queryset = users_assignable_by(user)
            self.fields["team"].queryset = teams_visible_to(user)
        else:  # an agent's own list comes to them
            self.fields["assign"].choices = [("me", "To me")]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.LEADCRM_IMPORT_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(TOO_LARGE.format(size=megabytes(upload.size), limit=megabytes(limit)))
        return upload

    def clean(self):
        data = super().clean()
        if data.get("assign") == "agent" and not data.get("agent"):
            self.add_error("agent", "Pick the agent.")
        if data.get("assign") == "round_robin" and not data.get("team"):
            self.add_error("team", "Pick the team.")
        return data

    def assignment(self) -> dict:
        data = self.cleaned_data
        if data["assign"] == "me":
            return {"assign_to": self.user}
        if data["assign"] == "agent":
            return {"assign_to": data["agent"]}
        if data["assign"] == "round_robin":
            return {"round_robin_team": data["team"]}
        # Unassigned: in the team picked, else (a team lead's import) in their own team.
        return {"team": data["team"]} if data.get("team") else {}


class ColumnMappingForm(forms.Form):
    """One select per field of ours, offering the file's headers."""

    save_as = forms.CharField(max_length=80, required=False, label="Save this mapping as",
                              help_text="Optional: reuse it for the next list from the same source.")

    def __init__(self, *args, headers, initial_columns, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— not in this file —")] + [(h, h) for h in headers]
        self.groups: dict[str, list[str]] = {}
        for field in FIELDS:
            self.fields[f"col_{field.name}"] = forms.ChoiceField(
                choices=choices, required=False, label=field.label, initial=initial_columns.get(field.name, ""),
                widget=forms.Select(attrs={"class": "form-select form-select-sm"}))
            self.groups.setdefault(field.group, []).append(f"col_{field.name}")

    def columns(self) -> dict[str, str]:
        return {name[4:]: value for name, value in self.cleaned_data.items() if name.startswith("col_") and value}

    def grouped(self):
        return [(group, [self[name] for name in names]) for group, names in self.groups.items()]


# Editing the lead's record ------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class MoneyField(forms.DecimalField):
    """Dollars as people type them (``$350,000``), refused below zero or over the limit
    with the limit in the message (``leads.editing.MONEY_MAX``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(decimal_places=2, **kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = value.replace("$", "").replace(",", "").strip()
        return super().to_python(value)

    def validate(self, value):
        super().validate(value)
        if value is not None and value < 0:
            raise forms.ValidationError(editing.MONEY_NEGATIVE)
        if value is not None and value > editing.MONEY_MAX:
            raise forms.ValidationError(editing.MONEY_TOO_LARGE)


class VersionForm(forms.Form):
    """The version of the row the editor opened, sent back with the change."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        if instance is not None:
            self.fields["version"].initial = instance.version


class VersionedModelForm(forms.ModelForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version

    def changes(self) -> dict:
        """The model's fields as entered, for the service (never ``form.save()``)."""
        return {name: self.cleaned_data[name] for name in self._meta.fields if name in self.cleaned_data}


class PropertyFactsForm(VersionedModelForm):
    estimated_value = MoneyField(label="Estimated value", help_text="In dollars, at most $100,000,000.")

    class Meta:
        model = Property
        fields = editing.PROPERTY_EDITABLE
        widgets = {"estimated_value_date": DateInput()}
        labels = {"estimated_value_date": "Value as of", "owner_occupied": "Owner-occupied"}


class OwnerForm(VersionedModelForm):
    class Meta:
        model = Contact
        fields = editing.CONTACT_EDITABLE
        labels = {"do_not_mail": "Do not mail"}


class RemoveForm(VersionForm):
    reason = forms.CharField(max_length=100, help_text="Kept in the lead's history.",
                             error_messages={"required": editing.REASON_NEEDED})


class PhoneForm(VersionForm):
    number = forms.CharField(max_length=40, help_text="Any way it was written, e.g. (918) 555-0104.",
                             error_messages={"required": "Enter the phone number."})
    phone_type = forms.ChoiceField(choices=PhoneType.choices, initial=PhoneType.UNKNOWN, label="Type")
    source = forms.ChoiceField(choices=ContactSource.choices, initial=ContactSource.HOMEOWNER)
    # Erased is the privacy erasure's to set, never a hand's (leads/editing.py ERASED_BY_HAND).
    status = forms.ChoiceField(choices=[c for c in PhoneStatus.choices if c[0] != PhoneStatus.ERASED],
                               initial=PhoneStatus.GOOD)

    def __init__(self, *args, instance=None, **kwargs):
        super().__init__(*args, instance=instance, **kwargs)
        if instance is None:
            del self.fields["status"]  # a new number is good until a call says otherwise
        else:
            for name in ("phone_type", "source", "status"):
                self.fields[name].initial = getattr(instance, name)
            self.fields["number"].initial = instance.display

    def clean_number(self):
        parsed = parse_phone(self.cleaned_data["number"])
        if not parsed.ok:
            raise forms.ValidationError(parsed.error)
        return self.cleaned_data["number"]


class EmailForm(VersionForm):
    address = forms.EmailField(max_length=254, label="Email",
                               error_messages={"invalid": editing.EMAIL_INVALID,
                                               "required": editing.EMAIL_INVALID})
    source = forms.ChoiceField(choices=ContactSource.choices, initial=ContactSource.HOMEOWNER)
    status = forms.ChoiceField(choices=[c for c in EmailStatus.choices if c[0] != EmailStatus.ERASED],
                               initial=EmailStatus.GOOD)

    def __init__(self, *args, instance=None, **kwargs):
        super().__init__(*args, instance=instance, **kwargs)
        if instance is None:
            del self.fields["status"]
        else:
            for name in ("address", "source", "status"):
                self.fields[name].initial = getattr(instance, name)


class HardshipForm(VersionedModelForm):
    class Meta:
        model = HardshipRecord
        fields = editing.HARDSHIP_EDITABLE
        widgets = {"started_on": DateInput(), "letter_received_on": DateInput(),
                   "narrative": forms.Textarea(attrs={"rows": 3})}
        labels = {"narrative": "In the homeowner's words", "started_on": "Since",
                  "letter_received_on": "Signed letter received"}


class LienForm(VersionedModelForm):
    balance = MoneyField(help_text="At most $100,000,000.")
    monthly_payment = MoneyField()
    arrears = MoneyField()
    loan_number = forms.CharField(max_length=40, required=False, label="Loan number",
                                  help_text="Only the last four characters are kept.")

    class Meta:
        model = Lien
        fields = ("position", "lien_type", "loan_program", "lender", "balance", "monthly_payment", "arrears",
                  "recording_date")
        widgets = {"recording_date": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["loan_number"].help_text = (f"On file: {self.instance.loan_number_masked or 'none'}. "
                                                    "Leave empty to keep it.")

    def changes(self) -> dict:
        changes = super().changes()
        if self.cleaned_data.get("loan_number") or not self.instance.pk:
            changes["loan_number"] = self.cleaned_data.get("loan_number", "")
        return changes


class ForeclosureForm(VersionedModelForm):
    unpaid_balance = MoneyField()
    default_amount = MoneyField()
    opening_bid = MoneyField()

    class Meta:
        model = ForeclosureRecord
        fields = editing.FORECLOSURE_EDITABLE
        widgets = {"recording_date": DateInput(), "auction_date": DateInput()}
        labels = {"record_type": "Filing"}
