"""Routing pages: the rules, the pond, an agent's departure, and assigning one lead from
its page. Thin: the services in ``leads.routing`` decide. (The workload page, which also
shows each agent's last logged contact, is pipeline's: ``pipeline.workspace.workload``.)"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from leadcrm.accounts.models import Brokerage, User
from leadcrm.accounts.roles import Perm
from leadcrm.accounts.selectors import teams_routable_by, users_assignable_by
from leadcrm.shared.pagination import window

from .models import Lead, LeadList, RoutingRule
from .routing import (
    agent_depart,
    claims_held,
    lead_round_robin,
    lead_route_to,
    lead_to_pond,
    leads_route_by_rules,
    pond_assign,
    pond_claim,
    pond_for,
    rule_delete,
    rule_save,
)
from .selectors import lead_get

ROUTE_NOW_LIMIT = 2000  # unassigned leads routed per click; the page says when more wait


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = ["name", "priority", "is_active", "zip_codes", "counties", "state", "lead_list", "lead_type",
                  "target", "agent", "team"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = users_assignable_by(user)
        self.fields["team"].queryset = teams_routable_by(user)
        self.fields["team"].help_text = "Round-robin: whose agents share them. The pond: whose pond (empty: everyone's)."
        self.fields["lead_list"].queryset = LeadList.objects.order_by("name")


class RoutingView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """The rules, in the order they are tried, with a form to add or change one."""

    permission_required = Perm.ASSIGN_LEADS
    template_name = "leads/routing.html"

    def editing(self):
        pk = self.request.GET.get("edit") or self.request.POST.get("rule")
        if pk and pk.isdigit():
            return get_object_or_404(self.rules(), pk=int(pk))
        return None

    def rules(self):
        rules = RoutingRule.objects.select_related("agent", "team", "lead_list")
        if self.request.user.has_perm(Perm.VIEW_ALL_LEADS):
            return rules
        # A team lead sees and edits the rules that route into their own teams.
        teams = teams_routable_by(self.request.user)
        return rules.filter(Q(team__in=teams) | Q(agent__in=users_assignable_by(self.request.user)))

    def get_context_data(self, **kwargs):
        user = self.request.user
        editing = self.editing()
        kwargs.setdefault("form", RoutingRuleForm(instance=editing, user=user))
        unassigned = Lead.objects.visible_to(user).open().filter(assigned_agent__isnull=True, pond_since__isnull=True)
        return super().get_context_data(
            rules=list(self.rules()), editing=editing, unassigned=unassigned[:ROUTE_NOW_LIMIT + 1].count(),
            route_now_limit=ROUTE_NOW_LIMIT, **kwargs)

    def post(self, request):
        action = request.POST.get("action", "save")
        if action == "delete":
            rule = self.editing()
            if rule is None:
                raise Http404
            rule_delete(rule=rule)
            messages.success(request, f"Rule “{rule.name}” deleted.")
            return HttpResponseRedirect(reverse("leads:routing"))
        if action == "route_now":
            leads = Lead.objects.visible_to(request.user).open().filter(
                assigned_agent__isnull=True, pond_since__isnull=True).order_by("-score", "pk")
            ids = list(leads.values_list("pk", flat=True)[:ROUTE_NOW_LIMIT + 1])
            if len(ids) > ROUTE_NOW_LIMIT:
                from .tasks import route_unassigned

                route_unassigned.delay(actor_id=request.user.pk)
                messages.success(request, f"More than {ROUTE_NOW_LIMIT:,} unassigned leads: they are being routed "
                                          "in the background; each one's routing history will say by which rule.")
                return HttpResponseRedirect(reverse("leads:routing"))
            routed = leads_route_by_rules(leads=Lead.objects.filter(pk__in=ids), actor=request.user)
            who = ", ".join(f"{name} {count}" for name, count in sorted(routed.by_agent.items()))
            messages.success(request, f"Routed {routed.assigned} to agents{f' ({who})' if who else ''}, "
                                      f"{routed.to_pond} to the pond; {routed.unmatched} matched no rule.")
            return HttpResponseRedirect(reverse("leads:routing"))
        form = RoutingRuleForm(request.POST, instance=self.editing(), user=request.user)
        if form.is_valid():
            try:
                rule = rule_save(rule=form.save(commit=False), actor=request.user)
            except ValidationError as error:
                for name, problems in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, problems)
            else:
                messages.success(request, f"Rule “{rule.name}” saved.")
                return HttpResponseRedirect(reverse("leads:routing"))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class PondView(LoginRequiredMixin, TemplateView):
    """Leads anyone on the team may claim, best first; and the claims the agent holds.
    A team lead (or the broker) may also hand each lead they see to one of their agents."""

    template_name = "leads/pond.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        leads = (pond_for(user).select_related("property", "pond_team").order_by("-score", "-pk")
                 .only("pk", "score", "lead_type", "pond_since", "pond_team__name", "property__street",
                       "property__city", "property__state", "property__zip_code", "property__estimated_value",
                       "lien_total"))
        page = window(leads, self.request.GET.get("page"), per_page=50)
        brokerage = Brokerage.objects.current()
        agents, assignable = [], set()
        if user.has_perm(Perm.ASSIGN_LEADS):
            # Handed only where the user may see the lead (a brokerage-wide pond lead is
            # not a team lead's to give), to the agents the user may give leads to.
            assignable = set(Lead.objects.visible_to(user).filter(
                pk__in=[lead.pk for lead in page.object_list]).values_list("pk", flat=True))
            if assignable:
                agents = list(users_assignable_by(user).order_by("first_name", "last_name", "username"))
        return super().get_context_data(
            page=page, claims=list(claims_held(user).select_related("property").order_by("claim_deadline")),
            claim_hours=brokerage.pond_claim_hours, claim_limit=brokerage.pond_claim_limit, now=timezone.now(),
            agents=agents, assignable=assignable, **kwargs)


class PondAssignForm(forms.Form):
    # Any active user: the service says, in words, when the agent is not the user's to give to.
    agent = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True), label="Hand to",
                                   error_messages={"required": "Pick the agent to hand the lead to."})


class PondAssignView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A team lead hands a pond lead to one of their agents (404 for a lead they may not see)."""

    permission_required = Perm.ASSIGN_LEADS
    http_method_names = ["post"]

    def post(self, request, pk):
        lead = lead_get(fetched_by=request.user, pk=pk)
        form = PondAssignForm(request.POST)
        back = HttpResponseRedirect(reverse("leads:pond"))
        if not form.is_valid():
            messages.error(request, "Not handed: " + " ".join(e for errors in form.errors.values() for e in errors))
            return back
        try:
            entry = pond_assign(lead=lead, agent=form.cleaned_data["agent"], actor=request.user)
        except ValidationError as error:
            messages.error(request, "Not handed: " + " ".join(error.messages))
            return back
        messages.success(request, f"{lead.property.street_line} is now {entry.to_agent}'s to work.")
        return back


