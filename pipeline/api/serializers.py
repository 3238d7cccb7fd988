"""The API's serializers: shapes of input and output, no rules."""

from __future__ import annotations

from datetime import timedelta

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from compliance.models import Channel, Purpose, Technology, Verdict
from compliance.rules import rules_in_order
from leadcrm.shared.api import (
    PROBLEM_CODE,
    PROBLEM_CODE_VALUES,
    ModelSerializer,
    SaneDateField,
    SaneDateTimeField,
    not_found,
)
from leads.models import Contact, DeadReason, Email, ImportJob, Lead, LeadSource, Lien, Phone, Stage
from pipeline.deals.services import REFUSAL_CODES
from pipeline.models import FollowUp, Outcome, OutreachAttempt, StageChange

# Reads ---------------------------------------------------------------------------------


class PhoneSerializer(ModelSerializer):
    class Meta:
        model = Phone
        fields = ["id", "version", "number", "phone_type", "status", "on_dnc_list", "updated_at"]


class EmailSerializer(ModelSerializer):
    class Meta:
        model = Email
        fields = ["id", "version", "address", "updated_at"]


class ContactSerializer(ModelSerializer):
    phones = PhoneSerializer(many=True, read_only=True)
    emails = EmailSerializer(many=True, read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "version", "position", "first_name", "last_name", "company_name", "mailing_street", "mailing_unit",
                  "mailing_city", "mailing_state", "mailing_zip", "do_not_mail", "deceased", "phones", "emails",
                  "updated_at"]


class LienSerializer(ModelSerializer):
    class Meta:
        model = Lien
        # Only the masked loan number (****1234) ever leaves the database.
        fields = ["id", "version", "position", "lien_type", "lender", "balance", "loan_number_masked", "recording_date",
                  "updated_at"]


class LeadSerializer(ModelSerializer):
    street = serializers.CharField(source="property.street_line", read_only=True)
    city = serializers.CharField(source="property.city", read_only=True)
    state = serializers.CharField(source="property.state", read_only=True)
    zip_code = serializers.CharField(source="property.zip_code", read_only=True)
    county = serializers.CharField(source="property.county", read_only=True)
    estimated_value = serializers.DecimalField(source="property.estimated_value", max_digits=12, decimal_places=2,
                                               read_only=True, allow_null=True)
    # A lead in the pond has no agent, and one may have no team: null, not absent.
    assigned_agent = serializers.StringRelatedField(read_only=True, allow_null=True)
    team = serializers.StringRelatedField(read_only=True, allow_null=True)
    score_reasons = serializers.ListField(child=serializers.CharField(), read_only=True,
                                         help_text="What made the score, each with its points (“+20 Auction "
                                                   "within 30 days”).")

    class Meta:
        model = Lead
        fields = ["id", "street", "city", "state", "zip_code", "county", "estimated_value", "lead_type", "source",
                  "stage", "stage_entered_at", "dead_reason", "score", "score_reasons", "lien_total",
                  "assigned_agent", "assigned_agent_id", "team", "team_id", "next_follow_up_at", "last_contacted_at",
                  "closing_date", "created_at", "updated_at"]


class LeadDetailSerializer(LeadSerializer):
    contacts = ContactSerializer(many=True, read_only=True)
    liens = LienSerializer(many=True, read_only=True)
    property_version = serializers.IntegerField(source="property.version", read_only=True,
                                                help_text="The house's `version`, for a change of its facts.")

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "property_version", "contacts", "liens"]


class StageChangeSerializer(ModelSerializer):
    changed_by = serializers.StringRelatedField(allow_null=True)
    updated_at = SaneDateTimeField(source="changed_at", read_only=True, help_text="A stage change never changes.")

    class Meta:
        model = StageChange
        fields = ["id", "from_stage", "to_stage", "dead_reason", "note", "changed_by", "changed_at", "updated_at"]


class StageMoveSerializer(serializers.Serializer):
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    dead_reason = serializers.ChoiceField(choices=DeadReason.chosen_by_hand(), required=False, allow_blank=True, default="")
    closing_date = SaneDateField(required=False, allow_null=True, default=None)


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem body (``leadcrm.shared.api.problem``): the shape of every error."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.ChoiceField(choices=PROBLEM_CODE_VALUES, help_text=PROBLEM_CODE["description"])


class RefusalReasonSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=REFUSAL_CODES, help_text="Which rule refused the move.")
    message = serializers.CharField(help_text="What to do, in words for the agent.")


REFUSED_SCHEMA = inline_serializer("StageMoveRefused", {**ProblemSerializer().get_fields(),
                                                        "reasons": RefusalReasonSerializer(many=True)})
PLAN_REFUSED_SCHEMA = inline_serializer("PlanRefused", {**ProblemSerializer().get_fields(), "reasons":
                                                        serializers.ListField(child=serializers.CharField())})

# A follow-up is due within this of today: a date further off is almost always a typo of
# the year (2062 for 2026), and a reminder that far out would never be seen in time.
FOLLOW_UP_WITHIN = timedelta(days=5 * 365)


# Follow-ups ----------------------------------------------------------------------------


