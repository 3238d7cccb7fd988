"""The lead's consent and records: recorded from the lead page, revoked by a broker.

The card on the lead page (``{% evidence_card lead %}``) lists every record with its state
and holds the forms; each form posts here with an ``action`` naming it. With htmx the card
is swapped in place; without JavaScript a saved form goes back to the lead page and a
refused one comes back on a page of its own with its errors. A lead the user may not see
is a 404; a record of another lead, whatever the form claims, too.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from leadcrm.accounts.roles import Perm
from leadcrm.shared.uploads import INLINE_TYPES, stored_response
from leads.merging import lead_ids_with_merged
from leads.phones import format_national
from leads.selectors import lead_get

from .evidence import (
    EVIDENCE_KINDS,
    consent_record,
    disclosure_principal,
    evidence_revoke,
    interest_disclosure_record,
    reassigned_number_check_record,
    relationship_record,
)
from .forms import ConsentForm, DisclosureForm, NumberCheckForm, RelationshipForm, RevokeForm
from .models import EvidenceFile
from .selectors import REVOKED, inbound_messages, lead_evidence

FORMS = {
    "consent": ConsentForm,
    "relationship": RelationshipForm,
    "number_check": NumberCheckForm,
    "disclosure": DisclosureForm,
}
SAVED = {
    "consent": "Recorded the written consent for {number}.",
    "relationship": "Recorded the relationship.",
    "number_check": "Recorded the reassigned-number check for {number}.",
    "disclosure": "Recorded the written interest disclosure.",
    "revoke": "Revoked: the record stays on file, and no rule relies on it from now on.",
}
UNREADABLE = "That form could not be read; reload the page and try again."


def _form_errors(form, error: ValidationError) -> None:
    """A service's ValidationError on the field it names, or above the form."""
    errors = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for field, field_errors in errors.items():
        form.add_error(field if field in form.fields else None, field_errors)


def can_disclose(user, lead) -> bool:
    """The principal on their own lead, or their team lead or the broker for them (F8)."""
    principal = disclosure_principal(lead)
    return principal is not None and (principal.pk == user.pk or user.has_perm(Perm.VIEW_TEAM_LEADS))


def evidence_card_context(request, lead, *, bound: tuple[str, object] | None = None, saved: str = "",
                          revoke_bound: tuple[str, int, object] | None = None) -> dict:
    """Everything the card shows: the records with their states and the forms to add or revoke."""
    user = request.user
    evidence = lead_evidence(lead=lead, fetched_by=user)
    # An erased lead's numbers are gone: no consent or relationship to record for them
    # (docs/privacy.md#an-erased-lead).
    can_record = user.has_perm(Perm.RECORD_EVIDENCE) and lead.erased_at is None
    can_revoke = user.has_perm(Perm.REVOKE_EVIDENCE)
    forms = {}
    if can_record:
        for kind, form_class in FORMS.items():
            if kind == "disclosure" and not can_disclose(user, lead):
                continue
            extra = {"inbound": inbound_messages(lead=lead)} if kind == "consent" else {}
            forms[kind] = form_class(prefix=kind, lead=lead, **extra)
    refusals = []
    if bound and bound[0] in forms:
        forms[bound[0]] = bound[1]
    elif bound:
        # A form the card does not offer this user (a disclosure on a seller agent's lead):
        # say why above the card rather than on a form nobody sees.
        refusals = [error for errors in bound[1].errors.values() for error in errors]
    for rows in (evidence.consents, evidence.relationships, evidence.number_checks, evidence.disclosures):
        for row in rows:
            if can_revoke and row.state != REVOKED:
                key = (row.kind, row.record.pk)
                row.revoke_form = (revoke_bound[2] if revoke_bound and revoke_bound[:2] == key
                                   else RevokeForm(prefix=f"revoke-{row.kind}-{row.record.pk}"))
                row.revoke_open = bool(revoke_bound and revoke_bound[:2] == key)
    return {
        "lead": lead,
        "request": request,
        "evidence": evidence,
        "forms": forms,
        "open_form": bound[0] if bound else "",
        "can_record": can_record,
        "can_revoke": can_revoke,
        "principal": disclosure_principal(lead),
        "saved": saved,
        "refusals": refusals,
    }


