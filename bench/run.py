#!/usr/bin/env python
"""Run the benchmarks: ``make bench`` (or ``python bench/run.py --size 1m``).

Each benchmark prints its own baseline measured in the same run and the ratio, because
this machine is shared and noisy: absolute seconds mean little, ratios mean more.
Benchmarks run against PostgreSQL in a database of their own (``BENCH_DATABASE_URL``,
default ``postgres://postgres@127.0.0.1:5432/leadcrm_bench``), never the test suite's.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/leadcrm_bench"


def _server(url: str):
    """A connection to the server's ``postgres`` database (to create or drop the bench's), and its name."""
    import psycopg2

    parts = urlsplit(url)
    admin = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                             password=parts.password, dbname="postgres")
    admin.autocommit = True
    return admin, parts.path.lstrip("/")


def recreate_database(url: str) -> None:
    admin, name = _server(url)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def create_database_if_missing(url: str) -> None:
    admin, name = _server(url)
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=SIZES, default="100k", help="leads in the synthetic brokerage")
    parser.add_argument("--keep", action="store_true", help="reuse the bench database as it is (skip generation)")
    parser.add_argument("--only", choices=["generate", "import", "web", "reminders", "reports", "forecast",
                                           "smart_lists", "webhooks", "plans", "reflag", "evidence"],
                        help="only build the brokerage, or only the import, or only the pages under wrk, "
                             "or only the reminder dispatch (in a database of its own), or only the broker's "
                             "reports (in a database of its own, kept with --keep), or only the closing "
                             "forecast's cold costs (on the reports' database), or only the dashboard's smart "
                             "lists (on the brokerage), or only the inbound text webhooks (in a database of "
                             "their own), or only the action plans' steps through two workers (in a database "
                             "of their own), or only the re-flag after a monthly registry load (on the brokerage), "
                             "or only the gate's check p95 as the evidence tables grow (in a database of their own)")
    parser.add_argument("--evidence-rows", default="1000000,50000000",
                        help="check-row counts the evidence bench measures at, smallest first")
    parser.add_argument("--import-rows", type=int, default=100_000, help="rows of the list-import benchmark")
    parser.add_argument("--web-worker-class", choices=["sync", "gthread"], default="sync",
                        help="gunicorn's workers for the web bench: sync as deployed (README), or gthread with keep-alive")
    parser.add_argument("--web-seconds", type=int, default=15, help="wrk's duration per page")
    parser.add_argument("--web-connections", type=int, default=None,
                        help="wrk's open connections (default: one per gunicorn worker)")
    parser.add_argument("--reminders", type=int, default=10_000, help="due follow-ups of the reminder benchmark")
    parser.add_argument("--webhooks", type=int, default=1_000, help="distinct inbound texts of the webhook benchmark")
    parser.add_argument("--webhook-history", type=int, default=200_000,
                        help="texts sent before the webhook benchmark's replies come in (the message table's size)")
    parser.add_argument("--plans-leads", type=int, default=50_000,
                        help="enrolled leads whose step is due in the same minute (the action plans benchmark)")
    parser.add_argument("--plans-dispatch-once", action="store_true",
                        help="enqueue each batch of the action plans benchmark once, not twice")
    parser.add_argument("--plans-profile-only", action="store_true",
                        help="only profile 500 action plan steps in-process (no workers, no baseline)")
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    if args.only == "reminders":
        from bench.reminders import broker_url, database_url

        # Its own database (a few agents and the due follow-ups, not the brokerage) and its
        # own Redis broker, which its Celery workers inherit from this environment.
        url = database_url(url)
        os.environ["CELERY_BROKER_URL"] = broker_url()
    elif args.only == "webhooks":
        from bench.webhooks import broker_url, database_url

        # Its own database (agents and the leads the texts come from) and its own Redis db,
        # which the server's tasks are queued on and nothing consumes.
        url = database_url(url)
        os.environ["CELERY_BROKER_URL"] = broker_url()
        if args.keep:
            create_database_if_missing(url)
    elif args.only == "plans":
        from bench.plans import broker_url, database_url

        # Its own database (the enrolled leads, recreated each run) and its own Redis broker,
        # which its Celery workers inherit from this environment.
        url = database_url(url)
        os.environ["CELERY_BROKER_URL"] = broker_url()
        if args.keep:
            create_database_if_missing(url)
    elif args.only == "evidence":
        from bench.evidence import database_url

        # Its own database (tens of gigabytes at 50M checks), reused with --keep.
        url = database_url(url)
        if args.keep:
            create_database_if_missing(url)
    elif args.only in ("reports", "forecast"):
        from bench.reports import database_url

        # Its own database, built once (minutes at 1m) and reused with --keep.
        url = database_url(url)
        if args.keep:
            create_database_if_missing(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadcrm.settings.local")
    os.environ["DJANGO_DEBUG"] = "false"  # no query log growing without bound
    # One key for this process and the web bench's gunicorn, which reads the sessions it signs.
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    if not args.keep:
        recreate_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    from bench.generate import generate_brokerage, raw_copy_baseline
    from leads.models import Lead

    print(f"Benchmarks on {urlsplit(url).hostname}:{urlsplit(url).port or 5432}{urlsplit(url).path}")
    call_command("migrate", verbosity=0)
    if args.only in ("reminders", "reports", "forecast", "webhooks", "plans"):
        pass  # they build what they need
    elif args.keep:
        print(f"Reusing the bench database: {Lead.objects.count():,} leads.")
    else:
        size = SIZES[args.size]
        result = generate_brokerage(size, keep_lead_csv=True)
        rate = result.total_rows / result.seconds
        columns = [f.column for f in Lead._meta.concrete_fields]
        baseline_seconds = raw_copy_baseline(result.lead_rows_csv, columns)
        baseline_rate = result.rows["leads_lead"] / baseline_seconds
        print(f"\n[generate] synthetic brokerage of {size:,} leads")
        for table, count in result.rows.items():
            print(f"  {table:<26} {count:>11,}")
        print(f"  {'all rows':<26} {result.total_rows:>11,} in {result.seconds:.1f} s = {rate:,.0f} rows/s"
              " (built in Python, COPY into indexed tables)")
        print(f"  baseline: raw COPY of the same lead rows into a bare table: {baseline_rate:,.0f} rows/s")
        print(f"  ratio: {rate / baseline_rate:.2f} of raw COPY")
    if args.only == "reminders":
        from bench.reminders import bench_reminders

        bench_reminders(reminders=args.reminders)
    elif args.only == "plans":
        from bench.plans import bench_plans

        bench_plans(leads=args.plans_leads, twice=not args.plans_dispatch_once, profile_only=args.plans_profile_only)
    elif args.only == "webhooks":
        from bench.webhooks import bench_webhooks

        bench_webhooks(webhooks=args.webhooks, history=args.webhook_history)
    elif args.only == "reports":
        from bench.reports import bench_reports

        bench_reports(lead_count=SIZES[args.size])
    elif args.only == "forecast":
        from bench.reports import bench_forecast_only

        bench_forecast_only(lead_count=SIZES[args.size])
    elif args.only == "evidence":
        from bench.compliance import bench_registry_load
        from bench.evidence import bench_evidence

        if not args.keep:
            bench_registry_load(size=200_000)
        bench_evidence([int(size) for size in args.evidence_rows.split(",")])
    elif args.only == "import":
        from bench.imports import bench_import

        bench_import(rows=args.import_rows)
    elif args.only == "reflag":
        from bench.compliance import bench_reflag

        bench_reflag()
    elif args.only == "smart_lists":
        from bench.smart_lists import bench_smart_lists

        bench_smart_lists()
    elif args.only == "web":
        from bench.web import bench_web

        bench_web(seconds=args.web_seconds, connections=args.web_connections, worker_class=args.web_worker_class)
    elif args.only != "generate":
        from bench.compliance import bench_gate, bench_reflag, bench_registry_load
        from bench.imports import bench_import
        from bench.web import bench_web

        # The pages first, on the brokerage as generated (before the imports add to it).
        bench_web(seconds=args.web_seconds, connections=args.web_connections, worker_class=args.web_worker_class)
        bench_registry_load()
        bench_reflag()
        bench_gate()
        bench_import(rows=args.import_rows)
        # Its database and broker are its own, so it runs as a process of its own.
        sys.stdout.flush()
        subprocess.run([sys.executable, __file__, "--only", "reminders", "--reminders", str(args.reminders)],
                       check=True)
        subprocess.run([sys.executable, __file__, "--only", "webhooks", "--webhooks", str(args.webhooks),
                        "--webhook-history", str(args.webhook_history)], check=True)
        subprocess.run([sys.executable, __file__, "--only", "reports", "--size", args.size,
                        *(["--keep"] if args.keep else [])], check=True)


if __name__ == "__main__":
    main()
