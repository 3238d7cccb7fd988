"""Sync by change: ``?updated_since=`` on every list of the API, and keyset pages that stay
right while rows change under them (docs/architecture.md#api-sync).

``?updated_since=<ISO 8601 with an offset>`` keeps the rows whose ``updated_at`` is at or
after that moment (inclusive: a client resumes from the last ``updated_at`` it saw and
loses no row that shares it; it sees that one row again and keeps it by id) and orders
them by ``(updated_at, id)`` ascending. The cursor is that pair, not an offset: a row
changed while a client pages moves past the end and comes again on a later page, and no
row slides back into a page already read, so none is skipped. A list whose rows are never
changed names its own moment (``sync_field``: the outreach log's ``logged_at``).

A list that offers orderings (``ordering_fields`` on the view) pages them the same way:
the field, then the id as tiebreaker, nulls last. Without either parameter a list keeps
its order, newest first, and the shared ``Pages`` cursor. No page ever counts rows.

Not a drf-spectacular import here: DRF's settings import this module.
"""

from __future__ import annotations

import json
import re
from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from .api import EARLIEST_DATE, LATEST_DATE, Pages

UPDATED_SINCE = "updated_since"
ORDERING = "ordering"
SYNC_FIELD = "updated_at"

SINCE_UNREADABLE = ("updated_since must be a moment in ISO 8601 with its offset, such as 2026-12-01T09:30:00Z "
                    "or 2026-12-01T09:30:00-06:00 (in a URL a + is written %2B).")
SINCE_NAIVE = ("updated_since needs an offset from UTC (Z, or -06:00 and the like): without one the moment "
               "could be any of 24 hours.")
SINCE_OUT_OF_RANGE = "updated_since must be a moment between 1900 and 2100."
NOT_SYNCABLE = "This list cannot be read by change: it has no updated_at."
BAD_ORDERING = "Order by one of: {choices} (a leading - for descending)."
ORDERING_WITH_SINCE = ("With updated_since the rows come by (updated_at, id); leave ordering out "
                       "(or give ordering=updated_at).")
INVALID_CURSOR = "Invalid cursor"

# "2026-12-01T09:30:00+00:00" sent unencoded arrives with a space for the +.
_PLUS_AS_SPACE = re.compile(r"^(.*\d) (\d{2}(?::?\d{2})?)$")


def parse_since(raw: str) -> datetime:
    """An aware moment, or a 400 that says what to send."""
    text = _PLUS_AS_SPACE.sub(r"\1+\2", raw.strip())
    try:
        moment = parse_datetime(text)
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise ValidationError({UPDATED_SINCE: [SINCE_UNREADABLE]})
    if timezone.is_naive(moment):
        raise ValidationError({UPDATED_SINCE: [SINCE_NAIVE]})
    try:
        day = moment.astimezone(UTC).date()
    except OverflowError:
        raise ValidationError({UPDATED_SINCE: [SINCE_OUT_OF_RANGE]}) from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError({UPDATED_SINCE: [SINCE_OUT_OF_RANGE]})
    return moment


def sync_field(view, model) -> str | None:
    """The field that says when a row of ``model`` last changed, or None if it has none."""
    name = getattr(view, "sync_field", SYNC_FIELD)
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return name


def _is_list(view) -> bool:
    return getattr(view, "action", "list") == "list"


def _model_of(view):
    """The view's model, for the schema (which asks without a user)."""
    queryset = getattr(view, "queryset", None)
    if queryset is not None:
        return queryset.model
    serializer = getattr(view, "serializer_class", None)
    meta = getattr(serializer, "Meta", None)
    if meta is not None and hasattr(meta, "model"):
        return meta.model
    try:
        return view.get_queryset().model
    except Exception:  # noqa: BLE001 - a view that cannot answer without a user
        return None


class UpdatedSinceFilter(BaseFilterBackend):
    """``?updated_since=``: the rows changed at or after a moment; ``SyncPages`` orders them."""

    def filter_queryset(self, request, queryset, view):
        raw = request.query_params.get(UPDATED_SINCE)
        if raw is None or not _is_list(view):
            return queryset
        field = sync_field(view, queryset.model)
        if field is None:
            raise ValidationError({UPDATED_SINCE: [NOT_SYNCABLE]})
        return queryset.filter(**{f"{field}__gte": parse_since(raw)})

    def get_schema_operation_parameters(self, view):
        model = _model_of(view)
        if model is None or sync_field(view, model) is None:
            return []
        field = sync_field(view, model)
        return [{
            "name": UPDATED_SINCE, "in": "query", "required": False,
            "schema": {"type": "string", "format": "date-time"},
            "description": (f"Only the rows whose `{field}` is at or after this moment (ISO 8601 with an "
                            f"offset), in ascending `({field}, id)` order. Inclusive: resume from the last "
                            f"`{field}` you saw and drop the rows you already hold by id. A row changed "
                            "while you page comes again on a later page; none is skipped."),
        }]


