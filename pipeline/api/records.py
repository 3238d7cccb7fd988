"""The API's writes on the lead itself, through the services of the pages that make them:
a new lead (the New lead page's ``lead_add_by_hand``), its assignment and tags (the lead
page's "Who works it" and tag line), offers (the Offers page's services), notes
(``lead_note_add``) and the timeline (the lead page's ``lead_activity``).

Mixed into the lead viewset, so ``self.get_object()`` is a lead the caller may see or a
404, and a row of another lead (an offer) is a 404 as well. An id in a body naming someone
or something the caller may not use (an agent they do not assign to) is a 404 too.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from compliance.transactions import ComplianceRefusal
from leadcrm.accounts.models import US_STATES
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import users_assignable_by
from leadcrm.shared.api import (
    BAD_PAGE_SIZE,
    PROBLEM,
    ModelSerializer,
    Pages,
    SaneDateTimeField,
    problem_response,
)
from leads.intake import (
    BY_HAND_SOURCES,
    MAX_ESTIMATED_VALUE,
    VALUE_NEGATIVE,
    VALUE_TOO_HIGH,
    HouseAlreadyHeld,
    Intake,
    OwnerIn,
)
from leads.models import TAG_NAME_MAX_LENGTH, Lead, LeadSource, LeadType, PhoneType
from leads.routing import lead_route_to
from leads.tags import lead_tag_add, lead_tag_remove, lead_tags_of, tag_for_name
from pipeline.deals.offers import DISCLOSURE_WHAT_TO_DO, offer_contract_signed, offer_create, offer_set_status
from pipeline.models import LeadNote, Offer, OfferStatus
from pipeline.outreach.services import ADD_LEAD_PERMISSIONS, lead_add_by_hand, lead_note_add
from pipeline.timeline import TIMELINE_LIMIT, lead_activity

from .serializers import LeadDetailSerializer, ProblemSerializer

ROW = "[0-9]+"

HOUSE_ALREADY_HELD = ("This house is already one of your leads (`lead`): nothing was added. To add this owner, "
                      "their phones and emails to it, send the same body with `add_to_existing: true`.")
NO_SUCH_AGENT = "No such agent among those you assign leads to."
NOT_THE_STAGE = "The stage is moved with POST /api/v1/leads/{id}/stage, through the stage's entry rules."
NOTHING_TO_CHANGE = "Send `status`, `contract_signed_at` or both."
ASSIGNED_BY_API = "Assigned through the API"
OFFER_REFUSED = "The offer was refused by a compliance rule; nothing was saved."
# The New lead page takes three numbers and two addresses; a script may know a few more,
# but an owner with more than this is a list to import.
MAX_PHONES = MAX_EMAILS = 10
MAX_TAGS = 50


# The lead: its detail with its tags -------------------------------------------------------


# Named as the detail it is in the schema (a generated client's ``LeadDetail``).
@extend_schema_serializer(component_name="LeadDetail")
class LeadRecordSerializer(LeadDetailSerializer):
    """The lead's detail, with the tags on it the caller may see."""

    tags = serializers.SerializerMethodField()

    class Meta(LeadDetailSerializer.Meta):
        fields = [*LeadDetailSerializer.Meta.fields, "tags"]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, lead) -> list[str]:
        user = self.context["request"].user
        return [tag.name for tag in lead_tags_of(lead_ids=[lead.pk], user=user).get(lead.pk, [])]


# A new lead ---------------------------------------------------------------------------------


class PhoneInSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=40, help_text="Any way it is written; stored in E.164.")
    phone_type = serializers.ChoiceField(choices=PhoneType.choices, default=PhoneType.UNKNOWN)


class EmailInSerializer(serializers.Serializer):
    address = serializers.CharField(max_length=254)


class OwnerInSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    company_name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="",
                                         help_text="An owner that is a company (a name or a company, or both).")
    mailing_street = serializers.CharField(max_length=120, required=False, allow_blank=True, default="",
                                           help_text="Leave out when the owner lives in the house.")
    mailing_unit = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    mailing_city = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    mailing_state = serializers.ChoiceField(choices=US_STATES, required=False, allow_blank=True, default="")
    mailing_zip = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    phones = PhoneInSerializer(many=True, required=False, default=list, max_length=MAX_PHONES,
                               help_text="Flagged against the Do-Not-Call lists before the answer.")
    emails = EmailInSerializer(many=True, required=False, default=list, max_length=MAX_EMAILS)


