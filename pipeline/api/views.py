"""The REST API: the same services and the same visibility as the pages.

A lead the caller may not see is a 404 here too. Writes go through the services: a stage
change through the transitions table (409 with the reasons when refused), outreach
through the one compliance gate (201 when allowed, 409 with the rule IDs and reasons when
blocked), and ``/api/compliance/check/`` asks the gate without logging anything.
"""

from __future__ import annotations

from django.db import transaction
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from compliance.services import outreach_verdict
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import users_visible_to
from leadcrm.accounts.tokens import Scope
from leadcrm.shared.api import problem_response
from leads.models import ImportJob, Lead
from pipeline.deals.services import StageChangeRefused, lead_stage_change
from pipeline.models import FollowUp, FollowUpKind, OutreachAttempt
from pipeline.outreach.services import OutreachBlocked
from pipeline.outreach.services import outreach_log as log_outreach
from pipeline.reminders.services import (
    FollowUpClosed,
    follow_up_cancel,
    follow_up_complete,
    follow_up_create,
    follow_up_update,
)

from .editing import LeadRecordEditActions
from .filters import LEAD_ORDERINGS, LeadFilter
from .records import LeadRecordActions, LeadRecordSerializer
from .schema import ApiSchema
from .serializers import (
    FOLLOW_UP_CLOSED_SCHEMA,
    REFUSED_SCHEMA,
    BlockedSerializer,
    ContactPointMixin,
    FollowUpChangeSerializer,
    FollowUpSerializer,
    ImportSerializer,
    ImportUploadSerializer,
    LeadSerializer,
    OutreachCreateSerializer,
    OutreachSerializer,
    StageChangeSerializer,
    StageMoveSerializer,
    VerdictSerializer,
)

# Any path segment reaches the view, whose lookup answers the API's JSON 404 for an id that
# is not one of yours, or not a number at all ("1.5", "-2"). The router's default stops at
# a dot, and Django's HTML 404 page answered those.
ANY_ID = "[^/]+"
LEAD_NEEDS_AN_AGENT = ("The lead has no agent, and an integration key is nobody's reminder: assign the lead "
                       "first (PATCH /api/v1/leads/{id} with assigned_agent).")
NO_SUCH_USER = "No such user."
# The problem code of a change to a follow-up that is done or closed.
FOLLOW_UP_CLOSED = "follow_up_closed"


class LeadViewSet(LeadRecordEditActions, LeadRecordActions, viewsets.ReadOnlyModelViewSet):
    """The caller's leads (an agent's own; a team lead's team's; a broker's all), the edits
    of their record (``pipeline/api/editing.py``), and new leads, their assignment, tags,
    offers, notes and timeline (``pipeline/api/records.py``)."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    filterset_class = LeadFilter
    ordering_fields = LEAD_ORDERINGS

    def get_queryset(self):
        leads = Lead.objects.visible_to(self.request.user).select_related("property", "assigned_agent", "team")
        if self.action == "retrieve":
            leads = leads.prefetch_related("contacts__phones", "contacts__emails", "liens")
        return leads

    def get_serializer_class(self):
        return LeadRecordSerializer if self.action == "retrieve" else LeadSerializer

    @extend_schema(responses=StageChangeSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="stage-changes", pagination_class=None, filter_backends=[])
    def stage_changes(self, request, pk=None, format=None):
        """The lead's last 200 stage changes, newest first (a list, not a page)."""
        lead = self.get_object()
        return Response(StageChangeSerializer(lead.stage_changes.select_related("changed_by")[:200], many=True).data)

    @extend_schema(request=StageMoveSerializer, responses={200: LeadSerializer, 409: REFUSED_SCHEMA})
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
            return problem_response(status.HTTP_409_CONFLICT, "The move was refused.", code="stage_move_refused",
                                    reasons=_reasons(refused))
        lead.refresh_from_db()  # the move's own writes (updated_at, the next follow-up) are in the answer
        return Response(LeadSerializer(lead).data)


def _reasons(refused: StageChangeRefused) -> list[dict]:
    """Each message of a refused move with its code (``REFUSAL_CODES``)."""
    errors = ([error for errors in refused.error_dict.values() for error in errors]
              if hasattr(refused, "error_dict") else refused.error_list)
    return [{"code": error.code, "message": next(iter(error))} for error in errors]


def _valid(serializer_class, data, **context) -> dict:
    serializer = serializer_class(data=data, context=context)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class FollowUpFilter(filters.FilterSet):
    """A follow-up list's filters: the lead, kind and source as before, and the agenda's own
    questions (open, overdue, due between two times, whose)."""

    open = filters.BooleanFilter(method="filter_open", help_text="true: not done or closed; false: done or closed.")
    overdue = filters.BooleanFilter(method="filter_overdue", help_text="true: open and past due now; false: not.")
    due_before = filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="lt",
                                           help_text="Due before this moment (ISO 8601 with its offset).")
    due_after = filters.IsoDateTimeFilter(field_name="due_at", lookup_expr="gte",
                                          help_text="Due at or after this moment (ISO 8601 with its offset).")
    assignee = filters.NumberFilter(field_name="assignee_id", help_text="The assignee's user id.")

    class Meta:
        model = FollowUp
        fields = ["lead", "kind", "source", "open", "overdue", "due_before", "due_after", "assignee"]

    def filter_open(self, queryset, name, value):
        return queryset.open() if value else queryset.filter(done_at__isnull=False)

    def filter_overdue(self, queryset, name, value):
        overdue = queryset.overdue()
        return overdue if value else queryset.exclude(pk__in=overdue.values("pk"))


