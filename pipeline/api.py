"""The REST API (issue 9): the same services and the same visibility as the pages.

A lead the caller may not see is a 404 here too. Writes go through the services: a stage
change through the transitions table (409 with the reasons when refused), outreach
through the one compliance gate (201 when allowed, 409 with the rule IDs and reasons when
blocked), and ``/api/compliance/check/`` asks the gate without logging anything.
"""

from __future__ import annotations

from django.db import transaction
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.models import Channel, Purpose, Technology
from compliance.services import outreach_verdict
from leadcrm.accounts.roles import Perm
from leadcrm.api import ERRORS
from leadcrm.security import policy_with
from leads.models import Contact, DeadReason, Email, ImportJob, Lead, LeadSource, Lien, Phone, Stage

from .models import FollowUp, FollowUpKind, Outcome, OutreachAttempt, StageChange
from .services import (
    OutreachBlocked,
    StageChangeRefused,
    follow_up_complete,
    follow_up_create,
    lead_stage_change,
)
from .services import outreach_log as log_outreach

# The schema ------------------------------------------------------------------------------


class ApiSchema(AutoSchema):
    """Each operation's own answers plus the errors every endpoint can give: 400 (input),
    401 (no token), 403 and 415 (unsafe methods: a role's permission, or CSRF with a
    session; a body DRF has no parser for), 404 (a path naming an object, or a list's
    cursor) and 429 (the throttle)."""

    def _resolve_path_parameters(self, variables):
        # Ids are integers; the routes take any segment (ANY_ID) only so that a wrong one is
        # answered by the API's JSON 404.
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["name"] == "id":
                parameter["schema"] = {"type": "integer"}
                parameter["description"] = "The object's id."
        return parameters

    def _get_filter_parameters(self):
        # django-filter reads an empty value as no filter at all: say so.
        return [{**parameter, "allowEmptyValue": True} for parameter in super()._get_filter_parameters()]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["400", "401", "429"]
        if self.method not in ("GET", "HEAD", "OPTIONS"):
            codes += ["403", "415"]
        if "{" in self.path or self._is_list_view():
            codes.append("404")
        for code in sorted(codes):
            if code in responses:
                continue
            name, schema, description = ERRORS[code]
            component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema)
            self.registry.register_on_missing(component)
            responses[code] = {"content": {"application/json": {"schema": component.ref}}, "description": description}
        return dict(sorted(responses.items()))


# Any path segment reaches the view, whose lookup answers the API's JSON 404 for an id that
# is not one of yours, or not a number at all ("1.5", "-2"). The router's default stops at
# a dot, and Django's HTML 404 page answered those.
ANY_ID = "[^/]+"


# Reads ---------------------------------------------------------------------------------


class PhoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Phone
        fields = ["id", "number", "phone_type", "status", "on_dnc_list"]


class EmailSerializer(serializers.ModelSerializer):
    class Meta:
        model = Email
        fields = ["id", "address"]


class ContactSerializer(serializers.ModelSerializer):
    phones = PhoneSerializer(many=True, read_only=True)
    emails = EmailSerializer(many=True, read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "position", "first_name", "last_name", "company_name", "mailing_street", "mailing_unit",
                  "mailing_city", "mailing_state", "mailing_zip", "do_not_mail", "deceased", "phones", "emails"]


class LienSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lien
        # Only the masked loan number (****1234) ever leaves the database.
        fields = ["id", "position", "lien_type", "lender", "balance", "loan_number_masked", "recording_date"]


class LeadSerializer(serializers.ModelSerializer):
    street = serializers.CharField(source="property.street_line", read_only=True)
    city = serializers.CharField(source="property.city", read_only=True)
    state = serializers.CharField(source="property.state", read_only=True)
    zip_code = serializers.CharField(source="property.zip_code", read_only=True)
    county = serializers.CharField(source="property.county", read_only=True)
    estimated_value = serializers.DecimalField(source="property.estimated_value", max_digits=12, decimal_places=2,
                                               read_only=True)
    assigned_agent = serializers.StringRelatedField(read_only=True)
    team = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = Lead
        fields = ["id", "street", "city", "state", "zip_code", "county", "estimated_value", "lead_type", "source",
                  "stage", "stage_entered_at", "dead_reason", "score", "score_reasons", "lien_total",
                  "assigned_agent", "assigned_agent_id", "team", "team_id", "next_follow_up_at", "last_contacted_at",
                  "closing_date", "created_at"]


class LeadDetailSerializer(LeadSerializer):
    contacts = ContactSerializer(many=True, read_only=True)
    liens = LienSerializer(many=True, read_only=True)

    class Meta(LeadSerializer.Meta):
        fields = [*LeadSerializer.Meta.fields, "contacts", "liens"]


class StageChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.StringRelatedField()

    class Meta:
        model = StageChange
        fields = ["id", "from_stage", "to_stage", "dead_reason", "note", "changed_by", "changed_at"]