class LeadCreateSerializer(serializers.Serializer):
    street = serializers.CharField(max_length=120)
    unit = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    state = serializers.CharField(max_length=20, required=False, allow_blank=True, default="",
                                  help_text="Two letters; read from the ZIP when left out.")
    zip_code = serializers.CharField(max_length=10, required=False, allow_blank=True, default="")
    lead_type = serializers.ChoiceField(choices=LeadType.choices, required=False, allow_blank=True, default="",
                                        help_text="Left out: the one the source implies.")
    source = serializers.ChoiceField(choices=BY_HAND_SOURCES, required=False, default=LeadSource.OTHER)
    estimated_value = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, default=None,
        min_value=0, max_value=MAX_ESTIMATED_VALUE,
        error_messages={"max_value": VALUE_TOO_HIGH.format(limit=MAX_ESTIMATED_VALUE), "min_value": VALUE_NEGATIVE,
                        "max_digits": VALUE_TOO_HIGH.format(limit=MAX_ESTIMATED_VALUE),
                        "max_whole_digits": VALUE_TOO_HIGH.format(limit=MAX_ESTIMATED_VALUE)})
    assigned_agent = serializers.IntegerField(
        required=False, allow_null=True, default=None,
        help_text="The agent who works it (a user id): yours to give only if your role assigns leads. Left out: you.")
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="",
                                 help_text="The first note on the timeline.")
    add_to_existing = serializers.BooleanField(
        required=False, default=False,
        help_text="When the house is already one of your leads, add this owner, phones and emails to it (200).")
    owner = OwnerInSerializer()


# The service's field names, as this body names them.
INTAKE_ERRORS = {"owners": ("owner", "non_field_errors"), "phones": ("owner", "phones"),
                 "emails": ("owner", "emails")}


def _intake_errors(error: DjangoValidationError) -> ValidationError:
    errors: dict = {}
    for name, messages in error.message_dict.items():
        if name in INTAKE_ERRORS:
            outer, inner = INTAKE_ERRORS[name]
            errors.setdefault(outer, {})[inner] = messages
        else:
            errors[name] = messages
    return ValidationError(errors)


def _intake(data: dict) -> Intake:
    owner = data["owner"]
    phones = [phone["number"] for phone in owner["phones"]]
    return Intake(
        street=data["street"], unit=data["unit"], city=data["city"], state=data["state"], zip_code=data["zip_code"],
        owners=[OwnerIn(owner["first_name"].strip(), owner["last_name"].strip(), owner["company_name"].strip())],
        phones=phones, phone_types={phone["number"]: phone["phone_type"] for phone in owner["phones"]},
        emails=[email["address"] for email in owner["emails"]],
        mailing={name: owner[name] for name in ("mailing_street", "mailing_unit", "mailing_city", "mailing_state",
                                                "mailing_zip")},
        source=data["source"], lead_type=data["lead_type"], estimated_value=data["estimated_value"],
        add_to_existing=data["add_to_existing"])


INTEGRATION_NAMES_THE_AGENT = ("An integration key works for the brokerage, not as an agent: give `assigned_agent`, "
                               "the id of the agent the lead is for (GET /api/v1/users?assignable=true).")


def _agent_named(request, agent_id):
    """The agent a body names: the caller, or someone they assign leads to (else a 403 for a
    role that assigns nobody, a 404 for anyone else). An integration key names a person: a
    lead or a reminder of its own would be on nobody's list."""
    if request.user.is_integration and (agent_id is None or agent_id == request.user.pk):
        raise ValidationError({"assigned_agent": [INTEGRATION_NAMES_THE_AGENT]})
    if agent_id is None or agent_id == request.user.pk:
        return request.user if agent_id is not None else None
    if not request.user.has_perm(Perm.ASSIGN_LEADS):
        raise PermissionDenied
    agent = users_assignable_by(request.user).filter(pk=agent_id).first()
    if agent is None:
        raise NotFound(NO_SUCH_AGENT)
    return agent


# Changing the lead ----------------------------------------------------------------------------


