"""A real worker on the configured broker (Redis in CI) runs our tasks against the database."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from leadcrm.celery import app
from leads.models import Lead
from leads.tasks import leads_rescore, open_leads_rescore

from ..leads.factories import LeadFactory


@pytest.fixture
def worker(transactional_db):
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20) as worker:
        yield worker
    connection.close()


@pytest.mark.slow
def test_a_task_sent_through_the_broker_is_run_by_a_worker_and_writes_the_database(worker):
    lead = LeadFactory()
    Lead.objects.filter(pk=lead.pk).update(score=0, score_reasons=[])
    result = leads_rescore.delay([lead.pk])
    assert result.get(timeout=30) == 1
    lead.refresh_from_db()
    assert lead.score > 0 and lead.score_reasons


@pytest.mark.slow
def test_the_nightly_rescore_is_safe_to_run_twice(worker):
    LeadFactory.create_batch(3)
    Lead.objects.update(score=0, score_reasons=[])
    assert open_leads_rescore.delay().get(timeout=30) == 3
    assert open_leads_rescore.delay().get(timeout=30) == 0  # nothing left to change


def test_schedules_install_into_django_celery_beat_and_are_idempotent(db):
    from django.core.management import call_command
    from django_celery_beat.models import PeriodicTask

    call_command("install_schedules")
    call_command("install_schedules")
    tasks = {task.task: (task.crontab.hour, task.crontab.minute, task.crontab.timezone.key)
             for task in PeriodicTask.objects.filter(name__startswith="leadcrm: ")}
    assert tasks == {
        "leadcrm.worker_heartbeat": ("*", "*", "UTC"),
        "leadcrm.idempotency_keys_purge": ("*", "40", "UTC"),
        "leadcrm.evidence_partitions_maintain": ("3", "20", "UTC"),
        "leads.open_leads_rescore": ("8", "30", "UTC"),
        "pipeline.reminders_dispatch": ("*", "*", "UTC"),
        "pipeline.follow_ups_generate": ("*", "5,35", "UTC"),
        "pipeline.digests_send": ("*", "*/15", "UTC"),
        "pipeline.dnc_refresh_notices": ("13", "0", "UTC"),
        "leads.pond_claims_expire": ("*", "*/5", "UTC"),
        "pipeline.messages_sweep": ("*", "*", "UTC"),
        "pipeline.plan_steps_dispatch": ("*", "*", "UTC"),
        "pipeline.plan_automations_run": ("*", "*", "UTC"),
        "leads.imports_resume_stalled": ("*", "*", "UTC"),
        "compliance.registry_loads_resume_stalled": ("*", "*", "UTC"),
        "compliance.phones_reflag": ("2", "50", "UTC"),
        "pipeline.dnc_list_counts_refresh": ("*", "*/10", "UTC"),
        "pipeline.forecast_refresh": ("*", "*/15", "UTC"),
        "pipeline.lead_exports_expire": ("*", "20", "UTC"),
        "pipeline.webhooks_sweep": ("*", "*", "UTC"),
    }
