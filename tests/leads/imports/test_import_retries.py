"""Recovery that cannot run away: a heartbeat that outlives a database hiccup, a second task
that stands aside before counting, a queued job that is not taken for lost while it waits its
turn, a file that kills its worker stopped after a few tries, and an encoding told from the
head of a file (docs/architecture.md#prompt-recovery)."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from leadcrm.shared.heartbeat import heartbeat
from leads.imports import reading
from leads.imports import services as import_services
from leads.imports.records import RECODED_LINE
from leads.imports.services import ImportRefused, import_job_create, import_resume, import_run
from leads.models import Contact, ImportJob, ImportRowIssue, ImportStatus, Lead

from .test_import_recovery import wait_for
from .test_imports import PROPSTREAM

GAVE_UP = ("Stopped after 3 tries: the worker stopped each time while reading this file. "
           "Split the file or contact support.")
PAUSED = "Paused: no worker is running this import."


def queued(user, name="p"):
    return import_job_create(content=PROPSTREAM, file_name=f"{name}.csv", created_by=user, list_name=name)


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_outlives_a_database_outage_and_closes_its_connection(broker):
    """Its connection cut under it (a database restart): the thread beats again on a new one."""
    job = queued(broker)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)

    def beats_after(moment):
        return wait_for(lambda: ImportJob.objects.get(pk=job.pk).heartbeat_at > moment, attempts=150)

    with heartbeat(ImportJob, job.pk, every=0.05, status=ImportStatus.RUNNING):
        old = timezone.now() - timedelta(minutes=2)
        ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=old)
        assert beats_after(old)
        with connection.cursor() as cursor:  # every other session on this database: the thread's
            cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            assert cursor.fetchone()[0] >= 1
        ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=old)
        assert beats_after(old)
    assert [t for t in threading.enumerate() if t.name.startswith("heartbeat-")] == []


@pytest.mark.django_db
def test_a_second_task_stands_aside_before_counting_while_a_live_worker_runs_the_job(broker, monkeypatch):
    job = queued(broker)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, attempts=1, heartbeat_at=timezone.now())
    counted = []
    monkeypatch.setattr(import_services, "_count_rows", lambda job_row: counted.append(job_row.pk) or 40)
    job = import_run(job_id=job.pk)
    assert (job.status, job.attempts, job.rows_total, job.rows_done, counted) == (
        ImportStatus.RUNNING, 1, None, 0, [])
    assert Lead.objects.count() == 0


@pytest.mark.django_db
def test_a_queued_import_is_not_paused_on_heartbeat_age_alone(broker, client_as):
    """Waiting behind a long task of another kind (a registry load, an export): its task is
    in the queue, so it is neither paused on its page nor queued again every minute."""
    from leads import tasks

    job = queued(broker)
    url = reverse("leads:import_detail", args=[job.pk])
    sent = []
    with time_machine.travel(job.heartbeat_at + timedelta(minutes=3), tick=False):
        assert not ImportJob.objects.get(pk=job.pk).is_stalled
        assert PAUSED not in client_as(broker).get(url).content.decode()
        assert import_services.imports_resume_stalled() == []
    with time_machine.travel(job.heartbeat_at + timedelta(minutes=6), tick=False):
        # five minutes and nobody picked it up, while no import moves: its task was lost
        assert PAUSED in client_as(broker).get(url).content.decode()
        assert import_services.imports_resume_stalled() == [job.pk]
        sent.append(ImportJob.objects.get(pk=job.pk).status)
        assert import_services.imports_resume_stalled() == []
    assert sent == [ImportStatus.QUEUED]
    assert tasks.import_run(job.pk) == ImportStatus.DONE


@pytest.mark.django_db
def test_a_file_that_kills_its_worker_every_time_is_stopped_after_three_tries(broker, client_as, monkeypatch):
    job = queued(broker)

    def killed(job_row, records):
        raise KeyboardInterrupt("worker killed for memory")

    monkeypatch.setattr(import_services, "write_batch", killed)
    now = timezone.now()
    for attempt in range(1, 4):
        with time_machine.travel(now, tick=False):
            with pytest.raises(KeyboardInterrupt):
                import_run(job_id=job.pk, batch_rows=10)
            assert ImportJob.objects.get(pk=job.pk).attempts == attempt
        now += timedelta(minutes=2)
        with time_machine.travel(now, tick=False):
            resumed = import_services.imports_resume_stalled()
        assert resumed == ([job.pk] if attempt < 3 else [])
    job.refresh_from_db()
    assert (job.status, job.error, job.attempts) == (ImportStatus.FAILED, GAVE_UP, 3)
    page = client_as(broker).get(reverse("leads:import_detail", args=[job.pk])).content.decode()
    assert GAVE_UP in page and PAUSED not in page
    # never resumed again: not by the sweep, a click, or the dead worker's task redelivered
    with time_machine.travel(now + timedelta(hours=1), tick=False):
        assert import_services.imports_resume_stalled() == []
        with pytest.raises(ImportRefused, match="Only a paused import can be resumed"):
            import_resume(job=job)
        assert import_run(job_id=job.pk).status == ImportStatus.FAILED


@pytest.mark.django_db
@override_settings(LEADCRM_JOB_MAX_ATTEMPTS=3)
def test_a_task_redelivered_after_the_third_death_stops_the_job_instead_of_running_it(broker):
    job = queued(broker)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, attempts=3,
                                               heartbeat_at=timezone.now() - timedelta(minutes=2))
    job = import_run(job_id=job.pk)
    assert (job.status, job.error, job.rows_done) == (ImportStatus.FAILED, GAVE_UP, 0)


def test_the_encoding_is_told_from_the_first_megabyte_only(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes(b"Address,City\n" + b"1 Main St,Tulsa\n" * 70_000 + b"2 Caf\xe9 St,Tulsa\n")
    assert path.stat().st_size > reading.ENCODING_SAMPLE_BYTES
    assert reading._encoding(path) == "utf-8-sig"  # the stray byte past the sample is not read
    # a multi-byte character cut at the sample's end is no reason to doubt it
    path.write_bytes(b"A,B\n" + b"x" * (reading.ENCODING_SAMPLE_BYTES - 5) + "ễ,y\n".encode())
    assert reading._encoding(path) == "utf-8-sig"


@pytest.mark.django_db
def test_a_line_past_the_sample_that_is_not_utf8_is_read_as_windows_1252_and_noted(broker, monkeypatch):
    lines = PROPSTREAM.split(b"\n")
    assert "Nguyễn".encode() in lines[1] and b"Garcia" in lines[2]
    lines[2] = lines[2].replace(b"Garcia", "García".encode("cp1252"))
    monkeypatch.setattr(reading, "ENCODING_SAMPLE_BYTES", len(lines[0]) + len(lines[1]) + 2)
    job = import_job_create(content=b"\n".join(lines), file_name="mixed.csv", created_by=broker, list_name="m")
    job = import_run(job_id=job.pk)
    assert (job.status, job.rows_done, job.rows_rejected) == (ImportStatus.DONE, 40, 0)
    assert Contact.objects.filter(first_name="Nguyễn").exists()  # the UTF-8 rest read as UTF-8
    assert Contact.objects.filter(first_name="Robert", last_name="García").exists()
    issue = ImportRowIssue.objects.get(job=job, reason=RECODED_LINE)
    assert (issue.row_number, issue.rejected, issue.row["Owner 1 Last Name"]) == (3, False, "García")
    assert "__recoded__" not in issue.row


def test_a_stray_byte_does_not_garble_the_valid_utf8_beside_it(broker, monkeypatch):
    """Only the undecodable bytes are read as Windows-1252 (before: the whole row was, so
    a "ü" written in UTF-8 in the same row came out as "Ã¼")."""
    lines = PROPSTREAM.split(b"\n")
    lines[2] = lines[2].replace(b"Garcia", "García".encode("cp1252")).replace(b"Robert", "Jürgen".encode())
    monkeypatch.setattr(reading, "ENCODING_SAMPLE_BYTES", len(lines[0]) + len(lines[1]) + 2)
    job = import_job_create(content=b"\n".join(lines), file_name="mixed.csv", created_by=broker, list_name="m")
    job = import_run(job_id=job.pk)
    assert job.status == ImportStatus.DONE
    assert Contact.objects.filter(first_name="Jürgen", last_name="García").exists()