class LeadUpdateSerializer(serializers.Serializer):
    assigned_agent = serializers.IntegerField(
        required=False, help_text="Give the lead to this agent (a user id; team leads and brokers).")
    reason = serializers.CharField(max_length=300, required=False, allow_blank=True, default="",
                                   help_text="Why it was reassigned; kept in the routing history.")
    tags = serializers.ListField(
        child=serializers.CharField(max_length=TAG_NAME_MAX_LENGTH), required=False, max_length=MAX_TAGS,
        help_text=("Every tag the lead should carry, by name (of those you may see): a name not yet used is made "
                   "in your team's list, as on the lead page; a tag left out is taken off."))

    def validate(self, data):
        if "stage" in self.initial_data:
            raise ValidationError({"stage": [NOT_THE_STAGE]})
        return data


def _tags_set(*, lead: Lead, names: list[str], actor) -> None:
    """The lead's tags (those the actor sees) made ``names``, one by one through the tag line's services."""
    on_lead = lead_tags_of(lead_ids=[lead.pk], user=actor).get(lead.pk, [])
    wanted = {" ".join(name.split()).lower(): name for name in names}
    try:
        for name_key, name in wanted.items():
            if name_key not in {tag.name.lower() for tag in on_lead}:
                lead_tag_add(lead=lead, tag=tag_for_name(name=name, actor=actor, lead=lead), actor=actor)
        for tag in on_lead:
            if tag.name.lower() not in wanted:
                lead_tag_remove(lead=lead, tag=tag, actor=actor)
    except DjangoValidationError as error:
        raise ValidationError({"tags": error.messages}) from None


# Offers ---------------------------------------------------------------------------------------


OFFER_FIELDS = ["buyer_name", "price", "financing", "buyer_proof", "earnest_money", "buyer_concessions",
                "received_on", "target_closing", "notes"]


class OfferSerializer(ModelSerializer):
    class Meta:
        model = Offer
        fields = ["id", "lead", *OFFER_FIELDS, "status", "backup_rank", "contract_signed_at", "created_at",
                  "updated_at"]
        read_only_fields = fields


class OfferCreateSerializer(ModelSerializer):
    """What the Offers page's form asks, with the model's limits on the money."""

    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"),
                                     error_messages={"min_value": "An offer's price is more than $0."})

    class Meta:
        model = Offer
        fields = OFFER_FIELDS
        extra_kwargs = {"received_on": {"required": False, "help_text": "Left out: today."},
                        "buyer_concessions": {"min_value": 0}, "earnest_money": {"min_value": 0}}


class OfferChangeSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=OfferStatus.choices, required=False,
                                     help_text="Accept it (only one is), keep it as a backup, reject or withdraw it.")
    contract_signed_at = SaneDateTimeField(required=False,
                                           help_text="When the accepted offer's purchase contract was signed.")

    def validate(self, data):
        if not data:
            raise ValidationError(NOTHING_TO_CHANGE)
        return data


OFFER_REFUSED_SCHEMA = inline_serializer("OfferRefused", {
    **ProblemSerializer().get_fields(), "code": serializers.CharField(),
    "rule_ids": serializers.ListField(child=serializers.CharField()),
    "reasons": inline_serializer("Reason", {"code": serializers.CharField(), "message": serializers.CharField()},
                                 many=True)})
HELD_SCHEMA = inline_serializer("HouseAlreadyHeld", {
    **ProblemSerializer().get_fields(), "code": serializers.CharField(),
    "lead": serializers.IntegerField(help_text="The lead that holds the house.")})
# An id in the body naming no one the caller may use is a 404, as in a path.
NO_SUCH_IN_BODY = OpenApiResponse(response=PROBLEM, description="The body names an agent you do not assign leads to.")


def _offer_refused(refusal: ComplianceRefusal) -> Response:
    return problem_response(status.HTTP_409_CONFLICT, f"{OFFER_REFUSED} {DISCLOSURE_WHAT_TO_DO}",
                            code="compliance_refused", rule_ids=[refusal.rule.id],
                            reasons=[{"code": refusal.rule.id, "message": message} for message in refusal.messages])


# Notes ------------------------------------------------------------------------------------------


class NoteSerializer(ModelSerializer):
    author = serializers.StringRelatedField()

    class Meta:
        model = LeadNote
        fields = ["id", "lead", "author", "author_id", "body", "created_at"]
        read_only_fields = fields


class NoteCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000, allow_blank=True)  # a blank one: the service says why


class NotePages(Pages):
    """Newest first, as on the timeline (a note moved in from another CRM keeps its date)."""

    ordering = ("-created_at", "-id")


# The timeline -------------------------------------------------------------------------------------

TIMELINE_KINDS = [
    ("outreach", "An outreach attempt logged through the gate"),
    ("message", "A text, call or email through the provider"),
    ("stage", "A stage move"),
    ("follow_up", "A follow-up set"),
    ("follow_up_done", "A follow-up done"),
    ("document", "A document received"),
    ("lender", "A lender's step"),
    ("note", "A note"),
    ("seller", "The seller's side: links, visits"),
    ("change", "An edit of the lead's record by hand"),
    ("evidence", "Consent and records recorded or revoked"),
    ("plan_step", "An action plan's step"),
    ("plan_start", "An action plan started"),
    ("plan_pause", "An action plan paused"),
    ("plan_resume", "An action plan resumed"),
    ("plan_end", "An action plan ended"),
]


class TimelineEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TIMELINE_KINDS)
    occurred_at = serializers.DateTimeField()
    summary = serializers.CharField(help_text="The entry in one line, as the lead page says it.")
    detail = serializers.CharField(help_text="What was written with it (a note's text, the notes); may be empty.")
    actor = serializers.CharField(allow_null=True, help_text="Who did it; null for the system or the seller.")
    actor_id = serializers.IntegerField(allow_null=True)
    object_id = serializers.IntegerField(
        allow_null=True, help_text=("The id of the entry's own row (the attempt, message, stage change, follow-up, "
                                    "upload, lender step, note, seller event, plan run or enrollment); null for "
                                    "an edit of the record and for consent and records."))
    outreach_id = serializers.IntegerField(allow_null=True, help_text="The outreach attempt it is or carries.")


@dataclass(frozen=True)
class Entry:
    kind: str
    occurred_at: datetime
    summary: str
    detail: str = ""
    actor: object = None
    object_id: int | None = None
    outreach_id: int | None = None

    @property
    def key(self) -> tuple:
        """Its place on the timeline: newest first, ties in a fixed order. The moment in UTC:
        entries come with their source's offset (a lender's in the caller's zone), and text
        of different offsets does not sort as time."""
        digest = hashlib.sha1(self.summary.encode(), usedforsecurity=False).hexdigest()[:12]
        return (self.occurred_at.astimezone(UTC).isoformat(), self.kind, self.object_id or 0, digest)

    def as_dict(self) -> dict:
        actor = self.actor
        return {"kind": self.kind, "occurred_at": self.occurred_at, "summary": self.summary, "detail": self.detail,
                "actor": str(actor) if actor is not None else None,
                "actor_id": actor.pk if actor is not None else None,
                "object_id": self.object_id, "outreach_id": self.outreach_id}


def _label(item, name: str) -> str:
    return getattr(item, f"get_{name}_display")()


def _message(event) -> Entry:
    item = event.item
    channel = _label(item, "channel").lower()
    way = "from the homeowner" if item.direction == "inbound" else f"to {item.to_address}"
    summary = f"{channel.capitalize()} {way} ({_label(item, 'status').lower()})"
    return Entry("message", event.at, summary, item.body, item.agent, item.pk, item.attempt_id)


