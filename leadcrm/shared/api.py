"""What every API endpoint shares: keyset pages, bounded bodies, sane dates, the services'
refusals as clear 400s, every error as an RFC 9457 problem body, and the error answers every
operation documents in the schema (``ERRORS``; the schema class that adds them is
``pipeline.api.schema.ApiSchema``: drf-spectacular cannot be imported here, while DRF's
settings import this module). See docs/architecture.md#api-errors-and-tokens."""

from __future__ import annotations

import io
import logging
import re
from datetime import date, timedelta
from http import HTTPStatus
from itertools import accumulate

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.http import Http404, JsonResponse
from django.utils import timezone
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound, ParseError, PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

logger = logging.getLogger(__name__)

BAD_PAGE_SIZE = "A page size is a whole number from 1 up (at most {limit} are returned)."


class Pages(CursorPagination):
    """Newest first, by id: the next page is a cursor, never an OFFSET or a COUNT."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        """A page size that is not a whole number of 1 or more is a 400 (DRF would quietly
        serve the default instead); one above the maximum still gets the maximum."""
        raw = request.query_params.get(self.page_size_query_param, "").strip()
        if not raw:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ValidationError({self.page_size_query_param: [BAD_PAGE_SIZE.format(limit=self.max_page_size)]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["allowEmptyValue"] = True
                parameter["description"] = (f"Results per page: {self.page_size} unless asked, "
                                            f"at most {self.max_page_size} (more is served as {self.max_page_size}).")
            if parameter["name"] == self.cursor_query_param:
                parameter["description"] = "The `next` or `previous` link's cursor; an unreadable one is a 404."
        return parameters


def service_errors(error: DjangoValidationError) -> ValidationError:
    """A service's ValidationError, field by field, as DRF's 400."""
    if hasattr(error, "error_dict"):
        return ValidationError({field: [m for e in errors for m in e.messages] for field, errors in error.error_dict.items()})
    return ValidationError({"non_field_errors": error.messages})


# Bodies: bounded in size and depth -------------------------------------------------------

MAX_JSON_DEPTH = 32
BODY_TOO_LARGE = ("The request body is larger than the {limit:,} bytes the API reads. Send less at once "
                  "(a list to import goes to /api/v1/imports as a file).")
TOO_DEEP = (f"The JSON is nested more than {MAX_JSON_DEPTH} levels deep; no field of this API needs more "
            "than a few. Check what your script sends.")
TOO_MANY_FIELDS = "The request has too many fields or files to read. Send fewer at once."
TOO_BIG_A_VALUE = "A value in the request is too large or nested too deeply to read. Check what your script sends."

# A JSON string, escapes and all: its brackets are text, not nesting. Unrolled, so a long
# string is matched without backtracking.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_NESTING = {"[": 1, "{": 1, "]": -1, "}": -1}


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "body_too_large"


def _read_limited(stream) -> bytes:
    """The body, refused with a 413 past LEADCRM_API_MAX_BODY_BYTES (Django has already
    refused one past DATA_UPLOAD_MAX_MEMORY_SIZE, also a 413: see ``exception_handler``)."""
    limit = settings.LEADCRM_API_MAX_BODY_BYTES
    raw = stream.read(limit + 1) if stream is not None else b""
    if len(raw) > limit:
        raise BodyTooLarge(BODY_TOO_LARGE.format(limit=limit))
    return raw


def json_depth(text: str) -> int:
    """How deeply ``text``'s arrays and objects nest, found without recursing (Python's
    json module recurses once per level, so a body 1,000 deep was a RecursionError): the
    strings taken out, then a running sum of the brackets left, in C loops. Malformed JSON
    gets a number too; the parser refuses it right after."""
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    if brackets.count("[") + brackets.count("{") <= MAX_JSON_DEPTH:
        return 0 if not brackets else 1  # shallow enough: no need to measure
    return max(accumulate(map(_NESTING.__getitem__, brackets)), default=0)


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser behind a size limit (413) and a depth limit (400)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = _read_limited(stream)
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as error:
            raise ParseError(f"JSON parse error - {error}") from None
        if json_depth(text) > MAX_JSON_DEPTH:
            raise ParseError(TOO_DEEP)
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:  # the check above makes this unreachable; kept as a floor
            raise ParseError(TOO_DEEP) from None


# Dates: a sane range ----------------------------------------------------------------------

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
DATE_OUT_OF_RANGE = "Give a date between 1900 and 2100."
DATE_UNREADABLE = "That date cannot be read: give a date between 1900 and 2100."


class SaneDateField(serializers.DateField):
    """A date from 1900 to 2100. Recording dates and auctions of a lead's record fall well
    inside; year 9999 or 0001 is a typo or a probe, and date arithmetic on it overflowed
    (a 500) further down."""

    default_error_messages = {"out_of_range": DATE_OUT_OF_RANGE}

    def to_internal_value(self, value):
        try:
            parsed = super().to_internal_value(value)
        except OverflowError:
            self.fail("out_of_range")
        if not EARLIEST_DATE <= parsed <= LATEST_DATE:
            self.fail("out_of_range")
        return parsed


class SaneDateTimeField(serializers.DateTimeField):
    """A moment from 1900 to 2100, or within ``within`` of now when given: a follow-up due
    in 2062 is a typo of 2026, and one at 9999-12-31 overflowed turning it into local time
    (a 500)."""

    default_error_messages = {"out_of_range": DATE_OUT_OF_RANGE, "unreadable": DATE_UNREADABLE,
                              "too_far": "Give a time within {years} years of today."}

    def __init__(self, *args, within: timedelta | None = None, **kwargs):
        self.within = within
        super().__init__(*args, **kwargs)

    def to_internal_value(self, value):
        try:
            parsed = super().to_internal_value(value)
        except OverflowError:
            self.fail("unreadable")
        if not EARLIEST_DATE <= parsed.date() <= LATEST_DATE:  # in UTC (TIME_ZONE): both ends are far
            self.fail("out_of_range")
        if self.within is not None and abs(parsed - timezone.now()) > self.within:
            self.fail("too_far", years=round(self.within.days / 365))
        return parsed


# DRF's, with the model's dates and times read as ``SaneDateField``/``SaneDateTimeField``.
# A comment, not a docstring: drf-spectacular would give it as the description of every
# serializer below that has none of its own.
class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.DateField: SaneDateField, models.DateTimeField: SaneDateTimeField}


# Errors: RFC 9457 problem bodies ------------------------------------------------------------

PROBLEM_TYPE = "application/problem+json"
# The members a problem body always has; a field of the same name is only under "errors".
PROBLEM_MEMBERS = ("type", "title", "status", "detail", "code")
SERVER_ERROR = ("Something went wrong on our side. The error was logged. Read back what you sent before "
                "sending it again: it may have been saved.")
FIX_FIELDS = "Some of what you sent was refused: fix {fields} and send it again."

# A problem's ``code``: what a client branches on (the ``detail`` is for people and may be
# reworded). The schema lists them as an enum on every problem component.
PROBLEM_CODES = [
    ("validation_error", "A parameter or the body was refused: see `errors`, by field."),
    ("parse_error", "The body could not be read (malformed JSON, nested too deeply, too many fields)."),
    ("not_authenticated", "No credentials, or ones that are not valid or expired."),
    ("permission_denied", "The caller's role may not do this."),
    ("insufficient_scope", "The token lacks the scope this operation needs."),
    ("not_found", "No such object among those the caller may see, in the path or the body."),
    ("method_not_allowed", "The path does not take this method."),
    ("not_acceptable", "The API answers JSON only."),
    ("conflict", "The request conflicts with the object's state."),
    ("stage_move_refused", "The lead may not move to that stage now: see `reasons`."),
    ("plan_refused", "The action plan refused the lead: see `reasons`."),
    ("outreach_blocked", "The compliance gate blocked the contact: see `verdict`, `rule_ids`, `findings`."),
    ("stale_version", "The row changed since it was read: read it again, then send the change."),
    ("follow_up_closed", "The follow-up is done or cancelled: it can no longer be changed."),
    ("house_already_held", "The house is already one of your leads: see `lead`, or send `add_to_existing`."),
    ("compliance_refused", "A compliance rule refused the change: see `rule_ids` and `reasons`."),
    ("idempotency_key_in_use", "A request with this Idempotency-Key is still running."),
    ("body_too_large", "The body is larger than the API reads."),
    ("unsupported_media_type", "The body is in a content type this operation does not read (JSON only)."),
    ("idempotency_key_reused", "This Idempotency-Key came before with a different body."),
    ("throttled", "Too many requests: wait as long as Retry-After says."),
    ("server_error", "Something went wrong on our side."),
    ("service_unavailable", "The API is paused for a moment: wait as long as Retry-After says."),
]
PROBLEM_CODE_VALUES = [code for code, _meaning in PROBLEM_CODES]
# DRF's exception codes that the API names otherwise.
_DRF_CODES = {"invalid": "validation_error", "authentication_failed": "not_authenticated", "error": "server_error"}
# A refusal built without a code (Django's own 404 and 500, an older caller of problem()).
_STATUS_CODES = {400: "validation_error", 401: "not_authenticated", 403: "permission_denied", 404: "not_found",
                 405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "body_too_large",
                 415: "unsupported_media_type", 429: "throttled", 500: "server_error", 503: "service_unavailable"}


def problem(status_code: int, detail: str, *, code: str | None = None, **extra) -> dict:
    """An RFC 9457 problem: no problem types of our own (``about:blank``), so the title is
    the status's name, ``detail`` says what to do and ``code`` (``PROBLEM_CODES``) what a
    client can branch on."""
    return {"type": "about:blank", "title": HTTPStatus(status_code).phrase, "status": status_code,
            "detail": str(detail), "code": code or _STATUS_CODES.get(status_code, "server_error"), **extra}


def problem_response(status_code: int, detail: str, *, code: str | None = None, **extra) -> Response:
    """A view's own refusal (a 409) as a problem body."""
    return Response(problem(status_code, detail, code=code, **extra), status=status_code, content_type=PROBLEM_TYPE)


