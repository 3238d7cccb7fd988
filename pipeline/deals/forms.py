"""Forms shape input for the pipeline services; the rules live in the services and the gate."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.utils import timezone

from leads.models import DeadReason, Lead, LienType, Stage
from pipeline.common import DateInput, DateTimeLocalInput, plain_form_helper
from pipeline.models import (
    DOCUMENT_IN_HAND,
    Deficiency,
    DocumentKind,
    DocumentStatus,
    Fee,
    LenderFile,
    Milestone,
    NegotiatorRole,
    Offer,
)

from .documents import DOCUMENT_RULES, FRESHNESS_NEEDS_DATE
from .stages import allowed_moves


class StageChangeForm(forms.Form):
    to_stage = forms.ChoiceField(label="Move to")
    dead_reason = forms.ChoiceField(
        choices=[("", "—")] + DeadReason.chosen_by_hand(), required=False, label="If dead, why"
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    closing_date = forms.DateField(
        required=False, widget=DateInput(), label="If closed, on what date",
    )

    def __init__(self, *args, lead: Lead, **kwargs):
        super().__init__(*args, **kwargs)
        moves = allowed_moves(lead)
        self.fields["to_stage"].choices = [(stage.value, stage.label) for stage in moves]
        if Stage.DEAD not in moves:
            del self.fields["dead_reason"]
        if Stage.CLOSED not in moves:
            del self.fields["closing_date"]
        else:
            self.fields["closing_date"].initial = lead.closing_date or timezone.localdate()
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True


class BoardMoveForm(forms.Form):
    """A card dropped on a column (or the card's own Move form without JavaScript)."""

    lead = forms.IntegerField(widget=forms.HiddenInput)
    to_stage = forms.ChoiceField(choices=Stage.choices, label="Move to")
    dead_reason = forms.ChoiceField(choices=[("", "—")] + DeadReason.chosen_by_hand(), required=False)
    closing_date = forms.DateField(required=False)


# The lien stack ------------------------------------------------------------------------


class LienForm(forms.Form):
    position = forms.IntegerField(min_value=1, max_value=9, help_text="1 = first lien.")
    lien_type = forms.ChoiceField(choices=LienType.choices, label="Type")
    lender = forms.CharField(max_length=120, required=False)
    loan_number = forms.CharField(
        max_length=40, required=False, help_text="Only the last four characters are kept."
    )
    balance = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    arrears = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    recording_date = forms.DateField(required=False, widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = plain_form_helper()


class LenderFileForm(forms.ModelForm):
    class Meta:
        model = LenderFile
        fields = ["servicer", "portal", "portal_reference"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = plain_form_helper()


# The approval is recorded with its letter, a new negotiator with their name: each has a
# form of its own, so "Record a step" offers the rest.
STEPS_RECORDED_HERE = [(m.value, m.label) for m in Milestone
                       if m not in (Milestone.APPROVED, Milestone.NEGOTIATOR_ASSIGNED)]


class MilestoneForm(forms.Form):
    kind = forms.ChoiceField(choices=STEPS_RECORDED_HERE, label="Step")
    occurred_on = forms.DateField(widget=DateInput(), label="On")
    amount = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False,
        help_text="BPO or appraisal value, or the offer or counter price.",
    )
    note = forms.CharField(max_length=300, required=False)
    # Set by the page's "Yes, record it" once the agent has read that the step goes back.
    confirm_backward = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, next_step: Milestone | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["occurred_on"].initial = timezone.localdate()
        if next_step is None:
            # Nothing follows on its own (the approval letter, a denial, a closed file): no
            # step is preselected, so a Save never records the first one in the list.
            self.fields["kind"].choices = [("", "Pick the step")] + STEPS_RECORDED_HERE
        else:
            self.fields["kind"].initial = next_step.value
        # Asked by the page when the step goes back: the question, set by the view.
        self.backward_question = ""
        self.helper = plain_form_helper()


class MilestoneCorrectionForm(forms.Form):
    reason = forms.CharField(max_length=300, label="What was wrong",
                             widget=forms.TextInput(attrs={"placeholder": "e.g. recorded on the wrong lien"}))


class NegotiatorForm(forms.Form):
    role = forms.ChoiceField(choices=NegotiatorRole.choices)
    name = forms.CharField(max_length=120)
    phone = forms.CharField(max_length=40, required=False)
    email = forms.EmailField(required=False)
    assigned_on = forms.DateField(widget=DateInput(), label="Since")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_on"].initial = timezone.localdate()
        self.helper = plain_form_helper()


class ApprovalLetterForm(forms.Form):
    issued_on = forms.DateField(widget=DateInput())
    expires_on = forms.DateField(widget=DateInput(), label="Expires (closing deadline)")
    approved_price = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    minimum_net_proceeds = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    allowed_closing_costs = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, label="Allowed settlement charges"
    )
    deficiency = forms.ChoiceField(choices=Deficiency.choices, initial=Deficiency.SILENT)
    seller_contribution = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, initial=0
    )
    relocation_incentive = forms.DecimalField(max_digits=10, decimal_places=2, min_value=0, required=False)
    junior_lien_allowance = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False,
        label="Allowance for junior liens (first lien)",
    )
    junior_payoff = forms.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, required=False, label="Payoff accepted (junior lien)",
    )

    def __init__(self, *args, lien, **kwargs):
        super().__init__(*args, **kwargs)
        # Each lien's letter says different things: a cap for the juniors on the first,
        # a payoff on a junior.
        del self.fields["junior_payoff" if not lien.is_junior else "junior_lien_allowance"]
        self.helper = plain_form_helper()

    def clean_seller_contribution(self):
        return self.cleaned_data["seller_contribution"] or 0


