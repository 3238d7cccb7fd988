"""Forms of the leads pages: the list upload and its column mapping."""

from django import forms
from django.conf import settings

from leadcrm.accounts.models import Team, User
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import teams_visible_to, users_assignable_by

from .imports.columns import FIELDS
from .models import ColumnMapping, LeadSource

TOO_LARGE = "The file is {size:,} bytes; the limit is {limit:,}. Split it, or zip nothing: upload the CSV itself."
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
            raise forms.ValidationError(TOO_LARGE.format(size=upload.size, limit=limit))
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
