"""Saving the lead list's filters under a name, renaming, sharing and deleting them
(``smart_lists.py`` does it). Plain forms posted from the lead list; each answers with a
redirect and a message, so they need no JavaScript."""

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views import View

from leadcrm.accounts.models import Team
from pipeline.common import safe_next_url

from .smart_lists import (
    list_url,
    saved_search_create,
    saved_search_delete,
    saved_search_get_own,
    saved_search_update,
    teams_to_share_with,
)

SEARCH_DROPPED = "Left out, as the lead list does not understand them: {names}."


class SavedSearchForm(forms.Form):
    name = forms.CharField(max_length=80, error_messages={"required": "Give the search a name."})
    query = forms.CharField(required=False, max_length=2000)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, label="Share with",
                                  error_messages={"invalid_choice": "You may only share a search with a team "
                                                                    "you work in."})

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_to_share_with(user)


def _errors(error) -> str:
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return " ".join(message for field_errors in error.values() for message in field_errors)


class SavedSearchCreateView(LoginRequiredMixin, View):
    http_method_names = ["post"]

    def post(self, request):
        form = SavedSearchForm(request.POST, user=request.user)
        back = safe_next_url(request, reverse("leads:list"))
        if not form.is_valid():
            messages.error(request, "Search not saved: " + _errors(form.errors))
            return HttpResponseRedirect(back)
        data = form.cleaned_data
        try:
            search, dropped = saved_search_create(owner=request.user, name=data["name"], query=data["query"],
                                                  team=data["team"])
        except ValidationError as error:
            messages.error(request, "Search not saved: " + _errors(error))
            return HttpResponseRedirect(back)
        messages.success(request, f"Saved “{search}”{' for ' + str(search.team) if search.team else ''}.")
        if dropped:
            messages.warning(request, SEARCH_DROPPED.format(names=", ".join(dropped)))
        return HttpResponseRedirect(list_url(search.query))


class SavedSearchEditView(LoginRequiredMixin, View):
    """Rename or share (``action=save``) or delete (``action=delete``) one's own search;
    anyone else's is a 404."""

    http_method_names = ["post"]

    def post(self, request, pk):
        search = saved_search_get_own(fetched_by=request.user, pk=pk)
        back = safe_next_url(request, list_url(search.query))
        if request.POST.get("action") == "delete":
            saved_search_delete(search=search)
            messages.success(request, f"Deleted “{search}”.")
            return HttpResponseRedirect(back)
        form = SavedSearchForm(request.POST, user=request.user)
        if not form.is_valid():
            messages.error(request, "Search not changed: " + _errors(form.errors))
            return HttpResponseRedirect(back)
        try:
            saved_search_update(search=search, name=form.cleaned_data["name"], team=form.cleaned_data["team"])
        except ValidationError as error:
            messages.error(request, "Search not changed: " + _errors(error))
            return HttpResponseRedirect(back)
        messages.success(request, f"Saved “{search}”{' for ' + str(search.team) if search.team else ' (private)'}.")
        return HttpResponseRedirect(back)