class StageMoveSerializer(serializers.Serializer):
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    dead_reason = serializers.ChoiceField(choices=DeadReason.choices, required=False, allow_blank=True, default="")
    closing_date = serializers.DateField(required=False, allow_null=True, default=None)


REFUSED = inline_serializer("Refused", {"detail": serializers.CharField(), "reasons": serializers.ListField(
    child=serializers.CharField())})


class LeadViewSet(viewsets.ReadOnlyModelViewSet):
    """The caller's leads (an agent's own; a team lead's team's; a broker's all)."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    filterset_fields = ["stage", "lead_type", "assigned_agent", "team"]

    def get_queryset(self):
        leads = Lead.objects.visible_to(self.request.user).select_related("property", "assigned_agent", "team")
        if self.action == "retrieve":
            leads = leads.prefetch_related("contacts__phones", "contacts__emails", "liens")
        return leads

    def get_serializer_class(self):
        return LeadDetailSerializer if self.action == "retrieve" else LeadSerializer

    @extend_schema(responses=StageChangeSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="stage-changes", pagination_class=None, filter_backends=[])
    def stage_changes(self, request, pk=None, format=None):
        """The lead's last 200 stage changes, newest first (a list, not a page)."""
        lead = self.get_object()
        return Response(StageChangeSerializer(lead.stage_changes.select_related("changed_by")[:200], many=True).data)

    @extend_schema(request=StageMoveSerializer, responses={200: LeadSerializer, 409: REFUSED})
    @action(detail=True, methods=["post"], url_path="stage")
    def move(self, request, pk=None, format=None):
        """Move the lead through the transitions table and the stage's entry rules."""
        if not request.user.has_perm(Perm.CHANGE_STAGE):
            raise PermissionDenied
        lead = self.get_object()
        data = _valid(StageMoveSerializer, request.data)
        try:
            lead = lead_stage_change(lead=lead, to_stage=data["to_stage"], actor=request.user, note=data["note"],
                                     dead_reason=data["dead_reason"], closing_date=data["closing_date"])
        except StageChangeRefused as refused:
            return Response({"detail": "The move was refused.", "reasons": refused.messages},
                            status=status.HTTP_409_CONFLICT)
        return Response(LeadSerializer(lead).data)


def _valid(serializer_class, data, **context) -> dict:
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# Follow-ups ----------------------------------------------------------------------------