def _entry_of(event) -> Entry:
    """One of ``lead_activity``'s events as a typed entry, from the rows it read (no query)."""
    item, kind, at = event.item, event.kind, event.at
    if kind == "message":
        return _message(event)
    if kind == "outreach":
        return Entry(kind, at, f"{_label(item, 'outcome')} · {_label(item, 'channel')}", item.notes, item.agent,
                     item.pk, item.pk)
    if kind == "stage":
        moved = f"{_label(item, 'from_stage')} → " if item.from_stage else ""
        dead = f" · {_label(item, 'dead_reason')}" if item.dead_reason else ""
        return Entry(kind, at, f"{moved}{_label(item, 'to_stage')}{dead}", item.note, item.changed_by, item.pk)
    if kind == "follow_up":
        return Entry(kind, at, f"Follow-up set: {item.title}", item.notes, item.created_by, item.pk)
    if kind == "follow_up_done":
        # Who ticked it off is not kept: no actor.
        return Entry(kind, at, f"Done: {item.title}", item.closed_reason, None, item.pk)
    if kind == "document":
        lien = f" ({item.item.lien.position_label} lien)" if item.item.lien_id else ""
        return Entry(kind, at, f"Document received: {_label(item.item, 'kind')}{lien}", item.original_name,
                     item.uploaded_by, item.pk)
    if kind == "lender":
        amount = f" ${item.amount:,.2f}" if item.amount is not None else ""
        struck = " (struck out)" if getattr(item, "correction", None) else ""
        summary = f"{item.lender_file.lien.position_label} lien: {_label(item, 'kind')}{amount}{struck}"
        return Entry(kind, at, summary, item.note, item.recorded_by, item.pk)
    if kind == "note":
        return Entry(kind, at, "Note", item.body, item.author, item.pk)
    if kind == "seller":
        return Entry(kind, at, _label(item, "kind"), item.detail, item.actor, item.pk)
    if kind == "change":
        return Entry(kind, at, item.sentence, item.reason, item.actor)
    if kind == "evidence":
        return Entry(kind, at, item.sentence, f"Rule {item.rule}" if item.rule else "", item.actor)
    if kind == "plan_step":
        summary = f"Action plan “{item.enrollment.plan.name}”: {item.title} ({_label(item, 'status').lower()})"
        return Entry(kind, at, summary, item.reason, None, item.pk, item.attempt_id)
    plan = f"Action plan “{item.plan.name}”"
    if kind == "plan_start":
        return Entry(kind, at, f"Put in the {plan[0].lower()}{plan[1:]}", "", item.enrolled_by, item.pk)
    if kind == "plan_pause":
        return Entry(kind, at, f"{plan} paused", getattr(item, "pause_sentence", ""), item.paused_by, item.pk)
    if kind == "plan_resume":
        return Entry(kind, at, f"{plan} resumed", "", None, item.pk)
    return Entry(kind, at, f"{plan} {_label(item, 'status').lower()}", item.end_reason, item.ended_by, item.pk)


def timeline_page(*, lead: Lead, after: tuple | None, size: int) -> tuple[list[Entry], bool]:
    """``size`` entries of the lead's timeline older than ``after`` (a key), and whether more follow.

    ``lead_activity`` reads the newest ``limit`` of each kind: it is asked for more until
    the page is full or nothing was left out. Where it cut, the entries at the oldest moment
    it returned may be only some of that moment's, so they wait for the next, longer read."""
    limit = max(TIMELINE_LIMIT, size + 1)
    while True:
        events = lead_activity(lead=lead, limit=limit)
        complete = len(events) < limit  # no kind reached the limit: nothing was left out
        entries = sorted((_entry_of(event) for event in events), key=lambda entry: entry.key, reverse=True)
        if not complete:
            oldest = entries[-1].occurred_at
            entries = [entry for entry in entries if entry.occurred_at > oldest]
        if after is not None:
            entries = [entry for entry in entries if entry.key < after]
        if complete or len(entries) > size:
            return entries[:size], len(entries) > size
        limit *= 4


def _cursor_encode(key: tuple) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _cursor_decode(raw: str) -> tuple:
    """The key a cursor carries; an unreadable one is a 404, as for every list's cursor."""
    try:
        key = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        at, kind, object_id, digest = key
        if parse_datetime(at) is None or not isinstance(kind, str) or not isinstance(object_id, int) \
                or not isinstance(digest, str):
            raise ValueError(raw)
    except (ValueError, TypeError, UnicodeDecodeError):
        raise NotFound("That cursor cannot be read.") from None
    return (at, kind, object_id, digest)


def _page_size(request) -> int:
    raw = request.query_params.get(Pages.page_size_query_param, "").strip()
    if not raw:
        return Pages.page_size
    size = int(raw) if raw.isdigit() else 0
    if size < 1:
        raise ValidationError({Pages.page_size_query_param: [BAD_PAGE_SIZE.format(limit=Pages.max_page_size)]})
    return min(size, Pages.max_page_size)


TIMELINE_PAGE = inline_serializer("PaginatedTimelineEntryList", {
    "next": serializers.URLField(allow_null=True, help_text="The next (older) page, or null at the end."),
    "results": TimelineEntrySerializer(many=True)})
