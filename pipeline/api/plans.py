"""The API of action plans (docs/action-plans.md): the plans the caller may use, with their
steps; putting a lead in a plan and taking it out; and the plans a lead is or was in.

``GET /api/plans/`` lists the shared plans and the caller's own. ``POST
/api/plans/{id}/enroll/`` with ``{"lead": id}`` puts the lead in the plan (201 with the
enrollment); ``POST /api/plans/{id}/unenroll/`` takes it out (200, its remaining steps
cancelled). A lead the caller may not see, or a plan they may not use, is a 404; a lead
the plan refuses (already in it, closed, no agent, outside the plan's stages, no date to
count from) is a 409 with the reason. ``GET /api/plan-enrollments/?lead={id}`` lists a
lead's plans, each with its steps run so far (``plan`` and ``status`` filter too).
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from leadcrm.accounts.roles import Perm
from leadcrm.accounts.tokens import Scope
from leadcrm.shared.api import ModelSerializer, not_found, problem_response
from leads.models import Lead
from pipeline.models import ActionPlan, EnrollmentSource, PlanEnrollment, PlanStep, PlanStepRun
from pipeline.plans.services import enrollment_end, lead_enroll

from .schema import ApiSchema
from .serializers import PLAN_REFUSED_SCHEMA

ANY_ID = "[^/]+"
NOT_ENROLLED = "Refused: the lead is not in this plan now."
NOT_PUT_IN = "The lead was not put in the plan."
NOT_TAKEN_OUT = "The lead was not taken out of the plan."


# Shapes ------------------------------------------------------------------------------------


# A wall-clock time with no offset ("09:00"): the homeowner's own local time, in every zone
# they may be in. OpenAPI's "time" format means an RFC 3339 time with an offset, which this is not.
LOCAL_TIME = {"type": "string", "pattern": r"^\d{2}:\d{2}$", "example": "09:00"}


@extend_schema_field(LOCAL_TIME)
class LocalTimeField(serializers.TimeField):
    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class PlanStepSerializer(ModelSerializer):
    timing = serializers.CharField(source="delay_words", read_only=True,
                                   help_text="When the step runs, in words (“14 days after the plan starts”).")
    window_start = LocalTimeField(read_only=True, help_text="The window opens, in the homeowner's local time.")
    window_end = LocalTimeField(read_only=True, help_text="The window closes, in the homeowner's local time.")

    class Meta:
        model = PlanStep
        fields = ["id", "position", "kind", "task_kind", "anchor", "delay_days", "delay_hours", "timing",
                  "window_start", "window_end", "weekdays_only", "subject", "body"]


class PlanSerializer(ModelSerializer):
    shared = serializers.BooleanField(source="is_shared", read_only=True,
                                      help_text="Shared with the whole brokerage (the broker's); else the caller's own.")
    stages = serializers.ListField(child=serializers.CharField(), read_only=True,
                                   help_text="The stages the plan is for (empty: any stage of the funnel).")
    steps = PlanStepSerializer(many=True, read_only=True)

    class Meta:
        model = ActionPlan
        fields = ["id", "name", "description", "shared", "seeded", "stages", "key_date", "pause_on_response",
                  "pause_call_seconds", "version", "steps", "updated_at"]


class PlanStepRunSerializer(ModelSerializer):
    rules = serializers.ListField(child=serializers.CharField(), read_only=True,
                                  help_text="The compliance rules that refused the step, if any.")

    class Meta:
        model = PlanStepRun
        fields = ["id", "position", "kind", "title", "status", "due_at", "ran_at", "rules", "reason"]


class PlanEnrollmentSerializer(ModelSerializer):
    plan_name = serializers.CharField(source="plan.name", read_only=True)
    runs = PlanStepRunSerializer(many=True, read_only=True)

    class Meta:
        model = PlanEnrollment
        fields = ["id", "plan", "plan_name", "lead", "status", "source", "started_at", "last_position",
                  "next_due_at", "paused_at", "pause_reason", "pause_detail", "ended_at", "end_reason", "runs",
                  "updated_at"]


class LeadChoiceSerializer(serializers.Serializer):
    lead = serializers.IntegerField(help_text="The lead's id.")


# Views -------------------------------------------------------------------------------------


def _enrollment_data(enrollment: PlanEnrollment) -> dict:
    enrollment = PlanEnrollment.objects.select_related("plan").prefetch_related("runs").get(pk=enrollment.pk)
    return PlanEnrollmentSerializer(enrollment).data


class PlanViewSet(viewsets.ReadOnlyModelViewSet):
    """The action plans the caller may use (the brokerage's shared ones and their own), each
    with its steps; and putting a lead in one, or taking it out."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    serializer_class = PlanSerializer
    required_scopes: dict = {}  # an action's own (enroll) are given with it

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ActionPlan.objects.none()  # the schema generator asks without a user
        return ActionPlan.objects.usable_by(self.request.user).prefetch_related("steps")

    def _plan_and_lead(self, request) -> tuple[ActionPlan, Lead]:
        """The plan first: a plan the caller may not use is a 404 whatever the body says."""
        if not request.user.has_perm(Perm.USE_PLANS):
            raise PermissionDenied
        plan = self.get_object()
        serializer = LeadChoiceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        lead = Lead.objects.visible_to(request.user).filter(pk=serializer.validated_data["lead"]).first()
        if lead is None:
            raise not_found(Lead)  # the same 404 as the lead's own path
        return plan, lead

    @extend_schema(request=LeadChoiceSerializer, responses={201: PlanEnrollmentSerializer, 409: PLAN_REFUSED_SCHEMA})
    # A plan's steps text and email the homeowner: putting a lead in one is outreach, so the
    # token needs the scope that logs it (pipeline/api/permissions.py).
    @action(detail=True, methods=["post"], required_scopes={"POST": [Scope.WRITE, Scope.OUTREACH]})
    def enroll(self, request, pk=None, format=None):
        """Put the lead in the plan: its first step is timed at once. 409 with the reason when
        the plan refuses the lead (already in it, among others)."""
        plan, lead = self._plan_and_lead(request)
        try:
            enrollment = lead_enroll(lead=lead, plan=plan, actor=request.user, source=EnrollmentSource.API)
        except ValidationError as refused:
            return problem_response(status.HTTP_409_CONFLICT, NOT_PUT_IN, code="plan_refused",
                                    reasons=refused.messages)
        return Response(_enrollment_data(enrollment), status=status.HTTP_201_CREATED)

    @extend_schema(request=LeadChoiceSerializer, responses={200: PlanEnrollmentSerializer, 409: PLAN_REFUSED_SCHEMA})
    @action(detail=True, methods=["post"])
    def unenroll(self, request, pk=None, format=None):
        """Take the lead out of the plan: its remaining steps are cancelled, saying who stopped
        them. 409 when the lead is not in the plan now."""
        plan, lead = self._plan_and_lead(request)
        enrollment = PlanEnrollment.objects.open().filter(plan=plan, lead=lead).first()
        if enrollment is None:
            return problem_response(status.HTTP_409_CONFLICT, NOT_TAKEN_OUT, code="plan_refused",
                                    reasons=[NOT_ENROLLED])
        try:
            enrollment = enrollment_end(enrollment=enrollment, actor=request.user)
        except ValidationError as refused:  # ended by someone else meanwhile
            return problem_response(status.HTTP_409_CONFLICT, NOT_TAKEN_OUT, code="plan_refused",
                                    reasons=refused.messages)
        return Response(_enrollment_data(enrollment))


class PlanEnrollmentFilter(django_filters.FilterSet):
    """By id, not by a lookup of the row: an id the caller may not see gives an empty list,
    exactly as one that does not exist (nothing tells which lead ids exist)."""

    lead = django_filters.NumberFilter(field_name="lead_id", help_text="One lead's plans.")
    plan = django_filters.NumberFilter(field_name="plan_id", help_text="One plan's leads.")

    class Meta:
        model = PlanEnrollment
        fields = ["status"]


class PlanEnrollmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The plans the caller's leads are or were in, newest first, each with its steps run so
    far (done, skipped with the rules, cancelled). ``?lead={id}`` gives one lead's."""

    schema = ApiSchema()
    lookup_value_regex = ANY_ID
    serializer_class = PlanEnrollmentSerializer
    filterset_class = PlanEnrollmentFilter

    def get_queryset(self):
        return (PlanEnrollment.objects.visible_to(self.request.user).select_related("plan")
                .prefetch_related("runs"))
