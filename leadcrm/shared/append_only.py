"""Append-only records: compliance evidence and the outreach log are never rewritten.

Three layers refuse a change: the model (``save`` of an existing row, ``delete``), the
queryset (``update``, ``delete``, and so ``bulk_update``), and on PostgreSQL a trigger
installed by the table's migration, so not even raw SQL can edit the evidence.
A mistake is fixed by appending a correction that points at the row it corrects.
"""

from django.db import models

REFUSED = "{model} rows are append-only: {action} is not allowed; append a correction instead."


class AppendOnlyError(Exception):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError(REFUSED.format(model=self.model.__name__, action="update"))

    def delete(self):
        raise AppendOnlyError(REFUSED.format(model=self.model.__name__, action="delete"))

    update.alters_data = True
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
