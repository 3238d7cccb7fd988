"""The rows the migrations seed, put back whenever a test flushes the database.

A transactional test (``django_db(transaction=True)``, ``transactional_db``,
``live_server``) ends with Django's ``flush``: every table is emptied. The flush then sends
``post_migrate``, which rebuilds the content types, the permissions and the role groups
(leadcrm/apps.py), but not what the data migrations wrote: the compliance rules and their
parameters, the state holidays, the prohibited phrases, the first-contact script, the
seller guide. Any test after it that needs them would fail, depending on the order.

So ``take`` records every non-empty table right after the test database is migrated, and
``restore`` (a ``post_migrate`` receiver on the last app, after the role groups) writes the
recorded rows back into each such table the flush left empty. Tables that ``post_migrate``
has filled again keep its rows. Nothing here names a table: a new seed migration is covered.

Not ``serialized_rollback``: Django loads its copy at the start of such a test and flushes
without ``post_migrate`` at its end, so the database is left without even content types or
groups until the next such test, and every transactional test would have to opt in (one
that does not flushes with ``post_migrate``, and the copy's groups then clash by name).
"""

from django.apps import apps
from django.core.management.color import no_style
from django.db import connections, router, transaction

# alias -> [(model, [field values of each row])]
_snapshots: dict[str, list[tuple[type, list[dict]]]] = {}


def _models(using):
    for model in apps.get_models(include_auto_created=True):
        if model._meta.can_migrate(connections[using]) and router.allow_migrate_model(using, model):
            yield model


def take(using: str) -> None:
    """Record the rows of every table that holds any, as the migrations left them."""
    snapshot = []
    for model in _models(using):
        rows = list(model._base_manager.using(using).order_by(model._meta.pk.name).values())
        if rows:
            snapshot.append((model, rows))
    _snapshots[using] = snapshot


def restore(using: str, **kwargs) -> None:
    """Put the recorded rows back into every recorded table that is empty now."""
    snapshot = _snapshots.get(using)
    if not snapshot:  # the migrate that builds the test database, before ``take``
        return
    connection = connections[using]
    emptied = [(model, rows) for model, rows in snapshot if not model._base_manager.using(using).exists()]
    if not emptied:
        return
    with transaction.atomic(using=using):
        for model, rows in emptied:
            for row in rows:
                # raw, as loaddata saves: the values go in as recorded (auto_now too).
                model(**row).save_base(using=using, raw=True, force_insert=True)
        # The rows keep their ids; the next id each table hands out comes after them.
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [model for model, _ in emptied]):
                cursor.execute(sql)