def _nullable(model, name: str) -> bool:
    return model._meta.get_field(name).null


class SyncPages(Pages):
    """``Pages``, and keyset pages by ``(field, id)`` when the list is read by change or in
    an order asked for. Those pages have a ``next`` link and no ``previous`` one."""

    def paginate_queryset(self, queryset, request, view=None):
        self.keyset = self._keyset(request, view, queryset.model)
        if self.keyset is None:
            return super().paginate_queryset(queryset, request, view)
        field, descending = self.keyset
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        nullable = _nullable(queryset.model, field)
        if nullable:
            column = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
        else:
            column = f"-{field}" if descending else field
        queryset = queryset.order_by(column, "-pk" if descending else "pk")
        after = self._decode(request, queryset.model, field, descending)
        if after is not None:
            queryset = queryset.filter(_beyond(field, descending, nullable, *after))
        rows = list(queryset[: self.page_size + 1])
        self.has_next = len(rows) > self.page_size
        rows = rows[: self.page_size]
        self.last = (getattr(rows[-1], field), rows[-1].pk) if self.has_next else None
        return rows

    def get_paginated_response(self, data):
        if getattr(self, "keyset", None) is None:
            return super().get_paginated_response(data)
        return Response({"next": self._next_link(), "previous": None, "results": data})

    def _keyset(self, request, view, model) -> tuple[str, bool] | None:
        if view is None or not _is_list(view):
            return None
        params = request.query_params
        asked = params.get(ORDERING, "").strip()
        choices = tuple(getattr(view, "ordering_fields", ()) or ())
        if UPDATED_SINCE in params:
            field = sync_field(view, model)
            if field is None:
                return None  # the filter has answered its 400 already
            if asked and asked != field:
                raise ValidationError({ORDERING: [ORDERING_WITH_SINCE]})
            return field, False
        if not asked or not choices:
            return None
        name = asked.removeprefix("-")
        if name not in choices:
            raise ValidationError({ORDERING: [BAD_ORDERING.format(choices=", ".join(choices))]})
        return name, asked.startswith("-")

    def _token(self) -> str:
        field, descending = self.keyset
        return f"-{field}" if descending else field

    def _next_link(self) -> str | None:
        if self.last is None:
            return None
        value, pk = self.last
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        payload = json.dumps({"o": self._token(), "v": value, "i": pk}, separators=(",", ":"))
        cursor = urlsafe_b64encode(payload.encode()).decode().rstrip("=")
        return replace_query_param(self.base_url, self.cursor_query_param, cursor)

    def _decode(self, request, model, field: str, descending: bool):
        """The (value, id) the previous page ended on; a cursor of another order, or one not
        made here, is the same 404 as ``Pages``'."""
        raw = request.query_params.get(self.cursor_query_param)
        if raw is None:
            return None
        try:
            payload = json.loads(urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
            if payload["o"] != self._token() or not isinstance(payload["i"], int):
                raise ValueError
            value = _from_cursor(model._meta.get_field(field), payload["v"])
        except (ValueError, TypeError, KeyError, InvalidOperation, UnicodeDecodeError, AttributeError):
            raise NotFound(INVALID_CURSOR) from None
        return value, payload["i"]


def _from_cursor(field: models.Field, value):
    if value is None:
        if not field.null:
            raise ValueError
        return None
    if isinstance(field, models.DateTimeField):
        moment = parse_datetime(value)
        if moment is None or timezone.is_naive(moment):
            raise ValueError
        return moment
    if isinstance(field, models.DecimalField):
        return Decimal(value)
    if isinstance(field, models.IntegerField | models.FloatField):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError
        return value
    raise ValueError


def _beyond(field: str, descending: bool, nullable: bool, value, pk) -> Q:
    """The rows after (value, pk) in (field, id) order, nulls last. The leading ``>=`` (or
    ``<=``) is a plain range on the (field, id) index; the rest picks within the tie."""
    if value is None:  # among the nulls, at the end: only the ids left
        return Q(**{f"{field}__isnull": True, "pk__lt" if descending else "pk__gt": pk})
    near, far, step = ("lte", "lt", "pk__lt") if descending else ("gte", "gt", "pk__gt")
    beyond = Q(**{f"{field}__{near}": value}) & (Q(**{f"{field}__{far}": value}) | Q(**{step: pk}))
    return beyond | Q(**{f"{field}__isnull": True}) if nullable else beyond