def problem_json_response(status_code: int, detail: str, *, code: str | None = None) -> JsonResponse:
    """The same outside DRF: Django's own 404 and 500 under /api/ (``leadcrm/urls.py``)."""
    return JsonResponse(problem(status_code, detail, code=code), status=status_code, content_type=PROBLEM_TYPE)


def not_found(model: type[models.Model]) -> NotFound:
    """The 404 of an id in a body naming a ``model`` row the caller may not see: the same
    body as the path's 404 (``get_object_or_404``), so neither tells which ids exist."""
    return NotFound(f"No {model._meta.object_name} matches the given query.")


def _code_of(exc: APIException) -> str:
    if isinstance(exc, ValidationError):
        return "validation_error"
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    return _DRF_CODES.get(code, code)


def _as_problem(status_code: int, data, code: str) -> dict:
    """DRF's error data as a problem body. Field errors stay where DRF put them (top level,
    by field name) so clients that read ``body["phone"]`` keep working, and are all under
    ``errors`` as well: a field named like a problem member (a follow-up's ``title``) is
    only there."""
    if isinstance(data, dict) and "detail" in data and not isinstance(data["detail"], list | dict):
        return problem(status_code, data["detail"], code=code,
                       **{k: v for k, v in data.items() if k not in PROBLEM_MEMBERS})
    errors = {"non_field_errors": data} if isinstance(data, list) else dict(data)
    if set(errors) == {"non_field_errors"} and errors["non_field_errors"]:
        detail = " ".join(str(message) for message in errors["non_field_errors"])
    else:
        detail = FIX_FIELDS.format(fields=", ".join(f for f in errors if f != "non_field_errors") or "the request")
    shown = {field: messages for field, messages in errors.items() if field not in (*PROBLEM_MEMBERS, "errors")}
    return problem(status_code, detail, code=code, **shown, errors=errors)


