"""``python manage.py load_dnc FILE --source national --as-of 2026-11-20``

Loads an FTC Do Not Call file (full list or change list, plain or zipped), a state
list or a litigator list, exactly as the broker's upload page does, and prints what
changed. A file with any unreadable line is rejected whole, with line numbers.
"""

import time
from datetime import date
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from compliance.models import LoadKind, LoadStatus, RegistryKind
from compliance.services import dnc_source_for, registry_load_create, registry_load_run


class Command(BaseCommand):
    help = "Load a Do Not Call registry file (full or change list; plain text or zip)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", choices=[k.value for k in RegistryKind], required=True)
        parser.add_argument("--as-of", required=True, type=date.fromisoformat,
                            help="The file's version date (YYYY-MM-DD), from the registry (A3).")
        parser.add_argument("--change", action="store_true", help="A change list (adds and deletes).")
        parser.add_argument("--state", default="", help="Two-letter state, for a state list.")
        parser.add_argument("--name", default="", help="Name of the list (litigator lists).")
        parser.add_argument("--san", default="", help="The brokerage's Subscription Account Number (A1).")
        parser.add_argument("--san-expires", type=date.fromisoformat, default=None,
                            help="Last day of the subscription period (YYYY-MM-DD, A1).")
        parser.add_argument("--area-codes", default="", help="Comma-separated area codes the file covers.")

    def handle(self, *args, file, source, as_of, change, state, name, san, san_expires, area_codes,
               **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        started = time.perf_counter()
        try:
            dnc_source = dnc_source_for(kind=source, state=state.upper(), name=name)
            load = registry_load_create(
                source=dnc_source, kind=LoadKind.CHANGE if change else LoadKind.FULL, version_date=as_of,
                content=file.read_bytes(), file_name=file.name, loaded_by=None,
                area_codes=area_codes.split(",") if area_codes else (), subscription_account_number=san,
                subscription_expires_on=san_expires,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        load = registry_load_run(load_id=load.pk)
        seconds = time.perf_counter() - started
        if load.status == LoadStatus.REJECTED:
            raise CommandError("Rejected; nothing was changed:\n  " + "\n  ".join(load.errors))
        self.stdout.write(self.style.SUCCESS(
            f"Loaded {load.file_name} into {dnc_source}: version {load.version_date}, "
            f"{len(load.area_codes)} area code(s), {load.numbers_added:,} added, "
            f"{load.numbers_removed:,} removed, {seconds:.1f} s."
        ))
        self.stdout.write(f"Phones re-flagged by the load: {load.phones_reflagged:,} changed.")
