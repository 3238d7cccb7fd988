"""Editing the lead's record in place on the lead page: the house's facts, owners, their
phones and emails, the hardship, liens and pre-foreclosure filings.

Each URL is a form about one lead or one row of it. With htmx the form replaces its card
on the lead page and, once saved, the card (and the timeline) come back from the lead
page itself, without a reload; without JavaScript GET is a page with the form and POST
redirects to the lead page. Rows are looked up through ``visible_to``, so a lead or row
the user may not see, or an id forged from another lead, is a 404. ``leads.editing``
does the writing (versions, history, limits).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.views import View

from leads import editing
from leads.forms import (
    EmailForm,
    ForeclosureForm,
    HardshipForm,
    LienForm,
    OwnerForm,
    PhoneForm,
    PropertyFactsForm,
    RemoveForm,
    VersionForm,
)
from leads.models import Contact, Email, ForeclosureRecord, HardshipRecord, Lien, Phone
from leads.selectors import lead_get
from pipeline.common import add_service_error
from pipeline.privacy.selectors import ERASED_NOT_EDITABLE

# Who may edit: whoever sees the lead (the lookups) and holds the model's change
# permission (every role does, docs/architecture.md#history). A filing has no change
# permission of its own in the roles, so it goes with the lead's.
CHANGE_PROPERTY = "leads.change_property"
CHANGE_CONTACT = "leads.change_contact"
CHANGE_PHONE = "leads.change_phone"
CHANGE_EMAIL = "leads.change_email"
CHANGE_HARDSHIP = "leads.change_hardshiprecord"
CHANGE_LIEN = "leads.change_lien"
CHANGE_FILING = "leads.change_lead"


class LeadRecordEditView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A form about a lead (``pk`` is the lead) or one of its rows (``row_model``)."""

    row_model = None
    form_class = VersionForm
    section = ""  # the card on the lead page the form takes the place of
    also = ("timeline",)  # other cards a save changes, swapped from the lead page too
    title = ""
    submit = "Save"
    done = "Saved."
    danger = False
    adds = False  # a new row: no version to carry

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            if self.row_model is None:
                self.row = None
                self.lead = lead_get(fetched_by=request.user, pk=kwargs["pk"])
            else:
                self.row = get_object_or_404(self.row_model.objects.visible_to(request.user), pk=kwargs["pk"])
                self.lead = lead_get(fetched_by=request.user, pk=self.lead_id_of(self.row))
            if self.lead.erased_at is not None:
                messages.error(request, ERASED_NOT_EDITABLE)
                return HttpResponseRedirect(reverse("leads:detail", args=[self.lead.pk]))
        return super().dispatch(request, *args, **kwargs)

    def lead_id_of(self, row) -> int:
        return row.lead_id

    def get_form(self, data=None):
        return self.form_class(data, instance=self.row)

    def get(self, request, *args, **kwargs):
        return self.show(self.get_form())

    def post(self, request, *args, **kwargs):
        form = self.get_form(request.POST)
        if form.is_valid():
            version = form.cleaned_data.get("version")
            if not self.adds and version is None:
                form.add_error(None, MISSING_VERSION)
                return self.show(form)
            try:
                self.save(form, version)
            except ValidationError as error:
                add_service_error(form, error)
                return self.show(form)
            messages.success(request, self.done)
            return HttpResponseRedirect(reverse("leads:detail", args=[self.lead.pk]) + f"#{self.section}")
        return self.show(form)

    def save(self, form, version) -> None:
        raise NotImplementedError

    def get_title(self) -> str:
        return self.title

    def show(self, form):
        template = "leads/partials/_edit_form.html" if self.request.htmx else "leads/lead_edit.html"
        return render(self.request, template, {
            "lead": self.lead, "form": form, "title": self.get_title(), "section": self.section,
            "also": ",".join(f"#{card}" for card in self.also), "submit": self.submit, "danger": self.danger,
            "action": self.request.path, "inline": bool(self.request.htmx),
        })


MISSING_VERSION = "This form was opened before the page could say which version it edits: reload and try again."


# An owner, a number or an address changed: the log form's lists and the consent card's
# numbers change with them, so a number just added can be texted and consented at once.
CONTACT_POINT_CARDS = ("timeline", "log-outreach", "evidence")


def _owner_label(contact: Contact) -> str:
    return f"Owner {contact.position}, {contact.display_name}"


# The house ----------------------------------------------------------------------------------


class PropertyEditView(LeadRecordEditView):
    permission_required = CHANGE_PROPERTY
    form_class = PropertyFactsForm
    section, also = "property", ("equity", "timeline")
    title, done = "The house and its value", "Property facts saved."

    def get_form(self, data=None):
        return self.form_class(data, instance=self.lead.property)

    def save(self, form, version):
        editing.property_facts_update(property=self.lead.property, actor=self.request.user,
                                      version=version, **form.changes())