def exception_handler(exc, context):
    """DRF's handler, for more exceptions, answering problem bodies. Django's refusals of a
    body (too big, too many fields) and an OverflowError or RecursionError met reading the
    request are the client's input, so a 413 or a 400, not a 500; anything else unhandled
    goes on to Django and comes back as ``leadcrm.urls.server_error``'s JSON 500."""
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES, which are in this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, DjangoValidationError):
        exc = service_errors(exc)
    elif isinstance(exc, RequestDataTooBig):
        exc = BodyTooLarge(BODY_TOO_LARGE.format(limit=settings.LEADCRM_API_MAX_BODY_BYTES))
    elif isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        exc = ParseError(TOO_MANY_FIELDS)
    elif isinstance(exc, OverflowError | RecursionError):
        logger.warning("API request refused as unreadable: %r", exc, exc_info=True)
        exc = ParseError(TOO_BIG_A_VALUE)
    elif isinstance(exc, Http404):  # as DRF's handler does, to read its code below
        exc = NotFound(*exc.args)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied(*exc.args)
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = _as_problem(response.status_code, response.data, _code_of(exc))
        response.content_type = PROBLEM_TYPE
    return response


# The schema's error answers ----------------------------------------------------------------

PROBLEM_CODE = {"type": "string", "enum": PROBLEM_CODE_VALUES,
                "description": "What went wrong, for a program to branch on: " + "; ".join(
                    f"`{code}`: {meaning}" for code, meaning in PROBLEM_CODES)}
