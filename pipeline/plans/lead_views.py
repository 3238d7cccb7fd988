"""A lead's action plans on the lead page: start one, pause, resume, stop; print a letter
step's letter and mark it mailed; start a plan on the leads ticked in the lead list.

Every URL names the lead (``pk``) and is looked up through ``lead_get``, so a lead the user
may not see is a 404, and an enrollment or a step run is looked up on that lead, so one
of another lead is a 404 too. With htmx a form of the card answers with the card, the
outcome said inside it; without JavaScript it posts and comes back to the lead page with
a message. A service's refusal (already in the plan, no auction date ahead) is said, never
a 500.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from compliance.selectors import lead_list
from leadcrm.accounts.models import Brokerage
from leadcrm.accounts.roles import Perm
from leads.models import Lead
from leads.selectors import lead_get
from pipeline.common import safe_next_url
from pipeline.models import EnrollmentSource, PlanEnrollment, PlanStepRun
from pipeline.outreach.letters import letter_date, signature_for

from .lead_forms import MAX_LEADS, TOO_MANY, BulkPlanForm, PlanStartForm
from .lead_selectors import lead_plans_card
from .letters import letter_author, plan_letter, plan_letter_mailed
from .services import enrollment_end, enrollment_pause, enrollment_resume, lead_enroll, leads_enroll

STARTED = "“{plan}” started: {when}."
FIRST_STEP_AT = "the first step is due {moment}"
NOTHING_TO_RUN = "no step of it is left to run for this lead"
PAUSED = "“{plan}” paused: nothing more is sent until you resume it."
RESUMED = "“{plan}” resumed: {when}."
STOPPED = "“{plan}” stopped: its remaining steps are cancelled."
LOGGED = "{count} letter{s} logged as mailed through the compliance check; the follow-up is done."
ALREADY_MAILED = "Already marked as mailed: nothing was logged twice."
NOT_LOGGED = "Not logged: {names}."
BULK_RESULT_KEY = "plans_bulk_result"
NO_BULK_RESULT = "Nothing to show: start a plan from the lead list first."


def _when_next(enrollment: PlanEnrollment) -> str:
    if enrollment.next_due_at is None:
        return NOTHING_TO_RUN
    local = timezone.localtime(enrollment.next_due_at)
    return FIRST_STEP_AT.format(moment=f"{local:%b} {local.day}, {local.hour % 12 or 12}:{local.minute:02d} "
                                       f"{'AM' if local.hour < 12 else 'PM'} {local:%Z}")


class LeadPlansMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """The lead the user may see (404 otherwise) and the card's answer to a form."""

    permission_required = Perm.USE_PLANS

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.lead = lead_get(fetched_by=request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def card_context(self, **extra) -> dict:
        user = self.request.user
        return {"lead": self.lead, "plans": lead_plans_card(lead=self.lead, user=user),
                "can_use_plans": True, "plans_inline": True, **extra}

    def answer(self, *, done: str = "", refused: str = ""):
        """The card with the outcome in it (htmx), or the lead page with a message."""
        if self.request.htmx:
            return render(self.request, "plans/partials/_lead_plans.html",
                          self.card_context(plans_done=done, plans_refused=refused))
        if refused:
            messages.error(self.request, refused)
        if done:
            messages.success(self.request, done)
        return HttpResponseRedirect(reverse("leads:detail", args=[self.lead.pk]) + "#plans")


class LeadPlansView(LeadPlansMixin, TemplateView):
    """The card as a page of its own (and, with htmx, the card alone)."""

    template_name = "plans/lead_plans.html"

    def get_template_names(self):
        return ["plans/partials/_lead_plans.html" if self.request.htmx else self.template_name]

    def get_context_data(self, **kwargs):
        return super().get_context_data(**self.card_context(plans_inline=bool(self.request.htmx)), **kwargs)


class PlanStartView(LeadPlansMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        form = PlanStartForm(request.POST, user=request.user)
        if not form.is_valid():
            return self.answer(refused=" ".join(form.errors["plan"]))
        plan = form.cleaned_data["plan"]
        try:
            enrollment = lead_enroll(lead=self.lead, plan=plan, actor=request.user, source=EnrollmentSource.HAND)
        except ValidationError as error:
            return self.answer(refused=" ".join(error.messages))
        return self.answer(done=STARTED.format(plan=plan.name, when=_when_next(enrollment)))


class EnrollmentActionView(LeadPlansMixin, View):
    """Pause, resume or stop one of the lead's plans (``action`` in the URL)."""

    http_method_names = ["post"]
    action = ""

    def post(self, request, pk, enrollment):
        found = get_object_or_404(PlanEnrollment.objects.select_related("plan"), pk=enrollment, lead=self.lead)
        name = found.plan.name
        try:
            if self.action == "pause":
                enrollment_pause(enrollment=found, actor=request.user)
                return self.answer(done=PAUSED.format(plan=name))
            if self.action == "resume":
                resumed = enrollment_resume(enrollment=found, actor=request.user)
                return self.answer(done=RESUMED.format(plan=name, when=_when_next(resumed).replace(
                    "the first step", "the next step")))
            enrollment_end(enrollment=found, actor=request.user)
            return self.answer(done=STOPPED.format(plan=name))
        except ValidationError as error:
            return self.answer(refused=" ".join(error.messages))


def _letter_run(lead: Lead, run_id: int) -> PlanStepRun:
    return get_object_or_404(
        PlanStepRun.objects.select_related("enrollment__plan", "step", "follow_up", "agent", "lead__assigned_agent"),
        pk=run_id, lead=lead)


class LetterPrintView(LeadPlansMixin, View):
    """The letter step's letters as they print, one per mailing address, with "Mark mailed"."""

    def get(self, request, pk, run):
        found = _letter_run(self.lead, run)
        try:
            merge = plan_letter(run=found)
        except ValidationError as error:
            return self.answer(refused=" ".join(error.messages))
        brokerage = Brokerage.objects.current()
        author = letter_author(found) or request.user
        return render(request, "plans/lead_letter_print.html", {
            "lead": self.lead, "run": found, "plan": found.enrollment.plan, "merge": merge, "pieces": merge.pieces,
            "template": {"kind": "letter", "name": found.enrollment.plan.name}, "brokerage": brokerage,
            "signature": signature_for(author, brokerage), "letter_date": letter_date(),
            "mailed": bool(found.attempt_id or (found.follow_up and found.follow_up.done_at)),
            "back": reverse("leads:detail", args=[self.lead.pk]) + "#plans",
        })


class LetterMailedView(LeadPlansMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk, run):
        found = _letter_run(self.lead, run)
        try:
            result = plan_letter_mailed(run=found, actor=request.user)
        except ValidationError as error:
            return self.answer(refused=" ".join(error.messages))
        refused = ""
        if result.refused:
            refused = NOT_LOGGED.format(names="; ".join(
                f"{names or 'the owner'} ({', '.join(rules) + ': ' if rules else ''}{reason})"
                for names, reason, rules in result.refused))
        done = ""
        if result.logged:
            done = LOGGED.format(count=result.logged, s="s" if result.logged != 1 else "")
        elif result.already:
            done = ALREADY_MAILED
        return self.answer(done=done, refused=refused)


# Bulk: the lead list's "Start an action plan" -------------------------------------------------


class BulkPlanStartView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Start a plan on the ticked leads (or every lead matching the filter, at most
    ``MAX_LEADS``); the result page lists each lead not put in, with why."""

    permission_required = Perm.USE_PLANS
    http_method_names = ["post"]

    def post(self, request):
        back = safe_next_url(request, reverse("leads:list"))
        form = BulkPlanForm(request.POST, user=request.user)
        if not form.is_valid():
            errors = [e for field_errors in form.errors.values() for e in field_errors]
            messages.error(request, "No plan started: " + " ".join(errors))
            return HttpResponseRedirect(back)
        data = form.cleaned_data
        if data["all_matching"]:
            matching, _filter = lead_list(fetched_by=request.user, filters=QueryDict(data["query"]))
            leads = list(matching[:MAX_LEADS + 1])
            if len(leads) > MAX_LEADS:
                messages.error(request, "No plan started: " + TOO_MANY.format(limit=MAX_LEADS))
                return HttpResponseRedirect(back)
        else:
            ids = set(data["leads"])
            leads = list(Lead.objects.visible_to(request.user).filter(pk__in=ids).select_related("property"))
            if len(leads) != len(ids):
                raise Http404("No such lead.")  # one forged id spoils the batch, as in the list's other actions
        plan = data["plan"]
        outcome = leads_enroll(leads=leads, plan=plan, actor=request.user)
        request.session[BULK_RESULT_KEY] = {
            "plan": plan.name, "enrolled": outcome.enrolled, "back": back,
            "refused": [[lead.pk, reason] for lead, reason in outcome.refused],
        }
        return HttpResponseRedirect(reverse("plans:bulk_result"))


class BulkPlanResultView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """What the last bulk start did (kept in the session, so a reload starts nothing)."""

    permission_required = Perm.USE_PLANS
    template_name = "plans/lead_bulk_result.html"

    def get_context_data(self, **kwargs):
        result = self.request.session.get(BULK_RESULT_KEY)
        context = super().get_context_data(**kwargs)
        if not result:
            return {**context, "result": None, "empty": NO_BULK_RESULT, "back": reverse("leads:list")}
        ids = [lead_id for lead_id, _reason in result["refused"]]
        # Read again through the user's scope: a lead no longer theirs is not named.
        leads = {lead.pk: lead for lead in Lead.objects.visible_to(self.request.user).filter(pk__in=ids)
                 .select_related("property")}
        refused = [(leads.get(lead_id), reason) for lead_id, reason in result["refused"]]
        reasons: dict[str, int] = {}
        for _lead, reason in refused:
            reasons[reason] = reasons.get(reason, 0) + 1
        return {**context, "result": result, "refused": refused, "reasons": sorted(reasons.items(), key=lambda r: -r[1]),
                "back": result.get("back") or reverse("leads:list")}
