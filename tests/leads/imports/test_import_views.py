"""The import pages as an agent and a broker use them."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads.imports.services import import_run
from leads.models import ColumnMapping, ImportJob, ImportStatus, Lead

from ...helpers import jobs
from ..factories import ColumnMappingFactory
from .test_imports import MESSY, PROPSTREAM

pytestmark = pytest.mark.django_db


def upload(client, content, name="list.csv", **fields):
    data = {"file": SimpleUploadedFile(name, content), "source": "propstream", "list_name": "NOD pull",
            "assign": "me", **fields}
    return client.post(reverse("leads:imports"), data)


def test_an_agent_uploads_checks_the_columns_starts_and_watches_the_import(agent, client_as,
                                                                         django_capture_on_commit_callbacks):
    client = client_as(agent)
    response = upload(client, PROPSTREAM)
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("leads:import_map", args=[job.pk])
    assert job.status == ImportStatus.DRAFT and job.rows_total is None  # counted by the worker, not here
    page = client.get(response["Location"]).content.decode()
    assert "2571 Pine Rd" in page  # the preview
    assert '<option value="Owner 1 First Name" selected>' in page  # detected
    form = {f"col_{name}": header for name, header in job.columns.items()}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = client.post(response["Location"], {**form, "save_as": "PropStream full export"})
    assert len(jobs(queued)) == 1  # the Celery job, sent once the mapping is committed
    assert started["Location"] == reverse("leads:import_detail", args=[job.pk])
    assert ColumnMapping.objects.get().columns == job.columns
    assert "hx-trigger=\"every 1s\"" in client.get(started["Location"]).content.decode()
    import_run(job_id=job.pk)  # what the worker does
    partial = client.get(started["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "Imported 40 rows" in partial and "every 1s" not in partial
    assert set(Lead.objects.values_list("assigned_agent", flat=True)) == {agent.pk}


def test_a_mapping_without_an_address_is_refused_with_the_missing_columns_named(agent, client_as):
    client = client_as(agent)
    upload(client, PROPSTREAM)
    job = ImportJob.objects.get()
    form = {f"col_{name}": header for name, header in job.columns.items() if name not in ("street",)}
    page = client.post(reverse("leads:import_map", args=[job.pk]), form).content.decode()
    assert "no column for the street address (Address)" in page
    job.refresh_from_db()
    assert job.status == ImportStatus.DRAFT


def test_a_file_that_is_not_a_table_is_refused_on_the_upload_page(agent, client_as):
    page = upload(client_as(agent), b"%PDF-1.4\x00\x01binary", name="scan.pdf").content.decode()
    assert "scan.pdf is not a table" in page
    assert not ImportJob.objects.exists()


def test_an_agent_can_only_give_the_new_leads_to_themselves(agent, other_agent, client_as):
    page = upload(client_as(agent), PROPSTREAM, assign="agent", agent=other_agent.pk).content.decode()
    assert "Select a valid choice" in page and not ImportJob.objects.exists()


def test_the_report_lists_every_row_left_out_with_its_reason_and_neutralises_formulas(agent, client_as):
    client = client_as(agent)
    upload(client, MESSY, name="messy.csv")
    job = ImportJob.objects.get()
    client.post(reverse("leads:import_map", args=[job.pk]), {f"col_{n}": h for n, h in job.columns.items()})
    import_run(job_id=job.pk)
    response = client.get(reverse("leads:import_report", args=[job.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["Line", "Imported?", "Reason"]
    by_reason = {row[2]: row for row in rows[1:]}
    assert by_reason["No street address."][1] == "no"
    formula_row = next(row for row in rows[1:] if "555-0199" in row[2])
    assert "'=HYPERLINK" in ",".join(formula_row)  # neutralised, never a live formula


def test_another_agent_cannot_see_or_cancel_my_import(agent, other_agent, client_as):
    upload(client_as(agent), PROPSTREAM)
    job = ImportJob.objects.get()
    other = client_as(other_agent)
    assert other.get(reverse("leads:import_detail", args=[job.pk])).status_code == 404
    assert other.post(reverse("leads:import_cancel", args=[job.pk])).status_code == 404
    assert "nod" not in other.get(reverse("leads:imports")).content.decode().lower().split("recent imports")[1]


def test_a_saved_mapping_of_someone_else_is_not_overwritten(agent, other_agent, client_as):
    ColumnMappingFactory(name="Team PropStream", created_by=other_agent)
    client = client_as(agent)
    upload(client, PROPSTREAM)
    job = ImportJob.objects.get()
    form = {f"col_{n}": h for n, h in job.columns.items()}
    page = client.post(reverse("leads:import_map", args=[job.pk]), {**form, "save_as": "Team PropStream"})
    assert "belongs to someone else" in page.content.decode()
    assert ColumnMapping.objects.get().created_by == other_agent


def test_the_report_neutralises_formula_looking_headers(agent, client_as):
    client = client_as(agent)
    upload(client, b"Address,Zip,=cmd|' /C calc'!A0\n,74101,x\n")
    job = ImportJob.objects.get()
    client.post(reverse("leads:import_map", args=[job.pk]), {f"col_{n}": h for n, h in job.columns.items()})
    import_run(job_id=job.pk)
    report = b"".join(client.get(reverse("leads:import_report", args=[job.pk])).streaming_content).decode()
    assert "'=cmd" in report and ",=cmd" not in report


def test_what_a_list_cost_is_added_to_the_list_once_each_upload_is_done(agent, client_as):
    """Two uploads of the same list, $250 and $125.50: the list cost $375.50. A third one,
    cancelled before it ran, cost nothing the report should count."""
    from decimal import Decimal

    from leads.imports.services import import_cancel
    from leads.models import LeadList

    client = client_as(agent)
    for cost in ("250", "125.50"):
        upload(client, PROPSTREAM, list_cost=cost)
        job = ImportJob.objects.latest("pk")
        client.post(reverse("leads:import_map", args=[job.pk]),
                    {f"col_{name}": header for name, header in job.columns.items()})
        assert LeadList.objects.get().cost == (None if cost == "250" else Decimal("250"))  # not before it is done
        import_run(job_id=job.pk)
    upload(client, PROPSTREAM, list_cost="99")
    import_cancel(job=ImportJob.objects.latest("pk"))

    assert LeadList.objects.get().cost == Decimal("375.50")
    page = upload(client, PROPSTREAM, list_cost="-5").content.decode()
    assert "greater than or equal to 0" in page
