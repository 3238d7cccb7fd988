"""Bulk actions on the leads ticked in the lead list (pipeline/deals/bulk.py does them)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from django.views import View

from leadcrm.accounts.roles import Perm
from leads.models import Lead, Tag
from leads.tags import tags_usable_by
from pipeline.common import safe_next_url

from .bulk import bulk_action_allowed, leads_bulk_apply
from .forms import BulkActionForm


class BulkForm(BulkActionForm):
    """The bulk form with the tag actions. The view 404s on a tag the user may not use
    (another team's), as on a lead they may not see."""

    ACTIONS = BulkActionForm.ACTIONS + [("tag_add", "Add a tag"), ("tag_remove", "Take a tag off")]

    tag = forms.ModelChoiceField(queryset=Tag.objects.all(), required=False, label="Tag",
                                 error_messages={"invalid_choice": "There is no such tag."})

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        self.fields["action"].choices = self.ACTIONS

    def clean(self):
        data = super().clean()
        if data.get("action") in ("tag_add", "tag_remove") and not data.get("tag"):
            self.add_error("tag", "Pick the tag.")
        return data


class BulkActionView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = Perm.MANAGE_FOLLOW_UPS
    http_method_names = ["post"]

    def post(self, request):
        back = safe_next_url(request, reverse("leads:list"))
        form = BulkForm(request.POST, user=request.user)
        if not form.is_valid():
            errors = [e for field_errors in form.errors.values() for e in field_errors]
            messages.error(request, "Nothing done: " + " ".join(errors))
            return HttpResponseRedirect(back)
        data = form.cleaned_data
        ids = set(data["leads"])
        leads = list(Lead.objects.visible_to(request.user).filter(pk__in=ids).select_related("property"))
        if len(leads) != len(ids):
            raise Http404("No such lead.")  # one forged id spoils the batch, as it would a single page
        if data.get("tag") and not tags_usable_by(request.user).filter(pk=data["tag"].pk).exists():
            raise Http404("No such tag.")  # another team's tag, as on the lead page
        action = data["action"]
        if not bulk_action_allowed(user=request.user, action=action):
            raise PermissionDenied
        outcome = leads_bulk_apply(leads=leads, action=action, actor=request.user, data=data)
        done, refused = outcome.done, outcome.refused
        verb = {"follow_up": "Follow-up set on", "stage": "Moved", "assign": "Assigned", "round_robin": "Assigned",
                "pond": "Put in the pond:", "rules": "Routed by the rules:",
                "tag_add": f"Tagged “{data.get('tag')}”:", "tag_remove": f"“{data.get('tag')}” taken off"}[action]
        messages.success(request, f"{verb} {done} lead{'s' if done != 1 else ''}.")
        if refused:
            shown = refused[:5] + ([f"and {len(refused) - 5} more"] if len(refused) > 5 else [])
            messages.warning(request, f"{len(refused)} not changed: " + " · ".join(shown))
        return HttpResponseRedirect(back)
