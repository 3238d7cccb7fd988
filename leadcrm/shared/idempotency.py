"""``Idempotency-Key`` on every POST under /api/: the first answer is kept 24 hours per user
and key and given back to a retry, so a client that lost the answer can ask again without
doing the work twice (docs/architecture.md#api-idempotency).

A middleware, so that no view needs to change: DRF authenticates inside the view, so the
middleware asks the view's own authentication classes who is calling (a call they refuse
is left to the view, which refuses it the same way, and nothing is kept). Then:

- a new key: a row is inserted for (user, key) before the view runs; the unique pair is
  how two processes agree which one runs it. The view's answer is kept on the row;
- the same key, the same method, path and body, answered: that answer again (status, body,
  ``Content-Type`` and ``Location``), with ``Idempotent-Replayed: true``; nothing runs;
- the same key with another body or path: 422 ``idempotency_key_reused``;
- the same key while the first request still runs: 409 ``idempotency_key_in_use``.

Every answer below 500 is kept, refusals included (the gate's 409 recorded its check; a
400 says what was wrong with that body), except a 429: the throttle refused before
anything ran. A 5xx is not kept, so the key can be sent again. A key is 1 to 255
printable ASCII characters, else a 400.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework.exceptions import APIException
from rest_framework.request import Request

from leadcrm.models import IdempotencyKey

from .api import MAX_JSON_DEPTH, PROBLEM_TYPE, json_depth, problem
from .versioning import UNVERSIONED_NAMESPACE, successor_path

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_FORMAT = re.compile(r"[\x20-\x7e]{1,255}")
KEEP_FOR = timedelta(hours=24)
# A first request still "running" after this long died with its process (no request runs
# for minutes): the key is taken over rather than refused for a day.
ABANDONED_AFTER = timedelta(minutes=5)
# The answer's headers worth giving back; the rest (rate limits, dates) belong to the retry.
KEPT_HEADERS = ("Content-Type", "Location")
PURGE_BATCH = 1000

KEY_INVALID = "An Idempotency-Key is 1 to 255 printable ASCII characters (a UUID is a good one)."
KEY_REUSED = ("This Idempotency-Key was sent before with another request (another body or path). Use a new key "
              "for a new request; send the same key only to retry the same request.")
KEY_IN_USE = ("The first request with this Idempotency-Key is still being answered. Retry in a moment with the "
              "same key to get its answer.")


SHOWN_ONCE = ("The first request with this Idempotency-Key made it (id {id}); its key was shown in that answer "
             "only and is kept nowhere. If you did not get it, revoke {id} and make another.")


def _problem(status_code: int, detail: str, code: str, **extra) -> JsonResponse:
    return JsonResponse(problem(status_code, detail, code=code, **extra), status=status_code,
                        content_type=PROBLEM_TYPE)


def _caller(request, view_class):
    """Who the view would see as the caller (its own authentication classes) and with which
    credential, or None when they refuse the request or find nobody: the view then answers
    as without a key."""
    authenticators = [authentication() for authentication in view_class.authentication_classes]
    try:
        drf_request = Request(request, authenticators=authenticators)
        user, auth = drf_request.user, drf_request.auth
    except APIException:
        return None
    if not getattr(user, "is_authenticated", False) or user.pk is None:
        return None
    credential = f"{type(auth).__name__}:{auth.pk}" if getattr(auth, "pk", None) is not None else "session"
    return user, credential


def _canonical_json(raw: bytes) -> bytes:
    """The same JSON sent again with its keys in another order or other spacing is the same
    request; anything not readable as JSON is compared byte for byte."""
    try:
        text = raw.decode()
        if json_depth(text) > MAX_JSON_DEPTH:
            return raw
        return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":")).encode()
    except (UnicodeDecodeError, ValueError, RecursionError):
        return raw


def _multipart_digest(request) -> bytes:
    """A multipart body by its fields and its files' names and contents: its boundary is
    drawn afresh on every send, so the bytes of a retry differ."""
    digest = hashlib.sha256()
    for name in sorted(request.POST):
        digest.update(json.dumps([name, request.POST.getlist(name)]).encode())
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest.update(json.dumps([name, upload.name, upload.size]).encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest().encode()


def _fingerprint(request, path: str) -> str | None:
    """SHA-256 of the method, the path and the body; None for a body the view will refuse
    unread (too large), which is then answered as without a key."""
    content_type = request.content_type or ""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if content_type == "multipart/form-data":
        try:
            body = _multipart_digest(request)
        except Exception:  # the view's own parser refuses it, and says why
            logger.info("Idempotency-Key not applied: the multipart body could not be read", exc_info=True)
            return None
    elif length > settings.LEADCRM_API_MAX_BODY_BYTES:
        return None
    elif content_type == "application/json" or content_type.endswith("+json"):
        body = _canonical_json(request.body)
    else:
        body = request.body
    digest = hashlib.sha256(f"{request.method}\n{path}\n".encode())
    digest.update(body)
    return digest.hexdigest()


def _take_over(record: IdempotencyKey, *, fingerprint: str, method: str, path: str, now) -> bool:
    """Claim a row that expired or whose first request died, unless another process just did."""
    return bool(IdempotencyKey.objects.filter(pk=record.pk, created_at=record.created_at).update(
        method=method, path=path, fingerprint=fingerprint, created_at=now, status=None, headers={}, body=b""))


def _replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status)
    for name, value in record.headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


class IdempotencyMiddleware:
    """Keeps and replays the answers to POSTs under /api/ that carry an Idempotency-Key."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        claim = getattr(request, "_idempotency_claim", None)
        if claim is not None:
            self._keep(claim, response, shown_once=getattr(request, "_idempotency_shown_once", False))
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not request.path_info.startswith("/api/"):
            return None
        view_class = getattr(view_func, "cls", None)
        if view_class is None:  # not a DRF view
            return None
        request._idempotency_shown_once = getattr(view_class, "answer_shown_once", False)
        caller = _caller(request, view_class)
        if caller is None:  # the view's 401 or 403 comes first, key or no key
            return None
        user, credential = caller
        if not KEY_FORMAT.fullmatch(key):
            return _problem(400, KEY_INVALID, "validation_error", errors={HEADER: [KEY_INVALID]})
        path = request.path_info
        if UNVERSIONED_NAMESPACE in request.resolver_match.namespaces:
            path = successor_path(path)  # one resource under either of its paths
        path = path.rstrip("/")  # v1 takes its paths with or without the slash
        fingerprint = _fingerprint(request, path)
        if fingerprint is None:
            return None
        now = timezone.now()
        fields = {"method": request.method, "path": path, "fingerprint": fingerprint}
        try:
            with transaction.atomic():
                request._idempotency_claim = IdempotencyKey.objects.create(user=user, credential=credential, key=key, created_at=now,
                                                                           **fields)
            return None
        except IntegrityError:
            record = IdempotencyKey.objects.filter(user=user, credential=credential, key=key).first()
        if record is None or record.created_at < now - KEEP_FOR:  # purged or expired meanwhile
            return self._claim_again(request, record, user=user, credential=credential, key=key, now=now, **fields)
        if record.fingerprint != fingerprint:
            return _problem(422, KEY_REUSED, "idempotency_key_reused")
        if record.status is None:
            if record.created_at < now - ABANDONED_AFTER:
                return self._claim_again(request, record, user=user, credential=credential, key=key, now=now, **fields)
            return _problem(409, KEY_IN_USE, "idempotency_key_in_use")
        return _replay(record)

    def _claim_again(self, request, record, *, user, credential, key, now, **fields):
        if record is not None and _take_over(record, now=now, **fields):
            record.refresh_from_db()
            request._idempotency_claim = record
            return None
        if record is None:
            try:
                with transaction.atomic():
                    request._idempotency_claim = IdempotencyKey.objects.create(user=user, credential=credential, key=key, created_at=now,
                                                                               **fields)
                return None
            except IntegrityError:
                pass
        return _problem(409, KEY_IN_USE, "idempotency_key_in_use")

    def _keep(self, claim: IdempotencyKey, response, *, shown_once: bool = False) -> None:
        rows = IdempotencyKey.objects.filter(pk=claim.pk, created_at=claim.created_at)
        # Nothing kept: the same key may be sent again. A 401, 403 or 429 refused before
        # anything ran (a retry with a corrected token must run).
        if response.status_code >= 500 or response.status_code in (401, 403, 429) or getattr(response, "streaming", False):
            rows.delete()
            return
        if shown_once and 200 <= response.status_code < 300:
            # An answer carrying a secret (a new API key) is kept nowhere, this table
            # included: a retry is told the first request made it, and which one it is.
            made = json.loads(response.content).get("id")
            body = json.dumps(problem(409, SHOWN_ONCE.format(id=made), code="conflict", id=made)).encode()
            rows.update(status=409, headers={"Content-Type": PROBLEM_TYPE}, body=body)
            return
        headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
        rows.update(status=response.status_code, headers=headers, body=response.content)


def idempotency_keys_purge(*, now=None) -> int:
    """Delete the keys older than 24 hours, in batches; how many went. Safe to run twice."""
    cutoff = (now or timezone.now()) - KEEP_FOR
    deleted = 0
    while True:
        batch = list(IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return deleted
        deleted += IdempotencyKey.objects.filter(pk__in=batch).delete()[0]
