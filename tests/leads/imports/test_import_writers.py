"""Two batches written at once (leads/imports/writers.py): the same leads, counts, rotation
and stopping points as one writer, batch for batch.

These run on real transactions: each writer has a connection of its own, which could not
see what a test's wrapping transaction held (with one, imports write in turn)."""

import threading

import pytest
from django.db import connection
from django.db.models import Count

from leads.imports import services as import_services
from leads.imports.services import import_job_create, import_run
from leads.models import ImportJob, ImportStatus, Lead, ListMembership, Phone, Property

from ...leadcrm.factories import AgentFactory
from .test_imports import HEADER, PROPSTREAM, row

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row and advisory locks are PostgreSQL's"),
]

LINES = PROPSTREAM.decode().splitlines()  # the header and 40 houses


def csv(lines):
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def writers_seen(monkeypatch):
    """The threads that wrote each batch, by the batch's first line."""
    seen, real = {}, import_services.write_batch

    def watching(job, records, **kwargs):
        seen[records[0].line] = threading.current_thread().name
        return real(job, records, **kwargs)

    monkeypatch.setattr(import_services, "write_batch", watching)
    return seen


def test_a_long_file_is_written_by_two_writers_with_every_row_once(broker, writers_seen):
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    job = import_run(job_id=job.pk, batch_rows=10)
    assert (job.status, job.rows_done, job.leads_created, job.leads_merged) == (ImportStatus.DONE, 40, 40, 0)
    assert Property.objects.count() == Lead.objects.count() == ListMembership.objects.count() == 40
    assert Phone.objects.count() == job.phones_valid
    assert set(writers_seen.values()) == {"import-writer-0", "import-writer-1"}
    assert writers_seen[2] == "import-writer-0" and writers_seen[12] == "import-writer-1"  # alternating


def test_the_same_house_in_two_batches_written_at_once_is_one_lead(broker):
    """Line 13 (the second batch) repeats line 6 (the first): the second batch waits at the
    house's lock, then finds the first batch's lead and merges into it."""
    lines = LINES[:12] + [LINES[5]] + LINES[12:]
    job = import_job_create(content=csv(lines), file_name="p.csv", created_by=broker, list_name="p")
    job = import_run(job_id=job.pk, batch_rows=10)
    assert (job.rows_done, job.leads_created, job.leads_merged) == (41, 40, 1)
    assert Property.objects.count() == Lead.objects.count() == ListMembership.objects.count() == 40


def test_round_robin_carries_on_across_batches_written_at_once(broker, team, agent):
    from leadcrm.accounts.services import team_member_set

    second = AgentFactory()
    team_member_set(team=team, user=second, capacity_weight=3)
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p",
                            round_robin_team=team)
    import_run(job_id=job.pk, batch_rows=7)  # 7 is not a multiple of the rotation's 4 turns
    # In file order (two batches at once draw their ids side by side, so ids are not in file order)
    import csv as csv_module

    streets = [cells[0] for cells in csv_module.reader(LINES[1:])]
    agent_of = dict(Lead.objects.values_list("property__street", "assigned_agent"))
    by_line = [agent_of[street] for street in streets]
    assert by_line == [agent.pk, second.pk, second.pk, second.pk] * 10  # as one writer deals them
    share = dict(Lead.objects.values_list("assigned_agent").annotate(n=Count("pk")))
    assert share == {agent.pk: 10, second.pk: 30}


def test_a_batch_failing_stops_the_import_after_the_batches_before_it(broker, monkeypatch):
    real = import_services.write_batch

    def third_batch_fails(job, records, **kwargs):
        if records[0].line == 22:
            raise RuntimeError("disk full")
        return real(job, records, **kwargs)

    monkeypatch.setattr(import_services, "write_batch", third_batch_fails)
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    with pytest.raises(RuntimeError, match="disk full"):
        import_run(job_id=job.pk, batch_rows=10)
    job.refresh_from_db()
    # The fourth batch, written beside the third, was rolled back: rows_done counts a prefix.
    assert (job.status, job.rows_done, job.leads_created) == (ImportStatus.FAILED, 20, 20)
    assert Lead.objects.count() == ListMembership.objects.count() == 20
    assert "disk full" in job.error


def test_a_cancel_seen_by_a_batch_ends_the_import_with_whole_batches_only(broker, monkeypatch):
    real = import_services.write_batch

    def cancelled_during_the_third_batch(job, records, **kwargs):
        if records[0].line == 22:  # the first batch has committed by now (two in flight at most)
            def press_cancel():
                ImportJob.objects.filter(pk=job.pk).update(cancel_requested=True)
                connection.close()

            presser = threading.Thread(target=press_cancel)  # another connection: the page's request
            presser.start()
            presser.join()
        return real(job, records, **kwargs)

    monkeypatch.setattr(import_services, "write_batch", cancelled_during_the_third_batch)
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    job = import_run(job_id=job.pk, batch_rows=10)
    assert job.status == ImportStatus.CANCELLED and job.finished_at is not None
    assert job.rows_done in (10, 20)  # the second batch may have committed before the cancel
    assert Lead.objects.count() == ListMembership.objects.count() == job.rows_done == job.leads_created


def test_imports_inside_a_transaction_write_in_turn_on_its_connection(broker, writers_seen):
    from django.db import transaction

    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    with transaction.atomic():
        job = import_run(job_id=job.pk, batch_rows=10)
    assert (job.status, Lead.objects.count()) == (ImportStatus.DONE, 40)
    assert set(writers_seen.values()) == {threading.current_thread().name}


def test_a_house_held_reached_by_its_address_and_by_its_parcel_in_two_batches_at_once(broker):
    """Rows 10 and 11 (the ends of two batches written at once) share no key, one reaching the
    house held by its address, the other by its APN and county: both merge into its lead, each
    batch after the other (the house's own lock), and neither waits on the other for ever."""
    held = import_job_create(content=csv([HEADER, row(APN="77-1", County="Tulsa")]), file_name="a.csv",
                             created_by=broker, list_name="a")
    import_run(job_id=held.pk)
    lead = Lead.objects.get()
    filler = [row(Address=f"{n} Elm St") for n in range(1, 19)]
    lines = [HEADER, *filler[:9], row(), row(Address="8 Fir Court Rear", Zip="74103", APN="77-1", County="TULSA"),
             *filler[9:]]
    job = import_job_create(content=csv(lines), file_name="b.csv", created_by=broker, list_name="b")
    job = import_run(job_id=job.pk, batch_rows=10)
    assert (job.status, job.rows_done, job.leads_created, job.leads_merged) == (ImportStatus.DONE, 20, 18, 2)
    assert Lead.objects.count() == 19
    assert sorted(lead.lists.values_list("name", flat=True)) == ["a", "b"]
