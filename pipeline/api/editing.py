"""The API's edits of a lead's record: the same writes as the lead page's cards, through
the same services (``leads.editing``), with the same refusals.

Nested under ``/api/leads/{id}/`` as actions of the lead viewset, so a lead the token's
user may not see is a 404 and a row of another lead is one too. Every change and removal
carries the row's ``version``; a stale one is a 409 and nothing is written.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from leadcrm.shared.api import ModelSerializer, problem_response
from leads import editing
from leads.models import Contact, Email, ForeclosureRecord, HardshipRecord, Lien, Phone, Property

from .serializers import ProblemSerializer

STALE_SCHEMA = inline_serializer("Stale", ProblemSerializer().get_fields())
ROW = "[0-9]+"


class MoneyField(serializers.DecimalField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(max_digits=None, decimal_places=2, min_value=0, max_value=editing.MONEY_MAX,
                         error_messages={"min_value": editing.MONEY_NEGATIVE, "max_value": editing.MONEY_TOO_LARGE},
                         **kwargs)


def _model_serializer(model, editable, *, extra=(), money=(), name):
    """A serializer of ``model``'s editable fields, its id and version (read only)."""
    meta = type("Meta", (), {"model": model, "fields": ["id", "version", *editable, *extra, "updated_at"],
                             "read_only_fields": ["id", "version", *extra, "updated_at"]})
    attrs = {"Meta": meta, **{field: MoneyField() for field in money}}
    return type(name, (ModelSerializer,), attrs)


PropertyEditSerializer = _model_serializer(Property, editing.PROPERTY_EDITABLE, money=["estimated_value"],
                                           name="PropertyEditSerializer")
OwnerEditSerializer = _model_serializer(Contact, editing.CONTACT_EDITABLE, extra=["position"],
                                        name="OwnerEditSerializer")
HardshipEditSerializer = _model_serializer(HardshipRecord, editing.HARDSHIP_EDITABLE, name="HardshipEditSerializer")
FilingEditSerializer = _model_serializer(ForeclosureRecord, editing.FORECLOSURE_EDITABLE,
                                         money=["unpaid_balance", "default_amount", "opening_bid"],
                                         name="FilingEditSerializer")
LienEditSerializer = _model_serializer(
    Lien, ["position", "lien_type", "loan_program", "lender", "balance", "monthly_payment", "arrears",
           "recording_date"], extra=["loan_number_masked"], money=["balance", "monthly_payment", "arrears"],
    name="LienEditSerializer")


class LienWriteSerializer(LienEditSerializer):
    loan_number = serializers.CharField(required=False, allow_blank=True, write_only=True,
                                        help_text="Only the last four characters are kept.")

    class Meta(LienEditSerializer.Meta):
        fields = [*LienEditSerializer.Meta.fields, "loan_number"]


class PhoneEditSerializer(ModelSerializer):
    number = serializers.CharField(max_length=40, help_text="Any way it is written; stored in E.164.")
    primary = serializers.BooleanField(required=False, write_only=True, help_text="Make it the first number.")

    class Meta:
        model = Phone
        fields = ["id", "version", "number", "phone_type", "source", "status", "position", "on_dnc_list", "primary",
                  "updated_at"]
        read_only_fields = ["id", "version", "position", "on_dnc_list", "updated_at"]


class EmailEditSerializer(ModelSerializer):
    address = serializers.CharField(max_length=254)
    primary = serializers.BooleanField(required=False, write_only=True, help_text="Make it the first email.")

    class Meta:
        model = Email
        fields = ["id", "version", "address", "source", "status", "position", "primary", "updated_at"]
        read_only_fields = ["id", "version", "position", "updated_at"]


def _change_of(serializer_class, name):
    """The body of a change: the row's fields, each optional, and the ``version`` the row was
    read at (every row of the lead's detail carries it), which the schema must show since a
    change without it is refused."""
    version = serializers.IntegerField(min_value=1, help_text="The row's `version` as you read it; a stale one is a "
                                                              "409 (`stale_version`) and nothing is written.")
    return type(name, (serializer_class,), {"version": version})


