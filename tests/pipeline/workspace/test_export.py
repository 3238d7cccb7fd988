"""Exporting the lead list: the same rows as the list for a filter, only the user's
visible leads, formula-safe cells, CSV and XLSX, the background job for large exports and
who may download its file."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from leads.models import Lead, Stage
from pipeline.models import ExportFormat, ExportStatus, LeadExport, Notification, NotificationKind
from pipeline.workspace.exports import (
    COLUMNS,
    DNC_CLEAR,
    DNC_LISTED,
    READY_TITLE,
    lead_export_request,
    lead_export_run,
    lead_exports_expire,
)

from ...leads.factories import ContactFactory, EmailFactory, LeadFactory, PhoneFactory, PropertyFactory

pytestmark = pytest.mark.django_db

EXPORT = reverse("pipeline:lead_export")


def csv_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def xlsx_rows(content: bytes) -> list[list]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def list_streets(client, query: dict) -> set[str]:
    page = client.get(reverse("leads:list"), query).content.decode()
    ids = {int(pk) for pk in re.findall(r'<tr data-href="/leads/(\d+)/">', page)}
    return set(Lead.objects.filter(pk__in=ids).values_list("property__street", flat=True))


def test_anonymous_is_sent_to_sign_in(client_as):
    assert "/accounts/login/" in client_as(None).get(EXPORT)["Location"]


def test_the_csv_has_every_column_a_user_expects(lead, agent, client_as):
    contact = lead.contacts.get()
    EmailFactory(contact=contact, address="owner@example.com")
    lead.property.estimated_value = Decimal("300000")
    lead.property.save()
    rows = csv_rows(client_as(agent).get(EXPORT, {"format": "csv"}))
    assert list(rows[0]) == COLUMNS
    row = rows[0]
    assert row["Address"] == lead.property.street and row["ZIP"] == lead.property.zip_code
    assert row["Owners"] == contact.display_name
    assert row["Best phone"] == "(918) 555-0104" and row["Email"] == "owner@example.com"
    assert row["Agent"] == str(agent) and row["Stage"] == "List"
    assert row["Estimated value"] == "300000.00" and row["Equity"] == "300000.00"


def test_a_forged_filter_never_brings_another_agents_lead(lead, other_lead, agent, other_agent, other_team,
                                                         client_as):
    client = client_as(agent)
    for query in ({}, {"assigned_agent": str(other_agent.pk)}, {"team": str(other_team.pk)},
                  {"q": other_lead.property.street}):
        rows = csv_rows(client.get(EXPORT, {**query, "format": "csv"}))
        assert other_lead.property.street not in {row["Address"] for row in rows}, query
    assert {row["Address"] for row in csv_rows(client.get(EXPORT))} == {lead.property.street}


def test_the_file_holds_the_rows_the_list_shows_for_a_filter(agent, team, client_as):
    for stage in (Stage.LIST, Stage.CONTACT, Stage.CONTACT):
        LeadFactory(assigned_agent=agent, team=team, stage=stage)
    client = client_as(agent)
    query = {"stage": Stage.CONTACT}
    shown = list_streets(client, query)
    assert len(shown) == 2
    assert {row["Address"] for row in csv_rows(client.get(EXPORT, {**query, "format": "csv"}))} == shown
    sheet = xlsx_rows(client.get(EXPORT, {**query, "format": "xlsx"}).getvalue())
    assert sheet[0] == COLUMNS and {row[0] for row in sheet[1:]} == shown


def test_xlsx_keeps_numbers_as_numbers(lead, agent, client_as):
    sheet = xlsx_rows(client_as(agent).get(EXPORT, {"format": "xlsx"}).getvalue())
    row = dict(zip(sheet[0], sheet[1], strict=True))
    assert isinstance(row["Score"], int) and isinstance(row["Estimated value"], int | float)


def test_a_cell_that_looks_like_a_formula_stays_text(agent, team, client_as):
    lead = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(street="=1+2 Elm St"))
    ContactFactory(lead=lead, first_name="=HYPERLINK(\"http://evil\")", last_name="@SUM(A1)")
    client = client_as(agent)
    row = csv_rows(client.get(EXPORT, {"format": "csv"}))[0]
    assert row["Address"] == "'=1+2 Elm St" and row["Owners"].startswith("'=HYPERLINK")
    sheet = xlsx_rows(client.get(EXPORT, {"format": "xlsx"}).getvalue())
    assert sheet[1][0] == "'=1+2 Elm St" and sheet[1][4].startswith("'=")


def test_the_best_phones_do_not_call_standing_is_shown(lead, agent, client_as):
    lead.contacts.get().phones.update(on_dnc_list=True, dnc_flagged_at=timezone.now())
    assert csv_rows(client_as(agent).get(EXPORT))[0]["Best phone DNC"] == DNC_LISTED


def test_a_clear_number_reads_clear_as_on_the_list(lead, agent, client_as):
    # A clear number's flag has no date (it never changed); the list calls it clear, so does the file.
    lead.contacts.get().phones.update(on_dnc_list=False, dnc_flagged_at=None)
    assert csv_rows(client_as(agent).get(EXPORT))[0]["Best phone DNC"] == DNC_CLEAR


def test_money_is_written_as_numbers_with_two_places_negative_too(agent, team, client_as):
    lead = LeadFactory(assigned_agent=agent, team=team, property=PropertyFactory(estimated_value=Decimal("100000")),
                       lien_total=Decimal("156100"))
    row = csv_rows(client_as(agent).get(EXPORT))[0]
    assert (row["Estimated value"], row["Lien total"]) == ("100000.00", "156100.00")
    assert row["Equity"] == "-56100.00"  # a number, not the text '-56100 a formula guard would make
    assert lead.pk
    sheet = load_workbook(io.BytesIO(client_as(agent).get(EXPORT, {"format": "xlsx"}).getvalue())).active
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["A"].width == 28


def test_the_queries_do_not_grow_with_the_rows(agent, team, client_as):
    def export_queries(count: int) -> int:
        for _ in range(count):
            lead = LeadFactory(assigned_agent=agent, team=team)
            contact = ContactFactory(lead=lead)
            PhoneFactory(contact=contact)
            EmailFactory(contact=contact)
        client = client_as(agent)
        cache.clear()  # the filter's list choices, cached after the first export
        with CaptureQueriesContext(connection) as captured:
            rows = csv_rows(client.get(EXPORT))
        return len(rows), captured.captured_queries

    few_rows, few_captured = export_queries(2)
    many_rows, many_captured = export_queries(6)
    few, many = len(few_captured), len(many_captured)
    assert (few_rows, many_rows) == (2, 8)
    assert many == few


# The background job -------------------------------------------------------------------


def test_a_large_export_becomes_a_job_told_when_ready(lead, agent, client_as, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    monkeypatch.setattr("pipeline.workspace.exports.EXPORT_STREAM_MAX", 1)
    LeadFactory(assigned_agent=agent, team=lead.team)
    client = client_as(agent)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(EXPORT, {"stage": Stage.LIST, "format": "xlsx"})
    assert response["Location"] == reverse("pipeline:exports")
    export = LeadExport.objects.get()
    assert (export.requested_by, export.format, export.status, export.filters) == (
        agent, ExportFormat.XLSX, ExportStatus.PENDING, {"stage": [Stage.LIST]})
    assert len(callbacks) == 1

    lead_export_run(export_id=export.pk)  # what the task does

    export.refresh_from_db()
    assert (export.status, export.row_count) == (ExportStatus.DONE, 2)
    note = Notification.objects.get(recipient=agent, kind=NotificationKind.EXPORT)
    assert note.title == READY_TITLE and note.url == reverse("pipeline:export_download", args=[export.pk])
    download = client.get(note.url)
    sheet = xlsx_rows(b"".join(download.streaming_content))
    assert download.status_code == 200 and len(sheet) == 3 and lead.property.street in {r[0] for r in sheet}
    page = client.get(reverse("pipeline:exports")).content.decode()
    assert note.url in page


def test_running_the_job_twice_writes_once(lead, agent):
    export = lead_export_request(requested_by=agent, filters={}, format=ExportFormat.CSV)
    assert lead_export_run(export_id=export.pk).status == ExportStatus.DONE
    assert lead_export_run(export_id=export.pk) is None
    assert Notification.objects.filter(kind=NotificationKind.EXPORT).count() == 1


def test_the_job_writes_only_the_requesters_leads(lead, other_lead, agent, other_agent):
    export = lead_export_request(requested_by=agent, filters={"assigned_agent": [str(other_agent.pk)]},
                                 format=ExportFormat.CSV)
    lead_export_run(export_id=export.pk)
    export.refresh_from_db()
    assert other_lead.property.street not in export.file.read().decode("utf-8-sig")


@pytest.mark.parametrize(("role", "status"), [("agent", 200), ("other_agent", 404), ("team_lead", 404),
                                              ("broker", 404)])
def test_only_the_requester_downloads_the_file(lead, agent, role, status, request, client_as):
    export = lead_export_request(requested_by=agent, filters={}, format=ExportFormat.CSV)
    lead_export_run(export_id=export.pk)
    user = request.getfixturevalue(role)
    response = client_as(user).get(reverse("pipeline:export_download", args=[export.pk]))
    assert response.status_code == status
    if status == 404:
        assert lead.property.street.encode() not in response.content
        assert "download/" not in client_as(user).get(reverse("pipeline:exports")).content.decode()


def test_an_expired_export_is_deleted_and_no_longer_downloads(lead, agent, client_as):
    export = lead_export_request(requested_by=agent, filters={}, format=ExportFormat.CSV)
    lead_export_run(export_id=export.pk)
    export.refresh_from_db()
    path = export.file.path
    later = export.expires_at + timedelta(minutes=1)
    assert lead_exports_expire(now=later) == 1
    export.refresh_from_db()
    assert export.status == ExportStatus.EXPIRED and not export.file
    assert not Path(path).exists()
    assert client_as(agent).get(reverse("pipeline:export_download", args=[export.pk])).status_code == 404


def test_a_job_whose_worker_died_is_failed_by_the_sweep(agent):
    export = lead_export_request(requested_by=agent, filters={}, format=ExportFormat.CSV)
    LeadExport.objects.filter(pk=export.pk).update(status=ExportStatus.RUNNING,
                                                   started_at=timezone.now() - timedelta(hours=3))
    lead_exports_expire()
    export.refresh_from_db()
    assert export.status == ExportStatus.FAILED and export.error


def test_times_are_in_the_users_own_zone(lead, agent, client_as):
    agent.time_zone = "America/Chicago"
    agent.save(update_fields=["time_zone"])
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.make_aware(datetime(2026, 11, 18, 20, 0), UTC))
    row = csv_rows(client_as(agent).get(EXPORT))[0]
    assert row["Created"] == "2026-11-18 14:00"
