"""Sending a delivery: claimed by one worker, signed, POSTed with a time limit, logged,
and retried with backoff; an endpoint failing again and again is disabled and its owner
told (docs/webhooks.md#retries).

At least once: a worker killed between the POST and its record leaves the delivery
``sending``; after ``STUCK_AFTER`` the sweeper counts that as a failed try and it is sent
again on the backoff (receivers de-duplicate on ``X-LeadCRM-Delivery``). No attempt
outlives LEADCRM_WEBHOOKS_TIMEOUT, which a watchdog enforces on the socket. Two workers never send the same attempt at once: the claim is
one conditional UPDATE from a sendable status to ``sending``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from pipeline.models import (
    SENDABLE,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

from .addresses import Target, url_resolve
from .payloads import body_of
from .services import OWNER_INACTIVE, endpoint_disable

logger = logging.getLogger(__name__)

# After the first attempt fails: the waits before each retry; then the delivery is given up.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
           timedelta(hours=8))
# The endpoint is disabled after this many deliveries given up in a row, or failing this long.
GIVE_UPS_BEFORE_DISABLING = 5
FAILING_FOR = timedelta(hours=24)
EXCERPT_BYTES = 1024
STUCK_AFTER = timedelta(minutes=5)
SWEEP_GRACE = timedelta(seconds=30)  # a delivery just written is its own task's, not the sweeper's
SWEEP_LIMIT = 1000
USER_AGENT = "LeadCRM-Webhooks/1"

GAVE_UP_REPEATEDLY = "{count} deliveries in a row failed every retry (the last: {last})."
FAILING_TOO_LONG = "Every delivery has failed since {since:%b %-d, %H:%M} UTC (the last: {last})."
ERRNO_WORDS = re.compile(r"\[Errno -?\d+\] ([^\]]+?)(?:'\)|\)|$)")
STUCK = "No answer was recorded: the attempt was still sending after {minutes} minutes (its worker stopped)."
CLOSED_WITHOUT_ANSWER = "the receiving server closed the connection without an answer"
REDIRECTED = "Answered {code}, a redirect: redirects are not followed; register the final address."


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>`` under the endpoint's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


@dataclass
class Answer:
    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def summary(self) -> str:
        return f"HTTP {self.status_code}" if self.status_code is not None else self.error


class _Watchdog:
    """The attempt's hard deadline: when it passes, every socket the attempt opened is shut
    down, so a receiver that drips its answer a byte at a time (each read within the read
    timeout) still lets the worker go at LEADCRM_WEBHOOKS_TIMEOUT."""

    def __init__(self, seconds: float):
        self.fired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self.fire)
        self._timer.daemon = True

    def start(self) -> _Watchdog:
        self._timer.start()
        return self

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            fired = self.fired
        if fired:
            _shut(sock)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def cancel(self) -> None:
        self._timer.cancel()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # closed already


class _PinnedMixin:
    """Connects to the address the URL was checked to resolve to, never the name again
    (docs/webhooks.md#addresses); the Host header, TLS SNI and certificate check keep the
    name, as urllib3 takes them from ``host``."""

    target: Target
    watchdog: _Watchdog

    def _new_conn(self) -> socket.socket:
        target = self.target
        sock = socket.socket(target.family, socket.SOCK_STREAM)
        try:
            for option in self.socket_options or ():
                sock.setsockopt(*option)
            self.watchdog.watch(sock)
            if isinstance(self.timeout, int | float):
                sock.settimeout(self.timeout)
            sock.connect(target.sockaddr)
            if sock.getpeername()[0] != target.address:  # what we reached is what was checked
                raise OSError(f"connected to {sock.getpeername()[0]}, not the address checked")
        except TimeoutError as error:
            sock.close()
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from error
        except OSError as error:
            sock.close()
            raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error
        return sock


class _PinnedAdapter(HTTPAdapter):
    """Every connection of one attempt goes to ``target`` and is watched by ``watchdog``."""

    def __init__(self, target: Target, watchdog: _Watchdog):
        attrs = {"target": target, "watchdog": watchdog}
        http = type("PinnedHTTPConnection", (_PinnedMixin, HTTPConnection), attrs)
        https = type("PinnedHTTPSConnection", (_PinnedMixin, HTTPSConnection), attrs)
        self._pools = {"http": type("PinnedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
                       "https": type("PinnedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https})}
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST once to the address the URL's name was checked to resolve to: connect within
    LEADCRM_WEBHOOKS_CONNECT_TIMEOUT, all of it within LEADCRM_WEBHOOKS_TIMEOUT (a hard
    deadline, however slowly the answer comes); only the first kilobyte is read."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = url_resolve(url)  # once: the connection goes to this address, not a second lookup's
    except ValidationError as error:
        return Answer(None, "", "; ".join(error.messages)[:300], took())
    total, connect = settings.LEADCRM_WEBHOOKS_TIMEOUT, settings.LEADCRM_WEBHOOKS_CONNECT_TIMEOUT
    watchdog = _Watchdog(total).start()
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: straight to the checked address
    adapter = _PinnedAdapter(target, watchdog)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    try:
        with session.post(url, data=body, headers=headers, timeout=(min(connect, total), max(total - connect, 0.1)),
                          allow_redirects=False, stream=True) as response:
            # The status came in time: it stands, with as much of the answer as came before
            # the deadline (or the connection dropped).
            chunks, size = [], 0
            try:
                for chunk in response.iter_content(256):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= EXCERPT_BYTES or watchdog.fired:
                        break
            except requests.RequestException:
                pass
            excerpt = b"".join(chunks)[:EXCERPT_BYTES].decode("utf-8", "replace")
            error = REDIRECTED.format(code=response.status_code) if response.is_redirect else ""
            return Answer(response.status_code, excerpt, error, took())
    except requests.Timeout:
        return Answer(None, "", _timed_out(took()), took())
    except requests.RequestException as error:
        if watchdog.fired:
            return Answer(None, "", _timed_out(took()), took())
        kind = "Connection failed" if isinstance(error, requests.ConnectionError) else "Request failed"
        return Answer(None, "", f"{kind}: {_reason(error)}"[:300], took())
    finally:
        watchdog.cancel()
        session.close()


def _timed_out(ms: int) -> str:
    return f"Timed out after {ms / 1000:.1f} s"


def _reason(error: Exception) -> str:
    """The operating system's words when there are some ("Connection refused", "Name or
    service not known"), not urllib3's whole chain."""
    text = str(error)
    if "Remote end closed connection" in text or "Connection aborted" in text:
        return CLOSED_WITHOUT_ANSWER
    found = ERRNO_WORDS.search(text)
    return found.group(1).rstrip("')\"") if found else text


def delivery_send(*, delivery_id: int, now: datetime | None = None) -> WebhookDelivery | None:
    """Send one delivery whose time has come, once; None when another worker has it, it was
    sent, or it is not due. Safe to run twice."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now), pk=delivery_id, status__in=SENDABLE,
    ).update(status=DeliveryStatus.SENDING, claimed_at=now)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint__owner").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.owner.is_active:
        endpoint_disable(endpoint=endpoint, reason=OWNER_INACTIVE, now=now)
    if not endpoint.is_active and delivery.event != WebhookEvent.PING:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.CANCELLED)
        delivery.refresh_from_db()
        return delivery
    body = body_of(delivery)
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        "X-LeadCRM-Event": delivery.event, "X-LeadCRM-Delivery": str(delivery.pk),
        "X-LeadCRM-Timestamp": timestamp, "X-LeadCRM-Signature": signature(endpoint.secret, timestamp, body),
    }
    answer = post(endpoint.url, body, headers)
    return _record(delivery, answer, started_at=now)


def _record(delivery: WebhookDelivery, answer: Answer, *, started_at: datetime, now: datetime | None = None,
            queue_retry: bool = True) -> WebhookDelivery:
    """The attempt's outcome, if the delivery is still this attempt's (claimed at
    ``started_at``): the sweeper may have counted it as failed meanwhile, and then this
    late answer is only logged."""
    finished = now or timezone.now()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().select_related("owner").get(pk=delivery.endpoint_id)
        current = WebhookDelivery.objects.select_for_update().filter(
            pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=started_at).first()
        if current is None:
            logger.warning("Webhook delivery %s answered (%s) after it was counted as stuck", delivery.pk,
                           answer.summary)
            return WebhookDelivery.objects.get(pk=delivery.pk)
        delivery = current
        number = delivery.attempts + 1
        WebhookAttempt.objects.create(
            delivery=delivery, number=number, started_at=started_at, duration_ms=answer.duration_ms,
            status_code=answer.status_code, response_excerpt=answer.excerpt, error=answer.error[:300],
            succeeded=answer.ok)
        delivery.attempts, delivery.last_status_code, delivery.claimed_at = number, answer.status_code, None
        if answer.ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, finished, None
            if endpoint.consecutive_failures or endpoint.failing_since:
                WebhookEndpoint.objects.filter(pk=endpoint.pk).update(consecutive_failures=0, failing_since=None)
        else:
            tried = number - delivery.tries_before
            gave_up = tried > len(BACKOFF)
            if gave_up:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.GIVEN_UP, None
            else:
                delivery.status, delivery.next_attempt_at = DeliveryStatus.RETRYING, finished + BACKOFF[tried - 1]
            if delivery.event != WebhookEvent.PING:
                _endpoint_failed(endpoint, answer, gave_up=gave_up, now=finished)
        delivery.save(update_fields=["status", "attempts", "last_status_code", "claimed_at", "delivered_at",
                                     "next_attempt_at"])
    if delivery.status == DeliveryStatus.RETRYING and queue_retry:
        from pipeline.tasks import webhook_deliver

        try:
            webhook_deliver.apply_async(args=[delivery.pk], eta=delivery.next_attempt_at)
        except Exception:  # noqa: BLE001 - the sweeper sends it when it is due anyway
            logger.warning("Could not queue the retry of webhook delivery %s", delivery.pk)
    return delivery


def _endpoint_failed(endpoint: WebhookEndpoint, answer: Answer, *, gave_up: bool, now: datetime) -> None:
    endpoint.failing_since = endpoint.failing_since or now
    if gave_up:
        endpoint.consecutive_failures += 1
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=endpoint.failing_since,
                                                          consecutive_failures=endpoint.consecutive_failures)
    if not endpoint.is_active:
        return
    if endpoint.consecutive_failures >= GIVE_UPS_BEFORE_DISABLING:
        reason = GAVE_UP_REPEATEDLY.format(count=endpoint.consecutive_failures, last=answer.summary)
    elif now - endpoint.failing_since >= FAILING_FOR:
        reason = FAILING_TOO_LONG.format(since=endpoint.failing_since, last=answer.summary)
    else:
        return
    endpoint_disable(endpoint=endpoint, reason=reason, now=now, notify=True)


def deliveries_sweep(now: datetime | None = None) -> dict:
    """Every minute: a delivery still ``sending`` past ``STUCK_AFTER`` (its worker died: no
    live attempt outlasts LEADCRM_WEBHOOKS_TIMEOUT) counts as a failed try, retried on the
    backoff or given up; those due (their task lost with a broker down, or a retry's) are
    handed out again. Bounded."""
    now = now or timezone.now()
    stuck = 0
    for delivery in (WebhookDelivery.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=now - STUCK_AFTER)
                     .order_by("claimed_at")[:SWEEP_LIMIT]):
        answer = Answer(None, "", STUCK.format(minutes=int(STUCK_AFTER.total_seconds() // 60)), 0)
        recorded = _record(delivery, answer, started_at=delivery.claimed_at, now=now, queue_retry=False)
        stuck += recorded.attempts > delivery.attempts
    due = list(WebhookDelivery.objects.filter(status__in=SENDABLE, next_attempt_at__lte=now - SWEEP_GRACE)
               .order_by("next_attempt_at").values_list("pk", flat=True)[:SWEEP_LIMIT])
    return {"stuck": stuck, "due": due}
