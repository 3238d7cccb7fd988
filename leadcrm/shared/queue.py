"""Queued work while the Celery broker does not answer: a clear 503, nothing half-written.

Pages enqueue with ``task.delay`` in ``transaction.on_commit`` (docs/architecture.md);
publishing is bounded (``CELERY_BROKER_TRANSPORT_OPTIONS`` and
``CELERY_TASK_PUBLISH_RETRY_POLICY`` in leadcrm/settings/base.py: about two seconds at
most against a broker that accepts the connection and never answers, where kombu's
defaults waited for ever), and a publish that fails reaches ``QueuePausedMiddleware``,
which answers 503 with ``QUEUE_PAUSED`` (JSON under /api/) instead of a bare 500.

By then the page's rows may be committed (``on_commit`` runs after the commit), so the
pages that write before they enqueue are named in ``LEADCRM_ENQUEUING_VIEWS`` and the
middleware asks the broker first: when it does not answer, the page is refused before
its view runs and nothing is saved. If the broker dies between that question and the
publish, each page's rows are left in a state the app resumes from; see
docs/operations.md#when-redis-or-the-broker-is-down.

``enqueue_on_commit(..., swept=True)`` is for work a periodic sweeper also finds by its
rows' state (a pending email): a failed publish is logged and the request goes on.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.template.loader import render_to_string
from kombu.exceptions import OperationalError

from leadcrm.shared.api import problem_json_response

logger = logging.getLogger(__name__)

QUEUE_PAUSED = ("Queued work is paused: the task queue is not answering. Nothing was saved; "
                "try again in a minute.")
# How long the broker question before an enqueuing page may take, in seconds.
BROKER_CHECK_SECONDS = 2


class QueuePaused(Exception):
    """The broker did not take the task."""

    def __init__(self, message: str = QUEUE_PAUSED):
        super().__init__(message)
        self.message = message


def enqueue(task, *args, **kwargs) -> None:
    """Publish ``task`` now; ``QueuePaused`` when the broker does not take it."""
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except OperationalError as error:
        logger.warning("Could not queue %s: the broker is not answering (%s)", task.name, error)
        raise QueuePaused from error


def enqueue_on_commit(task, *args, swept: bool = False, **kwargs) -> None:
    """Publish ``task`` once the current transaction commits (at once outside one).

    ``swept``: a sweeper finds the work by its rows' state anyway, so a broker that does
    not answer is logged and the request goes on."""
    def publish():
        try:
            enqueue(task, *args, **kwargs)
        except QueuePaused:
            if not swept:
                raise
    transaction.on_commit(publish)


def broker_check(timeout: float = BROKER_CHECK_SECONDS) -> None:
    """Raise when the Celery broker does not answer within about ``timeout`` seconds."""
    from celery import current_app

    with current_app.connection_for_write() as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)


def broker_answers() -> bool:
    try:
        broker_check()
    except Exception as error:  # noqa: BLE001 - whatever the transport raises: not answering
        logger.warning("The broker is not answering (%s)", error)
        return False
    return True


def _paused(request, message: str):
    if request.path.startswith("/api/"):
        response = problem_json_response(503, message)
        response["Retry-After"] = "60"
        return response
    try:
        body = render_to_string("queue_paused.html", {"message": message}, request=request)
        return HttpResponse(body, status=503, headers={"Retry-After": "60"})
    except Exception:  # noqa: BLE001 - a page that needs the cache or more: plain text will do
        return HttpResponse(message, status=503, content_type="text/plain", headers={"Retry-After": "60"})


class QueuePausedMiddleware:
    """503 with a clear message when the broker does not answer (see the module's doc)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        match = request.resolver_match
        if match is None or match.view_name not in settings.LEADCRM_ENQUEUING_VIEWS:
            return None
        if not (request.user.is_authenticated or "HTTP_AUTHORIZATION" in request.META):
            return None  # the view sends a stranger to sign in; nothing to ask the broker for
        if not broker_answers():
            return _paused(request, QUEUE_PAUSED)
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, QueuePaused):
            return _paused(request, exception.message)
        if isinstance(exception, OperationalError):  # a ``task.delay`` not through enqueue()
            logger.warning("Could not queue work: the broker is not answering (%s)", exception)
            return _paused(request, QUEUE_PAUSED)
        return None
