"""The broker's compliance pages: registries, freshness, coverage, reviews, evidence export."""

import csv
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.views import View
from django.views.generic import DetailView, FormView, TemplateView

from leadcrm.accounts.models import Brokerage, User
from leadcrm.accounts.roles import Perm, Role
from leadcrm.shared.csv_export import Echo, safe_cell
from leads.merging import lead_ids_with_merged
from leads.models import Lead
from leads.selectors import lead_get

from .forms import (
    AgentListForm,
    CheckExportForm,
    DncPolicyForm,
    RegistryUploadForm,
    RelationshipTerminationForm,
)
from .models import (
    AgentDncEntry,
    AgentListSource,
    CheckMode,
    DncPolicy,
    DncSource,
    EstablishedRelationship,
    PolicyAcknowledgement,
    RegistryLoad,
    RevocationReview,
    RuleParameter,
    Verdict,
)
from .rules import RULES, rules_in_order
from .selectors import blocks_by_rule, checks_for_export, lead_area_code_coverage, registry_freshness
from .services import (
    agent_list_import,
    dnc_policy_adopt,
    dnc_policy_current,
    dnc_policy_template,
    dnc_source_for,
    policy_acknowledge,
    registry_load_create,
    relationship_terminate,
    revocation_review_decide,
)
from .tasks import registry_load_run

POLICY_CHANGED = "The procedures changed while you were reading: read the version in force and acknowledge it."
ACKNOWLEDGED = "Thank you: you can call and text homeowners now."
BLOCKS_DAYS = 7
PUBLISHED = "Published. Every agent must acknowledge the procedures of {date:%b %d, %Y} before their next call."



class BrokerOnlyMixin(LoginRequiredMixin, PermissionRequiredMixin):
    permission_required = Perm.MANAGE_REGISTRIES


class ComplianceOverviewView(BrokerOnlyMixin, TemplateView):
    template_name = "compliance/overview.html"

    def get_context_data(self, **kwargs):
        freshness = registry_freshness()
        open_leads = Lead.objects.visible_to(self.request.user).open()
        # The last seven days, today included, in the user's zone: the days the link's
        # date filter (the admin's list of checks) draws too.
        first_day = timezone.localdate() - timedelta(days=BLOCKS_DAYS - 1)
        since = datetime.combine(first_day, time.min, tzinfo=timezone.get_current_timezone())
        return super().get_context_data(
            freshness=freshness,
            needs_refresh=[row for row in freshness if row.status != "fresh"],
            coverage=lead_area_code_coverage(leads=open_leads),
            reviews=RevocationReview.objects.visible_to(self.request.user).pending()
            .select_related("lead__property", "raised_by")[:50],
            blocks=[self.block_row(rule, count, first_day) for rule, count in blocks_by_rule(since=since)],
            blocks_since=first_day,
            export_form=CheckExportForm(),
            **kwargs,
        )

    @staticmethod
    def block_row(rule: str, count: int, first_day) -> dict:
        """A rule's blocks, with a link to those checks in the evidence list (the admin's)."""
        known = RULES.get(rule)
        query = urlencode({"mode": CheckMode.LOG, "verdict": Verdict.BLOCK, "decided_by": rule,
                           "checked_at__date__gte": first_day.isoformat()})
        return {"rule": rule, "count": count, "title": known.title if known else "No rule recorded",
                "href": f"{reverse('admin:compliance_compliancecheck_changelist')}?{query}" if known else ""}


class RulesView(LoginRequiredMixin, TemplateView):
    """Every rule the gate applies, in plain English, with its source and the numbers in
    force: where every rule code shown in the app links to. Open to every signed-in user."""

    template_name = "compliance/rules.html"

    def get_context_data(self, **kwargs):
        today = timezone.localdate()
        numbers: dict[str, list[RuleParameter]] = defaultdict(list)
        for parameter in RuleParameter.objects.filter(is_active=True).order_by("rule", "key", "-effective_from"):
            if parameter.in_force(today) and not any(p.key == parameter.key for p in numbers[parameter.rule]):
                numbers[parameter.rule].append(parameter)
        sections: dict[str, list] = {}
        for rule in rules_in_order():
            sections.setdefault(rule.section, []).append((rule, numbers.get(rule.id, [])))
        return super().get_context_data(sections=list(sections.items()), **kwargs)


