from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from leadcrm.accounts.models import US_STATES
from leadcrm.shared.zips import megabytes
from leads.models import Phone
from leads.phones import format_national

from .models import ComplianceCheck, LoadKind, RegistryKind, RelationshipKind, RndResult, TerminationShownBy

NOT_A_REGISTRY_FILE = "This is not a registry file: upload the flat text download (.txt) or its zip."
TOO_LARGE = "This file is {size}, more than the {limit} a registry upload may hold. Upload the zipped download instead."
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
            raise forms.ValidationError(TOO_LARGE.format(size=megabytes(upload.size), limit=megabytes(limit)))
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


# Evidence recorded on the lead page ---------------------------------------------------------


class _DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class _DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


PICK_A_NUMBER = "Pick one of the lead's numbers; add the number to an owner first if it is missing."
PROOF_HELP = "The signed form or a capture of it: PDF, JPEG, PNG, HEIC or TIFF, at most {max_mb} MB."


def _lead_phone_choices(lead) -> list[tuple[str, str]]:
    phones = Phone.objects.filter(contact__lead=lead).select_related("contact").order_by("contact__position", "position")
    choices, seen = [], set()
    for phone in phones:
        if phone.number not in seen:
            seen.add(phone.number)
            choices.append((phone.number, f"{format_national(phone.number)} ({phone.contact.display_name})"))
    return choices


class _LeadEvidenceForm(forms.Form):
    """A form about one lead: its numbers are the only ones offered (and accepted)."""

    def __init__(self, *args, lead, **kwargs):
        super().__init__(*args, **kwargs)
        self.lead = lead
        if "phone_number" in self.fields:
            self.fields["phone_number"].choices = [("", "—")] + _lead_phone_choices(lead)
            self.fields["phone_number"].error_messages["invalid_choice"] = PICK_A_NUMBER


def _max_mb() -> int:
    return settings.LEADCRM_DOCUMENT_MAX_BYTES // 2**20


class _InboundMessageChoice(forms.ModelChoiceField):
    def label_from_instance(self, check):
        when = timezone.localtime(check.checked_at)
        return f"{check.get_channel_display()} from {format_national(check.contact_point)}, {when:%b %d, %Y %I:%M %p}"


class ConsentForm(_LeadEvidenceForm):
    phone_number = forms.ChoiceField(label="Number it covers")
    consent_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="The words agreed to",
                                   help_text="Word for word, as the homeowner signed or sent them (D4, D5).")
    covers_sms = forms.BooleanField(required=False, initial=True, label="Texts")
    covers_autodialer = forms.BooleanField(required=False, label="Autodialed calls")
    covers_prerecorded = forms.BooleanField(required=False, label="Prerecorded or AI-voice calls (D4)")
    obtained_at = forms.DateTimeField(widget=_DateTimeLocalInput(), label="Obtained on")
    method = forms.CharField(max_length=120, help_text="Signed form, e-sign, web form with a checkbox, a text ...")
    proof_file = forms.FileField(required=False, label="Signed consent")
    proof_message = _InboundMessageChoice(queryset=ComplianceCheck.objects.none(), required=False,
                                          label="Or the inbound message it came in on",
                                          empty_label="— none —")
    proof_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label="About the proof",
                                 help_text="What the message said, or where the original is kept.")

    def __init__(self, *args, lead, inbound=None, **kwargs):
        super().__init__(*args, lead=lead, **kwargs)
        self.fields["proof_file"].help_text = PROOF_HELP.format(max_mb=_max_mb())
        # Only this lead's inbound messages: another lead's id is refused like any unknown one.
        self.fields["proof_message"].queryset = inbound if inbound is not None else ComplianceCheck.objects.none()


class RelationshipForm(_LeadEvidenceForm):
    phone_number = forms.ChoiceField(label="Number")
    kind = forms.ChoiceField(choices=RelationshipKind.choices)
    started_on = forms.DateField(widget=_DateInput(), label="Started on",
                                 help_text="The date of the inquiry, or of the last purchase or payment.")
    evidence = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                               help_text="What shows it: the web form, the signed agreement ...")
    formed_with_brokerage = forms.BooleanField(
        required=False, initial=True, label="With this brokerage",
        help_text="Untick for a list vendor's or another company's: kept, but it never allows a call (C1).")


class NumberCheckForm(_LeadEvidenceForm):
    phone_number = forms.ChoiceField(label="Number")
    consent_date = forms.DateField(widget=_DateInput(), label="Date of consent asked about")
    queried_at = forms.DateTimeField(widget=_DateTimeLocalInput(), label="Queried on")
    result = forms.ChoiceField(choices=RndResult.choices, label="Answer")


class DisclosureForm(_LeadEvidenceForm):
    disclosed_on = forms.DateField(widget=_DateInput(), label="Given on")
    document_text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="The disclosure",
                                    help_text="As given to the homeowner: licensee status and the interest in buying (F8).")
    signed_document = forms.FileField(label="Signed disclosure")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["signed_document"].help_text = PROOF_HELP.format(max_mb=_max_mb()).replace(
            "The signed form or a capture of it", "As signed by the homeowner")


class RevokeForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why it is not valid evidence",
                             help_text="Wrong number, forged, entered by mistake ... The record stays, marked revoked.")


class AgentListForm(forms.Form):
    """Numbers and email addresses for the agent's own do-not-call list (B3)."""

    numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "(206) 555-0101\nowner@example.com"}),
        required=False, label="Numbers or email addresses",
        help_text="One a line, or paste a CSV with them in the first column. A list with a line that cannot be "
                  "read adds nothing: each such line is named.",
    )
    upload = forms.FileField(required=False, label="Or a CSV file",
                             help_text="The same: numbers or email addresses in the first column.")
    note = forms.CharField(required=False, max_length=200, label="Where the list came from",
                           help_text="E.g. the brokerage you kept it at. Not the homeowners' details.")

    UNREADABLE = "That file is not a text or CSV file: choose a .csv or .txt file."
    TOO_LARGE = "That file is larger than 1 MB: split it, then choose each part."
    BOTH = ("You pasted numbers and chose a file: add one at a time. The pasted numbers are kept above; "
            "add them, then choose the file again.")

    def clean(self):
        cleaned = super().clean()
        upload = cleaned.get("upload")
        # Which input the list came from, so that its bad lines are named under it.
        self.source_field = "numbers"
        if upload is None:
            return cleaned
        if cleaned.get("numbers", "").strip():
            # Never one silently instead of the other: the agent says which.
            self.add_error("upload", self.BOTH)
        elif upload.size > 2**20:
            self.add_error("upload", self.TOO_LARGE)
        else:
            try:
                cleaned["numbers"] = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                self.add_error("upload", self.UNREADABLE)
            else:
                self.source_field = "upload"
        return cleaned


class RelationshipTerminationForm(forms.Form):
    terminated_on = forms.DateField(widget=_DateInput(), label="Ended on",
                                    help_text="The day the relationship ended.")
    shown_by = forms.ChoiceField(choices=TerminationShownBy.choices, label="What shows it")