class PondClaimView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        try:
            lead = pond_claim(lead_id=pk, agent=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return HttpResponseRedirect(reverse("leads:pond"))
        messages.success(request, f"{lead} is yours. Log a contact by "
                                  f"{timezone.localtime(lead.claim_deadline):%a %b %-d, %-I:%M %p} to keep it.")
        return HttpResponseRedirect(reverse("leads:detail", args=[lead.pk]))


class DepartureForm(forms.Form):
    DESTINATIONS = [("agent", "All to one agent"), ("round_robin", "Round-robin in a team"), ("pond", "To the pond")]

    destination = forms.ChoiceField(choices=DESTINATIONS, widget=forms.RadioSelect, initial="round_robin")
    to_agent = forms.ModelChoiceField(queryset=None, required=False, label="Agent")
    team = forms.ModelChoiceField(queryset=None, required=False, label="Team",
                                  help_text="Round-robin: required. The pond: whose (empty: everyone's).")

    def __init__(self, *args, user, leaving, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_agent"].queryset = users_assignable_by(user).exclude(pk=leaving.pk)
        self.fields["team"].queryset = teams_routable_by(user)

    def clean(self):
        data = super().clean()
        if data.get("destination") == "agent" and not data.get("to_agent"):
            self.add_error("to_agent", "Pick who takes the leads.")
        if data.get("destination") == "round_robin" and not data.get("team"):
            self.add_error("team", "Pick the team whose agents share them.")
        return data


class DepartureView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """An agent leaves: every open lead of theirs reassigned in one step."""

    permission_required = Perm.ASSIGN_LEADS
    template_name = "leads/departure.html"

    def leaving(self) -> User:
        return get_object_or_404(users_assignable_by(self.request.user).exclude(pk=self.request.user.pk),
                                 pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        leaving = self.leaving()
        kwargs.setdefault("form", DepartureForm(user=self.request.user, leaving=leaving))
        return super().get_context_data(
            leaving=leaving, open_leads=Lead.objects.filter(assigned_agent=leaving).open().count(), **kwargs)

    def post(self, request, pk):
        leaving = self.leaving()
        form = DepartureForm(request.POST, user=request.user, leaving=leaving)
        if form.is_valid():
            data = form.cleaned_data
            try:
                routed = agent_depart(agent=leaving, actor=request.user,
                                      to_agent=data["to_agent"] if data["destination"] == "agent" else None,
                                      team=data["team"] if data["destination"] != "agent" else None,
                                      to_pond=data["destination"] == "pond")
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"{leaving}'s {routed.assigned + routed.to_pond} open leads reassigned"
                                          f" ({routed.to_pond} to the pond); {leaving} is off their team.")
                return HttpResponseRedirect(reverse("leads:workload"))
        return self.render_to_response(self.get_context_data(form=form), status=400)


class LeadRouteForm(forms.Form):
    how = forms.ChoiceField(choices=[("agent", "To an agent"), ("round_robin", "Round-robin in a team"),
                                     ("pond", "To the pond")])
    agent = forms.ModelChoiceField(queryset=None, required=False)
    team = forms.ModelChoiceField(queryset=None, required=False)
    reason = forms.CharField(max_length=300, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = users_assignable_by(user)
        self.fields["team"].queryset = teams_routable_by(user)

    def clean(self):
        data = super().clean()
        if data.get("how") == "agent" and not data.get("agent"):
            self.add_error("agent", "Pick the agent.")
        if data.get("how") == "round_robin" and not data.get("team"):
            self.add_error("team", "Pick the team.")
        return data


class LeadRouteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Assign one lead from its page; the reason goes in the routing audit."""

    permission_required = Perm.ASSIGN_LEADS
    http_method_names = ["post"]

    def post(self, request, pk):
        lead = lead_get(fetched_by=request.user, pk=pk)
        form = LeadRouteForm(request.POST, user=request.user)
        back = reverse("leads:detail", args=[lead.pk])
        if not form.is_valid():
            messages.error(request, "Not assigned: " + " ".join(e for errors in form.errors.values() for e in errors))
            return HttpResponseRedirect(back)
        data = form.cleaned_data
        reason = data["reason"] or "Assigned from the lead's page"
        try:
            if data["how"] == "agent":
                entry = lead_route_to(lead=lead, agent=data["agent"], actor=request.user, reason=reason)
            elif data["how"] == "round_robin":
                entry = lead_round_robin(lead=lead, team=data["team"], actor=request.user, reason=reason)
            else:
                entry = lead_to_pond(lead=lead, team=data["team"], actor=request.user, reason=reason)
        except ValidationError as error:
            messages.error(request, "Not assigned: " + " ".join(error.messages))
            return HttpResponseRedirect(back)
        messages.success(request, f"{entry.get_method_display()}: {entry.to_agent or 'the pond'}.")
        if not Lead.objects.visible_to(request.user).filter(pk=lead.pk).exists():
            return HttpResponseRedirect(reverse("leads:list"))  # a team lead who sent it to another team
        return HttpResponseRedirect(back)

