from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from leadcrm.demo import DEMO_PASSWORD, PEOPLE, seed_demo
from leads.models import Lead

REFUSED_IN_PRODUCTION = (
    "Refusing to load demo data with production settings; pass --allow-production "
    "if this really is a throw-away database."
)


class Command(BaseCommand):
    help = "Load the demo brokerage: 1 broker, 2 team leads, 6 agents and about 500 leads. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=500, help="How many demo leads (default 500).")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if any lead exists.")
        parser.add_argument("--allow-production", action="store_true")

    def handle(self, *args, leads, if_empty, allow_production, **options):
        if settings.LEADCRM_IS_PRODUCTION and not allow_production:
            raise CommandError(REFUSED_IN_PRODUCTION)
        if if_empty and Lead.objects.exists():
            self.stdout.write("Leads already present: demo data not loaded.")
            return
        summary = seed_demo(lead_count=leads)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {summary.leads_created} leads created, "
                f"{summary.leads_skipped} already there."
            )
        )
        for name, count in summary.counts.items():
            self.stdout.write(f"  {name:<32} {count:>7}")
        self.stdout.write(f"Logins (password {DEMO_PASSWORD!r}): " + ", ".join(p[0] for p in PEOPLE))
        if summary.seller_form:
            self.stdout.write(f"The seller form homeowners fill in (no sign-in): {summary.seller_form}")
        self.stdout.write("The broker and team leads then set up a second factor (an authenticator app) at "
                          "their first sign-in: docs/security.md#second-factor.")
