"""Say whether the app is connected as a role that could empty or unprotect the evidence.

Part of a production deploy, after ``check --deploy`` (docs/database.md#roles): exits
non-zero when the role in DATABASE_URL is a superuser, owns the app's tables, or may
TRUNCATE, alter or drop an append-only table, or may write the list of columns a privacy
erasure may replace. A laptop's SQLite file has no roles.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from .db_runtime_role import READ_ONLY_TABLES, RUNTIME_OWNED_TABLES

REFUSE_FUNCTION = "leadcrm_refuse_append_only_change"


def runtime_role_problems(cursor) -> list[str]:
    """What the connected role may do that the app's runtime role must not, in plain words."""
    problems = []
    cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    role, superuser = cursor.fetchone()
    if superuser:
        problems.append(f"{role} is a superuser: it can do anything, the triggers' guard included.")
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
        "AND pg_has_role(current_user, c.relowner, 'USAGE') AND NOT c.relname = ANY(%s) ORDER BY 1",
        [list(RUNTIME_OWNED_TABLES)],
    )
    owned = [name for (name,) in cursor.fetchall()]
    if owned:
        problems.append(f"{role} owns {len(owned)} of the app's tables ({', '.join(owned[:3])}...): it could "
                        "alter, drop or disable the triggers of any of them.")
    # The runtime role may create in the schema (db_runtime_role.py says why); a function
    # of its own there could be picked up by the owner's migrations in place of a built-in.
    cursor.execute(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema() AND p.proowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) "
        "AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) ORDER BY 1"
    )
    functions = [name for (name,) in cursor.fetchall()]
    if functions:
        problems.append(f"{role} has made functions of its own ({', '.join(functions[:3])}): the app never "
                        "does; find out who did and drop them as the owner.")
    cursor.execute(
        "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE t.tgfoid = %s::regproc AND has_table_privilege(c.oid, 'TRUNCATE') ORDER BY 1",
        [REFUSE_FUNCTION],
    )
    truncatable = [name for (name,) in cursor.fetchall()]
    if truncatable:
        problems.append(f"{role} may TRUNCATE append-only tables ({', '.join(truncatable[:3])}...).")
    cursor.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relname = ANY(%s) "
        "AND has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') ORDER BY 1",
        [list(READ_ONLY_TABLES)],
    )
    writable = [name for (name,) in cursor.fetchall()]
    if writable:
        problems.append(f"{role} may change {', '.join(writable)}, which says what a privacy erasure may "
                        "replace: with it, a stolen password could rewrite a verdict. Run db_runtime_role again.")
    return problems


class Command(BaseCommand):
    help = ("Check that DATABASE_URL's role is the app's runtime role: not a superuser, owning none of "
            "the app's tables, unable to TRUNCATE the append-only ones.")

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite has no database roles; nothing to check. Production runs PostgreSQL.")
            return
        with connection.cursor() as cursor:
            problems = runtime_role_problems(cursor)
        if problems:
            raise CommandError(
                "The app is connected as the wrong database role:\n- " + "\n- ".join(problems)
                + "\nCreate the runtime role with `manage.py db_runtime_role` (as the tables' owner) and "
                "point DATABASE_URL at it; keep the owner's address in DATABASE_MIGRATE_URL for migrations. "
                "See docs/database.md#roles."
            )
        self.stdout.write(self.style.SUCCESS("The app's database role owns none of its tables and cannot "
                                             "TRUNCATE the append-only ones."))