class VisibleLeadField(serializers.PrimaryKeyRelatedField):
    """A lead's id in a body: one the caller may not see is the same 404 as in a path."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str) or not str(data).isdigit():
            self.fail("incorrect_type", data_type=type(data).__name__)
        lead = self.get_queryset().filter(pk=int(data)).first()
        if lead is None:
            raise not_found(Lead)
        return lead


class FollowUpSerializer(ModelSerializer):
    lead = VisibleLeadField(queryset=Lead.objects.none())
    # ``assignee`` was the name alone; it stays for the clients that read it, and the id
    # (what a reassignment sends) and the name come apart, each with one type.
    assignee = serializers.StringRelatedField(read_only=True, help_text="The assignee's name (as assignee_name).")
    assignee_id = serializers.IntegerField(read_only=True, help_text="The assignee's user id.")
    assignee_name = serializers.CharField(source="assignee", read_only=True)

    class Meta:
        model = FollowUp
        fields = ["id", "lead", "assignee", "assignee_id", "assignee_name", "kind", "source", "title", "notes",
                  "due_at", "requested_at", "done_at", "closed_reason", "created_at", "updated_at"]
        read_only_fields = ["source", "requested_at", "done_at", "closed_reason", "created_at"]
        extra_kwargs = {"due_at": {"within": FOLLOW_UP_WITHIN}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["lead"].queryset = Lead.objects.visible_to(request.user)


class FollowUpChangeSerializer(serializers.Serializer):
    """A follow-up's reschedule, reassignment or new wording: only what is sent changes."""

    due_at = SaneDateTimeField(required=False, within=FOLLOW_UP_WITHIN, help_text=(
        "The new time. A call or text falls due at the first moment the homeowner may lawfully be called; "
        "`requested_at` then keeps this time."))
    assignee = serializers.IntegerField(required=False, help_text=(
        "The user id to give it to: yourself or someone you lead (a broker: anyone active). A user you cannot "
        "see is a 404; one you may see but not assign to, a 403."))
    title = serializers.CharField(required=False, max_length=200)
    notes = serializers.CharField(required=False, allow_blank=True)


FOLLOW_UP_CLOSED_SCHEMA = inline_serializer("FollowUpClosed", {**ProblemSerializer().get_fields(), "code": (
    serializers.CharField(help_text="`follow_up_closed`: the follow-up is done or was closed; nothing changed."))})


# Outreach and the gate ---------------------------------------------------------------


class ContactPointMixin(serializers.Serializer):
    lead = serializers.IntegerField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    phone = serializers.IntegerField(required=False, help_text="For a call or text: the phone's id on this lead.")
    email = serializers.IntegerField(required=False, help_text="For an email: the address's id on this lead.")
    contact = serializers.IntegerField(required=False, help_text="For a letter: the owner's id on this lead.")
    purpose = serializers.ChoiceField(choices=Purpose.choices, default=Purpose.LISTING)
    technology = serializers.ChoiceField(choices=Technology.choices, default=Technology.MANUAL)

    def validate(self, data):
        request = self.context["request"]
        lead = Lead.objects.visible_to(request.user).filter(pk=data["lead"]).select_related("property").first()
        if lead is None:
            raise not_found(Lead)
        channel = data["channel"]
        wanted = {Channel.CALL: ("phone", Phone), Channel.SMS: ("phone", Phone), Channel.EMAIL: ("email", Email),
                  Channel.MAIL: ("contact", Contact)}.get(channel)
        point = lead.property
        if wanted:
            name, model = wanted
            if data.get(name) is None:
                raise serializers.ValidationError({name: f"Say which {name} of the lead ({channel})."})
            owner_field = "lead" if model is Contact else "contact__lead"
            point = model.objects.filter(pk=data[name], **{owner_field: lead}).first()
            if point is None:  # another lead's row is as unseen as a lead one may not see
                raise not_found(model)
        data["lead_obj"], data["point"] = lead, point
        return data


# The gate's rules, by code (compliance/rules.py): a closed list.
RULE_IDS = [(rule.id, rule.title) for rule in rules_in_order()]


class FindingSerializer(serializers.Serializer):
    rule = serializers.ChoiceField(choices=RULE_IDS)
    severity = serializers.ChoiceField(choices=Verdict.choices)
    reason = serializers.CharField()


class VerdictSerializer(serializers.Serializer):
    verdict = serializers.ChoiceField(choices=Verdict.choices)
    rule_ids = serializers.ListField(child=serializers.ChoiceField(choices=RULE_IDS))
    findings = FindingSerializer(many=True)


class OutreachCreateSerializer(ContactPointMixin):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    role_disclosed = serializers.BooleanField(help_text="You stated who you are and whom you represent (D3, F8).")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    homeowner_words = serializers.CharField(required=False, allow_blank=True, default="")
    follow_up_at = SaneDateTimeField(required=False, allow_null=True, default=None, within=FOLLOW_UP_WITHIN)
    follow_up_title = serializers.CharField(required=False, allow_blank=True, default="")


class OutreachSerializer(ModelSerializer):
    agent = serializers.StringRelatedField()
    updated_at = SaneDateTimeField(source="logged_at", read_only=True,
                                   help_text="When it was logged: the log is append-only (a correction is a new row).")

    class Meta:
        model = OutreachAttempt
        fields = ["id", "lead", "channel", "outcome", "purpose", "direction", "technology", "role_disclosed", "notes",
                  "agent", "occurred_at", "logged_at", "corrects", "updated_at"]


class BlockedSerializer(ProblemSerializer, VerdictSerializer):
    stop_recorded = serializers.BooleanField()


# Imports -------------------------------------------------------------------------------


class ImportSerializer(ModelSerializer):
    lead_list = serializers.StringRelatedField()

    class Meta:
        model = ImportJob
        fields = ["id", "file_name", "lead_list", "source", "status", "rows_total", "rows_done", "percent",
                  "leads_created", "leads_merged", "rows_rejected", "phones_valid", "phones_invalid", "phones_on_dnc",
                  "error", "created_at", "started_at", "finished_at", "updated_at"]


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX, headers on the first line.")
    source = serializers.ChoiceField(choices=LeadSource.choices, default=LeadSource.CSV)
    list_name = serializers.CharField(required=False, allow_blank=True, default="")
