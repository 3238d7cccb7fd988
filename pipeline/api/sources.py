"""``POST /api/lead-sources/leads/``: a lead source (a vendor, a Zapier zap, a partner's
form) posts a lead with its own key (``LeadSourceKeyAuthentication``), and it is added as
a lead typed in by hand with no agent chosen (``leads.sources.lead_post_from_source``).
``PUT /api/lead-sources/leads/<external_id>/`` is the upsert: the person and the house
under the source's id, made the first time, added to afterwards. Each key has its own
rate (``SourceKeyRateThrottle``).

Not ``POST /api/leads/``: that path is the caller's leads, read with a user's token; a
source's key reads nothing and does one thing, so it has an endpoint (and an auth
scheme) of its own, and a user's token is refused here. See
docs/architecture.md#lead-source-api.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from leadcrm.shared.api import LimitedJSONParser
from leadcrm.shared.ratelimit import ToldRateThrottle
from leads.intake import Intake, OwnerIn
from leads.models import LeadSourceKey
from leads.sources import lead_post_from_source, lead_upsert_from_source
from pipeline.reminders.notifications import lead_wrote_in_notify, new_lead_notify

from .authentication import LeadSourceKeyAuthentication
from .schema import ApiSchema

MAX_ITEMS = 10


class HasSourceKey(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, LeadSourceKey)


class SourceKeyRateThrottle(ToldRateThrottle, SimpleRateThrottle):
    """Each key's own pace (``LEADCRM_API_SOURCE_RATE``): a source gone wild (a zap in a loop)
    is held back without slowing the others, nor its broker's own use of the API. Its window
    is told in the RateLimit headers (``leadcrm/shared/ratelimit.py``)."""

    scope = "lead_source"

    def get_cache_key(self, request, view):
        # getattr: the headers read the window from Django's request too, which has no
        # ``auth`` when the key was refused.
        if not isinstance(getattr(request, "auth", None), LeadSourceKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class PostedOwnerSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    company_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class PostedLeadSerializer(serializers.Serializer):
    """A lead as a source posts it; the address is read as a list's is."""

    external_id = serializers.CharField(max_length=100, help_text="The lead's id in your system: a post sent "
                                        "again with the same id is answered with the same lead, nothing added.")
    owners = PostedOwnerSerializer(many=True, max_length=MAX_ITEMS,
                                   help_text="The owners: at least one named (a first or last name, or a company).")
    street = serializers.CharField(max_length=200, allow_blank=True, help_text="The house's street address.")
    unit = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    state = serializers.CharField(max_length=40, required=False, allow_blank=True, default="",
                                  help_text="Two letters or the name; with the city when there is no ZIP code.")
    zip_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    phones = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list,
                                   max_length=MAX_ITEMS, help_text="US numbers, written any way.")
    emails = serializers.ListField(child=serializers.CharField(max_length=254), required=False, default=list,
                                   max_length=MAX_ITEMS)
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="",
                                  help_text="What is going on, in the homeowner's words: kept as their hardship.")


class UpsertSerializer(PostedLeadSerializer):
    """The person and the house under the id in the path; the address may be left out."""

    external_id = None
    owners = PostedOwnerSerializer(many=True, max_length=MAX_ITEMS, required=False, default=list,
                                   help_text="Owners to add (an owner already on the lead under the same name is "
                                             "kept). Needed the first time, when the id makes a new lead.")
    street = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                   help_text="Needed the first time. Afterwards, when sent, it must be the same "
                                             "house (a 400 otherwise).")


class AddedSerializer(serializers.Serializer):
    owners = serializers.IntegerField()
    phones = serializers.IntegerField()
    emails = serializers.IntegerField()


class PostedSerializer(serializers.Serializer):
    lead = serializers.IntegerField(help_text="The lead's id.")
    created = serializers.BooleanField(help_text="False: already posted, or the house was already a lead "
                                       "(its new owners and numbers added to it).")
    message = serializers.CharField()


class UpsertedSerializer(PostedSerializer):
    added = AddedSerializer(required=False, help_text="What an update added to the lead (not on a new lead).")


def _tell(posted, source_key: LeadSourceKey, external_id: str) -> None:
    """A new lead is called while the homeowner still waits: its agent (or, in the pond, those
    who hand it out) is told at once, as for the seller form; so is the agent of a lead whose
    homeowner a source sends again under a new id (the house was already a lead)."""
    came_from = f"the lead source “{source_key.name}”"
    if posted.created:
        new_lead_notify(posted.lead, came_from=came_from)
    elif posted.matched:
        lead_wrote_in_notify(posted.lead, came_from=came_from,
                             key=f"lead_wrote_in:source:{source_key.pk}:{external_id}"[:160])


def _intake(data: dict) -> Intake:
    return Intake(street=data["street"], unit=data["unit"], city=data["city"], state=data["state"],
                  zip_code=data["zip_code"], owners=[OwnerIn(**owner) for owner in data["owners"]],
                  phones=data["phones"], emails=data["emails"])


class SourceKeyView(APIView):
    """What a source's key opens: its own auth scheme, JSON only, its own rate."""

    schema = ApiSchema()
    authentication_classes = [LeadSourceKeyAuthentication]
    permission_classes = [HasSourceKey]
    parser_classes = [LimitedJSONParser]
    throttle_classes = [SourceKeyRateThrottle]


class SourceLeadPostView(SourceKeyView):
    """A source posts a lead: 201 when it made one, 200 when it matched one."""

    @extend_schema(
        request=PostedLeadSerializer,
        responses={201: OpenApiResponse(PostedSerializer, description="A new lead."),
                   200: OpenApiResponse(PostedSerializer, description="The lead already posted, or the lead "
                                        "already holding the house.")},
        operation_id="lead_sources_leads_create",
        tags=["lead-sources"],
    )
    def post(self, request, format=None):
        serializer = PostedLeadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        posted = lead_post_from_source(source_key=request.auth, external_id=data["external_id"],
                                       intake=_intake(data), homeowner_words=data["notes"])
        _tell(posted, request.auth, data["external_id"])
        answer = PostedSerializer({"lead": posted.lead.pk, "created": posted.created, "message": posted.message})
        return Response(answer.data, status=status.HTTP_201_CREATED if posted.created else status.HTTP_200_OK)


class SourceLeadUpsertView(SourceKeyView):
    """A source sends what it knows of a person and their house under its own id: 201 when
    it made the lead, 200 with what it added to the lead already under the id."""

    @extend_schema(
        request=UpsertSerializer,
        responses={201: OpenApiResponse(UpsertedSerializer, description="A new lead under the id."),
                   200: OpenApiResponse(UpsertedSerializer, description="The lead under the id, with what was "
                                        "added to it.")},
        operation_id="lead_sources_leads_upsert",
        tags=["lead-sources"],
    )
    def put(self, request, external_id, format=None):
        serializer = UpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        posted = lead_upsert_from_source(source_key=request.auth, external_id=external_id, intake=_intake(data),
                                         homeowner_words=data["notes"])
        _tell(posted, request.auth, external_id)
        answer = {"lead": posted.lead.pk, "created": posted.created, "message": posted.message}
        if not posted.created:
            answer["added"] = posted.added or {"owners": 0, "phones": 0, "emails": 0}
        return Response(UpsertedSerializer(answer).data,
                        status=status.HTTP_201_CREATED if posted.created else status.HTTP_200_OK)