class FollowUpSerializer(serializers.ModelSerializer):
    lead = serializers.PrimaryKeyRelatedField(queryset=Lead.objects.none())
    assignee = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = FollowUp
        fields = ["id", "lead", "assignee", "kind", "source", "title", "notes", "due_at", "requested_at", "done_at",
                  "closed_reason", "created_at"]
        read_only_fields = ["source", "requested_at", "done_at", "closed_reason", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            self.fields["lead"].queryset = Lead.objects.visible_to(request.user)


class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    """Follow-ups on the caller's leads. A call is due when the homeowner may lawfully be
    called; ``requested_at`` says what was asked when that moved it."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    serializer_class = FollowUpSerializer
    filterset_fields = ["lead", "kind", "source"]

    def get_queryset(self):
        follow_ups = FollowUp.objects.visible_to(self.request.user).select_related("assignee")
        if self.request.query_params.get("open") in ("1", "true"):
            follow_ups = follow_ups.open()
        return follow_ups

    def perform_create(self, serializer):
        if not self.request.user.has_perm(Perm.MANAGE_FOLLOW_UPS):
            raise PermissionDenied
        data = serializer.validated_data
        lead = data["lead"]
        serializer.instance = follow_up_create(
            lead=lead, assignee=lead.assigned_agent or self.request.user, due_at=data["due_at"], title=data["title"],
            kind=data.get("kind", FollowUpKind.CALL), notes=data.get("notes", ""), created_by=self.request.user)

    @extend_schema(request=None, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None, format=None):
        follow_up = follow_up_complete(follow_up=self.get_object())
        return Response(FollowUpSerializer(follow_up, context={"request": request}).data)


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
            raise serializers.ValidationError({"lead": "No such lead."})
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
            if point is None:
                raise serializers.ValidationError({name: f"That {name} is not on this lead."})
        data["lead_obj"], data["point"] = lead, point
        return data


class FindingSerializer(serializers.Serializer):
    rule = serializers.CharField()
    severity = serializers.CharField()
    reason = serializers.CharField()


class VerdictSerializer(serializers.Serializer):
    verdict = serializers.CharField()
    rule_ids = serializers.ListField(child=serializers.CharField())
    findings = FindingSerializer(many=True)


class OutreachCreateSerializer(ContactPointMixin):
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    role_disclosed = serializers.BooleanField(help_text="You stated who you are and whom you represent (D3, F8).")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    homeowner_words = serializers.CharField(required=False, allow_blank=True, default="")
    follow_up_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    follow_up_title = serializers.CharField(required=False, allow_blank=True, default="")


class OutreachSerializer(serializers.ModelSerializer):
    agent = serializers.StringRelatedField()

    class Meta:
        model = OutreachAttempt
        fields = ["id", "lead", "channel", "outcome", "purpose", "direction", "technology", "role_disclosed", "notes",
                  "agent", "occurred_at", "logged_at", "corrects"]


class BlockedSerializer(VerdictSerializer):
    detail = serializers.CharField()
    stop_recorded = serializers.BooleanField()


class OutreachViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The outreach log of the caller's leads (append-only), and logging an attempt through
    the gate: 201 when it allows it, 409 with the rule IDs and reasons when it blocks it."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    serializer_class = OutreachSerializer
    filterset_fields = ["lead", "channel", "outcome"]

    def get_queryset(self):
        return OutreachAttempt.objects.visible_to(self.request.user).select_related("agent")

    @extend_schema(request=OutreachCreateSerializer, responses={201: OutreachSerializer, 409: BlockedSerializer})
    def create(self, request, format=None):
        if not request.user.has_perm(Perm.LOG_OUTREACH):
            raise PermissionDenied
        data = _valid(OutreachCreateSerializer, request.data, request=request)
        try:
            attempt = log_outreach(
                lead=data["lead_obj"], channel=data["channel"], contact_point=data["point"], outcome=data["outcome"],
                actor=request.user, role_disclosed=data["role_disclosed"], purpose=data["purpose"],
                notes=data["notes"], homeowner_words=data["homeowner_words"], follow_up_at=data["follow_up_at"],
                follow_up_title=data["follow_up_title"], technology=data["technology"])
        except OutreachBlocked as blocked:
            decision = blocked.decision
            return Response({
                "detail": "Blocked by the compliance gate; nothing was logged but the check.",
                "verdict": decision.verdict, "rule_ids": decision.rule_ids,
                "findings": [finding.as_dict() for finding in decision.findings],
                "stop_recorded": blocked.stop_recorded,
            }, status=status.HTTP_409_CONFLICT)
        return Response(OutreachSerializer(attempt).data, status=status.HTTP_201_CREATED)


class ComplianceCheckView(APIView):
    """What the gate would say of a contact now; nothing is logged."""

    schema = ApiSchema()

    @extend_schema(request=ContactPointMixin, responses=VerdictSerializer)
    def post(self, request):
        data = _valid(ContactPointMixin, request.data, request=request)
        verdict, findings, _evidence = outreach_verdict(
            lead=data["lead_obj"], contact_point=data["point"], channel=data["channel"], purpose=data["purpose"],
            actor=request.user, technology=data["technology"])
        return Response({"verdict": verdict, "rule_ids": sorted({f.rule for f in findings}),
                         "findings": [finding.as_dict() for finding in findings]})


# Imports -------------------------------------------------------------------------------


class ImportSerializer(serializers.ModelSerializer):
    lead_list = serializers.StringRelatedField()

    class Meta:
        model = ImportJob
        fields = ["id", "file_name", "lead_list", "source", "status", "rows_total", "rows_done", "percent",
                  "leads_created", "leads_merged", "rows_rejected", "phones_valid", "phones_invalid", "phones_on_dnc",
                  "error", "created_at", "started_at", "finished_at"]


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or XLSX, headers on the first line.")
    source = serializers.ChoiceField(choices=LeadSource.choices, default=LeadSource.CSV)
    list_name = serializers.CharField(required=False, allow_blank=True, default="")


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List imports: upload a file (the columns detected from its headers), then poll its status."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    serializer_class = ImportSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        jobs = ImportJob.objects.select_related("lead_list")
        if getattr(self, "swagger_fake_view", False):
            return jobs.none()  # the schema generator asks without a user
        if self.request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return jobs
        return jobs.filter(created_by=self.request.user)  # an import is its importer's business

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses={201: ImportSerializer})
    def create(self, request, format=None):
        from leads.imports.services import import_job_create
        from leads.tasks import import_run

        if not request.user.has_perm("leads.add_importjob"):
            raise PermissionDenied
        data = _valid(ImportUploadSerializer, request.data)
        upload = data["file"]
        job = import_job_create(content=upload, file_name=upload.name, created_by=request.user, source=data["source"],
                                list_name=data["list_name"] or upload.name, assign_to=request.user)
        transaction.on_commit(lambda: import_run.delay(job.pk))
        return Response(ImportSerializer(job).data, status=status.HTTP_201_CREATED)



class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI, served from our static files with its script in a file of its own. The
    widget writes inline style attributes, so this one page allows inline styles (never
    inline script)."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = policy_with(style_src=["'unsafe-inline'"])
        return response