def posted_id(request, name: str) -> int:
    """A row id from the form; anything but a number is a 404 like any other wrong id."""
    value = request.POST.get(name, "")
    if not value.isdigit():
        raise Http404(f"No such {name}.")
    return int(value)


class LeadEvidenceView(LoginRequiredMixin, TemplateView):
    """The card as a page of its own (the forms' fallback without JavaScript) and the target
    of every form of the card."""

    template_name = "compliance/lead_evidence.html"
    partial_template_name = "compliance/partials/_evidence_card.html"
    # action -> permission; the handler is ``record`` for the kinds, ``revoke`` for a revocation.
    actions = {**dict.fromkeys(FORMS, Perm.RECORD_EVIDENCE), "revoke": Perm.REVOKE_EVIDENCE}

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.lead = lead_get(fetched_by=request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_template_names(self):
        return [self.partial_template_name if self.request.htmx else self.template_name]

    def get_context_data(self, **kwargs):
        card = evidence_card_context(self.request, self.lead, bound=kwargs.pop("bound", None),
                                     saved=kwargs.pop("saved", ""), revoke_bound=kwargs.pop("revoke_bound", None))
        if not kwargs.get("open_form") and self.request.GET.get("add") in card["forms"]:
            card["open_form"] = self.request.GET["add"]  # the "Add" link without JavaScript
        return super().get_context_data(**card, **kwargs)

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        if action not in self.actions:
            messages.error(request, UNREADABLE)
            return HttpResponseRedirect(request.path)
        if not request.user.has_perm(self.actions[action]):
            raise PermissionDenied
        return self.revoke(request) if action == "revoke" else self.record(request, action)

    def saved(self, message: str):
        if self.request.htmx:
            return self.render_to_response(self.get_context_data(saved=message))
        messages.success(self.request, message)
        return HttpResponseRedirect(reverse("leads:detail", args=[self.lead.pk]) + "#evidence")

    def again(self, **bound):
        # htmx swaps only a 2xx answer: the card comes back with the errors in place.
        return self.render_to_response(self.get_context_data(**bound), status=200 if self.request.htmx else 400)

    def record(self, request, kind: str):
        extra = {"inbound": inbound_messages(lead=self.lead)} if kind == "consent" else {}
        form = FORMS[kind](request.POST, request.FILES, prefix=kind, lead=self.lead, **extra)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                if kind == "consent":
                    consent_record(lead=self.lead, recorded_by=request.user, **data)
                elif kind == "relationship":
                    relationship_record(lead=self.lead, recorded_by=request.user, **data)
                elif kind == "number_check":
                    reassigned_number_check_record(lead=self.lead, recorded_by=request.user, **data)
                else:
                    interest_disclosure_record(lead=self.lead, recorded_by=request.user, **data)
            except ValidationError as error:
                _form_errors(form, error)
            else:
                return self.saved(SAVED[kind].format(number=format_national(form.cleaned_data.get("phone_number", ""))))
        return self.again(bound=(kind, form))

    def revoke(self, request):
        kind = request.POST.get("kind", "")
        if kind not in EVIDENCE_KINDS:
            raise Http404("No such record.")
        # A record of another lead is a 404, whatever the form claims (one merged into this
        # lead is this lead's: its card shows it, and the gate still reads it by number).
        records = EVIDENCE_KINDS[kind].objects.filter(lead__in=lead_ids_with_merged(self.lead))
        record = get_object_or_404(records, pk=posted_id(request, "record"))
        form = RevokeForm(request.POST, prefix=f"revoke-{kind}-{record.pk}")
        if form.is_valid():
            try:
                evidence_revoke(lead=self.lead, record=record, reason=form.cleaned_data["reason"],
                                revoked_by=request.user)
            except ValidationError as error:
                _form_errors(form, error)
            else:
                return self.saved(SAVED["revoke"])
        return self.again(revoke_bound=(kind, record.pk, form))


class EvidenceFileView(LoginRequiredMixin, View):
    """A stored proof, only for someone who may see its lead (404 otherwise)."""

    def get(self, request, pk):
        stored = get_object_or_404(EvidenceFile.objects.visible_to(request.user), pk=pk)
        response = stored_response(stored.stored_file, content_type=stored.content_type,
                                   as_attachment=stored.content_type not in INLINE_TYPES, filename=stored.original_name)
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
        return response
