"""An import whose worker died mid-file: paused after a minute without a heartbeat (a
running import beats every 15 s from a thread), cancelled at once when asked, and resumed
without doubling a row."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from leads.imports import services as import_services
from leads.imports.services import ImportRefused, import_cancel, import_job_create, import_resume, import_run
from leads.models import IMPORT_STALLED_AFTER, ImportJob, ImportStatus, Lead, ListMembership, Phone

from ...helpers import jobs
from .test_imports import PROPSTREAM

pytestmark = pytest.mark.django_db


@pytest.fixture
def died_mid_file(agent, monkeypatch):
    """Agent's import of the 40-row sample; its worker is killed writing the third batch of 10."""
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=agent, list_name="p", assign_to=agent)
    real, calls = import_services.write_batch, []

    def dies_on_the_third_batch(job, records):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("worker killed")
        return real(job, records)

    with monkeypatch.context() as patch:
        patch.setattr(import_services, "write_batch", dies_on_the_third_batch)
        with time_machine.travel(timezone.now(), tick=False), pytest.raises(KeyboardInterrupt):
            import_run(job_id=job.pk, batch_rows=10)
    job.refresh_from_db()
    assert (job.status, job.rows_done, Lead.objects.count()) == (ImportStatus.RUNNING, 20, 20)
    return job


PAUSED = "Paused: no worker is running this import. It resumes within a minute of a worker starting"


def later(job, minutes):
    return time_machine.travel(job.heartbeat_at + timedelta(minutes=minutes), tick=False)


def test_each_committed_batch_is_a_heartbeat(broker, monkeypatch):
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    real, seen = import_services.write_batch, []
    with time_machine.travel(timezone.now(), tick=False) as clock:
        start = timezone.now()

        def a_minute_a_batch(job_row, records):
            seen.append(ImportJob.objects.get(pk=job_row.pk).heartbeat_at)  # as the last batch left it
            clock.shift(timedelta(minutes=1))
            return real(job_row, records)

        monkeypatch.setattr(import_services, "write_batch", a_minute_a_batch)
        job = import_run(job_id=job.pk, batch_rows=10)
    assert seen == [start + timedelta(minutes=n) for n in range(4)]
    assert job.heartbeat_at == start + timedelta(minutes=4)


def test_a_job_is_stalled_only_after_a_minute_without_a_heartbeat(died_mid_file):
    job = died_mid_file
    assert IMPORT_STALLED_AFTER == timedelta(minutes=1)
    with later(job, 0.5):
        assert not ImportJob.objects.get(pk=job.pk).is_stalled
    with later(job, 2):
        assert ImportJob.objects.get(pk=job.pk).is_stalled


def test_cancelling_an_import_whose_worker_died_ends_it_as_cancelled(died_mid_file, agent, client_as):
    job = died_mid_file
    with later(job, 2):
        response = client_as(agent).post(reverse("leads:import_cancel", args=[job.pk]), follow=True)
        job.refresh_from_db()
        assert (job.status, job.finished_at) == (ImportStatus.CANCELLED, timezone.now())
    assert "Cancelled: its worker had stopped" in response.content.decode()
    # A late redelivery of the dead worker's task changes nothing.
    assert import_run(job_id=job.pk).status == ImportStatus.CANCELLED
    assert (Lead.objects.count(), ImportJob.objects.get(pk=job.pk).rows_done) == (20, 20)


def test_cancelling_an_import_still_moving_asks_its_worker_to_stop(died_mid_file):
    job = died_mid_file
    with later(job, 0.5):
        job = import_cancel(job=job)
    assert (job.status, job.cancel_requested) == (ImportStatus.RUNNING, True)
    # the worker stops at its next batch
    assert import_run(job_id=job.pk, batch_rows=10).status == ImportStatus.CANCELLED
    assert Lead.objects.count() == 20


def test_a_stalled_import_is_flagged_and_resumes_after_rows_done_without_doubling(
        died_mid_file, agent, client_as, django_capture_on_commit_callbacks):
    job = died_mid_file
    client = client_as(agent)
    url = reverse("leads:import_detail", args=[job.pk])
    with later(job, 0.5):
        assert "Paused" not in client.get(url).content.decode()
        with pytest.raises(ImportRefused, match="Only a paused import can be resumed"):
            import_resume(job=job)
    with later(job, 2):
        page = client.get(url).content.decode()
        assert PAUSED in page and 'value="resume"' in page
        # the progress panel the page polls says so too, without a reload
        panel = client.get(url, HTTP_HX_REQUEST="true").content.decode()
        assert 'id="import-progress"' in panel and "<html" not in panel
        assert PAUSED in panel and "<span>Paused</span>" in panel
        assert "20 of 40 rows</span>" in panel and "min left" not in panel and "s left" not in panel  # no time left to tell
        with django_capture_on_commit_callbacks(execute=False) as queued:
            response = client.post(url, {"action": "resume"})
        assert response["Location"] == url
        assert len(jobs(queued)) == 1  # import_run sent again, once the resume is committed
        # a second click, before the resumed worker has committed anything, queues nothing more
        with django_capture_on_commit_callbacks(execute=False) as again:
            client.post(url, {"action": "resume"})
        assert jobs(again) == []
        job = import_run(job_id=job.pk, batch_rows=10)  # what the worker does with it
    assert (job.status, job.rows_done, job.leads_created) == (ImportStatus.DONE, 40, 40)
    assert Lead.objects.count() == ListMembership.objects.count() == 40
    assert Phone.objects.count() == job.phones_valid


