"""Prompt recovery: a running import or registry load keeps its heartbeat from a thread,
so one silent for a minute has no worker; a worker starting (or beat's sweep, every
minute) resumes those, and leaves alone the ones a live worker runs."""

import threading
import time
from datetime import date, timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import worker_ready
from django.db import connection, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from compliance import tasks as compliance_tasks
from compliance.models import LoadKind, LoadStatus, RegistryLoad
from compliance.services import (
    dnc_source_for,
    registry_load_create,
    registry_load_run,
    registry_loads_resume_stalled,
)
from leadcrm.celery import app
from leads import tasks as lead_tasks
from leads.imports import services as import_services
from leads.imports.services import import_job_create, imports_resume_stalled
from leads.models import ImportJob, ImportStatus, Lead

from .test_imports import PROPSTREAM

PAUSED = "Paused: no worker is running this import. It resumes within a minute of a worker starting."


def wait_for(check, attempts=600):
    """Poll ``check`` until it holds (a bounded wait, not a timed assertion)."""
    for _ in range(attempts):
        if check():
            return True
        time.sleep(0.1)
    return False


def two_minutes_silent(job_or_load, **fields):
    old = timezone.now() - timedelta(minutes=2)
    type(job_or_load).objects.filter(pk=job_or_load.pk).update(heartbeat_at=old, **fields)
    return old


@pytest.mark.django_db(transaction=True)
@override_settings(LEADCRM_JOB_HEARTBEAT_SECONDS=0.05)
def test_a_running_import_keeps_its_heartbeat_from_a_thread_while_it_counts(broker, monkeypatch):
    """Counting a long file commits no batch; the heartbeat thread says the worker lives."""
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    real_count, beats = import_services._count_rows, []

    def slow_count(job_row):
        silent = two_minutes_silent(job_row)
        beats.append(wait_for(lambda: ImportJob.objects.get(pk=job_row.pk).heartbeat_at > silent))
        assert not ImportJob.objects.get(pk=job_row.pk).is_stalled
        return real_count(job_row)

    monkeypatch.setattr(import_services, "_count_rows", slow_count)
    job = import_services.import_run(job_id=job.pk)
    assert beats == [True]
    assert (job.status, job.rows_total, job.rows_done) == (ImportStatus.DONE, 40, 40)
    assert [t for t in threading.enumerate() if t.name.startswith("heartbeat-")] == []  # stopped in finally


@pytest.mark.django_db(transaction=True)
def test_an_import_whose_row_a_worker_holds_is_not_paused_however_old_its_heartbeat(broker):
    """Inside a long batch the worker holds the job's row: that is sign of life enough."""
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    two_minutes_silent(job, status=ImportStatus.RUNNING)
    held, release = threading.Event(), threading.Event()

    def a_worker_in_a_batch():
        try:
            with transaction.atomic():
                ImportJob.objects.select_for_update().get(pk=job.pk)
                held.set()
                release.wait(30)
        finally:
            connection.close()

    worker = threading.Thread(target=a_worker_in_a_batch)
    worker.start()
    try:
        assert held.wait(30)
        assert not ImportJob.objects.get(pk=job.pk).is_stalled
        assert imports_resume_stalled() == []
    finally:
        release.set()
        worker.join()
    assert ImportJob.objects.get(pk=job.pk).is_stalled  # the worker is gone
    assert imports_resume_stalled() == [job.pk]
    assert imports_resume_stalled() == []  # once


@pytest.fixture
def registry_file_loading(broker):
    load = registry_load_create(source=dnc_source_for(kind="national"), kind=LoadKind.FULL,
                                version_date=date(2026, 11, 14), content=b"918,5550104\n918,5550108\n",
                                file_name="918.txt", loaded_by=broker)
    RegistryLoad.objects.filter(pk=load.pk).update(status=LoadStatus.READING, started_at=timezone.now())
    return load


@pytest.mark.django_db
def test_a_registry_load_whose_worker_died_is_paused_queued_again_once_and_loaded(
        registry_file_loading, broker, client_as):
    load = registry_file_loading
    url = reverse("compliance:registry_load", args=[load.pk])
    assert "Paused" not in client_as(broker).get(url).content.decode()
    assert registry_loads_resume_stalled() == []  # its worker may be reading still
    assert registry_load_run(load_id=load.pk) is None  # nor does a second delivery take it over
    two_minutes_silent(load)
    assert "Paused: no worker is running this load." in client_as(broker).get(url).content.decode()
    assert registry_loads_resume_stalled() == [load.pk]
    assert registry_loads_resume_stalled() == []  # the next sweep: it is queued, not reading
    assert registry_load_run(load_id=load.pk).numbers_added == 2
    assert registry_load_run(load_id=load.pk) is None  # the sweep's task arriving twice does nothing


@pytest.fixture
def worker(transactional_db):
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=20) as worker:
        yield worker
    connection.close()


@pytest.mark.slow
def test_a_worker_starting_resumes_paused_imports_and_loads_and_leaves_running_ones_alone(
        worker, agent, broker, client_as, registry_file_loading, monkeypatch):
    paused = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=agent, list_name="p",
                               assign_to=agent)
    two_minutes_silent(paused, status=ImportStatus.RUNNING)
    running = import_job_create(content=PROPSTREAM, file_name="q.csv", created_by=broker, list_name="q")
    ImportJob.objects.filter(pk=running.pk).update(status=ImportStatus.RUNNING, heartbeat_at=timezone.now())
    load = registry_file_loading
    two_minutes_silent(load)

    panel = client_as(agent).get(reverse("leads:import_detail", args=[paused.pk]), HTTP_HX_REQUEST="true")
    assert PAUSED in panel.content.decode() and "min left" not in panel.content.decode()

    later = []  # the second look, once the ones silent for less than a minute are silent for one

    def holding_back_the_second_look(task):
        send = task.apply_async

        def apply_async(args=None, kwargs=None, **options):
            return later.append(options) if "countdown" in options else send(args, kwargs, **options)
        monkeypatch.setattr(task, "apply_async", apply_async)

    holding_back_the_second_look(lead_tasks.imports_resume_stalled)
    holding_back_the_second_look(compliance_tasks.registry_loads_resume_stalled)
    worker_ready.send(sender=None)  # what a worker process sends once it is up

    assert wait_for(lambda: ImportJob.objects.get(pk=paused.pk).status == ImportStatus.DONE)
    assert wait_for(lambda: RegistryLoad.objects.get(pk=load.pk).status == LoadStatus.DONE)
    # Then every 20 s until a job the dead worker left is surely a minute silent: each is
    # resumed within a minute of this worker starting.
    assert sorted(options["countdown"] for options in later) == [20, 20, 40, 40, 60, 60]
    paused.refresh_from_db()
    assert (paused.rows_total, paused.rows_done, paused.leads_created) == (40, 40, 40)
    assert Lead.objects.count() == 40
    # The one a live worker runs was not queued a second time.
    running.refresh_from_db()
    assert (running.status, running.rows_done, running.rows_total) == (ImportStatus.RUNNING, 0, None)
