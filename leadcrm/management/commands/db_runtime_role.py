"""Create or update the database role the app runs as, which does not own the tables.

Run by the tables' owner after every ``migrate`` (``make migrate-as-owner``;
docs/database.md#roles). The runtime role may read and write rows and nothing more: no
TRUNCATE, no ALTER, no DROP, no triggers of its own, so a stolen application password or
a stray statement cannot empty or unprotect the evidence (docs/architecture.md#append-only-records).
"""

import re

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from compliance.models import DncNumber

# The one table the app rebuilds wholesale: a full national registry list is loaded by
# emptying the table, dropping and rebuilding its primary key (compliance/registry.py
# ``_rebuild_with``). ALTER TABLE is the owner's alone, and adding a primary key also needs
# CREATE on the schema, so the runtime role owns this table and holds CREATE on the schema.
# The table's rows are a copy of the registry's download, not evidence: a new load restores
# them. CREATE lets the role add tables of its own, never touch the owner's;
# ``db_role_check`` fails on any object it owns beyond this table (docs/database.md#roles).
# The import stages (leads/imports/copy.py) and the registry's change lists are TEMP tables,
# owned by the session that makes them: they need only the database's TEMPORARY privilege.
RUNTIME_OWNED_TABLES = (DncNumber._meta.db_table,)

# Tables the runtime role may read and never write: the columns a privacy erasure may
# replace in an append-only row, which the trigger reads (pipeline migration 0028). Were the
# app's role able to add a row there, a stolen password could widen what an erasure lets
# through to a verdict or a decision (docs/architecture.md#append-only-records).
READ_ONLY_TABLES = ("leadcrm_erasable_column",)

ROW_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


class Command(BaseCommand):
    help = ("Create or update the login role the app runs as (DATABASE_URL in production): row access "
            "to every table, no ownership, no TRUNCATE. Run as the tables' owner after migrate.")

    def add_arguments(self, parser):
        parser.add_argument("--role", default=settings.LEADCRM_DB_RUNTIME_ROLE,
                            help="The role's name (default: LEADCRM_DB_RUNTIME_ROLE, else leadcrm_app).")
        parser.add_argument("--password", default=settings.LEADCRM_DB_RUNTIME_PASSWORD,
                            help="Its password (default: LEADCRM_DB_RUNTIME_PASSWORD); "
                                 "left as it is when the role exists and none is given.")

    def handle(self, *args, role, password, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles are a PostgreSQL feature; the SQLite file has no roles "
                               "to set up. Nothing was changed.")
        if not ROLE_NAME.match(role):
            raise CommandError(f"{role!r} is not a plain role name: use lower-case letters, digits and _.")
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database(), current_schema()")
            owner, database, schema = cursor.fetchone()
            if role == owner:
                raise CommandError(f"{role} is the role running this command, the tables' owner. Give the "
                                   "app a role of its own (--role) and run this as the owner.")
            created = runtime_role_grant(cursor, role=role, password=password, owner=owner,
                                         database=database, schema=schema)
        self.stdout.write(f"{'Created' if created else 'Updated'} role {role}: {ROW_PRIVILEGES} on every table "
                          f"in {database}.{schema} (SELECT only on "
                          f"{', '.join(READ_ONLY_TABLES)}), owner of {', '.join(RUNTIME_OWNED_TABLES)} only (the registry's rebuild), "
                          f"no TRUNCATE elsewhere. Point DATABASE_URL at {role}.")
        if created and not password:
            self.stdout.write(self.style.WARNING(f"{role} has no password yet: set one with --password or "
                                                 "LEADCRM_DB_RUNTIME_PASSWORD and run this again."))


def runtime_role_grant(cursor, *, role: str, password: str | None, owner: str, database: str,
                       schema: str) -> bool:
    """Create ``role`` if missing and set its privileges to exactly what the app needs.

    Idempotent: privileges granted before (by hand, or by an older version of this) are
    revoked first, so running it again after every migrate is how it stays right.
    """
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    created = cursor.fetchone() is None
    name = quote(role)
    attributes = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
    if created:
        cursor.execute(f"CREATE ROLE {name} {attributes}")
    else:
        cursor.execute(f"ALTER ROLE {name} {attributes}")
    if password:
        cursor.execute(f"ALTER ROLE {name} PASSWORD %s", [password])
    cursor.execute(f"GRANT CONNECT, TEMPORARY ON DATABASE {quote(database)} TO {name}")
    cursor.execute(f"GRANT USAGE, CREATE ON SCHEMA {quote(schema)} TO {name}")  # CREATE: see above
    cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {quote(schema)} FROM {name}")
    cursor.execute(f"GRANT {ROW_PRIVILEGES} ON ALL TABLES IN SCHEMA {quote(schema)} TO {name}")
    cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {quote(schema)} FROM {name}")
    cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {name}")
    # Tables and sequences later migrations create (as the owner) are covered the same way.
    cursor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote(owner)} IN SCHEMA {quote(schema)} "
                   f"GRANT {ROW_PRIVILEGES} ON TABLES TO {name}")
    cursor.execute(f"ALTER DEFAULT PRIVILEGES FOR ROLE {quote(owner)} IN SCHEMA {quote(schema)} "
                   f"GRANT USAGE, SELECT ON SEQUENCES TO {name}")
    for table in READ_ONLY_TABLES:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{quote(schema)}.{quote(table)}"])
        if cursor.fetchone()[0]:  # made by a migration: absent only before the first migrate
            cursor.execute(f"REVOKE ALL ON TABLE {quote(table)} FROM {name}")
            cursor.execute(f"GRANT SELECT ON TABLE {quote(table)} TO {name}")
    for table in RUNTIME_OWNED_TABLES:
        # The owner stays a member of the runtime role, so later migrations can still alter
        # this table (and a non-superuser owner may hand it over at all).
        cursor.execute(f"GRANT {name} TO {quote(owner)}")
        cursor.execute(f"ALTER TABLE {quote(table)} OWNER TO {name}")
        cursor.execute(f"GRANT ALL ON TABLE {quote(table)} TO {name}")
    return created
