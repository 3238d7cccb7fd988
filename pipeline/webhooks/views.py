"""A broker's webhook pages: the endpoints, adding and editing one, its secret, a test
ping, re-enabling, and its delivery log with redelivery. Another broker's endpoint is a
404; an agent or team lead is refused (403)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views.generic import FormView, TemplateView, View

from leadcrm.accounts.roles import Perm
from pipeline.common import add_service_error
from pipeline.models import DeliveryStatus, WebhookEvent

from .delivery import BACKOFF, FAILING_FOR, GIVE_UPS_BEFORE_DISABLING
from .forms import EndpointForm
from .selectors import delivery_get, delivery_log, endpoint_get, endpoint_list
from .services import (
    DISABLED_BY_HAND,
    delivery_redeliver,
    endpoint_create,
    endpoint_disable,
    endpoint_enable,
    endpoint_ping,
    endpoint_secret_rotate,
    endpoint_update,
)

DELIVERIES_PER_PAGE = 25
SHOW_SECRET = "webhooks:show-secret"  # the session's note: show this endpoint's secret once
CREATED = "Endpoint added. Copy its secret now to verify our signatures; you can show it again here."
SAVED = "Saved."
ROTATED = "A new secret is in use from now on: the old one no longer verifies. Copy the new one below."
PINGED = "A test ping is on its way: it appears in the log below within seconds."
ENABLED = "Re-enabled: new events are sent to it again. Deliveries that failed can be sent again from the log."
DISABLED = "Disabled: nothing more is sent to it until you re-enable it."
REDELIVERING = "Delivery #{pk} is being sent again."
STATUS_FILTERS = [("", "All"), ("failed", "Failed"), (DeliveryStatus.SUCCEEDED, "Delivered"),
                  (DeliveryStatus.PENDING, "Waiting")]


def _backoff_words() -> str:
    def words(delta) -> str:
        minutes = int(delta.total_seconds() // 60)
        return f"{minutes // 60} h" if minutes >= 60 else f"{minutes} min"
    return ", ".join(words(delta) for delta in BACKOFF)


class WebhookMixin(LoginRequiredMixin, PermissionRequiredMixin):
    permission_required = Perm.MANAGE_WEBHOOKS


class EndpointListView(WebhookMixin, TemplateView):
    template_name = "webhooks/endpoint_list.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(endpoints=list(endpoint_list(fetched_by=self.request.user)),
                                        backoff=_backoff_words(), **kwargs)


class EndpointFormView(WebhookMixin, FormView):
    template_name = "webhooks/endpoint_form.html"
    form_class = EndpointForm
    endpoint = None

    def dispatch(self, request, *args, **kwargs):
        if "pk" in kwargs and request.user.is_authenticated and request.user.has_perm(Perm.MANAGE_WEBHOOKS):
            self.endpoint = endpoint_get(fetched_by=request.user, pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        if self.endpoint is None:
            return {"events": [WebhookEvent.LEAD_CREATED.value]}
        return {"url": self.endpoint.url, "description": self.endpoint.description, "events": self.endpoint.events}

    def get_context_data(self, **kwargs):
        return super().get_context_data(endpoint=self.endpoint, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            if self.endpoint is None:
                endpoint = endpoint_create(owner=self.request.user, url=data["url"], description=data["description"],
                                           events=data["events"])
                self.request.session[SHOW_SECRET] = endpoint.pk
                messages.success(self.request, CREATED)
            else:
                endpoint = endpoint_update(endpoint=self.endpoint, url=data["url"], description=data["description"],
                                           events=data["events"])
                messages.success(self.request, SAVED)
        except ValidationError as error:
            add_service_error(form, error)
            return self.form_invalid(form)
        return HttpResponseRedirect(reverse("webhooks:detail", args=[endpoint.pk]))


class EndpointDetailView(WebhookMixin, TemplateView):
    """The endpoint, its secret (masked unless just made or asked for) and its delivery log."""

    template_name = "webhooks/endpoint_detail.html"

    def get_context_data(self, **kwargs):
        endpoint = endpoint_get(fetched_by=self.request.user, pk=self.kwargs["pk"])
        status = self.request.GET.get("status", "")
        if status not in {value for value, _ in STATUS_FILTERS}:
            status = ""
        page = Paginator(delivery_log(endpoint=endpoint, status=status), DELIVERIES_PER_PAGE).get_page(
            self.request.GET.get("page"))
        show_secret = self.request.session.pop(SHOW_SECRET, None) == endpoint.pk
        return super().get_context_data(
            endpoint=endpoint, page=page, deliveries=page.object_list, status=status, status_filters=STATUS_FILTERS,
            show_secret=show_secret, masked_secret=f"{endpoint.secret[:6]}{'•' * 12}{endpoint.secret[-4:]}",
            backoff=_backoff_words(), give_ups=GIVE_UPS_BEFORE_DISABLING,
            failing_hours=int(FAILING_FOR.total_seconds() // 3600), **kwargs)


class EndpointActionView(WebhookMixin, View):
    """POST: reveal or rotate the secret, ping, enable or disable; back to the endpoint."""

    action = ""

    def post(self, request, pk):
        endpoint = endpoint_get(fetched_by=request.user, pk=pk)
        try:
            if self.action == "reveal":
                request.session[SHOW_SECRET] = endpoint.pk
            elif self.action == "rotate":
                endpoint_secret_rotate(endpoint=endpoint)
                request.session[SHOW_SECRET] = endpoint.pk
                messages.success(request, ROTATED)
            elif self.action == "ping":
                endpoint_ping(endpoint=endpoint, actor=request.user)
                messages.success(request, PINGED)
            elif self.action == "enable":
                endpoint_enable(endpoint=endpoint)
                messages.success(request, ENABLED)
            elif self.action == "disable":
                endpoint_disable(endpoint=endpoint, reason=DISABLED_BY_HAND.format(
                    who=request.user.get_full_name() or request.user.username))
                messages.success(request, DISABLED)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(reverse("webhooks:detail", args=[endpoint.pk]))


class DeliveryRedeliverView(WebhookMixin, View):
    def post(self, request, pk):
        delivery = delivery_get(fetched_by=request.user, pk=pk)
        try:
            delivery_redeliver(delivery=delivery)
            messages.success(request, REDELIVERING.format(pk=delivery.pk))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return HttpResponseRedirect(reverse("webhooks:detail", args=[delivery.endpoint_id]) + f"#delivery-{delivery.pk}")