class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    """Follow-ups on the caller's leads. A call is due when the homeowner may lawfully be
    called; ``requested_at`` says what was asked when that moved it. Rescheduled,
    reassigned and cancelled through the same services as the pages
    (pipeline/reminders/services.py)."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    serializer_class = FollowUpSerializer
    filterset_class = FollowUpFilter

    def get_queryset(self):
        return FollowUp.objects.visible_to(self.request.user).select_related("assignee")

    def perform_create(self, serializer):
        if not self.request.user.has_perm(Perm.MANAGE_FOLLOW_UPS):
            raise PermissionDenied
        data = serializer.validated_data
        lead = data["lead"]
        if lead.assigned_agent is None and self.request.user.is_integration:
            # An integration's reminder would reach nobody: the lead needs its agent first.
            raise ValidationError({"lead": [LEAD_NEEDS_AN_AGENT]})
        serializer.instance = follow_up_create(
            lead=lead, assignee=lead.assigned_agent or self.request.user, due_at=data["due_at"], title=data["title"],
            kind=data.get("kind", FollowUpKind.CALL), notes=data.get("notes", ""), created_by=self.request.user)

    @extend_schema(request=FollowUpChangeSerializer,
                   responses={200: FollowUpSerializer, 409: FOLLOW_UP_CLOSED_SCHEMA})
    def partial_update(self, request, pk=None, format=None):
        """Reschedule (``due_at``), reassign (``assignee``) or reword (``title``, ``notes``) an open follow-up."""
        if not request.user.has_perm(Perm.MANAGE_FOLLOW_UPS):
            raise PermissionDenied
        follow_up = self.get_object()
        data = _valid(FollowUpChangeSerializer, request.data)
        assignee = None
        if "assignee" in data:
            # Whom the caller may not see is no one, as a lead is: the same 404 as in a path.
            assignee = users_visible_to(request.user).filter(pk=data["assignee"]).first()
            if assignee is None:
                raise NotFound(NO_SUCH_USER)
        try:
            follow_up = follow_up_update(follow_up=follow_up, actor=request.user, due_at=data.get("due_at"),
                                         assignee=assignee, title=data.get("title"), notes=data.get("notes"))
        except FollowUpClosed as closed:
            return problem_response(status.HTTP_409_CONFLICT, str(closed), code=FOLLOW_UP_CLOSED)
        return Response(FollowUpSerializer(follow_up, context={"request": request}).data)

    @extend_schema(request=None, responses={204: None, 409: FOLLOW_UP_CLOSED_SCHEMA})
    def destroy(self, request, pk=None, format=None):
        """Cancel an open follow-up: it stays in the list, closed, with who cancelled it as its ``closed_reason``."""
        if not request.user.has_perm(Perm.MANAGE_FOLLOW_UPS):
            raise PermissionDenied
        try:
            follow_up_cancel(follow_up=self.get_object(), actor=request.user)
        except FollowUpClosed as closed:
            return problem_response(status.HTTP_409_CONFLICT, str(closed), code=FOLLOW_UP_CLOSED)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None, format=None):
        """Mark the follow-up done."""
        follow_up = follow_up_complete(follow_up=self.get_object())
        return Response(FollowUpSerializer(follow_up, context={"request": request}).data)


class OutreachViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The outreach log of the caller's leads (append-only), and logging an attempt through
    the gate: 201 when it allows it, 409 with the rule IDs and reasons when it blocks it."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    serializer_class = OutreachSerializer
    filterset_fields = ["lead", "channel", "outcome"]
    required_scopes = {"POST": [Scope.WRITE, Scope.OUTREACH]}  # pipeline/api/permissions.py
    sync_field = "logged_at"  # append-only: a row never changes after it is logged

    def get_queryset(self):
        return OutreachAttempt.objects.visible_to(self.request.user).select_related("agent")

    @extend_schema(request=OutreachCreateSerializer, responses={201: OutreachSerializer, 409: BlockedSerializer},
                   summary="Log an outreach attempt through the compliance gate")
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
            return problem_response(
                status.HTTP_409_CONFLICT, "Blocked by the compliance gate; nothing was logged but the check.",
                code="outreach_blocked", verdict=decision.verdict, rule_ids=decision.rule_ids,
                findings=[finding.as_dict() for finding in decision.findings], stop_recorded=blocked.stop_recorded)
        return Response(OutreachSerializer(attempt).data, status=status.HTTP_201_CREATED)


class ComplianceCheckView(APIView):
    """What the gate would say of a contact now; nothing is logged."""

    schema = ApiSchema()
    required_scopes = {"POST": [Scope.READ]}  # a question, not a write: pipeline/api/permissions.py

    @extend_schema(request=ContactPointMixin, responses=VerdictSerializer)
    def post(self, request):
        data = _valid(ContactPointMixin, request.data, request=request)
        verdict, findings, _evidence = outreach_verdict(
            lead=data["lead_obj"], contact_point=data["point"], channel=data["channel"], purpose=data["purpose"],
            actor=request.user, technology=data["technology"])
        return Response({"verdict": verdict, "rule_ids": sorted({f.rule for f in findings}),
                         "findings": [finding.as_dict() for finding in findings]})


class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List imports: upload a file (the columns detected from its headers), then poll its status."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    serializer_class = ImportSerializer
    parser_classes = [MultiPartParser]  # the upload is the one body of the API that is not JSON

    def get_queryset(self):
        jobs = ImportJob.objects.select_related("lead_list")
        if getattr(self, "swagger_fake_view", False):
            return jobs.none()  # the schema generator asks without a user
        if self.request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return jobs
        return jobs.filter(created_by=self.request.user)  # an import is its importer's business

    @extend_schema(request={"multipart/form-data": ImportUploadSerializer}, responses={201: ImportSerializer},
                   summary="Upload a list to import")
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
