"""Append-only records: compliance evidence and the outreach log are never rewritten.

Three layers refuse a change: the model (``save`` of an existing row, ``delete``), the
queryset (``update``, ``delete``, and so ``bulk_update``), and on PostgreSQL a trigger
installed by the model's migration, so not even raw SQL can edit the evidence.
A mistake is fixed by appending a correction that points at the row it corrects.
"""

from django.db import migrations, models

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


_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION leadcrm_refuse_append_only_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def append_only_trigger(table: str) -> migrations.RunPython:
    """A migration operation that protects ``table`` with a trigger on PostgreSQL.

    Row triggers do not fire on TRUNCATE, which test database flushes use.
    """

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        # params=None: the % signs are PL/pgSQL placeholders, not query parameters.
        schema_editor.execute(_FUNCTION_SQL, params=None)
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION leadcrm_refuse_append_only_change();"
        )

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")

    return migrations.RunPython(forward, backward, elidable=False)
