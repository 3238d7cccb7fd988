"""Forms shape input for the pipeline services; the rules live in the services and the gate."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from compliance.models import PHONE_CHANNELS, Channel, Direction, Purpose, Technology
from compliance.selectors import phone_suppressions
from leadcrm.accounts.models import US_TIME_ZONES, Capacity
from leads.models import Contact, DeadReason, Email, Lead, LienType, Phone, Stage

from .documents import DOCUMENT_RULES, FRESHNESS_NEEDS_DATE
from .models import (
    DOCUMENT_IN_HAND,
    Deficiency,
    DocumentKind,
    DocumentStatus,
    LenderFile,
    Milestone,
    NegotiatorRole,
    Offer,
    Outcome,
    OutreachAttempt,
    TemplateKind,
    TemplateSituation,
)
from .stages import allowed_moves

PICK_NUMBER = "Pick the number you called or texted."
PICK_EMAIL = "Pick the email address you wrote to."
PICK_OWNER = "Pick the owner you mailed."
CORRECTION_NEEDS_NOTE = "Say in the notes what was wrong with the entry you are correcting."


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the field it names, or above the form."""
    errors = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for field, messages in errors.items():
        form.add_error(field if field in form.fields else None, messages)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


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


class StageChangeForm(forms.Form):
    to_stage = forms.ChoiceField(label="Move to")
    dead_reason = forms.ChoiceField(
        choices=[("", "—")] + list(DeadReason.choices), required=False, label="If dead, why"
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


def _plain_helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


class BoardMoveForm(forms.Form):
    """A card dropped on a column (or the card's own Move form without JavaScript)."""

    lead = forms.IntegerField(widget=forms.HiddenInput)
    to_stage = forms.ChoiceField(choices=Stage.choices, label="Move to")
    dead_reason = forms.ChoiceField(choices=[("", "—")] + list(DeadReason.choices), required=False)
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
        self.helper = _plain_helper()


class LenderFileForm(forms.ModelForm):
    class Meta:
        model = LenderFile
        fields = ["servicer", "portal", "portal_reference"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = _plain_helper()


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
        self.helper = _plain_helper()


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
        self.helper = _plain_helper()


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
        self.helper = _plain_helper()

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
        self.helper = _plain_helper()


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
        self.helper = _plain_helper()

    def clean_situation(self):
        return self.cleaned_data["situation"] or TemplateSituation.ANY


class LeadNoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Add a note to the timeline"}),
                           label="Note", max_length=5000)


class BulkActionForm(forms.Form):
    """What to do to the leads ticked on the list; each lead still goes through its service."""

    ACTIONS = [("follow_up", "Set a follow-up"), ("stage", "Move to a stage"), ("assign", "Assign to"),
               ("round_robin", "Round-robin in a team"), ("pond", "Put in the pond"), ("rules", "Route by the rules")]

    leads = forms.TypedMultipleChoiceField(coerce=int, choices=(), label="Leads")
    action = forms.ChoiceField(choices=ACTIONS)
    due_at = forms.DateTimeField(required=False, widget=DateTimeLocalInput(), label="Due")
    title = forms.CharField(required=False, max_length=200, label="Follow-up")
    to_stage = forms.ChoiceField(required=False, choices=[("", "—")] + list(Stage.choices), label="Stage")
    dead_reason = forms.ChoiceField(required=False, choices=[("", "—")] + list(DeadReason.choices), label="If dead, why")
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
