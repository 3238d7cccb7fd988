"""Putting tags on a lead and taking them off, from the tag line of the lead's page: htmx
swaps the line in place; without JavaScript the form posts and comes back to the page."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from leads.selectors import lead_get
from leads.tags import lead_tag_add, lead_tag_remove, lead_tagging, tag_for_name, tag_get

TAG_MISSING = "Pick a tag or type a new one."
TAG_TO_REMOVE_MISSING = "Say which tag to take off."


class _LeadTagView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request, pk):
        lead = lead_get(fetched_by=request.user, pk=pk)  # another agent's lead: 404 before anything
        error = ""
        try:
            message = self.change(request, lead)
        except ValidationError as refused:
            message, error = "", " ".join(refused.messages)
        if request.htmx:
            return render(request, "leads/partials/_lead_tags.html",
                          {"lead": lead, "tagging": lead_tagging(lead=lead, user=request.user), "tag_error": error})
        if error:
            messages.error(request, error)
        elif message:
            messages.success(request, message)
        return HttpResponseRedirect(reverse("leads:detail", args=[lead.pk]) + "#lead-tags")


class LeadTagAddView(_LeadTagView):
    """Add a tag picked from the list (``tag``), or typed (``name``: found whatever its
    case, or created in the user's team)."""

    def change(self, request, lead) -> str:
        picked, typed = request.POST.get("tag", "").strip(), request.POST.get("name", "").strip()
        if picked:
            tag = tag_get(fetched_by=request.user, pk=picked if picked.isdigit() else 0)
        elif typed:
            tag = tag_for_name(name=typed, actor=request.user, lead=lead)
        else:
            raise ValidationError(TAG_MISSING)
        lead_tag_add(lead=lead, tag=tag, actor=request.user)
        return f"Tagged “{tag}”."


class LeadTagRemoveView(_LeadTagView):
    def change(self, request, lead) -> str:
        picked = request.POST.get("tag", "").strip()
        if not picked:
            raise ValidationError(TAG_TO_REMOVE_MISSING)
        tag = tag_get(fetched_by=request.user, pk=picked if picked.isdigit() else 0)
        lead_tag_remove(lead=lead, tag=tag, actor=request.user)
        return f"“{tag}” taken off."
