"""What several parts of the pipeline share: the lead form view, safe redirects, form widgets."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.generic import FormView
from django_htmx.http import HttpResponseClientRedirect

from leads.selectors import lead_get


class DateTimeLocalInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


def add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the field it names, or above the form."""
    errors = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
    for field, field_errors in errors.items():
        form.add_error(field if field in form.fields else None, field_errors)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def plain_form_helper() -> FormHelper:
    helper = FormHelper()
    helper.form_tag = False
    helper.disable_csrf = True
    return helper


def safe_next_url(request, fallback: str) -> str:
    """The posted ``next`` if it stays on this site, else ``fallback`` (no open redirect)."""
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return next_url
    return fallback


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