# Owners -------------------------------------------------------------------------------------


class OwnerAddView(LeadRecordEditView):
    permission_required = "leads.add_contact"
    form_class = OwnerForm
    section, title, submit, done, adds = "owners", "Add an owner", "Add", "Owner added.", True
    also = CONTACT_POINT_CARDS

    def save(self, form, version):
        editing.owner_add(lead=self.lead, actor=self.request.user, **form.changes())


class OwnerEditView(LeadRecordEditView):
    permission_required = CHANGE_CONTACT
    row_model, form_class = Contact, OwnerForm
    section, done = "owners", "Owner saved."
    also = CONTACT_POINT_CARDS

    def get_title(self):
        return f"Edit {_owner_label(self.row)}"

    def save(self, form, version):
        editing.owner_update(contact=self.row, actor=self.request.user, version=version, **form.changes())


class OwnerRemoveView(LeadRecordEditView):
    permission_required = CHANGE_CONTACT
    row_model, form_class = Contact, RemoveForm
    section, submit, done, danger = "owners", "Remove", "Owner removed.", True
    also = CONTACT_POINT_CARDS

    def get_title(self):
        return f"Remove {_owner_label(self.row)}, with their numbers and emails"

    def save(self, form, version):
        editing.owner_remove(contact=self.row, actor=self.request.user, version=version,
                             reason=form.cleaned_data["reason"])


# Phones and emails --------------------------------------------------------------------------


class PhoneAddView(LeadRecordEditView):
    permission_required = "leads.add_phone"
    row_model, form_class = Contact, PhoneForm
    section, submit, done, adds = "owners", "Add", "Number added and checked against the Do Not Call lists.", True
    also = CONTACT_POINT_CARDS

    def get_form(self, data=None):
        return self.form_class(data)

    def get_title(self):
        return f"Add a number for {self.row.display_name}"

    def save(self, form, version):
        data = form.cleaned_data
        editing.phone_add_by_hand(contact=self.row, actor=self.request.user, number=data["number"],
                                  phone_type=data["phone_type"], source=data["source"])


class PhoneEditView(LeadRecordEditView):
    permission_required = CHANGE_PHONE
    row_model, form_class = Phone, PhoneForm
    section, done = "owners", "Number saved."
    also = CONTACT_POINT_CARDS

    def lead_id_of(self, row):
        return Contact.objects.values_list("lead_id", flat=True).get(pk=row.contact_id)

    def get_title(self):
        return f"Edit {self.row.display}"

    def save(self, form, version):
        data = form.cleaned_data
        editing.phone_update(phone=self.row, actor=self.request.user, version=version, number=data["number"],
                             phone_type=data["phone_type"], source=data["source"], status=data["status"])


class PhonePrimaryView(PhoneEditView):
    form_class = VersionForm
    submit, done = "Call this number first", "Number moved to the top."

    def get_title(self):
        return f"Make {self.row.display} the first number"

    def save(self, form, version):
        editing.phone_make_primary(phone=self.row, actor=self.request.user, version=version)


class EmailAddView(PhoneAddView):
    permission_required = "leads.add_email"
    form_class = EmailForm
    done = "Email added."

    def get_title(self):
        return f"Add an email for {self.row.display_name}"

    def save(self, form, version):
        data = form.cleaned_data
        editing.email_add_by_hand(contact=self.row, actor=self.request.user, address=data["address"],
                                  source=data["source"])


class EmailEditView(PhoneEditView):
    permission_required = CHANGE_EMAIL
    row_model, form_class = Email, EmailForm
    done = "Email saved."

    def get_title(self):
        return f"Edit {self.row.address}"

    def save(self, form, version):
        data = form.cleaned_data
        editing.email_update(email=self.row, actor=self.request.user, version=version, address=data["address"],
                             source=data["source"], status=data["status"])


class EmailPrimaryView(EmailEditView):
    form_class = VersionForm
    submit, done = "Write to this one first", "Email moved to the top."

    def get_title(self):
        return f"Make {self.row.address} the first email"

    def save(self, form, version):
        editing.email_make_primary(email=self.row, actor=self.request.user, version=version)


# Hardship -----------------------------------------------------------------------------------


class HardshipAddView(LeadRecordEditView):
    permission_required = "leads.add_hardshiprecord"
    form_class = HardshipForm
    section, title, submit, done, adds = "hardship", "Record the hardship", "Add", "Hardship recorded.", True

    def save(self, form, version):
        editing.hardship_add(lead=self.lead, actor=self.request.user, **form.changes())


