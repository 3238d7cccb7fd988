"""The application's URLs plus ``/bench/webhook-bare/<run>/``: the webhook benchmark's baseline.

The bare endpoint does the least any signed webhook must: check Twilio's signature over
the exact URL and parameters (the same ``RequestValidator`` call the Twilio backend makes)
and insert one ``WebhookReceipt`` row keyed by the ``MessageSid`` (a replay inserts
nothing), behind the same middleware as every page. ``<run>`` keeps each pass's rows apart.
"""

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from leadcrm.urls import urlpatterns as app_urlpatterns
from pipeline.messaging.webhooks import EMPTY_TWIML
from pipeline.models import WebhookReceipt


@csrf_exempt
@require_POST
def bare_webhook(request, run: str):
    signature = request.headers.get("X-Twilio-Signature", "")
    url = settings.LEADCRM_WEBHOOK_BASE_URL + request.get_full_path()
    if not signature or not RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST, signature):
        return HttpResponseForbidden()
    WebhookReceipt.objects.bulk_create(
        [WebhookReceipt(provider=f"bench-{run}"[:40], event_id=request.POST.get("MessageSid", "")[:200])],
        ignore_conflicts=True)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


urlpatterns = [path("bench/webhook-bare/<slug:run>/", bare_webhook, name="bench_webhook_bare"), *app_urlpatterns]
