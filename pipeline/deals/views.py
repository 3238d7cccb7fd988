"""The short sale's pages for one lead: the lien stack, the package and the offers.

Each page shows everything about its part of the deal with the forms to change it; a
form posts back to its page with an ``action`` naming it. A refused or invalid form comes
back on the page with its errors, a saved one redirects (post/redirect/get).
"""

from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from compliance.transactions import ComplianceRefusal
from leadcrm.accounts.roles import Perm
from leadcrm.shared.uploads import INLINE_TYPES, stored_response
from leads.models import Lien
from leads.selectors import lead_get
from leads.services import lien_create
from pipeline.common import LeadFormView, add_service_error
from pipeline.models import (
    ApprovalLetter,
    DocumentKind,
    DocumentStatus,
    DocumentUpload,
    Fee,
    FeeStatus,
    LenderMilestone,
    Milestone,
    Offer,
    OfferStatus,
)

from .documents import checklist_item_update, document_upload, package_checklist
from .fees import (
    FEE_TOO_EARLY_WHAT_TO_DO,
    approval_letter_homeowner_accept,
    fee_mark_due,
    fee_mark_paid,
    fee_record,
    fee_waive,
    lender_offer_accepted_at,
)
from .forecast.lead import forecast_for
from .forms import (
    ApprovalLetterForm,
    ChecklistItemForm,
    ContractSignedForm,
    DocumentUploadForm,
    FeeDueForm,
    FeeForm,
    FeePaidForm,
    HomeownerAcceptanceForm,
    LenderFileForm,
    LienForm,
    MilestoneCorrectionForm,
    MilestoneForm,
    NegotiatorForm,
    NetSheetForm,
    OfferForm,
    PurchaseMathForm,
    StageChangeForm,
)
from .lenders import (
    BackwardStep,
    approval_letter_record,
    latest_letters,
    lender_file_update,
    lien_stack,
    milestone_correct,
    milestone_record,
    negotiator_assign,
)
from .offers import (
    DISCLOSURE_WHAT_TO_DO,
    net_sheet,
    offer_contract_signed,
    offer_create,
    offer_disclosure_check,
    offer_set_status,
)
from .purchase import REPAIRS_UNKNOWN, equity_purchase_cancel_window, is_investor_purchase, purchase_math_for
from .services import StageChangeRefused, lead_stage_change
from .stages import stage_advice


def posted_id(request, name: str) -> int:
    """A row id from the form; anything but a number is a 404 like any other wrong id."""
    value = request.POST.get(name, "")
    if not value.isdigit():
        raise Http404(f"No such {name}.")
    return int(value)