PROBLEM_PROPERTIES = {
    "type": {"type": "string", "description": "`about:blank`: the status says what kind of problem it is."},
    "title": {"type": "string", "description": "The status's name."},
    "status": {"type": "integer"},
    "detail": {"type": "string", "description": "What went wrong and what to do next."},
    "code": PROBLEM_CODE,
}
PROBLEM = {"type": "object", "properties": PROBLEM_PROPERTIES, "required": list(PROBLEM_MEMBERS)}
# Field name (or non_field_errors) -> its messages, under "errors" and (but for a field
# named like a problem member) at the top level too, as DRF puts them.
FIELD_MESSAGES = {"oneOf": [{"type": "array", "items": {}}, {"type": "object"}, {"type": "string"}]}
FIELD_ERRORS = {
    "type": "object",
    "description": ("An RFC 9457 problem; what was wrong, by field (`non_field_errors` for the request as a "
                    "whole), under `errors` and at the top level as well."),
    "properties": {**PROBLEM_PROPERTIES, "errors": {"type": "object", "additionalProperties": FIELD_MESSAGES}},
    "required": list(PROBLEM_MEMBERS),
    "additionalProperties": FIELD_MESSAGES,
}
ERRORS = {
    "400": ("ValidationErrors", FIELD_ERRORS, "A parameter or the body could not be read or was refused."),
    "401": ("Problem", PROBLEM, "No token, a token that is not valid, or one that expired "
                                "(`Authorization: Token <key>`; make a new one on your settings page)."),
    "403": ("Problem", PROBLEM, "Your role may not do this, or your token lacks the scope it needs "
                                "(`insufficient_scope`)."),
    "404": ("Problem", PROBLEM, "No such object among those you may see, named in the path or the body "
                                "(or an unreadable cursor)."),
    "413": ("Problem", PROBLEM, "The body is larger than the API reads."),
    "415": ("Problem", PROBLEM, "The body is in a content type this endpoint does not read (JSON only)."),
    "429": ("Problem", PROBLEM, "Too many requests: wait as long as Retry-After says."),
}
