import zoneinfo

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import FormView, TemplateView
from django_htmx.http import HttpResponseClientRedirect

from compliance.disclosures import role_disclosure_sentence
from compliance.models import Purpose, Technology, Verdict
from compliance.services import outreach_preview
from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.roles import Perm
from leadcrm.rows import pk_url, short_moment
from leads.selectors import lead_get, lead_stage_counts

from .forms import LeadNoteForm, OutreachLogForm, StageChangeForm
from .models import FollowUp, FollowUpKind
from .selectors import AgendaItem, agent_workload, follow_up_agenda, recent_outreach
from .services import (
    OutreachBlocked,
    StageChangeRefused,
    follow_up_complete,
    lead_note_add,
    lead_stage_change,
    outreach_log,
)
from .stages import stage_advice

LOGGED = "Logged: {outcome} ({channel})."
DISCLOSURE_RULES = {"D3", "F8"}
STOP_RECORDED = "The homeowner's words read as a request to stop: the number is on the internal list for everyone now."
REVIEW_RAISED = "The homeowner's words may mean “stop”: a broker will review them; until then, don't pitch."
MOVED = "Moved to {stage}."


def safe_next_url(request, fallback: str) -> str:
    """The posted ``next`` if it stays on this site, else ``fallback`` (no open redirect)."""
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return next_url
    return fallback


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "pipeline/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        stage_counts = lead_stage_counts(fetched_by=user)
        agenda = follow_up_agenda(user=user)
        _prepare_agenda([*agenda.overdue, *agenda.today, *agenda.upcoming])
        context.update(
            stage_counts=stage_counts,
            open_total=sum(c.count for c in stage_counts if c.stage not in ("closed", "dead")),
            agenda=agenda,
            recent=recent_outreach(fetched_by=user),
            workload=agent_workload(fetched_by=user),
        )
        return context


FOLLOW_UP_KINDS = dict(FollowUpKind.choices)


def _prepare_agenda(items: list[AgendaItem]) -> None:
    """Work out what each follow-up's line on the dashboard shows, once here (the lines
    are a Jinja2 fragment that only places them: ``jinja2/pipeline/agenda_items.html``)."""
    lead_url, done_url = pk_url("leads:detail"), pk_url("pipeline:follow_up_done")
    for item in items:
        item.lead_url, item.done_url = lead_url(item.lead_id), done_url(item.pk)
        item.kind_label = FOLLOW_UP_KINDS.get(item.kind, item.kind)
        item.due_label = short_moment(item.due_at, weekday=True)
        item.due_full = short_moment(item.due_at, weekday=True, year=True)


class LeadFormView(LoginRequiredMixin, PermissionRequiredMixin, FormView):
    """A form about one lead the user may see (404 otherwise), posted from the lead page.

    With htmx the form card is swapped in place; without JavaScript the same form is a
    page of its own. Success goes back to the lead page.
    """

    partial_template_name: str

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.lead = lead_get(fetched_by=request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_template_names(self):
        return [self.partial_template_name if self.request.htmx else self.template_name]

    def get_context_data(self, **kwargs):
        # Working down the call queue: keep offering "Log and next" after a refusal.
        from_queue = self.request.POST.get("queue") == "1" or self.request.GET.get("queue") == "1"
        return super().get_context_data(lead=self.lead, from_queue=from_queue, **kwargs)

    def succeed(self, message: str):
        messages.success(self.request, message)
        url = reverse("leads:detail", args=[self.lead.pk])
        if self.request.POST.get("then") == "next":
            # "Log and next": on to the following lead of the call queue.
            url = reverse("pipeline:queue_next") + f"?after={self.lead.pk}"
        if self.request.htmx:
            return HttpResponseClientRedirect(url)
        return HttpResponseRedirect(url)


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
        return self.succeed(MOVED.format(stage=lead.get_stage_display()))


class FollowUpCompleteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = Perm.MANAGE_FOLLOW_UPS
    http_method_names = ["post"]

    def post(self, request, pk):
        follow_up = get_object_or_404(FollowUp.objects.visible_to(request.user), pk=pk)
        follow_up_complete(follow_up=follow_up)
        messages.success(request, f"Done: {follow_up.title}.")
        return HttpResponseRedirect(safe_next_url(request, reverse("pipeline:dashboard")))


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
