"""Append-only records: compliance evidence and the outreach log are never rewritten.

Three layers refuse a change: the model (``save`` of an existing row, ``delete``), the
queryset (``update``, ``delete``, and so ``bulk_update``), and on PostgreSQL a trigger
installed by the table's migration, so not even raw SQL can edit the evidence.
A mistake is fixed by appending a correction that points at the row it corrects.

One door is sanctioned, and only for a homeowner's privacy erasure: inside
``privacy_erasure()`` (which must run in a transaction, and on PostgreSQL sets
``leadcrm.privacy_erasure`` for that transaction alone, ``SET LOCAL``, which the trigger
checks), ``AppendOnlyQuerySet.redact(**fields)`` replaces the person's details in place.
Rows are never deleted, and the decisions, times and rule IDs are left as they were: the
trigger lets an erasure's UPDATE through only when it changes nothing but the columns the
owner's table ``leadcrm_erasable_column`` lists (the setting alone, which any session may
set, opens nothing else). See docs/architecture.md#append-only-records and docs/privacy.md#what-is-kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models, transaction

REFUSED = "{model} rows are append-only: {action} is not allowed; append a correction instead."
REDACT_OUTSIDE_ERASURE = (
    "{model} rows are append-only: a redaction runs only inside a privacy erasure "
    "(leadcrm.shared.append_only.privacy_erasure)."
)
ERASURE_NEEDS_TRANSACTION = (
    "A privacy erasure must run inside one transaction (transaction.atomic), so that it "
    "commits whole or not at all."
)

# True only inside ``privacy_erasure()``: the model layer's half of the door the trigger
# opens for ``leadcrm.privacy_erasure`` (on SQLite, with no trigger, the only half).
_erasing: ContextVar[bool] = ContextVar("leadcrm_privacy_erasure", default=False)


@contextmanager
def privacy_erasure(using: str = "default") -> Iterator[None]:
    """Open the append-only tables to ``redact()`` for the rest of this block, in this
    transaction only. The setting is switched off again on the way out, so statements
    later in the same transaction are refused as before."""
    connection = transaction.get_connection(using)
    if not connection.in_atomic_block:
        raise AppendOnlyError(ERASURE_NEEDS_TRANSACTION)
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL leadcrm.privacy_erasure = 'on'")
    token = _erasing.set(True)
    try:
        yield
    finally:
        _erasing.reset(token)
        if postgresql and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL leadcrm.privacy_erasure = 'off'")


class AppendOnlyError(Exception):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(REFUSED.format(model=self.model.__name__, action="update"))

    def delete(self):
        raise AppendOnlyError(REFUSED.format(model=self.model.__name__, action="delete"))

    def redact(self, **fields) -> int:
        """Replace a homeowner's details in these rows; only inside ``privacy_erasure()``.

        The one sanctioned change to an append-only row (docs/privacy.md#what-is-kept): the
        caller names the fields holding the person's details and what replaces them."""
        if not _erasing.get():
            raise AppendOnlyError(REDACT_OUTSIDE_ERASURE.format(model=self.model.__name__))
        return models.QuerySet.update(self, **fields)

    update.alters_data = True
    redact.alters_data = True
    delete.alters_data = True
    delete.queryset_only = True


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(REFUSED.format(model=type(self).__name__, action="update"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(REFUSED.format(model=type(self).__name__, action="delete"))


class ReadOnlyAdminMixin:
    """Evidence is looked at, never edited or deleted (append-only)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
