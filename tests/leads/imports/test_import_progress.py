"""The progress page's rate and time left, worked out at a frozen moment."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from leads.imports.services import import_job_create
from leads.models import ImportJob, ImportStatus

from .test_imports import PROPSTREAM

pytestmark = pytest.mark.django_db


@pytest.fixture
def job(agent):
    return import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=agent, list_name="p", assign_to=agent)


def progress(client, job, **state):
    """The polled partial for ``job`` in ``state``, seen now (the clock is frozen by the caller)."""
    ImportJob.objects.filter(pk=job.pk).update(**state)
    response = client.get(reverse("leads:import_detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    return response.context["rate"], response.context["eta"], " ".join(response.content.decode().split())


@pytest.fixture
def frozen():
    with time_machine.travel(timezone.now(), tick=False):
        yield timezone.now()


def test_a_running_import_shows_its_rate_and_the_minutes_left(agent, client_as, job, frozen):
    rate, eta, page = progress(client_as(agent), job, status=ImportStatus.RUNNING, rows_total=100_000,
                               rows_done=24_680, started_at=frozen - timedelta(seconds=20))
    assert (rate, eta) == (1234.0, 61)  # 75,320 rows to go at 1,234 rows/s
    assert "24,680 of 100,000 rows · 1,234 rows/s · about 1 min left" in page


def test_the_last_seconds_are_said_in_seconds(agent, client_as, job, frozen):
    rate, eta, page = progress(client_as(agent), job, status=ImportStatus.RUNNING, rows_total=5000, rows_done=4000,
                               started_at=frozen - timedelta(seconds=80))
    assert (rate, eta) == (50.0, 20)
    assert "4,000 of 5,000 rows · 50 rows/s · about 20 s left" in page


def test_a_long_import_rounds_its_minutes(agent, client_as, job, frozen):
    # 10,000 rows in 100 s; 200,000 to go at 100 rows/s is 2,000 s: about 33 minutes
    rate, eta, page = progress(client_as(agent), job, status=ImportStatus.RUNNING, rows_total=210_000,
                               rows_done=10_000, started_at=frozen - timedelta(seconds=100))
    assert (rate, eta) == (100.0, 2000)
    assert "about 33 min left" in page


def test_a_finished_import_shows_the_rate_it_ran_at_and_no_time_left(agent, client_as, job, frozen):
    # an hour after it ended: the rate is over its own run, not until now
    rate, eta, page = progress(client_as(agent), job, status=ImportStatus.DONE, rows_total=40, rows_done=40,
                               started_at=frozen - timedelta(hours=1, seconds=8),
                               finished_at=frozen - timedelta(hours=1))
    assert (rate, eta) == (5.0, None)
    assert "Imported 40 rows at 5 rows/s." in page and "left" not in page


def test_before_the_first_batch_there_is_no_rate_to_show(agent, client_as, job, frozen):
    rate, eta, page = progress(client_as(agent), job, status=ImportStatus.RUNNING, rows_total=40, rows_done=0,
                               started_at=frozen)
    assert (rate, eta) == (None, None)
    assert "0 of 40 rows</span>" in page and "rows/s" not in page


def test_a_batch_committed_at_the_moment_it_started_gives_no_rate_rather_than_an_error(agent, client_as, job, frozen):
    rate, eta, _ = progress(client_as(agent), job, status=ImportStatus.RUNNING, rows_total=40, rows_done=10,
                            started_at=frozen)
    assert (rate, eta) == (None, None)