PropertyChangeSerializer = _change_of(PropertyEditSerializer, "PropertyChangeSerializer")
OwnerChangeSerializer = _change_of(OwnerEditSerializer, "OwnerChangeSerializer")
PhoneChangeSerializer = _change_of(PhoneEditSerializer, "PhoneChangeSerializer")
EmailChangeSerializer = _change_of(EmailEditSerializer, "EmailChangeSerializer")
HardshipChangeSerializer = _change_of(HardshipEditSerializer, "HardshipChangeSerializer")
LienChangeSerializer = _change_of(LienWriteSerializer, "LienChangeSerializer")
FilingChangeSerializer = _change_of(FilingEditSerializer, "FilingChangeSerializer")


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(help_text="The row's version as you read it.")


class RemoveSerializer(VersionSerializer):
    reason = serializers.CharField(max_length=100, help_text="Kept in the lead's history.")


def _input(serializer_class, request, *, partial: bool) -> dict:
    serializer = serializer_class(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    if partial:  # a change names the version it was made on
        version = VersionSerializer(data=request.data)
        version.is_valid(raise_exception=True)
        data["version"] = version.validated_data["version"]
    return data


def _answer(write, out=None, *, created: bool = False):
    """Run a service: its refusals are 400 (the API's exception handler), a stale version 409."""
    try:
        row = write()
    except editing.StaleEdit as stale:
        return problem_response(status.HTTP_409_CONFLICT, stale.messages[0], code="stale_version")
    if out is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(out(row).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _needs(request, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def _row(queryset, pk):
    return get_object_or_404(queryset, pk=pk) if str(pk).isdigit() else get_object_or_404(queryset.none())


EDITED = {200: OpenApiResponse(description="Saved."), 409: STALE_SCHEMA}


class LeadRecordEditActions:
    """Mixed into the lead viewset: ``self.get_object()`` is the visible lead or a 404."""

    @extend_schema(request=PropertyChangeSerializer, responses={200: PropertyEditSerializer, 409: STALE_SCHEMA})
    @action(detail=True, methods=["patch"], url_path="property")
    def edit_property(self, request, pk=None, format=None):
        """Change the house's facts and estimated value (``version`` required)."""
        _needs(request, "leads.change_property")
        lead = self.get_object()
        data = _input(PropertyEditSerializer, request, partial=True)
        return _answer(lambda: editing.property_facts_update(property=lead.property, actor=request.user, **data),
                       PropertyEditSerializer)

    @extend_schema(request=OwnerEditSerializer, responses={201: OwnerEditSerializer})
    @action(detail=True, methods=["post"], url_path="contacts")
    def add_contact(self, request, pk=None, format=None):
        """Add an owner (a co-owner, heir or company)."""
        _needs(request, "leads.add_contact")
        lead = self.get_object()
        data = _input(OwnerEditSerializer, request, partial=False)
        return _answer(lambda: editing.owner_add(lead=lead, actor=request.user, **data), OwnerEditSerializer,
                       created=True)

    @extend_schema(methods=["PATCH"], request=OwnerChangeSerializer, responses={200: OwnerEditSerializer,
                                                                               409: STALE_SCHEMA})
    @extend_schema(methods=["DELETE"], request=RemoveSerializer, responses={204: None, 409: STALE_SCHEMA})
    @action(detail=True, methods=["patch", "delete"], url_path=f"contacts/(?P<contact_id>{ROW})")
    def contact(self, request, pk=None, contact_id=None, format=None):
        """Change an owner, or remove one with a reason (the last owner stays)."""
        _needs(request, "leads.change_contact")
        contact = _row(Contact.objects.filter(lead=self.get_object()), contact_id)
        if request.method == "DELETE":
            data = _input(RemoveSerializer, request, partial=False)
            return _answer(lambda: editing.owner_remove(contact=contact, actor=request.user, **data))
        data = _input(OwnerEditSerializer, request, partial=True)
        return _answer(lambda: editing.owner_update(contact=contact, actor=request.user, **data), OwnerEditSerializer)

    @extend_schema(request=PhoneEditSerializer, responses={201: PhoneEditSerializer})
    @action(detail=True, methods=["post"], url_path=f"contacts/(?P<contact_id>{ROW})/phones")
    def add_phone(self, request, pk=None, contact_id=None, format=None):
        """Add an owner's number (source "homeowner" unless given); flagged against the DNC lists at once."""
        _needs(request, "leads.add_phone")
        contact = _row(Contact.objects.filter(lead=self.get_object()), contact_id)
        data = _input(PhoneEditSerializer, request, partial=False)
        data.pop("status", None), data.pop("primary", None)
        return _answer(lambda: editing.phone_add_by_hand(contact=contact, actor=request.user, **data),
                       PhoneEditSerializer, created=True)

    @extend_schema(request=PhoneChangeSerializer, responses={200: PhoneEditSerializer, 409: STALE_SCHEMA})
    @action(detail=True, methods=["patch"], url_path=f"phones/(?P<phone_id>{ROW})")
    def phone(self, request, pk=None, phone_id=None, format=None):
        """Correct a number, mark it wrong party or bad, or make it the first (``primary``)."""
        _needs(request, "leads.change_phone")
        phone = _row(Phone.objects.filter(contact__lead=self.get_object()), phone_id)
        data = _input(PhoneEditSerializer, request, partial=True)
        if data.pop("primary", False):
            return _answer(lambda: editing.phone_make_primary(phone=phone, actor=request.user,
                                                              version=data["version"]), PhoneEditSerializer)
        return _answer(lambda: editing.phone_update(phone=phone, actor=request.user, **data), PhoneEditSerializer)

    @extend_schema(request=EmailEditSerializer, responses={201: EmailEditSerializer})
    @action(detail=True, methods=["post"], url_path=f"contacts/(?P<contact_id>{ROW})/emails")
    def add_email(self, request, pk=None, contact_id=None, format=None):
        """Add an owner's email address."""
        _needs(request, "leads.add_email")
        contact = _row(Contact.objects.filter(lead=self.get_object()), contact_id)
        data = _input(EmailEditSerializer, request, partial=False)
        data.pop("status", None), data.pop("primary", None)
        return _answer(lambda: editing.email_add_by_hand(contact=contact, actor=request.user, **data),
                       EmailEditSerializer, created=True)

    @extend_schema(request=EmailChangeSerializer, responses={200: EmailEditSerializer, 409: STALE_SCHEMA})
    @action(detail=True, methods=["patch"], url_path=f"emails/(?P<email_id>{ROW})")
    def email(self, request, pk=None, email_id=None, format=None):
        """Correct an address, mark it bounced, or make it the first (``primary``)."""
        _needs(request, "leads.change_email")
        email = _row(Email.objects.filter(contact__lead=self.get_object()), email_id)
        data = _input(EmailEditSerializer, request, partial=True)
        if data.pop("primary", False):
            return _answer(lambda: editing.email_make_primary(email=email, actor=request.user,
                                                              version=data["version"]), EmailEditSerializer)
        return _answer(lambda: editing.email_update(email=email, actor=request.user, **data), EmailEditSerializer)

    @extend_schema(request=HardshipEditSerializer, responses={201: HardshipEditSerializer})
    @action(detail=True, methods=["post"], url_path="hardships")
    def add_hardship(self, request, pk=None, format=None):
        """Record the homeowner's hardship (what the Qualify stage needs)."""
        _needs(request, "leads.add_hardshiprecord")
        lead = self.get_object()
        data = _input(HardshipEditSerializer, request, partial=False)
        return _answer(lambda: editing.hardship_add(lead=lead, actor=request.user, **data), HardshipEditSerializer,
                       created=True)

    @extend_schema(request=HardshipChangeSerializer, responses={200: HardshipEditSerializer, 409: STALE_SCHEMA})
    @action(detail=True, methods=["patch"], url_path=f"hardships/(?P<hardship_id>{ROW})")
    def hardship(self, request, pk=None, hardship_id=None, format=None):
        """Change the homeowner's hardship (``version`` required)."""
        _needs(request, "leads.change_hardshiprecord")
        hardship = _row(HardshipRecord.objects.filter(lead=self.get_object()), hardship_id)
        data = _input(HardshipEditSerializer, request, partial=True)
        return _answer(lambda: editing.hardship_update(hardship=hardship, actor=request.user, **data),
                       HardshipEditSerializer)

    @extend_schema(request=LienWriteSerializer, responses={201: LienEditSerializer})
    @action(detail=True, methods=["post"], url_path="liens")
    def add_lien(self, request, pk=None, format=None):
        """Add a lien (amounts at most $100,000,000); the lead's lien total follows."""
        _needs(request, "leads.add_lien")
        lead = self.get_object()
        data = _input(LienWriteSerializer, request, partial=False)
        return _answer(lambda: editing.lien_add(lead=lead, actor=request.user, **data), LienEditSerializer,
                       created=True)

    @extend_schema(methods=["PATCH"], request=LienChangeSerializer, responses={200: LienEditSerializer,
                                                                               409: STALE_SCHEMA})
    @extend_schema(methods=["DELETE"], request=RemoveSerializer, responses={204: None, 409: STALE_SCHEMA})
    @action(detail=True, methods=["patch", "delete"], url_path=f"liens/(?P<lien_id>{ROW})")
    def lien(self, request, pk=None, lien_id=None, format=None):
        """Change a lien, or remove it with a reason."""
        _needs(request, "leads.change_lien")
        lien = _row(Lien.objects.filter(lead=self.get_object()), lien_id)
        if request.method == "DELETE":
            data = _input(RemoveSerializer, request, partial=False)
            return _answer(lambda: editing.lien_remove(lien=lien, actor=request.user, **data))
        data = _input(LienWriteSerializer, request, partial=True)
        return _answer(lambda: editing.lien_edit(lien=lien, actor=request.user, **data), LienEditSerializer)

    @extend_schema(request=FilingEditSerializer, responses={201: FilingEditSerializer})
    @action(detail=True, methods=["post"], url_path="foreclosure-records")
    def add_foreclosure_record(self, request, pk=None, format=None):
        """Add a pre-foreclosure filing or an auction date."""
        _needs(request, "leads.change_lead")
        lead = self.get_object()
        data = _input(FilingEditSerializer, request, partial=False)
        return _answer(lambda: editing.foreclosure_add(lead=lead, actor=request.user, **data), FilingEditSerializer,
                       created=True)

    @extend_schema(methods=["PATCH"], request=FilingChangeSerializer, responses={200: FilingEditSerializer,
                                                                                409: STALE_SCHEMA})
    @extend_schema(methods=["DELETE"], request=RemoveSerializer, responses={204: None, 409: STALE_SCHEMA})
    @action(detail=True, methods=["patch", "delete"], url_path=f"foreclosure-records/(?P<record_id>{ROW})")
    def foreclosure_record(self, request, pk=None, record_id=None, format=None):
        """Change a filing, or remove it with a reason."""
        _needs(request, "leads.change_lead")
        record = _row(ForeclosureRecord.objects.filter(lead=self.get_object()), record_id)
        if request.method == "DELETE":
            data = _input(RemoveSerializer, request, partial=False)
            return _answer(lambda: editing.foreclosure_remove(record=record, actor=request.user, **data))
        data = _input(FilingEditSerializer, request, partial=True)
        return _answer(lambda: editing.foreclosure_update(record=record, actor=request.user, **data),
                       FilingEditSerializer)