# The package ---------------------------------------------------------------------------


def _fresh_days(kind: DocumentKind | str | None) -> int | None:
    """How long a document of this kind stays good from its own date (None: no limit)."""
    rule = DOCUMENT_RULES.get(DocumentKind(kind)) if kind else None
    return rule.fresh_days if rule else None


class ChecklistItemForm(forms.Form):
    """A document's status. A document that goes stale (pay stubs, bank statements, the
    4506-C) is in hand only with its own date, as the service refuses it otherwise: the
    field says so, and the form asks for it before the service has to."""

    status = forms.ChoiceField(choices=DocumentStatus.choices)
    dated_on = forms.DateField(
        widget=DateInput(), required=False, label="Document's date",
        help_text="Statement or signature date: freshness counts from it.",
    )
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, kind: DocumentKind | str | None = None, dated_on_file=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind, self.dated_on_file = kind, dated_on_file
        self.fresh_days = _fresh_days(kind)
        if self.fresh_days:
            self.fields["dated_on"].label = "Document's date (required to mark it received or accepted)"
            self.fields["dated_on"].help_text = (f"Statement or signature date: it stays good {self.fresh_days} days "
                                                 "from it.")

    def clean(self):
        data = super().clean()
        if (self.fresh_days and data.get("status") in DOCUMENT_IN_HAND and not data.get("dated_on")
                and not self.dated_on_file and "dated_on" not in self.errors):
            self.add_error("dated_on", FRESHNESS_NEEDS_DATE.format(kind=DocumentKind(self.kind).label,
                                                                   days=self.fresh_days))
        return data