TIMELINE_PARAMETERS = [
    OpenApiParameter("cursor", OpenApiTypes.STR, description="The `next` link's cursor; an unreadable one is a 404."),
    OpenApiParameter("page_size", OpenApiTypes.INT, allow_blank=True,
                     description=f"Entries per page: {Pages.page_size} unless asked, at most {Pages.max_page_size}."),
]


# The viewset's actions ----------------------------------------------------------------------------


def _valid(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class LeadRecordActions:
    """Mixed into the lead viewset: create and change a lead, its offers, notes and timeline."""

    def _detail(self, lead_pk: int, *, status_code=status.HTTP_200_OK) -> Response:
        lead = (Lead.objects.visible_to(self.request.user).select_related("property", "assigned_agent", "team")
                .prefetch_related("contacts__phones", "contacts__emails", "liens").get(pk=lead_pk))
        return Response(LeadRecordSerializer(lead, context={"request": self.request}).data, status=status_code)

    @extend_schema(request=LeadCreateSerializer,
                   responses={201: LeadRecordSerializer, 200: LeadRecordSerializer, 404: NO_SUCH_IN_BODY,
                              409: HELD_SCHEMA},
                   summary="Add a lead with its first owner, phones and emails")
    def create(self, request, format=None):
        """A lead typed in by hand, as on the New lead page: its first owner, their phones
        (flagged against the Do-Not-Call lists at once) and emails, and a first note, all or
        nothing. A house already one of yours is a 409 naming it (or, with
        ``add_to_existing``, gets the owner and numbers: 200); one worked by someone you may
        not see is a 400 on ``street``."""
        if not request.user.has_perms(ADD_LEAD_PERMISSIONS):
            raise PermissionDenied
        data = _valid(LeadCreateSerializer, request)
        agent = _agent_named(request, data["assigned_agent"])
        try:
            added = lead_add_by_hand(actor=request.user, intake=_intake(data), note=data["note"],
                                     assigned_agent=agent)
        except HouseAlreadyHeld as held:
            return problem_response(status.HTTP_409_CONFLICT, HOUSE_ALREADY_HELD, code="house_already_held",
                                    lead=held.lead.pk)
        except DjangoValidationError as error:
            raise _intake_errors(error) from None
        return self._detail(added.lead.pk, status_code=status.HTTP_201_CREATED if added.created else status.HTTP_200_OK)

    @extend_schema(request=LeadUpdateSerializer, summary="Reassign or retag a lead",
                   responses={200: LeadRecordSerializer,
                              204: OpenApiResponse(description="Reassigned to someone whose leads you do not see.")})
    def partial_update(self, request, pk=None, format=None):
        """What the lead page changes on the lead itself: who works it (team leads and
        brokers, through the routing service: kept in the routing history) and its tags.
        The stage is ``POST .../stage/``; the record's rows have their own paths."""
        lead = self.get_object()
        data = _valid(LeadUpdateSerializer, request)
        with transaction.atomic():
            if "assigned_agent" in data:
                if not request.user.has_perm(Perm.ASSIGN_LEADS):
                    raise PermissionDenied
                agent = _agent_named(request, data["assigned_agent"])
                lead_route_to(lead=lead, agent=agent, actor=request.user, reason=data["reason"] or ASSIGNED_BY_API)
            if "tags" in data:
                _tags_set(lead=lead, names=data["tags"], actor=request.user)
        if not Lead.objects.visible_to(request.user).filter(pk=lead.pk).exists():
            return Response(status=status.HTTP_204_NO_CONTENT)  # a team lead who gave it to another team
        return self._detail(lead.pk)

    # Offers

    @extend_schema(methods=["GET"], request=None, responses=OfferSerializer(many=True),
                   summary="The lead's offers")
    @extend_schema(methods=["POST"], request=OfferCreateSerializer, responses={201: OfferSerializer,
                                                                         409: OFFER_REFUSED_SCHEMA},
                   summary="Record an offer on the house")
    @action(detail=True, methods=["get", "post"], url_path="offers", pagination_class=None, filter_backends=[])
    def offers(self, request, pk=None, format=None):
        """The offers as the Offers page orders them (the accepted one, the backups in their
        order, the rest newest first), a list, not a page; or a new one (F8: an offer by a
        licensee buying for themselves needs their disclosure first, else a 409)."""
        lead = self.get_object()
        if request.method == "GET":
            rank = {OfferStatus.ACCEPTED: 0, OfferStatus.BACKUP: 1, OfferStatus.PENDING: 2}
            offers = sorted(Offer.objects.filter(lead=lead),
                            key=lambda o: (rank.get(o.status, 3), o.backup_rank or 0, -o.received_on.toordinal(),
                                           -o.pk))
            return Response(OfferSerializer(offers, many=True).data)
        if not request.user.has_perm(Perm.MANAGE_OFFERS):
            raise PermissionDenied
        data = dict(_valid(OfferCreateSerializer, request))
        data.setdefault("received_on", timezone.localdate())
        try:
            offer = offer_create(lead=lead, actor=request.user, **data)
        except ComplianceRefusal as refusal:
            return _offer_refused(refusal)
        return Response(OfferSerializer(offer).data, status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], request=None, responses=OfferSerializer, summary="One offer")
    @extend_schema(methods=["PATCH"], request=OfferChangeSerializer,
                   responses={200: OfferSerializer, 409: OFFER_REFUSED_SCHEMA},
                   summary="Accept, back up, reject or withdraw an offer")
    @action(detail=True, methods=["get", "patch"], url_path=f"offers/(?P<offer_id>{ROW})", filter_backends=[])
    def offer(self, request, pk=None, offer_id=None, format=None):
        """An offer's status (one accepted at most: accepting a second is a 400 until the first
        is a backup or withdrawn) and, once accepted, when its contract was signed."""
        offer = get_object_or_404(Offer.objects.filter(lead=self.get_object()), pk=offer_id)
        if request.method == "GET":
            return Response(OfferSerializer(offer).data)
        if not request.user.has_perm(Perm.MANAGE_OFFERS):
            raise PermissionDenied
        data = _valid(OfferChangeSerializer, request)
        try:
            with transaction.atomic():
                if "status" in data:
                    offer = offer_set_status(offer=offer, status=data["status"], actor=request.user)
                if "contract_signed_at" in data:
                    offer = offer_contract_signed(offer=offer, signed_at=data["contract_signed_at"],
                                                  actor=request.user)
        except ComplianceRefusal as refusal:
            return _offer_refused(refusal)
        return Response(OfferSerializer(offer).data)

    # Notes

    @extend_schema(methods=["GET"], request=None, responses=NoteSerializer(many=True), summary="The lead's notes")
    @extend_schema(methods=["POST"], request=NoteCreateSerializer, responses={201: NoteSerializer},
                   summary="Add a note to the lead's timeline")
    @action(detail=True, methods=["get", "post"], url_path="notes", pagination_class=NotePages, filter_backends=[])
    def notes(self, request, pk=None, format=None):
        """Notes, newest first, a page at a time; or a new one. A note is kept as written:
        the lead page neither edits nor removes one, and neither does the API."""
        lead = self.get_object()
        if request.method == "GET":
            notes = LeadNote.objects.filter(lead=lead).select_related("author")
            page = self.paginate_queryset(notes)
            return self.get_paginated_response(NoteSerializer(page, many=True).data)
        if not request.user.has_perm(Perm.ADD_NOTES):
            raise PermissionDenied
        data = _valid(NoteCreateSerializer, request)
        note = lead_note_add(lead=lead, author=request.user, body=data["body"])
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)

    # The timeline

    @extend_schema(request=None, responses=TIMELINE_PAGE, parameters=TIMELINE_PARAMETERS,
                   summary="The lead's timeline")
    @action(detail=True, methods=["get"], url_path="timeline", pagination_class=None, filter_backends=[])
    def timeline(self, request, pk=None, format=None):
        """Everything that happened on the lead, newest first, as the lead page's timeline
        shows it, a page at a time (the ``next`` link's cursor)."""
        lead = self.get_object()
        raw = request.query_params.get("cursor", "")
        after = _cursor_decode(raw) if raw else None
        entries, more = timeline_page(lead=lead, after=after, size=_page_size(request))
        following = None
        if more:
            following = replace_query_param(request.build_absolute_uri(), "cursor",
                                            _cursor_encode(entries[-1].key))
        data = TimelineEntrySerializer([entry.as_dict() for entry in entries], many=True).data
        return Response({"next": following, "results": data})
