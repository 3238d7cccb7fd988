"""Bulk actions on the leads ticked in the lead list: each lead through its own service."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.views import View

from leadcrm.accounts.roles import Perm
from leads.models import Lead, RoutingMethod
from leads.routing import lead_round_robin, lead_route_to, lead_to_pond, leads_route_by_rules
from pipeline.common import safe_next_url
from pipeline.reminders.services import follow_up_create

from .forms import BulkActionForm
from .services import StageChangeRefused, lead_stage_change


class BulkActionView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = Perm.MANAGE_FOLLOW_UPS
    http_method_names = ["post"]

    def post(self, request):
        back = safe_next_url(request, reverse("leads:list"))
        form = BulkActionForm(request.POST, user=request.user)
        if not form.is_valid():
            errors = [e for field_errors in form.errors.values() for e in field_errors]
            messages.error(request, "Nothing done: " + " ".join(errors))
            return HttpResponseRedirect(back)
        data = form.cleaned_data
        ids = set(data["leads"])
        leads = list(Lead.objects.visible_to(request.user).filter(pk__in=ids).select_related("property"))
        if len(leads) != len(ids):
            raise Http404("No such lead.")  # one forged id spoils the batch, as it would a single page
        action = data["action"]
        needs = {"assign": Perm.ASSIGN_LEADS, "round_robin": Perm.ASSIGN_LEADS, "pond": Perm.ASSIGN_LEADS,
                 "rules": Perm.ASSIGN_LEADS, "stage": Perm.CHANGE_STAGE}.get(action)
        if needs and not request.user.has_perm(needs):
            raise PermissionDenied
        done, refused = 0, []
        for lead in leads:
            try:
                if action == "follow_up":
                    follow_up_create(lead=lead, assignee=lead.assigned_agent or request.user, due_at=data["due_at"],
                                     title=data["title"] or "Follow up", created_by=request.user)
                elif action == "stage":
                    lead_stage_change(lead=lead, to_stage=data["to_stage"], actor=request.user,
                                      dead_reason=data["dead_reason"], note="Moved from the lead list.")
                elif action == "assign":
                    lead_route_to(lead=lead, agent=data["agent"], actor=request.user, method=RoutingMethod.BULK,
                                  reason="Assigned in bulk from the lead list")
                elif action == "round_robin":
                    lead_round_robin(lead=lead, team=data["team"], actor=request.user,
                                     reason=f"Round-robin in {data['team']}, from the lead list")
                elif action == "pond":
                    lead_to_pond(lead=lead, team=data["team"], actor=request.user,
                                 reason="Put in the pond from the lead list")
                else:  # rules
                    routed = leads_route_by_rules(leads=Lead.objects.filter(pk=lead.pk), actor=request.user)
                    if routed.unmatched:
                        raise ValidationError("no routing rule matches it (or it is assigned already)")
                done += 1
            except (StageChangeRefused, ValidationError) as error:
                refused.append(f"{lead}: {' '.join(error.messages)}")
        verb = {"follow_up": "Follow-up set on", "stage": "Moved", "assign": "Assigned", "round_robin": "Assigned",
                "pond": "Put in the pond:", "rules": "Routed by the rules:"}[action]
        messages.success(request, f"{verb} {done} lead{'s' if done != 1 else ''}.")
        if refused:
            shown = refused[:5] + ([f"and {len(refused) - 5} more"] if len(refused) > 5 else [])
            messages.warning(request, f"{len(refused)} not changed: " + " · ".join(shown))
        return HttpResponseRedirect(back)
