from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from leadcrm.accounts.models import US_STATES

from .models import LoadKind, RegistryKind

NOT_A_REGISTRY_FILE = "This is not a registry file: upload the flat text download (.txt) or its zip."
TOO_LARGE = "The file is {size:,} bytes; the limit is {limit:,}. Upload the zipped download instead."
STATE_NEEDED = "Pick the state of a state list."
RANGE_BACKWARDS = "The end date is before the start date."
RANGE_TOO_LONG = "Export at most {days} days at a time."
EXPORT_MAX_DAYS = 400


class RegistryUploadForm(forms.Form):
    list_kind = forms.ChoiceField(choices=RegistryKind.choices, label="Registry")
    state = forms.ChoiceField(choices=[("", "—")] + US_STATES, required=False, help_text="For a state list.")
    name = forms.CharField(required=False, max_length=120, help_text="For a litigator list: its name.")
    file_kind = forms.ChoiceField(choices=LoadKind.choices, initial=LoadKind.FULL, label="File")
    version_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The registry's version date of the file (A3), not today's date.",
    )
    subscription_account_number = forms.CharField(
        required=False, max_length=40, label="Subscription account number (SAN)",
        help_text="The brokerage's own account; data is never shared (A1).",
    )
    subscription_expires_on = forms.DateField(
        required=False, label="Subscription expires on", widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Calls are blocked without a current subscription on record (A1).",
    )
    area_codes = forms.CharField(
        required=False, help_text="Optional, comma-separated: the area codes the file covers.",
    )
    file = forms.FileField(help_text="Plain text or zipped, one number a line.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.LEADCRM_REGISTRY_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(TOO_LARGE.format(size=upload.size, limit=limit))
        head = upload.read(16)
        upload.seek(0)
        first = head.lstrip()[:1]
        if not (head.startswith(b"PK\x03\x04") or (first and first.isdigit())):
            raise forms.ValidationError(NOT_A_REGISTRY_FILE)
        return upload

    def clean(self):
        data = super().clean()
        if data.get("list_kind") == RegistryKind.STATE and not data.get("state"):
            self.add_error("state", STATE_NEEDED)
        return data


class CheckExportForm(forms.Form):
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["start"].initial = today - timedelta(days=30)
        self.fields["end"].initial = today

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                raise forms.ValidationError(RANGE_BACKWARDS)
            if (end - start).days > EXPORT_MAX_DAYS:
                raise forms.ValidationError(RANGE_TOO_LONG.format(days=EXPORT_MAX_DAYS))
        return data


class DncPolicyForm(forms.Form):
    title = forms.CharField(max_length=120, initial="Do Not Call and calling-practice procedures")
    adopted_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label="Takes effect on")
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16}), label="Written procedures",
        help_text="What every caller checks and does; agents must acknowledge each new version before calling (A4).",
    )
