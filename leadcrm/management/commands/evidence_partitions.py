"""Show the evidence tables' monthly partitions, or run their maintenance now.

``--dry-run`` lists each partition with the planner's row estimate and says which months
would be created ahead and which would be exported then dropped; without it the nightly
task's work runs now (as the tables' owner: docs/database.md#partitions).
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leadcrm.shared.partitions import TABLES, describe, maintain


class Command(BaseCommand):
    help = ("Show the checks' and the outreach log's monthly partitions and what retention would "
            "export and drop (--dry-run), or create the months ahead and export then drop now.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Change nothing; say what would happen.")
        parser.add_argument("--ahead", type=int, default=settings.LEADCRM_PARTITION_MONTHS_AHEAD,
                            help="Months to have ahead of this one (default: LEADCRM_PARTITION_MONTHS_AHEAD).")
        parser.add_argument("--table", action="append", choices=sorted(TABLES),
                            help="Only this table (repeatable); default: every partitioned table.")

    def handle(self, *args, dry_run, ahead, table, **options):
        results = maintain(ahead=ahead, keys=table, dry_run=dry_run)
        self.stdout.write(describe(results, dry_run=dry_run), ending="")
        problems = [problem for _, outcome in results.values() for problem in outcome.problems]
        if problems:
            raise CommandError(f"{len(problems)} problem(s); see above.")