class HardshipEditView(LeadRecordEditView):
    permission_required = CHANGE_HARDSHIP
    row_model, form_class = HardshipRecord, HardshipForm
    section, title, done = "hardship", "Edit the hardship", "Hardship saved."

    def save(self, form, version):
        editing.hardship_update(hardship=self.row, actor=self.request.user, version=version, **form.changes())


# Liens and filings --------------------------------------------------------------------------


class LienAddView(LeadRecordEditView):
    permission_required = "leads.add_lien"
    form_class = LienForm
    section, also = "liens", ("equity", "timeline")
    title, submit, done, adds = "Add a lien", "Add", "Lien added.", True

    def get_form(self, data=None):
        form = super().get_form(data)
        if self.row is None:  # a new lien goes after the lead's last one, unless told otherwise
            last = self.lead.liens.order_by("-position").values_list("position", flat=True).first()
            form.initial.setdefault("position", (last or 0) + 1)
        return form

    def save(self, form, version):
        editing.lien_add(lead=self.lead, actor=self.request.user, **form.changes())


class LienEditView(LienAddView):
    permission_required = CHANGE_LIEN
    row_model = Lien
    submit, done, adds = "Save", "Lien saved.", False

    def get_title(self):
        return f"Edit the {self.row.position_label} lien"

    def save(self, form, version):
        editing.lien_edit(lien=self.row, actor=self.request.user, version=version, **form.changes())


class LienRemoveView(LienEditView):
    form_class = RemoveForm
    submit, done, danger = "Remove", "Lien removed.", True

    def get_title(self):
        return f"Remove the {self.row}"

    def save(self, form, version):
        editing.lien_remove(lien=self.row, actor=self.request.user, version=version,
                            reason=form.cleaned_data["reason"])


class FilingAddView(LeadRecordEditView):
    permission_required = CHANGE_FILING
    form_class = ForeclosureForm
    section, title, submit, done, adds = "filings", "Add a filing or auction date", "Add", "Filing added.", True

    def save(self, form, version):
        editing.foreclosure_add(lead=self.lead, actor=self.request.user, **form.changes())


class FilingEditView(FilingAddView):
    row_model = ForeclosureRecord
    submit, done, adds = "Save", "Filing saved.", False

    def get_title(self):
        return f"Edit the {self.row}"

    def save(self, form, version):
        editing.foreclosure_update(record=self.row, actor=self.request.user, version=version, **form.changes())


class FilingRemoveView(FilingEditView):
    form_class = RemoveForm
    submit, done, danger = "Remove", "Filing removed.", True

    def get_title(self):
        return f"Remove the {self.row}"

    def save(self, form, version):
        editing.foreclosure_remove(record=self.row, actor=self.request.user, version=version,
                                   reason=form.cleaned_data["reason"])


# Served in pipeline's namespace (pipeline/urls.py): ``pk`` is the lead for the forms that
# add to it, the row for the others.
urlpatterns = [
    path("leads/<int:pk>/edit/property/", PropertyEditView.as_view(), name="edit_property"),
    path("leads/<int:pk>/owners/add/", OwnerAddView.as_view(), name="owner_add"),
    path("owners/<int:pk>/edit/", OwnerEditView.as_view(), name="owner_edit"),
    path("owners/<int:pk>/remove/", OwnerRemoveView.as_view(), name="owner_remove"),
    path("owners/<int:pk>/phones/add/", PhoneAddView.as_view(), name="phone_add"),
    path("owners/<int:pk>/emails/add/", EmailAddView.as_view(), name="email_add"),
    path("phones/<int:pk>/edit/", PhoneEditView.as_view(), name="phone_edit"),
    path("phones/<int:pk>/primary/", PhonePrimaryView.as_view(), name="phone_primary"),
    path("emails/<int:pk>/edit/", EmailEditView.as_view(), name="email_edit"),
    path("emails/<int:pk>/primary/", EmailPrimaryView.as_view(), name="email_primary"),
    path("leads/<int:pk>/hardships/add/", HardshipAddView.as_view(), name="hardship_add"),
    path("hardships/<int:pk>/edit/", HardshipEditView.as_view(), name="hardship_edit"),
    path("leads/<int:pk>/liens/add/", LienAddView.as_view(), name="lien_add"),
    path("liens/<int:pk>/edit/", LienEditView.as_view(), name="lien_edit"),
    path("liens/<int:pk>/remove/", LienRemoveView.as_view(), name="lien_remove"),
    path("leads/<int:pk>/filings/add/", FilingAddView.as_view(), name="filing_add"),
    path("filings/<int:pk>/edit/", FilingEditView.as_view(), name="filing_edit"),
    path("filings/<int:pk>/remove/", FilingRemoveView.as_view(), name="filing_remove"),
]
