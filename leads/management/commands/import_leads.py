"""``python manage.py import_leads FILE --source propstream [--list NAME] [--mapping NAME]
[--assign-to USER | --round-robin TEAM]``: what the import page does, in the terminal."""

import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from leadcrm.accounts.models import Team, User
from leads.imports.services import import_job_create, import_run
from leads.models import ColumnMapping, ImportRowIssue, LeadSource

NO_MAPPING = "No saved column mapping named {name!r}."
NO_USER = "No user named {name!r}."
NO_TEAM = "No team named {name!r}."
SOURCES = {"propstream": LeadSource.PROPSTREAM, "batchleads": LeadSource.BATCHLEADS,
           "dealmachine": LeadSource.DEALMACHINE, "generic": LeadSource.CSV}


class Command(BaseCommand):
    help = "Import a list (CSV or XLSX): dedupe, merge, flag phones against the registries, score."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", choices=sorted(SOURCES), default="generic")
        parser.add_argument("--list", dest="list_name", default="", help="Name of the list (default: the file name).")
        parser.add_argument("--mapping", default="", help="A saved column mapping, by name.")
        who = parser.add_mutually_exclusive_group()
        who.add_argument("--assign-to", default="", help="Username of the agent who gets the new leads.")
        who.add_argument("--round-robin", default="", help="Team name: new leads go round its active agents.")
        parser.add_argument("--as", dest="as_user", default="", help="Username recorded as the importer.")

    def handle(self, *args, file, source, list_name, mapping, assign_to, round_robin, as_user, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            importer = (_named(User.objects, NO_USER, username=as_user) if as_user
                        else User.objects.filter(is_superuser=True).first() or User.objects.order_by("pk").first())
            if importer is None:
                raise CommandError("No user to record as the importer: create one first.")
            with file.open("rb") as handle:
                job = import_job_create(
                    content=File(handle), file_name=file.name, created_by=importer, source=SOURCES[source],
                    list_name=list_name or file.stem,
                    mapping=_named(ColumnMapping.objects, NO_MAPPING, name=mapping) if mapping else None,
                    assign_to=_named(User.objects, NO_USER, username=assign_to) if assign_to else None,
                    round_robin_team=_named(Team.objects, NO_TEAM, name=round_robin) if round_robin else None,
                )
        except ValidationError as refused:
            raise CommandError("Refused: " + "; ".join(refused.messages)) from None
        started = time.perf_counter()
        job = import_run(job_id=job.pk)
        seconds = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"Imported {file.name} into the list '{job.lead_list}' in {seconds:.1f} s"))
        for label, value in (
            ("rows read", job.rows_done), ("leads created", job.leads_created), ("leads merged", job.leads_merged),
            ("phones valid", job.phones_valid), ("phones invalid", job.phones_invalid),
            ("phones on a do-not-call list", job.phones_on_dnc), ("rows rejected", job.rows_rejected),
        ):
            self.stdout.write(f"  {label:<30} {value:>9,}")
        for issue in ImportRowIssue.objects.filter(job=job, rejected=True)[:20]:
            self.stdout.write(f"  line {issue.row_number}: {issue.reason}")


def _named(manager, message: str, **lookup):
    """The row a flag names, or a CommandError saying which name is unknown."""
    found = manager.filter(**lookup).first()
    if found is None:
        raise CommandError(message.format(name=next(iter(lookup.values()))))
    return found
