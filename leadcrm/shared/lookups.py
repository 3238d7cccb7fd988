"""``field__any_of=values``: the same rows as ``field__in``, sent to PostgreSQL as one array.

``__in`` with a thousand values binds (and Django prepares) a thousand parameters, and the
server parses and plans a thousand-item list; an import asks that of every batch, for its
address keys and its parcels. ``= ANY(%s)`` binds the values as one array parameter. Other
databases get the plain ``IN``.
"""

from django.db.models import Field, ForeignObject, Lookup
from django.db.models.lookups import In


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False  # the values go as one array, each prepared below

    def get_prep_lookup(self):
        return [self.lhs.output_field.get_prep_value(value) for value in self.rhs]

    def as_sql(self, compiler, connection):
        return In(self.lhs, self.rhs).as_sql(compiler, connection)

    def as_postgresql(self, compiler, connection):
        if not self.rhs:
            return In(self.lhs, self.rhs).as_sql(compiler, connection)  # raises EmptyResultSet, as __in does
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [self.lhs.output_field.get_db_prep_value(value, connection, prepared=True) for value in self.rhs]
        return f"{lhs} = ANY(%s)", [*lhs_params, values]


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # related fields keep lookups of their own: ``lead_id__any_of``