class RegistryListView(BrokerOnlyMixin, FormView):
    template_name = "compliance/registry_list.html"
    form_class = RegistryUploadForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            sources=DncSource.objects.order_by("kind", "name"),
            loads=RegistryLoad.objects.select_related("source", "loaded_by")[:20],
            today=timezone.localdate(),
            **kwargs,
        )

    def form_valid(self, form):
        data = form.cleaned_data
        upload = data["file"]
        try:
            source = dnc_source_for(kind=data["list_kind"], state=data["state"], name=data["name"])
            load = registry_load_create(
                source=source, kind=data["file_kind"], version_date=data["version_date"],
                content=upload, file_name=upload.name, loaded_by=self.request.user,
                area_codes=data["area_codes"].split(","),
                subscription_account_number=data["subscription_account_number"],
                subscription_expires_on=data["subscription_expires_on"],
            )
        except ValidationError as error:
            for field, errors in (error.message_dict if hasattr(error, "error_dict") else {None: error.messages}).items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        transaction.on_commit(lambda: registry_load_run.delay(load.pk))
        return HttpResponseRedirect(reverse("compliance:registry_load", args=[load.pk]))


class RegistryLoadView(BrokerOnlyMixin, DetailView):
    model = RegistryLoad
    context_object_name = "load"
    template_name = "compliance/registryload_detail.html"

    def get_queryset(self):
        return RegistryLoad.objects.select_related("source", "loaded_by")

    def get_template_names(self):
        if self.request.htmx:
            return ["compliance/partials/_load_progress.html"]
        return [self.template_name]


class ReviewDecideView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = Perm.VIEW_COMPLIANCE
    http_method_names = ["post"]

    def post(self, request, pk):
        review = get_object_or_404(RevocationReview.objects.visible_to(request.user), pk=pk)
        revoked = request.POST.get("decision") == "revoked"
        revocation_review_decide(review=review, revoked=revoked, reviewed_by=request.user)
        messages.success(request, "Put on the internal list." if revoked else "Marked as not a revocation.")
        return HttpResponseRedirect(reverse("compliance:overview"))


class CheckExportView(BrokerOnlyMixin, View):
    """Every check in a date range as CSV: the brokerage's safe-harbour evidence."""

    header = ["checked_at_utc", "verdict", "rules", "reasons", "channel", "purpose", "technology", "direction",
              "contact_point", "mode", "agent", "lead_id", "property", "registry_version_used", "data_age_days"]

    def get(self, request):
        form = CheckExportForm(request.GET)
        if not form.is_valid():
            messages.error(request, " ".join(form.errors.get("__all__", [])) or "Pick a start and an end date.")
            return HttpResponseRedirect(reverse("compliance:overview"))
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
        writer = csv.writer(Echo())

        def rows():
            yield writer.writerow(self.header)
            for check in checks_for_export(start=start, end=end).iterator(chunk_size=2000):
                freshness = check.evidence.get("freshness") or {}
                yield writer.writerow([safe_cell(value) for value in (
                    check.checked_at.astimezone(UTC).isoformat(), check.verdict, " ".join(check.rule_ids),
                    " | ".join(f["reason"] for f in check.findings), check.channel, check.purpose,
                    check.technology, check.direction, check.contact_point, check.mode, check.actor,
                    check.lead_id, check.lead.property.one_line, freshness.get("version"), freshness.get("age_days"),
                )])

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="compliance-checks-{start}-to-{end}.csv"'
        return response