class DealPageView(LoginRequiredMixin, TemplateView):
    """One lead's page of the deal (404 unless the user may see the lead)."""

    # action -> (permission, handler method name)
    actions: dict[str, tuple[str, str]] = {}
    section: str

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.lead = lead_get(fetched_by=request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(lead=self.lead, section=self.section, forecast=forecast_for(self.lead),
                       today=timezone.localdate())
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action", "")
        if action not in self.actions:
            messages.error(request, "That form could not be read; reload the page and try again.")
            return HttpResponseRedirect(request.path)
        permission, handler = self.actions[action]
        if not request.user.has_perm(permission):
            raise PermissionDenied
        return getattr(self, handler)(request)

    def saved(self, message: str, anchor: str = ""):
        messages.success(self.request, message)
        return HttpResponseRedirect(self.request.path + (f"#{anchor}" if anchor else ""))

    def again(self, **bound_forms):
        """The page again, with the submitted form and its errors in place of a blank one."""
        return self.render_to_response(self.get_context_data(**bound_forms), status=400)

    def lien_from_post(self) -> Lien:
        # A lien of another lead is a 404, whatever the form claims.
        return get_object_or_404(Lien.objects.filter(lead=self.lead), pk=posted_id(self.request, "lien"))


# The lien stack ------------------------------------------------------------------------


class LendersView(DealPageView):
    template_name = "pipeline/lenders.html"
    section = "lenders"
    actions = {
        "lien": ("leads.add_lien", "add_lien"),
        "file": (Perm.WORK_LENDER_FILES, "update_file"),
        "milestone": (Perm.WORK_LENDER_FILES, "add_milestone"),
        "correct": (Perm.WORK_LENDER_FILES, "correct_milestone"),
        "negotiator": (Perm.WORK_LENDER_FILES, "add_negotiator"),
        "letter": (Perm.WORK_LENDER_FILES, "add_letter"),
    }

    def get_context_data(self, bound=None, bound_lien=None, lien_form=None, correction=None, **kwargs):
        context = super().get_context_data(**kwargs)
        stack = lien_stack(lead=self.lead)
        for entry in stack:
            pk = entry.lien.pk
            prefix = f"lien{pk}"
            entry.forms = {
                "file": LenderFileForm(instance=entry.lender_file, prefix=prefix),
                "milestone": MilestoneForm(prefix=prefix, next_step=entry.next_step),
                "negotiator": NegotiatorForm(prefix=prefix),
                "letter": ApprovalLetterForm(prefix=prefix, lien=entry.lien),
            }
            if bound and bound_lien == pk:
                entry.forms.update(bound)
                entry.open_form = next(iter(bound))
            for milestone in entry.history:
                milestone.correctable = milestone.correction is None and milestone.kind not in (
                    Milestone.APPROVED, Milestone.NEGOTIATOR_ASSIGNED)
                milestone.correction_form = (correction[1] if correction and correction[0] == milestone.pk
                                             else MilestoneCorrectionForm(prefix=f"m{milestone.pk}"))
        reached = [entry.reached for entry in stack]
        context.update(
            stack=stack,
            # Each step of the process, where every lien's file stands on it.
            side_by_side=[(label, [steps.get(kind) for steps in reached]) for kind, label in Milestone.choices],
            lien_form=lien_form or LienForm(initial={"position": len(stack) + 1}),
            can_work=self.request.user.has_perm(Perm.WORK_LENDER_FILES),
            can_add_lien=self.request.user.has_perm("leads.add_lien"),
        )
        return context

    def add_lien(self, request):
        form = LienForm(request.POST)
        if form.is_valid():
            try:
                lien = lien_create(lead=self.lead, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                return self.saved(f"Added the {lien.position_label} lien.", f"lien-{lien.pk}")
        return self.again(lien_form=form)

    def _lien_form(self, request, action, form_class, save, message):
        lien = self.lien_from_post()
        kwargs = {"lien": lien} if form_class is ApprovalLetterForm else {}
        if form_class is LenderFileForm:
            kwargs = {"instance": getattr(lien, "lender_file", None)}
        form = form_class(request.POST, prefix=f"lien{lien.pk}", **kwargs)
        if form.is_valid():
            try:
                save(lien, form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                return self.saved(message.format(lien=lien.position_label), f"lien-{lien.pk}")
        return self.again(bound={action: form}, bound_lien=lien.pk)

    def update_file(self, request):
        return self._lien_form(request, "file", LenderFileForm,
                               lambda lien, data: lender_file_update(lien=lien, **data),
                               "Saved the {lien} lien's lender file.")

    def add_milestone(self, request):
        lien = self.lien_from_post()
        form = MilestoneForm(request.POST, prefix=f"lien{lien.pk}")
        if form.is_valid():
            try:
                milestone_record(lien=lien, actor=request.user, **form.cleaned_data)
            except BackwardStep as question:
                # Not saved: the form comes back asking, with "Yes, record it" to confirm.
                form.backward_question = " ".join(question.messages)
                form.backward_step = Milestone(form.cleaned_data["kind"]).label
                return self.render_to_response(self.get_context_data(bound={"milestone": form}, bound_lien=lien.pk))
            except ValidationError as error:
                add_service_error(form, error)
            else:
                return self.saved(f"Recorded on the {lien.position_label} lien's file.", f"lien-{lien.pk}")
        return self.again(bound={"milestone": form}, bound_lien=lien.pk)

    def correct_milestone(self, request):
        # A step of another lead's file is a 404, whatever the form claims.
        milestone = get_object_or_404(LenderMilestone.objects.filter(lender_file__lead=self.lead).select_related(
            "lender_file__lien"), pk=posted_id(request, "milestone"))
        form = MilestoneCorrectionForm(request.POST, prefix=f"m{milestone.pk}")
        if form.is_valid():
            try:
                milestone_correct(milestone=milestone, reason=form.cleaned_data["reason"], actor=request.user)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                lien = milestone.lender_file.lien
                return self.saved(f"Struck out “{milestone.get_kind_display()}” on the {lien.position_label} lien's "
                                  "file; it stays in the history, crossed out.", f"lien-{lien.pk}")
        return self.again(correction=(milestone.pk, form))

    def add_negotiator(self, request):
        return self._lien_form(request, "negotiator", NegotiatorForm,
                               lambda lien, data: negotiator_assign(lien=lien, actor=request.user, **data),
                               "The {lien} lien's file has a new contact; the previous one is kept in its history.")

    def add_letter(self, request):
        return self._lien_form(request, "letter", ApprovalLetterForm,
                               lambda lien, data: approval_letter_record(lien=lien, actor=request.user, **data),
                               "Recorded the {lien} lien's approval letter.")


# The package ---------------------------------------------------------------------------


class DocumentsView(DealPageView):
    template_name = "pipeline/documents.html"
    section = "documents"
    actions = {
        "status": (Perm.MANAGE_DOCUMENTS, "set_status"),
        "upload": (Perm.MANAGE_DOCUMENTS, "upload"),
    }

    def get_context_data(self, bound=None, bound_key=None, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = package_checklist(lead=self.lead)
        for row in rows:
            row.key = f"{row.kind}-{row.lien.pk if row.lien else 0}"
            item = row.item
            row.status_form = ChecklistItemForm(prefix=row.key, kind=row.kind, initial={
                "status": row.status, "dated_on": item.dated_on if item else None, "note": item.note if item else "",
            })
            row.upload_form = DocumentUploadForm(prefix=f"{row.key}-up", kind=row.kind)
            if bound and bound_key == row.key:
                setattr(row, f"{bound[0]}_form", bound[1])
                row.open_form = bound[0]
                bound_key = None
        if bound and bound_key is not None:
            # No row of the checklist for that pairing (a lien on a whole-file document):
            # say why above the page rather than on a form nobody sees.
            errors = [error for errors in bound[1].errors.values() for error in errors]
            messages.error(self.request, " ".join(errors) or "That document could not be saved.")
        context.update(
            rows=rows,
            missing=sum(1 for row in rows if row.needs_action),
            can_manage=self.request.user.has_perm(Perm.MANAGE_DOCUMENTS),
            max_mb=settings.LEADCRM_DOCUMENT_MAX_BYTES // 2**20,
        )
        return context

    def _target(self):
        kind = self.request.POST.get("kind", "")
        if kind not in DocumentKind.values:
            raise Http404("No such document.")
        lien = None
        if self.request.POST.get("lien"):
            lien = self.lien_from_post()
        return DocumentKind(kind), lien, f"{kind}-{lien.pk if lien else 0}"

    def set_status(self, request):
        kind, lien, key = self._target()
        held = self.lead.checklist.filter(kind=kind, lien=lien).values_list("dated_on", flat=True).first()
        form = ChecklistItemForm(request.POST, prefix=key, kind=kind, dated_on_file=held)
        if form.is_valid():
            try:
                checklist_item_update(lead=self.lead, kind=kind, lien=lien, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                status = DocumentStatus(form.cleaned_data["status"]).label.lower()
                return self.saved(f"{kind.label}: {status}.", key)
        return self.again(bound=("status", form), bound_key=key)

    def upload(self, request):
        kind, lien, key = self._target()
        form = DocumentUploadForm(request.POST, request.FILES, prefix=f"{key}-up", kind=kind)
        if form.is_valid():
            try:
                document_upload(lead=self.lead, kind=kind, lien=lien, actor=request.user,
                                file=form.cleaned_data["file"], dated_on=form.cleaned_data["dated_on"])
            except ValidationError as error:
                add_service_error(form, error)
            else:
                return self.saved(f"{kind.label}: received, to review.", key)
        return self.again(bound=("upload", form), bound_key=key)


class DocumentDownloadView(LoginRequiredMixin, View):
    """A stored document, only for someone who may see its lead (404 otherwise)."""

    def get(self, request, pk):
        upload = get_object_or_404(DocumentUpload.objects.visible_to(request.user), pk=pk)
        response = stored_response(upload.stored_file, content_type=upload.content_type,
                                   as_attachment=upload.content_type not in INLINE_TYPES, filename=upload.original_name)
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
        return response


# Offers and the net sheet --------------------------------------------------------------


class OffersView(DealPageView):
    template_name = "pipeline/offers.html"
    section = "offers"
    actions = {
        "offer": (Perm.MANAGE_OFFERS, "add_offer"),
        "status": (Perm.MANAGE_OFFERS, "set_status"),
        "signed": (Perm.MANAGE_OFFERS, "record_signed"),
        "fee": (Perm.MANAGE_OFFERS, "add_fee"),
        "fee_due": (Perm.MANAGE_OFFERS, "mark_fee_due"),
        "fee_paid": (Perm.MANAGE_OFFERS, "mark_fee_paid"),
        "fee_waive": (Perm.MANAGE_OFFERS, "waive_fee"),
        "accepted": (Perm.WORK_LENDER_FILES, "record_acceptance"),
    }

    def get_context_data(self, offer_form=None, fee_form=None, signed_form=None, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self._rules_context(fee_form, signed_form))
        # The accepted offer, the backups in their order, then the rest newest first.
        rank = {OfferStatus.ACCEPTED: 0, OfferStatus.BACKUP: 1, OfferStatus.PENDING: 2}
        offers = sorted(Offer.objects.filter(lead=self.lead),
                        key=lambda o: (rank.get(o.status, 3), o.backup_rank or 0, -o.received_on.toordinal(), -o.pk))
        accepted = next((o for o in offers if o.status == OfferStatus.ACCEPTED), None)
        investor = is_investor_purchase(self.lead)
        what_if = (PurchaseMathForm if investor else NetSheetForm)(self.request.GET or None)
        inputs = {}
        if what_if.is_bound:
            what_if.is_valid()  # a field typed wrong is said so; the valid ones still count
            inputs = what_if.cleaned_data
        purchase = None
        if investor:
            purchase = purchase_math_for(
                lead=self.lead,
                after_repair_value=inputs.get("after_repair_value"), repairs=inputs.get("repairs"),
                holding_costs=inputs.get("holding_costs"), target_profit=inputs.get("target_profit"),
                resale_cost_rate=_rate(inputs.get("resale_cost_percent"), None),
                buying_cost_rate=_rate(inputs.get("buying_cost_percent"), None),
            )
        # An investor buys from the homeowner directly: no listing commission unless they enter one.
        commission_rate = _rate(inputs.get("commission_percent"),
                                Decimal("0") if investor else settings.LEADCRM_COMMISSION_RATE)
        closing_cost_rate = _rate(inputs.get("closing_cost_percent"), settings.LEADCRM_CLOSING_COST_RATE)
        price, source, concessions = self._price(inputs, accepted, offers, purchase)
        sheet = None
        if price:
            sheet = net_sheet(
                price=price, price_source=source, liens=list(self.lead.liens.order_by("position")),
                letters=latest_letters(lead=self.lead), commission_rate=commission_rate,
                closing_cost_rate=closing_cost_rate, buyer_concessions=concessions,
            )
        context.update(
            offers=offers,
            accepted=accepted,
            sheet=sheet,
            what_if=what_if,
            commission_percent=commission_rate * 100,
            closing_cost_percent=closing_cost_rate * 100,
            investor=investor,
            purchase=purchase,
            profit_at_price=purchase.profit_at(sheet.price) if purchase and sheet else None,
            over_maximum=sheet.price - purchase.maximum_offer if purchase and sheet else None,
            resale_cost_percent=purchase.resale_cost_rate * 100 if purchase else None,
            buying_cost_percent=purchase.buying_cost_rate * 100 if purchase else None,
            sheet_errors=_errors(what_if, SHEET_FIELDS),
            purchase_errors=_errors(what_if, PURCHASE_FIELDS),
            # Each what-if form carries the other's figures, so redoing one keeps the other.
            carry_to_sheet=_given(self.request.GET, PURCHASE_FIELDS),
            carry_to_purchase=_given(self.request.GET, SHEET_FIELDS),
            repairs_unknown=REPAIRS_UNKNOWN if purchase and not purchase.repairs_basis else "",
            offer_form=offer_form or OfferForm(),
            statuses=OfferStatus.choices,
            can_manage=self.request.user.has_perm(Perm.MANAGE_OFFERS),
        )
        return context

    def _rules_context(self, fee_form, signed_form) -> dict:
        """The money and contract rules on this page: F8's disclosure, the fees (F4) and F7."""
        lead, now = self.lead, timezone.now()
        disclosure_refusal = ""
        try:
            offer_disclosure_check(lead=lead, actor=None, on=timezone.localdate())
        except ComplianceRefusal as refusal:
            disclosure_refusal = " ".join(refusal.messages)
        fees = list(Fee.objects.filter(lead=lead).order_by("-created_at", "-pk"))
        for fee in fees:
            fee.due_form = FeeDueForm(prefix=f"fee{fee.pk}")
            fee.paid_form = FeePaidForm(prefix=f"fee{fee.pk}")
        letters = list(ApprovalLetter.objects.filter(lender_file__lead=lead).select_related("lender_file__lien")
                       .order_by("lender_file__lien__position", "-issued_on", "-pk"))
        for letter in letters:
            letter.acceptance_form = HomeownerAcceptanceForm(prefix=f"letter{letter.pk}")
        window = equity_purchase_cancel_window(lead)
        return {
            "disclosure_refusal": disclosure_refusal,
            "disclosure_what_to_do": DISCLOSURE_WHAT_TO_DO,
            "fees": fees,
            "fee_form": fee_form or FeeForm(),
            "open_fee_statuses": (FeeStatus.RECORDED, FeeStatus.DUE),
            "letters": letters,
            "lender_offer_accepted_at": lender_offer_accepted_at(lead=lead),
            "cancel_window": window,
            "cancel_window_sentence": window.sentence(now) if window else "",
            "cancel_window_open": window.is_open(now) if window else False,
            "signed_form": signed_form or ContractSignedForm(
                initial={"signed_at": timezone.localtime(window.signed_at)} if window else None),
            "can_work_lenders": self.request.user.has_perm(Perm.WORK_LENDER_FILES),
        }

    def _price(self, inputs, accepted, offers, purchase):
        if inputs.get("price"):
            # The offer's seller-paid costs still apply at another price.
            basis = accepted or next((o for o in offers if o.status == OfferStatus.PENDING), None)
            return inputs["price"], "the price you entered", basis.buyer_concessions if basis else Decimal("0")
        if accepted is not None:
            return accepted.price, f"{accepted.buyer_name}'s accepted offer", accepted.buyer_concessions
        pending = next((o for o in offers if o.status == OfferStatus.PENDING), None)
        if pending is not None:
            return pending.price, f"{pending.buyer_name}'s pending offer", pending.buyer_concessions
        if purchase is not None and purchase.maximum_offer:
            return purchase.maximum_offer, "your maximum offer (no offer yet)", Decimal("0")
        value = self.lead.property.estimated_value
        return value, "the estimated value (no offer yet)", Decimal("0")

    def add_offer(self, request):
        form = OfferForm(request.POST)
        if form.is_valid():
            try:
                offer = offer_create(lead=self.lead, actor=request.user, **form.cleaned_data)
            except ComplianceRefusal as refusal:
                form.add_error(None, [*refusal.messages, DISCLOSURE_WHAT_TO_DO])
            except ValidationError as error:
                add_service_error(form, error)
            else:
                return self.saved(f"Added {offer.buyer_name}'s offer.", f"offer-{offer.pk}")
        return self.again(offer_form=form)

    def set_status(self, request):
        offer = get_object_or_404(Offer.objects.filter(lead=self.lead), pk=posted_id(request, "offer"))
        status = request.POST.get("status", "")
        if status not in OfferStatus.values:
            messages.error(request, "Pick what to do with the offer.")
            return HttpResponseRedirect(request.path)
        try:
            offer_set_status(offer=offer, status=status, actor=request.user)
        except ComplianceRefusal as refusal:
            messages.error(request, " ".join([*refusal.messages, DISCLOSURE_WHAT_TO_DO]))
            return HttpResponseRedirect(request.path)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(request.path)
        return self.saved(f"{offer.buyer_name}'s offer: {OfferStatus(status).label.lower()}.", f"offer-{offer.pk}")

    def record_signed(self, request):
        offer = get_object_or_404(Offer.objects.filter(lead=self.lead), pk=posted_id(request, "offer"))
        form = ContractSignedForm(request.POST)
        if form.is_valid():
            try:
                offer_contract_signed(offer=offer, signed_at=form.cleaned_data["signed_at"], actor=request.user)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                return self.saved("Recorded when the purchase contract was signed.", "cancel-window")
        return self.again(signed_form=form)

    # Fees (F4) --------------------------------------------------------------------------

    def fee_from_post(self) -> Fee:
        # A fee of another lead is a 404, whatever the form claims.
        return get_object_or_404(Fee.objects.filter(lead=self.lead), pk=posted_id(self.request, "fee"))

    def add_fee(self, request):
        form = FeeForm(request.POST)
        if form.is_valid():
            try:
                fee = fee_record(lead=self.lead, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                add_service_error(form, error)
            else:
                return self.saved(f"Recorded a ${fee.amount:,.2f} fee; mark it due once the rules allow.", "fees")
        return self.again(fee_form=form)

    def _fee_step(self, request, form_class, step, done: str):
        fee = self.fee_from_post()
        form = form_class(request.POST, prefix=f"fee{fee.pk}")
        if not form.is_valid():
            messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
            return HttpResponseRedirect(request.path + "#fees")
        try:
            step(fee, form.cleaned_data)
        except ComplianceRefusal as refusal:
            messages.error(request, " ".join([*refusal.messages, FEE_TOO_EARLY_WHAT_TO_DO]))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            return self.saved(done, "fees")
        return HttpResponseRedirect(request.path + "#fees")

    def mark_fee_due(self, request):
        return self._fee_step(request, FeeDueForm,
                              lambda fee, data: fee_mark_due(fee=fee, actor=request.user, **data),
                              "The fee is marked due.")

    def mark_fee_paid(self, request):
        return self._fee_step(request, FeePaidForm,
                              lambda fee, data: fee_mark_paid(fee=fee, actor=request.user, **data),
                              "The fee is marked paid.")

    def waive_fee(self, request):
        fee = self.fee_from_post()
        try:
            fee_waive(fee=fee, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(request.path + "#fees")
        return self.saved("The fee is waived.", "fees")

    def record_acceptance(self, request):
        # A letter of another lead is a 404, whatever the form claims.
        letter = get_object_or_404(ApprovalLetter.objects.filter(lender_file__lead=self.lead),
                                   pk=posted_id(request, "letter"))
        form = HomeownerAcceptanceForm(request.POST, prefix=f"letter{letter.pk}")
        if not form.is_valid():
            messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
            return HttpResponseRedirect(request.path + "#fees")
        try:
            approval_letter_homeowner_accept(letter=letter, accepted_at=form.cleaned_data["accepted_at"],
                                             actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(request.path + "#fees")
        return self.saved("Recorded the homeowner's acceptance of the lender's written offer.", "fees")


SHEET_FIELDS = ("price", "commission_percent", "closing_cost_percent")
PURCHASE_FIELDS = ("after_repair_value", "repairs", "holding_costs", "resale_cost_percent", "buying_cost_percent",
                   "target_profit")


def _errors(form, names) -> list[str]:
    if not form.is_bound:
        return []
    return [f"{form.fields[name].label or name.replace('_', ' ').capitalize()}: {error}"
            for name in names if name in form.fields for error in form.errors.get(name, [])]


def _given(query, names) -> dict[str, str]:
    return {name: query[name] for name in names if query.get(name)}


def _rate(percent: Decimal | None, default: Decimal | None) -> Decimal | None:
    return default if percent is None else percent / 100


STAGE_MOVED = "Moved to {stage}."


class StageChangeView(LeadFormView):
    permission_required = Perm.CHANGE_STAGE
    form_class = StageChangeForm
    template_name = "pipeline/stage_form.html"
    partial_template_name = "pipeline/partials/_stage_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "lead": self.lead}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            lead = lead_stage_change(
                lead=self.lead,
                to_stage=data["to_stage"],
                actor=self.request.user,
                note=data["note"],
                dead_reason=data.get("dead_reason", ""),
                closing_date=data.get("closing_date"),
            )
        except StageChangeRefused as refused:
            form.add_error(None, refused)
            return self.form_invalid(form)
        for advice in stage_advice(lead, lead.stage, timezone.localdate()):
            messages.warning(self.request, advice)
        return self.succeed(STAGE_MOVED.format(stage=lead.get_stage_display()))
