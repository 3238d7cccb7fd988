"""Bounded uploads: a zipped list or registry file that would unpack past its limit is
refused from the zip's directory, in the web request, before a byte of it is unpacked;
and a list's rows are counted by the worker, never by the request."""

import io
import struct
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from compliance.models import RegistryLoad
from leadcrm.shared.zips import UnzippedTooLarge, bounded_read, zip_check
from leads.imports import reading
from leads.imports.reading import NotATable, open_table
from leads.imports.services import ImportRefused, import_job_create, import_run
from leads.models import ImportJob, ImportStatus

from .bombs import registry_bomb, xlsx_bomb
from .test_import_views import upload
from .test_imports import PROPSTREAM

pytestmark = pytest.mark.django_db

SPREADSHEET_TOO_LARGE = ("This spreadsheet unpacks to 200 MB, more than the 100 MB a list may hold. "
                         "Save it as CSV, or split it.")


@pytest.fixture(scope="module")
def bomb():
    """Half a megabyte on disk; its sharedStrings.xml unpacks to 200 MB, as the finding's did."""
    return xlsx_bomb(200)


@pytest.fixture
def members_opened(monkeypatch):
    """The names of every zip member anything opens (to read) while the test runs."""
    opened, real = [], zipfile.ZipFile.open

    def recording(archive, name, *args, **kwargs):
        opened.append(getattr(name, "filename", name))
        return real(archive, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", recording)
    return opened


def files_kept(folder: str) -> list[Path]:
    return list((Path(settings.MEDIA_ROOT) / folder).glob("*"))


def test_a_zip_bomb_spreadsheet_is_refused_from_its_directory_and_nothing_is_made(
        bomb, agent, client_as, members_opened):
    assert len(bomb) < 1_000_000
    kept_before = files_kept("imports")
    response = upload(client_as(agent), bomb, name="nod.xlsx")
    assert response.status_code == 200  # the form again, with why
    assert SPREADSHEET_TOO_LARGE in response.content.decode()
    # Refused from the directory: the shared strings were never opened, let alone read.
    assert "xl/sharedStrings.xml" not in members_opened
    assert not ImportJob.objects.exists()  # nothing half-made: no job at all
    assert files_kept("imports") == kept_before  # and the upload is not kept


def test_a_spreadsheet_packed_tighter_than_any_list_is_refused_under_the_size_limit(agent, members_opened):
    tight = xlsx_bomb(50)  # 50 MB of shared strings: under 100 MB, but packed about 500 to 1
    members_opened.clear()  # those written to build it
    with pytest.raises(ImportRefused) as refused:
        import_job_create(content=tight, file_name="nod.xlsx", created_by=agent, list_name="nod")
    assert refused.value.message_dict["file"] == [
        "This spreadsheet unpacks to 50 MB from 0.1 MB: no real list packs that tightly. Save it as CSV, or split it."]
    assert members_opened == [] and not ImportJob.objects.exists()


@override_settings(LEADCRM_IMPORT_MAX_UNZIPPED_BYTES=5_000_000)
def test_the_whole_spreadsheet_is_held_to_its_own_limit(agent):
    with pytest.raises(ImportRefused, match="This spreadsheet unpacks to 6 MB, more than the 5 MB a list may hold"):
        import_job_create(content=xlsx_bomb(6), file_name="nod.xlsx", created_by=agent, list_name="nod")


def _claiming(data: bytes, member: str, file_size: int) -> bytes:
    """The zip with ``member``'s unpacked size in the central directory rewritten to ``file_size``."""
    data = bytearray(data)
    at = data.find(b"PK\x01\x02")
    while at != -1:
        name_length = struct.unpack_from("<H", data, at + 28)[0]
        if data[at + 46:at + 46 + name_length].decode() == member:
            struct.pack_into("<I", data, at + 24, file_size)
        at = data.find(b"PK\x01\x02", at + 4)
    return bytes(data)


def test_a_spreadsheet_whose_directory_lies_is_never_read_past_what_it_claims(tmp_path):
    lying = tmp_path / "lying.xlsx"
    lying.write_bytes(_claiming(xlsx_bomb(20), "xl/sharedStrings.xml", 1000))
    with zipfile.ZipFile(lying) as archive:
        assert archive.getinfo("xl/sharedStrings.xml").file_size == 1000  # passes the directory check
        with archive.open("xl/sharedStrings.xml") as member, pytest.raises(zipfile.BadZipFile, match="Bad CRC-32"):
            # zipfile stops at the 1,000 bytes the directory claims, and the checksum fails there
            member.read(1 << 20)
    with pytest.raises(NotATable, match="is not a table"):  # and the checksum fails there
        list(open_table(lying, "lying.xlsx").rows())


def test_the_request_reads_the_shared_strings_only_as_far_as_its_header_and_first_row(agent, monkeypatch):
    """A workbook within the limits may still hold 100 MB of strings: the request reads the
    few its header and first row point to, and the worker the rest as the rows need them."""
    tables = []
    real = reading._SharedStrings.__init__

    def recording(self, archive, part):
        real(self, archive, part)
        tables.append(self)

    monkeypatch.setattr(reading._SharedStrings, "__init__", recording)
    job = import_job_create(content=xlsx_bomb(5, rows=3), file_name="nod.xlsx", created_by=agent,
                            list_name="nod", draft=True)  # 5 MB of strings, 217,390 of them
    assert job.headers == ["Address", "City", "State", "Zip"]
    assert [len(table) for table in tables] == [5]  # the four headers and the row's one address


def test_reading_a_member_stops_past_the_limit_whatever_its_header_said():
    member = io.BytesIO(b"9185550104\n" * 100_000)  # 1.1 MB, whatever a header claimed
    chunks = bounded_read(member, limit=1_000_000, too_large="{size} over {limit}", chunk=100_000)
    with pytest.raises(UnzippedTooLarge, match="more than 1 MB over 1 MB"):
        list(chunks)
    assert member.tell() <= 1_100_000


def test_an_xlsx_list_within_the_limits_passes_the_directory_check(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Address", "City", "State", "Zip"])
    book.active.append(["2571 Pine Rd", "Tulsa", "OK", "74130"])
    path = tmp_path / "list.xlsx"
    book.save(path)
    assert len(zip_check(path, total_limit=1_000_000, too_large="{size}", too_tight="{size}")) > 3
    assert [row for _, row in open_table(path, "list.xlsx").rows()] == [
        {"Address": "2571 Pine Rd", "City": "Tulsa", "State": "OK", "Zip": "74130"}]


def registry_upload(client, content, name="918.zip"):
    data = {"list_kind": "national", "file_kind": "full", "version_date": "2026-11-14", "file": SimpleUploadedFile(
        name, content)}
    return client.post(reverse("compliance:registries"), data)


def test_a_zip_bomb_registry_file_is_refused_from_its_directory_and_nothing_is_made(
        broker, client_as, members_opened):
    bomb = registry_bomb(200)
    members_opened.clear()  # the one written to build it
    assert len(bomb) < 1_000_000
    kept_before = files_kept("registry-uploads")
    response = registry_upload(client_as(broker), bomb)
    assert response.status_code == 200
    assert ("This zip unpacks to 200 MB from 0.4 MB: no registry file packs that tightly. "
            "Download it again from the registry.") in response.content.decode()
    assert members_opened == [] and not RegistryLoad.objects.exists()
    assert files_kept("registry-uploads") == kept_before
    with override_settings(LEADCRM_REGISTRY_MAX_UNZIPPED_BYTES=100_000_000):
        response = registry_upload(client_as(broker), bomb)
    assert ("This zip unpacks to 200 MB, more than the 100 MB a registry file may hold. "
            "Upload the files of fewer area codes at once.") in response.content.decode()
    assert members_opened == [] and not RegistryLoad.objects.exists()


def test_a_zipped_registry_file_within_the_limit_is_queued_and_loaded(broker, client_as,
                                                                     django_capture_on_commit_callbacks):
    from compliance.services import registry_load_run

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("918.txt", b"918,5550104\n918,5550108\n")
    with django_capture_on_commit_callbacks(execute=False):
        response = registry_upload(client_as(broker), buffer.getvalue())
    load = RegistryLoad.objects.get()
    assert response["Location"] == reverse("compliance:registry_load", args=[load.pk])
    assert registry_load_run(load_id=load.pk).numbers_added == 2


def test_the_request_reads_one_row_and_the_worker_counts_them_all(broker, monkeypatch):
    """The web request reads the header and one row (to refuse an empty file), no more."""
    from leads.imports import reading

    real, read = reading.open_table, []

    def counting(path, name):
        table = real(path, name)
        rows = table._rows

        def tally():
            for row in rows:
                read.append(row)
                yield row

        table._rows = tally()
        return table

    monkeypatch.setattr("leads.imports.services.open_table", counting)
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=broker, list_name="p")
    assert (job.rows_total, len(read)) == (None, 1)
    job = import_run(job_id=job.pk)
    assert (job.status, job.rows_total, job.rows_done) == (ImportStatus.DONE, 40, 40)


def test_the_progress_page_says_counting_rows_until_the_worker_has(agent, client_as):
    job = import_job_create(content=PROPSTREAM, file_name="p.csv", created_by=agent, list_name="p", assign_to=agent)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    panel = client_as(agent).get(reverse("leads:import_detail", args=[job.pk]), HTTP_HX_REQUEST="true")
    text = panel.content.decode()
    assert "<span>Counting rows…</span>" in text and "0 of … (counting rows…) rows" in text
    assert "None" not in text and " left" not in text


def test_a_list_larger_than_the_upload_limit_is_refused_naming_the_limit_in_mb(agent):
    assert settings.LEADCRM_IMPORT_UPLOAD_MAX_BYTES == 400 * 1024 * 1024  # a million PropStream rows
    with override_settings(LEADCRM_IMPORT_UPLOAD_MAX_BYTES=2_000_000), pytest.raises(ImportRefused) as refused:
        import_job_create(content=b"x" * 3_000_000, file_name="p.csv", created_by=agent, list_name="p")
    assert refused.value.message_dict["file"] == [
        "This file is 3 MB, more than the 2 MB a list may hold. Split it, or leave out columns you do not need."]
    assert not ImportJob.objects.exists()
