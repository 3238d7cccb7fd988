"""``updated_at`` that moves whenever a row is saved, named fields or not.

Django's ``auto_now`` stamps a ``save()`` only when ``update_fields`` is not given or names
the field; most services here save named fields, and a change they forgot to stamp is a
change an API client syncing by ``?updated_since=`` never sees
(docs/architecture.md#api-sync). So a model with ``StampedOnSave`` adds ``updated_at`` to
every named save. ``QuerySet.update()`` and ``bulk_update()`` bypass ``save()``: services
that use them set ``updated_at`` themselves.
"""

from __future__ import annotations

from django.db import models


class StampedOnSave(models.Model):
    """Mixed into a model with an ``updated_at = DateTimeField(auto_now=True)``."""

    class Meta:
        abstract = True

    def save(self, *args, update_fields=None, **kwargs):
        if update_fields is not None and "updated_at" not in update_fields:
            update_fields = [*update_fields, "updated_at"]
        super().save(*args, update_fields=update_fields, **kwargs)
