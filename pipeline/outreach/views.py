"""Outreach pages: log an attempt (with the gate's verdict as the form stands), add a note."""

import zoneinfo

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views import View

from compliance.disclosures import role_disclosure_sentence
from compliance.models import Purpose, Technology, Verdict
from compliance.services import outreach_preview
from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.roles import Perm
from leads.selectors import lead_get
from pipeline.common import LeadFormView

from .forms import LeadNoteForm, OutreachLogForm
from .services import OutreachBlocked, lead_note_add, outreach_log

LOGGED = "Logged: {outcome} ({channel})."


DISCLOSURE_RULES = {"D3", "F8"}


STOP_RECORDED = "The homeowner's words read as a request to stop: the number is on the internal list for everyone now."


REVIEW_RAISED = "The homeowner's words may mean “stop”: a broker will review them; until then, don't pitch."


class OutreachLogView(LeadFormView):
    permission_required = Perm.LOG_OUTREACH
    form_class = OutreachLogForm
    template_name = "pipeline/outreach_form.html"
    partial_template_name = "pipeline/partials/_outreach_form.html"

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        disclosure = role_disclosure_sentence(
            actor=self.request.user, brokerage=Brokerage.objects.current(), lead=self.lead
        )
        return {**kwargs, "lead": self.lead, "user": self.request.user, "disclosure_sentence": disclosure}

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            attempt = outreach_log(
                lead=self.lead,
                channel=data["channel"],
                contact_point=form.contact_point,
                outcome=data["outcome"],
                actor=self.request.user,
                role_disclosed=data["role_disclosed"],
                purpose=data["purpose"],
                notes=data["notes"],
                homeowner_words=data["homeowner_words"],
                follow_up_at=data["follow_up_at"],
                follow_up_title=data["follow_up_title"],
                technology=data["technology"],
                direction=form.direction,
                corrects=data["corrects"],
                # A correction restates what happened then, at the time it happened.
                occurred_at=data["corrects"].occurred_at if data["corrects"] else None,
            )
        except OutreachBlocked as blocked:
            return self.render_to_response(
                self.get_context_data(
                    form=form, decision=blocked.decision, stop_recorded=blocked.stop_recorded
                )
            )
        except ValidationError as error:
            form.add_service_error(error)
            return self.form_invalid(form)
        message = LOGGED.format(outcome=attempt.get_outcome_display(), channel=attempt.get_channel_display())
        if attempt.stop_recorded:
            message += " " + STOP_RECORDED
        elif attempt.review_raised:
            message += " " + REVIEW_RAISED
        follow_up = getattr(attempt, "follow_up", None)
        if follow_up is not None and follow_up.requested_at is not None:
            message += " " + FOLLOW_UP_MOVED.format(
                when=timezone.localtime(follow_up.due_at, zoneinfo.ZoneInfo(self.request.user.time_zone))
                .strftime("%a %b %-d, %-I:%M %p %Z"))
        return self.succeed(message)


FOLLOW_UP_MOVED = ("The follow-up is due {when} your time: the first moment the homeowner may lawfully be "
                   "called in all their time zones (D1, E1).")


class OutreachPreviewView(OutreachLogView):
    """The gate's verdict for the form as it stands, before anything is logged (htmx)."""

    http_method_names = ["post"]
    template_name = partial_template_name = "pipeline/partials/_verdict.html"

    def post(self, request, *args, **kwargs):
        form = self.get_form()
        form.is_valid()  # the outcome and notes may still be empty; the check needs the rest
        data = form.cleaned_data
        decision = None
        if data.get("channel") and form.contact_point is not None:
            # Asked on every change of the form: never recorded, never counted as a block.
            decision = outreach_preview(
                lead=self.lead, contact_point=form.contact_point, channel=data["channel"],
                purpose=data.get("purpose") or Purpose.LISTING, actor=request.user,
                role_disclosed=data.get("role_disclosed", False), message=data.get("notes", ""),
                technology=data.get("technology") or Technology.MANUAL, direction=form.direction,
            )
        # A fresh form has not confirmed the disclosure yet: if nothing else blocks, say
        # "clear once you have said who you are" rather than a red refusal.
        blocks = decision.findings_with(Verdict.BLOCK) if decision else []
        disclosure_pending = bool(blocks) and all(f.rule in DISCLOSURE_RULES for f in blocks)
        return self.render_to_response(
            {"lead": self.lead, "decision": decision, "disclosure_pending": disclosure_pending}
        )


class LeadNoteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = Perm.ADD_NOTES
    http_method_names = ["post"]

    def post(self, request, pk):
        lead = lead_get(fetched_by=request.user, pk=pk)
        form = LeadNoteForm(request.POST)
        if form.is_valid():
            lead_note_add(lead=lead, author=request.user, body=form.cleaned_data["body"])
            messages.success(request, "Note added.")
        else:
            messages.error(request, " ".join(form.errors.get("body", ["The note could not be read."])))
        return HttpResponseRedirect(reverse("leads:detail", args=[lead.pk]) + "#timeline")