class DocumentUploadForm(forms.Form):
    """An upload. Its date is required exactly when the service requires it: for a
    document that goes stale, whose freshness counts from that date."""

    file = forms.FileField(
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/*"}),
        help_text="PDF, JPEG, PNG, HEIC or TIFF.",
    )
    dated_on = forms.DateField(widget=DateInput(), required=False, label="Document's date")

    def __init__(self, *args, kind: DocumentKind | str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        fresh_days = _fresh_days(kind)
        if fresh_days:
            field = self.fields["dated_on"]
            field.required = True
            field.help_text = f"Statement or signature date: it stays good {fresh_days} days from it."
            field.error_messages["required"] = FRESHNESS_NEEDS_DATE.format(kind=DocumentKind(kind).label,
                                                                           days=fresh_days)


# Offers --------------------------------------------------------------------------------


class OfferForm(forms.ModelForm):
    class Meta:
        model = Offer
        fields = [
            "buyer_name", "price", "financing", "buyer_proof", "earnest_money", "buyer_concessions",
            "received_on", "target_closing", "notes",
        ]
        widgets = {
            "received_on": DateInput(), "target_closing": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = timezone.localdate()
        self.helper = plain_form_helper()


class FeeForm(forms.ModelForm):
    """A fee to charge the homeowner; the amount's limits are the model's (positive, capped)."""

    class Meta:
        model = Fee
        fields = ["service", "amount", "description"]
        labels = {"service": "What for", "description": "Details (optional)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = plain_form_helper()


# The fee and letter rows' one-field forms sit inline, rendered by hand.
SMALL = {"class": "form-control form-control-sm"}


class FeeDueForm(forms.Form):
    due_on = forms.DateField(widget=DateInput(attrs=SMALL), label="Due on")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["due_on"].initial = timezone.localdate()


class FeePaidForm(forms.Form):
    paid_on = forms.DateField(widget=DateInput(attrs=SMALL), label="Paid on")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = timezone.localdate()


class HomeownerAcceptanceForm(forms.Form):
    accepted_at = forms.DateTimeField(widget=DateTimeLocalInput(attrs=SMALL), label="The homeowner accepted it on")


class ContractSignedForm(forms.Form):
    signed_at = forms.DateTimeField(widget=DateTimeLocalInput(attrs=SMALL),
                                    label="The purchase contract was signed on")


class NetSheetForm(forms.Form):
    """What-if inputs; read from the query string, never stored."""

    price = forms.DecimalField(max_digits=12, decimal_places=2, min_value=1, required=False)
    commission_percent = forms.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=20, required=False, label="Commission %"
    )
    closing_cost_percent = forms.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=20, required=False, label="Closing costs %"
    )


class PurchaseMathForm(NetSheetForm):
    """An investor's figures for the maximum offer, with the lenders' side; never stored."""

    after_repair_value = forms.DecimalField(max_digits=12, decimal_places=2, min_value=1, required=False,
                                            label="After-repair value")
    repairs = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False)
    holding_costs = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False,
                                       label="Holding costs")
    resale_cost_percent = forms.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=20,
                                             required=False, label="Resale costs %")
    buying_cost_percent = forms.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=20,
                                             required=False, label="Buying costs %")
    target_profit = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False,
                                       label="Target profit")


class BulkActionForm(forms.Form):
    """What to do to the leads ticked on the list; each lead still goes through its service."""

    ACTIONS = [("follow_up", "Set a follow-up"), ("stage", "Move to a stage"), ("assign", "Assign to"),
               ("round_robin", "Round-robin in a team"), ("pond", "Put in the pond"), ("rules", "Route by the rules")]

    leads = forms.TypedMultipleChoiceField(coerce=int, choices=(), label="Leads")
    action = forms.ChoiceField(choices=ACTIONS)
    due_at = forms.DateTimeField(required=False, widget=DateTimeLocalInput(), label="Due")
    title = forms.CharField(required=False, max_length=200, label="Follow-up")
    to_stage = forms.ChoiceField(required=False, choices=[("", "—")] + list(Stage.choices), label="Stage")
    dead_reason = forms.ChoiceField(required=False, choices=[("", "—")] + DeadReason.chosen_by_hand(), label="If dead, why")
    agent = forms.ModelChoiceField(queryset=None, required=False, label="Agent")
    team = forms.ModelChoiceField(queryset=None, required=False, label="Team",
                                  help_text="Round-robin: required. The pond: that team's (empty: the whole brokerage's).")

    MAX_LEADS = 200

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from leadcrm.accounts.selectors import teams_routable_by, users_assignable_by

        self.fields["agent"].queryset = users_assignable_by(user)
        self.fields["team"].queryset = teams_routable_by(user)
        # Ids are checked against the user's leads by the view (a 404 for any other).
        self.fields["leads"].choices = [(value, value) for value in self.data.getlist("leads")] if self.data else []

    def clean_leads(self):
        ids = self.cleaned_data["leads"]
        if len(ids) > self.MAX_LEADS:
            raise forms.ValidationError(f"Up to {self.MAX_LEADS} leads at a time.")
        return ids

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if action == "follow_up":
            if not data.get("due_at"):
                self.add_error("due_at", "When is it due?")
            elif data["due_at"] < timezone.now():
                self.add_error("due_at", "The follow-up must be in the future.")
        elif action == "stage" and not data.get("to_stage"):
            self.add_error("to_stage", "Pick the stage.")
        elif action == "assign" and not data.get("agent"):
            self.add_error("agent", "Pick the agent.")
        elif action == "round_robin" and not data.get("team"):
            self.add_error("team", "Pick the team whose agents share them.")
        return data
