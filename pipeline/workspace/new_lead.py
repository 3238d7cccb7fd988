"""The "New lead" page: a lead from a referral, an inbound call, a sign call or a door knock,
typed in by the agent who took it, with its first note.

The lead itself is ``leads.intake.lead_create_by_hand``; the note is pipeline's
(``lead_note_add``): both are written by ``pipeline.outreach.services.lead_add_by_hand``, in
one transaction, which the API's new lead calls too.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import FormView

from leadcrm.accounts.models import US_STATES, User
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import users_assignable_by
from leads.intake import (
    BY_HAND_SOURCES,
    MAX_ESTIMATED_VALUE,
    VALUE_NEGATIVE,
    VALUE_TOO_HIGH,
    HouseAlreadyHeld,
    Intake,
    OwnerIn,
)
from leads.models import LeadSource, LeadType
from leads.phones import parse_phone
from pipeline.common import add_service_error
from pipeline.outreach.services import ADD_LEAD_PERMISSIONS, lead_add_by_hand

PHONE_FIELDS = ("phone1", "phone2", "phone3")
ROUTED_AWAY = "Lead added and routed by the rules to {agent}."
CREATED = "Lead added."
class NewLeadForm(forms.Form):
    street = forms.CharField(label="Street address", max_length=120)
    unit = forms.CharField(label="Unit", max_length=20, required=False)
    city = forms.CharField(max_length=60, required=False)
    state = forms.CharField(max_length=20, required=False, help_text="Two letters; read from the ZIP if left empty.")
    zip_code = forms.CharField(label="ZIP", max_length=10, required=False)

    owner1_first = forms.CharField(label="Owner's first name", max_length=60, required=False)
    owner1_last = forms.CharField(label="Owner's last name", max_length=60, required=False)
    owner1_company = forms.CharField(label="Or a company", max_length=120, required=False)
    owner2_first = forms.CharField(label="Second owner's first name", max_length=60, required=False)
    owner2_last = forms.CharField(label="Second owner's last name", max_length=60, required=False)
    phone1 = forms.CharField(label="Phone", max_length=40, required=False)
    phone2 = forms.CharField(label="Another phone", max_length=40, required=False)
    phone3 = forms.CharField(label="Another phone", max_length=40, required=False)
    email1 = forms.EmailField(label="Email", required=False,
                              error_messages={"invalid": "Enter an email address with a name, an @ and a domain."})
    email2 = forms.EmailField(label="Another email", required=False,
                              error_messages={"invalid": "Enter an email address with a name, an @ and a domain."})

    mailing_street = forms.CharField(label="Mailing street", max_length=120, required=False,
                                     help_text="Leave empty when the owner lives in the house.")
    mailing_unit = forms.CharField(label="Mailing unit", max_length=20, required=False)
    mailing_city = forms.CharField(label="Mailing city", max_length=60, required=False)
    mailing_state = forms.ChoiceField(label="Mailing state", choices=[("", "—"), *US_STATES], required=False)
    mailing_zip = forms.CharField(label="Mailing ZIP", max_length=10, required=False)

    source = forms.ChoiceField(choices=BY_HAND_SOURCES, initial=LeadSource.REFERRAL)
    lead_type = forms.ChoiceField(label="Lead type", choices=[("", "From the source"), *LeadType.choices],
                                  required=False)
    estimated_value = forms.DecimalField(
        label="Estimated value ($)", required=False, max_digits=12, decimal_places=2,
        max_value=MAX_ESTIMATED_VALUE, min_value=Decimal("0"),
        error_messages={"max_value": VALUE_TOO_HIGH.format(limit=MAX_ESTIMATED_VALUE),
                        "min_value": VALUE_NEGATIVE,
                        "max_digits": VALUE_TOO_HIGH.format(limit=MAX_ESTIMATED_VALUE),
                        "max_whole_digits": VALUE_TOO_HIGH.format(limit=MAX_ESTIMATED_VALUE)},
    )
    note = forms.CharField(label="First note", widget=forms.Textarea(attrs={"rows": 3}), required=False,
                           help_text="Who referred them, what they said, what happens next.")
    route = forms.BooleanField(label="Route by the routing rules", required=False,
                               help_text="As an import would; to you when no rule matches.")
    assigned_agent = forms.ModelChoiceField(label="Agent", queryset=User.objects.none(), required=False,
                                            empty_label="Me")
    add_to_existing = forms.BooleanField(
        label="If the house is already one of my leads, add these owners, phones and emails to it",
        required=False)

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        if user.has_perm(Perm.ASSIGN_LEADS):
            self.fields["assigned_agent"].queryset = users_assignable_by(user).order_by("first_name", "last_name")
        else:
            del self.fields["assigned_agent"]

    def clean(self):
        data = super().clean()
        for name in PHONE_FIELDS:
            raw = (data.get(name) or "").strip()
            parsed = parse_phone(raw)
            if raw and not parsed.ok:
                self.add_error(name, parsed.error)
        return data

    def intake(self) -> Intake:
        data = self.cleaned_data
        return Intake(
            street=data["street"], unit=data["unit"], city=data["city"], state=data["state"],
            zip_code=data["zip_code"],
            owners=[OwnerIn(data["owner1_first"], data["owner1_last"], data["owner1_company"]),
                    OwnerIn(data["owner2_first"], data["owner2_last"])],
            phones=[data[name] for name in PHONE_FIELDS if data[name]],
            emails=[data[name] for name in ("email1", "email2") if data[name]],
            mailing={name: data[name] for name in ("mailing_street", "mailing_unit", "mailing_city",
                                                    "mailing_state", "mailing_zip")},
            source=data["source"], lead_type=data["lead_type"], estimated_value=data["estimated_value"],
            add_to_existing=data["add_to_existing"],
        )


# A service's error on one of the intake's lists goes on the form field it came from.
SERVICE_FIELDS = {"owners": "owner1_first", "phones": "phone1", "emails": "email1"}


class NewLeadView(LoginRequiredMixin, PermissionRequiredMixin, FormView):
    template_name = "leads/lead_new.html"
    form_class = NewLeadForm
    permission_required = ADD_LEAD_PERMISSIONS

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        user = self.request.user
        try:
            added = lead_add_by_hand(actor=user, intake=form.intake(), note=form.cleaned_data["note"],
                                     assigned_agent=form.cleaned_data.get("assigned_agent"),
                                     route=form.cleaned_data["route"])
        except HouseAlreadyHeld as held:
            # Nothing written: the house is the agent's already, so they get its page.
            messages.info(self.request, str(held))
            return HttpResponseRedirect(reverse("leads:detail", args=[held.lead.pk]))
        except ValidationError as error:
            errors = error.message_dict
            add_service_error(form, ValidationError(
                {SERVICE_FIELDS.get(name, name): messages_ for name, messages_ in errors.items()}))
            return self.form_invalid(form)
        if not added.visible:
            messages.success(self.request, ROUTED_AWAY.format(agent=added.lead.assigned_agent))
            return HttpResponseRedirect(reverse("leads:list"))
        messages.success(self.request, added.message or CREATED)
        return HttpResponseRedirect(reverse("leads:detail", args=[added.lead.pk]))
