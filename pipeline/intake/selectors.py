"""Reading seller forms and their submissions: the broker's pages, and a lead page's card."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from compliance.models import ConsentRecord
from leadcrm.accounts.models import User
from leadcrm.accounts.roles import Perm
from leads.models import Lead
from pipeline.models import FormSubmission, SellerForm, SubmissionOutcome


def _outcome_counts() -> dict:
    return {f"n_{outcome.value}": Count("submissions", filter=Q(submissions__outcome=outcome))
            for outcome in SubmissionOutcome}


def seller_form_list(*, fetched_by: User) -> QuerySet[SellerForm]:
    """Every form with its submissions counted by outcome, in one query."""
    if not fetched_by.has_perm(Perm.MANAGE_SELLER_FORMS):
        return SellerForm.objects.none()
    return SellerForm.objects.select_related("owner", "plan").annotate(**_outcome_counts()).order_by("name", "pk")


def seller_form_get(*, fetched_by: User, pk: int) -> SellerForm:
    form = seller_form_list(fetched_by=fetched_by).filter(pk=pk).first()
    if form is None:
        raise Http404("No such form.")
    return form


def seller_form_public(key: str) -> SellerForm:
    """The active form of this key, its owner still able to take leads; 404 for any other."""
    form = SellerForm.objects.select_related("owner", "plan").filter(key=key, is_active=True).first()
    if form is None or not form.owner.is_active or not form.owner.has_perm(Perm.MANAGE_SELLER_FORMS):
        raise Http404("No such form.")
    return form


def form_submissions(*, form: SellerForm, fetched_by: User) -> QuerySet[FormSubmission]:
    """A form's submissions, newest first, each with its lead's address when the reader may see it."""
    return (FormSubmission.objects.filter(form=form).select_related("lead__property")
            .order_by("-received_at", "-pk"))


def visible_lead_ids(*, user: User, lead_ids) -> set[int]:
    ids = {pk for pk in lead_ids if pk}
    if not ids:
        return set()
    return set(Lead.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True))


@dataclass
class FormCard:
    """A lead page's "From the seller form" card."""

    submissions: list[FormSubmission]
    consents: list[ConsentRecord]
    also_on: list[Lead]  # other leads of the same homeowner the reader may see

    def __bool__(self) -> bool:
        return bool(self.submissions)


def lead_form_card(*, lead: Lead, user: User) -> FormCard:
    """What the seller form brought in on this lead; the homeowner's other leads only when
    the reader may see them (an agent never learns of a lead that is not theirs)."""
    submissions = list(FormSubmission.objects.filter(lead=lead, outcome__in=[SubmissionOutcome.CREATED,
                                                                             SubmissionOutcome.MATCHED])
                       .select_related("form").order_by("-received_at")[:5])
    if not submissions:
        return FormCard([], [], [])
    consents = list(ConsentRecord.objects.not_revoked().filter(lead=lead, method__startswith="Web form")
                    .order_by("-obtained_at", "phone_number"))
    other = {pk for submission in submissions for pk in submission.also_on_leads if pk != lead.pk}
    also_on = list(Lead.objects.visible_to(user).filter(pk__in=other).select_related("property").order_by("pk"))
    return FormCard(submissions, consents, also_on)
