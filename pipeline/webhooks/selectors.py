"""Reads of outgoing webhooks: a broker sees their own endpoints and deliveries, nobody
else's (another's is a 404)."""

from __future__ import annotations

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from leadcrm.accounts.models import User
from pipeline.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoint_list(*, fetched_by: User) -> QuerySet[WebhookEndpoint]:
    """The user's endpoints with their last delivery's time and what waits or failed (one query)."""
    return WebhookEndpoint.objects.filter(owner=fetched_by).annotate(
        last_delivery_at=Max("deliveries__created_at"),
        waiting=Count("deliveries", filter=Q(deliveries__status__in=(DeliveryStatus.PENDING, DeliveryStatus.RETRYING))),
        given_up=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.GIVEN_UP)),
    ).order_by("-is_active", "-created_at", "-pk")


def endpoint_get(*, fetched_by: User, pk: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint.objects.filter(owner=fetched_by), pk=pk)


def delivery_get(*, fetched_by: User, pk: int) -> WebhookDelivery:
    return get_object_or_404(WebhookDelivery.objects.filter(endpoint__owner=fetched_by).select_related("endpoint"),
                             pk=pk)


def delivery_log(*, endpoint: WebhookEndpoint, status: str = "") -> QuerySet[WebhookDelivery]:
    """The endpoint's deliveries, newest first, each with its attempts (two queries a page)."""
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status == "failed":
        deliveries = deliveries.filter(status__in=(DeliveryStatus.GIVEN_UP, DeliveryStatus.RETRYING,
                                                   DeliveryStatus.CANCELLED))
    elif status:
        deliveries = deliveries.filter(status=status)
    return deliveries.defer("data").select_related("lead__property").prefetch_related(
        Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("-number"))).order_by("-created_at", "-pk")