def test_a_finished_import_cannot_be_resumed(broker):
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    job = import_run(job_id=job.pk)
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False), pytest.raises(ImportRefused):
        import_resume(job=job)


def test_another_agent_cannot_resume_my_import(died_mid_file, other_agent, client_as):
    job = died_mid_file
    with later(job, 2):
        assert client_as(other_agent).post(reverse("leads:import_detail", args=[job.pk]),
                                           {"action": "resume"}).status_code == 404


def test_beats_sweep_resumes_a_stalled_import_once_and_it_finishes_without_doubling(died_mid_file, monkeypatch):
    from leads import tasks

    job = died_mid_file
    queued = []
    monkeypatch.setattr(tasks.import_run, "delay", lambda job_id: queued.append(job_id))
    with later(job, 0.5):
        assert tasks.imports_resume_stalled() == 0  # still within its window: maybe only slow
    with later(job, 2):
        assert tasks.imports_resume_stalled() == 1
        assert tasks.imports_resume_stalled() == 0  # the next sweep: its heartbeat moved
    assert queued == [job.pk]
    job = import_run(job_id=job.pk, batch_rows=10)  # what the worker does with it
    assert (job.status, job.rows_done, job.leads_created) == (ImportStatus.DONE, 40, 40)
    assert Lead.objects.count() == ListMembership.objects.count() == 40


def test_the_sweep_leaves_finished_and_cancelled_imports_alone(broker):
    from leads import tasks

    done = import_run(job_id=import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker,
                                               list_name="p").pk)
    cancelled = import_cancel(job=import_job_create(content=PROPSTREAM, file_name="q.csv", created_by=broker,
                                                    list_name="q"))
    assert (done.status, cancelled.status) == (ImportStatus.DONE, ImportStatus.CANCELLED)
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        assert tasks.imports_resume_stalled() == 0


def test_a_queued_import_waiting_behind_one_still_moving_is_not_stalled(died_mid_file, broker, monkeypatch):
    """The worker is busy with a long file: the job behind it waits its turn, and the sweep
    does not queue its task a second time; once nothing moves, a queued job that old was lost."""
    from leads import tasks

    moving = died_mid_file
    waiting = import_job_create(content=PROPSTREAM, file_name="q.csv", created_by=broker, list_name="q")
    assert waiting.status == ImportStatus.QUEUED
    queued = []
    monkeypatch.setattr(tasks.import_run, "delay", lambda job_id: queued.append(job_id))
    with time_machine.travel(waiting.heartbeat_at + timedelta(minutes=30), tick=False):
        ImportJob.objects.filter(pk=moving.pk).update(heartbeat_at=timezone.now())  # a batch just committed
        assert not ImportJob.objects.get(pk=waiting.pk).is_stalled
        assert tasks.imports_resume_stalled() == 0
    with time_machine.travel(waiting.heartbeat_at + timedelta(minutes=45), tick=False):
        # the running one has not committed for 15 minutes: its worker died, and nothing moves
        assert ImportJob.objects.get(pk=waiting.pk).is_stalled
        assert ImportJob.objects.get(pk=moving.pk).is_stalled
        assert tasks.imports_resume_stalled() == 2
    assert sorted(queued) == sorted([moving.pk, waiting.pk])


NO_WORKER = "Waiting for the background worker: none is running right now"


def test_a_queued_import_with_no_worker_alive_says_so(agent, client_as):
    """Before, the page said "Queued… 0 of …" for ever when no worker ran (runserver alone)."""
    from leadcrm.models import Heartbeat

    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=agent, list_name="p", assign_to=agent)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.QUEUED)
    page = lambda: client_as(agent).get(reverse("leads:import_detail", args=[job.pk])).content.decode()  # noqa: E731
    assert NO_WORKER not in page()  # just queued: a worker picks it up in seconds
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert NO_WORKER in page()
        Heartbeat.objects.create(name="worker", at=timezone.now())
        assert NO_WORKER not in page()  # one is alive: the job waits its turn