class ProceduresView(LoginRequiredMixin, FormView):
    """The written Do Not Call procedures (A4): everyone reads and acknowledges them; brokers
    publish new versions and see who has acknowledged the one in force."""

    template_name = "compliance/procedures.html"
    form_class = DncPolicyForm

    def can_publish(self) -> bool:
        return self.request.user.has_perm("compliance.add_dncpolicy")

    def get_form(self, form_class=None):
        return super().get_form(form_class) if self.can_publish() else None  # agents read; brokers publish

    def get_initial(self):
        current = dnc_policy_current()
        brokerage = Brokerage.objects.current()
        return {
            "title": current.title if current else DncPolicy._meta.get_field("title").default,
            "adopted_on": timezone.localdate(),
            "text": current.text if current else dnc_policy_template(brokerage.name),
        }

    def get_context_data(self, **kwargs):
        policy = dnc_policy_current()
        user = self.request.user
        context = {
            "policy": policy,
            "acknowledged": policy is not None and PolicyAcknowledgement.objects.filter(
                policy=policy, user=user).first(),
            "can_publish": self.can_publish(),
        }
        if self.can_publish():
            acknowledged = dict(PolicyAcknowledgement.objects.filter(policy=policy).values_list(
                "user_id", "acknowledged_at")) if policy else {}
            callers = (User.objects.filter(is_active=True, groups__name__in=[r.label for r in Role])
                       .distinct().prefetch_related("groups"))
            context["callers"] = [(caller, acknowledged.get(caller.pk)) for caller in callers]
            context["missing"] = sum(1 for _, at in context["callers"] if at is None)
            context["versions"] = DncPolicy.objects.select_related("adopted_by")[:20]
        return super().get_context_data(**context, **kwargs)

    def post(self, request, *args, **kwargs):
        if "acknowledge" in request.POST:
            policy = dnc_policy_current()
            if policy is None or str(policy.pk) != request.POST.get("policy"):
                messages.error(request, POLICY_CHANGED)
            else:
                policy_acknowledge(user=request.user, policy=policy)
                messages.success(request, ACKNOWLEDGED)
            return HttpResponseRedirect(reverse("compliance:procedures"))
        if not self.can_publish():
            raise PermissionDenied
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            policy = dnc_policy_adopt(adopted_by=self.request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
            return self.form_invalid(form)
        policy_acknowledge(user=self.request.user, policy=policy)
        messages.success(self.request, PUBLISHED.format(date=policy.adopted_on))
        return HttpResponseRedirect(reverse("compliance:procedures"))


AGENT_LIST_ADDED = "Added {count} to your list."
AGENT_LIST_NOTHING_NEW = "Nothing new to add."
AGENT_LIST_ALREADY = " {count} {verb} already on your list."
AGENT_LIST_FILE_AGAIN = "Fix the file, then choose it again."
AGENT_LIST_PAGE = 100
# The page is the agent's own ("My ..."): how an entry came, said to them (stored values stay).
AGENT_LIST_SOURCES = {AgentListSource.STOP: "A stop made to you", AgentListSource.OWN_LIST: "From your own list"}
TERMINATED = "Recorded the end of the relationship on {date}."


def agent_list_added_message(*, added: int, already: int) -> str:
    """What an import did, in words: 'Added 2 to your list. 1 was already on your list.'"""
    text = AGENT_LIST_ADDED.format(count=added) if added or not already else AGENT_LIST_NOTHING_NEW
    if already:
        text += AGENT_LIST_ALREADY.format(count=already, verb="was" if already == 1 else "were")
    return text


class AgentListView(LoginRequiredMixin, FormView):
    """The agent's own do-not-call list (B3): what is on it, and adding to it by pasting or
    uploading numbers. Each user sees and adds to their own list only; nothing is removed."""

    template_name = "compliance/agent_list.html"
    form_class = AgentListForm

    def get_context_data(self, **kwargs):
        entries = AgentDncEntry.objects.filter(agent=self.request.user).select_related("lead__property")
        shown = list(entries[:AGENT_LIST_PAGE])
        # A lead since given to someone else is not shown (nor linked to a 404): one query.
        visible = set(Lead.objects.visible_to(self.request.user).filter(
            pk__in={entry.lead_id for entry in shown if entry.lead_id}).values_list("pk", flat=True))
        for entry in shown:
            entry.source_label = AGENT_LIST_SOURCES.get(entry.source, entry.get_source_display())
            entry.visible_lead = entry.lead if entry.lead_id in visible else None
        return super().get_context_data(entries=shown, total=entries.count(), shown=AGENT_LIST_PAGE, **kwargs)

    def form_valid(self, form):
        # Bad lines are named under the input they came from: the paste box or the file.
        field = form.source_field
        try:
            result = agent_list_import(agent=self.request.user, text=form.cleaned_data["numbers"],
                                       note=form.cleaned_data["note"])
        except ValidationError as error:
            form.add_error(field, error.messages)
            return self.form_invalid(form)
        if not result.ok:
            errors = result.errors + ([AGENT_LIST_FILE_AGAIN] if field == "upload" else [])
            form.add_error(field, errors)
            return self.form_invalid(form)
        messages.success(self.request, agent_list_added_message(added=len(result.added), already=len(result.already)))
        return HttpResponseRedirect(reverse("compliance:agent_list"))

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


class RelationshipTerminateView(LoginRequiredMixin, FormView):
    """Record the day a relationship of the lead ended (C2): for whoever records the lead's
    evidence. A lead the user may not see, or a relationship of another lead, is a 404."""

    template_name = "compliance/relationship_terminate.html"
    form_class = RelationshipTerminationForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.lead = lead_get(fetched_by=request.user, pk=kwargs["pk"])
            self.relationship = get_object_or_404(
                EstablishedRelationship.objects.filter(lead__in=lead_ids_with_merged(self.lead))
                .select_related("termination"), pk=kwargs["relationship"])
            if not request.user.has_perm(Perm.RECORD_EVIDENCE):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        return {"terminated_on": timezone.localdate()}

    def get_context_data(self, **kwargs):
        termination = getattr(self.relationship, "termination", None)
        return super().get_context_data(lead=self.lead, relationship=self.relationship, termination=termination,
                                        **kwargs)

    def form_valid(self, form):
        try:
            relationship_terminate(relationship=self.relationship, lead=self.lead, recorded_by=self.request.user,
                                   **form.cleaned_data)
        except ValidationError as error:
            errors = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
            for field, field_errors in errors.items():
                form.add_error(field if field in form.fields else None, field_errors)
            return self.render_to_response(self.get_context_data(form=form), status=400)
        messages.success(self.request, TERMINATED.format(date=date_format(form.cleaned_data["terminated_on"], "M j, Y")))
        return HttpResponseRedirect(reverse("leads:detail", args=[self.lead.pk]) + "#evidence")
