"""Periodic work, kept in code and installed into django-celery-beat by
``python manage.py install_schedules`` (``make run`` does it before starting the worker).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    minute: str = "0"
    hour: str = "*"
    day_of_week: str = "*"
    timezone: str = "UTC"
    description: str = ""


SCHEDULES = [
    Schedule(
        name="Evidence partitions",
        task="leadcrm.evidence_partitions_maintain",
        minute="20",
        hour="3",
        description="Nightly: the checks' and the outreach log's months ahead are created, and a month past "
                    "retention is exported to storage, verified, then dropped (docs/database.md#partitions).",
    ),
    Schedule(
        name="Purge idempotency keys",
        task="leadcrm.idempotency_keys_purge",
        minute="40",
        description="Hourly: the API's Idempotency-Keys past their 24 hours, and the answers kept for them, "
                    "are deleted (docs/architecture.md#api-idempotency).",
    ),
    Schedule(
        name="Worker heartbeat",
        task="leadcrm.worker_heartbeat",
        minute="*",
        description="Every minute: a worker records that it is alive, for the readiness check (/healthz/ready).",
    ),
    Schedule(
        name="Rescore open leads",
        task="leads.open_leads_rescore",
        minute="30",
        hour="8",  # 08:30 UTC: before the first agent's day starts anywhere in the US
        description="Scores age with time (days since contact), so they are refreshed nightly.",
    ),
    Schedule(
        name="Send due reminders",
        task="pipeline.reminders_dispatch",
        minute="*",
        description="Every minute: reminders due, overdue follow-ups to escalate, emails left pending.",
    ),
    Schedule(
        name="Raise deadline follow-ups",
        task="pipeline.follow_ups_generate",
        minute="5,35",
        description="Lender cadences, valuations, negotiators, auctions, approval expiries, stale documents and leads.",
    ),
    Schedule(
        name="Daily digests",
        task="pipeline.digests_send",
        minute="*/15",
        description="Each user's digest at 7:30 in their own zone (sent once a day, when there is news).",
    ),
    Schedule(
        name="Resume stalled imports",
        task="leads.imports_resume_stalled",
        minute="*",
        description="Every minute: an import no worker has run for a minute (its worker died) carries on "
                    "where it stopped.",
    ),
    Schedule(
        name="Resume stalled registry loads",
        task="compliance.registry_loads_resume_stalled",
        minute="*",
        description="Every minute: a registry load no worker has run for a minute (its worker died) starts over.",
    ),
    Schedule(
        name="Re-flag every phone",
        task="compliance.phones_reflag",
        minute="50",
        hour="2",
        description="Nightly repair: every phone's do-not-call flag set again from the lists held "
                    "(a load re-flags what it changed itself; docs/compliance-rules.md#a5).",
    ),
    Schedule(
        name="Texts left mid-send",
        task="pipeline.messages_sweep",
        minute="*",
        description="Every minute: a text the broker lost is queued again; one handed to the provider with no "
                    "answer for two minutes is marked outcome unknown and never sent twice.",
    ),
    Schedule(
        name="Run action plan steps",
        task="pipeline.plan_steps_dispatch",
        minute="*",
        description="Every minute: plans of homeowners who answered are paused, and the steps due go out "
                    "through the compliance gate, each once.",
    ),
    Schedule(
        name="Start action plans by automation",
        task="pipeline.plan_automations_run",
        minute="*",
        description="Every minute: leads that entered a stage, a list or a tag, reached a date or went quiet "
                    "are put in the plans their automations name, once per event.",
    ),
    Schedule(
        name="Pond claims expire",
        task="leads.pond_claims_expire",
        minute="*/5",
        description="A lead claimed from the pond and not worked in time goes back to the pond.",
    ),
    Schedule(
        name="DNC data refresh notices",
        task="pipeline.dnc_refresh_notices",
        minute="0",
        hour="13",  # 13:00 UTC: morning in every US zone
        description="National registry data 25 days old: refresh before day 31 (A3).",
    ),
    Schedule(
        name="DNC hit rate per list",
        task="pipeline.dnc_list_counts_refresh",
        minute="*/10",
        description="Every list's numbers and those on a DNC list, counted for the broker's report "
                    "(seconds with a million leads, too slow to count while the broker waits).",
    ),
    Schedule(
        name="Closing forecast",
        task="pipeline.forecast_refresh",
        minute="*/15",
        description="The forecast's chances, learned from every stage move, and its back-tests, for the lead "
                    "pages and the report (seconds with a million leads, too slow for a page).",
    ),
    Schedule(
        name="Lead exports expire",
        task="pipeline.lead_exports_expire",
        minute="20",
        description="Hourly: export files past their seven days are deleted (they hold homeowners' "
                    "names and numbers), and a job whose worker died is marked failed, not left running.",
    ),
    Schedule(
        name="Webhook deliveries",
        task="pipeline.webhooks_sweep",
        minute="*",
        description="Outgoing webhooks due (retries with backoff, and any whose task the broker lost) are "
                    "handed to the workers (docs/webhooks.md#retries).",
    ),
]

# Periodic tasks whose names start with this are ours; others (added by hand in the
# admin) are left alone.
PREFIX = "leadcrm: "
