"""Uploads on an S3-compatible object store: moto's server on 127.0.0.1 stands in for the
bucket, reached through the real boto3 and django-storages (docs/operations.md#uploads-on-object-storage).

Each test gets a bucket of its own and points ``STORAGES["default"]`` at it; Django's own
``setting_changed`` receiver (django/test/signals.py ``storages_changed``) forgets the cached
``default_storage`` when STORAGES changes, which ``test_the_default_storage_follows_the_setting``
checks rather than trusts.
"""

from __future__ import annotations

import hashlib
import io
import json
import runpy
import uuid
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import environ
import pytest
import requests
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from moto.server import ThreadedMotoServer
from openpyxl import Workbook
from storages.backends.s3 import S3Storage

from compliance.models import LoadKind, LoadStatus, RegistryLoad
from compliance.services import registry_load_create, registry_load_run
from leadcrm.shared.partitions import EXPORT_DIR
from leadcrm.shared.uploads import Stored
from leads.imports.services import ImportRefused, import_job_create, import_run
from leads.models import ImportStatus, Lead
from pipeline.deals.documents import document_upload
from pipeline.models import CrmImportStatus, CrmSystem, DocumentUpload, LeadExport
from pipeline.moving_in.services import crm_import_create, crm_import_map, crm_import_run
from pipeline.workspace.exports import lead_export_run

from ..pipeline.moving_in.conftest import export_zip
from .test_settings import PRODUCTION_ENV, settings_in_subprocess

pytestmark = pytest.mark.django_db

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
BASE_SETTINGS = Path(__file__).resolve().parents[2] / "leadcrm" / "settings" / "base.py"
PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n"
KEYS = {"access_key": "testing", "secret_key": "testing"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's S3 in a thread of this process, on a free port of 127.0.0.1."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _s3_settings(endpoint: str, bucket: str) -> dict:
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        **KEYS, "bucket_name": bucket, "endpoint_url": endpoint, "region_name": "us-east-1",
        "addressing_style": "path", "signature_version": "s3v4", "default_acl": None, "querystring_auth": True,
        "querystring_expire": 60, "file_overwrite": False, "max_memory_size": 1024,
    }}


@pytest.fixture
def bucket(s3_endpoint, settings):
    """An empty bucket of this test's own, and the default storage pointed at it."""
    name = f"leadcrm-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=name)
    settings.STORAGES = {**settings.STORAGES, "default": _s3_settings(s3_endpoint, name)}
    keys = lambda: sorted(o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", []))  # noqa: E731
    return {"name": name, "client": client, "keys": keys, "endpoint": s3_endpoint}


def _bucket_bytes(bucket, key: str) -> bytes:
    return bucket["client"].get_object(Bucket=bucket["name"], Key=key)["Body"].read()


def _local_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_the_default_storage_follows_the_setting(bucket):
    assert default_storage.bucket_name == bucket["name"]
    assert isinstance(default_storage._wrapped, S3Storage)


# The list import ------------------------------------------------------------------------


def test_an_import_file_is_kept_in_the_bucket_and_imported_from_it(bucket, broker, settings):
    content = (SAMPLES / "propstream_export_sample.csv").read_bytes()
    job = import_job_create(content=content, file_name="propstream.csv", created_by=broker, list_name="PS",
                            source="propstream")
    # given: the file is in the bucket under our name, and nowhere on this machine's disk
    assert bucket["keys"]() == [job.stored_file] and _bucket_bytes(bucket, job.stored_file) == content
    assert _local_files(settings) == []
    # when: a worker runs it, with batches small enough that a forked reader reads ahead
    job = import_run(job_id=job.pk, batch_rows=7)
    # then: every row came from the bucket's copy
    assert job.status == ImportStatus.DONE, job.error
    assert (job.rows_total, job.rows_done, job.leads_created) == (40, 40, 40)
    assert Lead.objects.count() == 40 and _local_files(settings) == []


def test_an_xlsx_import_is_read_from_the_bucket_through_a_file_object(bucket, broker, settings):
    book = Workbook()
    sheet = book.active
    sheet.append(["Address", "City", "State", "Zip", "Owner 1 First Name", "Owner 1 Last Name"])
    sheet.append(["12 Oak St", "Tulsa", "OK", "74103", "Rita", "Lane"])
    sheet.append(["14 Oak St", "Tulsa", "OK", "74103", "Sam", "Lane"])
    out = io.BytesIO()
    book.save(out)
    job = import_job_create(content=out.getvalue(), file_name="list.xlsx", created_by=broker, list_name="X")
    assert bucket["keys"]() == [job.stored_file]
    job = import_run(job_id=job.pk)
    assert (job.status, job.rows_done, job.leads_created) == (ImportStatus.DONE, 2, 2)
    assert _local_files(settings) == []


def test_a_preview_fetches_only_the_start_of_a_list_but_a_whole_spreadsheet(bucket, broker, client_as, settings):
    lines = ["Address,City,State,Zip,Name"] + [f"{n} Oak St,Tulsa,OK,74103,Owner {n}" for n in range(1, 400)]
    content = "\n".join(lines).encode()
    job = import_job_create(content=content, file_name="list.csv", created_by=broker, list_name="P", draft=True)
    assert Stored(job.stored_file, head_bytes=256).open().read() == content[:256]
    book = Workbook()
    book.active.append(["Address"])
    out = io.BytesIO()
    book.save(out)
    name = default_storage.save("imports/book.bin", io.BytesIO(out.getvalue()))
    assert Stored(name, head_bytes=256).open().read() == out.getvalue()
    # the mapping page previews the first rows from the fetched start
    page = client_as(broker).get(reverse("leads:import_map", args=[job.pk]))
    assert page.status_code == 200 and "Owner 5" in page.content.decode() and "Owner 6<" not in page.content.decode()


def test_a_registry_file_is_loaded_from_the_bucket(bucket, national_registry, settings):
    dnc = (SAMPLES / "dnc_national_sample.txt").read_bytes()
    load = registry_load_create(source=national_registry, kind=LoadKind.FULL, version_date=date(2026, 11, 16),
                                content=dnc, file_name="dnc.txt", loaded_by=None)
    assert bucket["keys"]() == [load.stored_file] and _local_files(settings) == []
    registry_load_run(load_id=load.pk)
    load = RegistryLoad.objects.get(pk=load.pk)
    assert load.status == LoadStatus.DONE, load.errors
    assert load.lines_done and load.lines_done == len(dnc.split())


def test_a_crm_export_is_moved_in_from_the_bucket_and_then_removed_from_it(bucket, broker, agent, settings):
    job = crm_import_create(system=CrmSystem.FOLLOW_UP_BOSS, content=export_zip("followupboss"), file_name="fub.zip",
                            created_by=broker)
    assert bucket["keys"]() == [job.stored_file] and _local_files(settings) == []
    job = crm_import_run(job_id=job.pk)
    assert job.status == CrmImportStatus.NEEDS_MAPPING  # it read the people table from the bucket
    crm_import_map(job=job, stages=dict.fromkeys(job.unmapped_stages, "qualify"),
                   agents=dict.fromkeys(job.unmapped_agents, agent), stops=dict.fromkeys(job.unmapped_opt_outs, True),
                   actor=broker)
    job = crm_import_run(job_id=job.pk)
    assert job.status == CrmImportStatus.DONE, job.error
    assert job.leads_created > 0
    assert bucket["keys"]() == []  # the homeowners' export is not kept once imported


# Refused uploads ------------------------------------------------------------------------


def test_a_refused_upload_stores_nothing_in_the_bucket(bucket, broker, lead, agent, national_registry, settings):
    with pytest.raises(ImportRefused):
        import_job_create(content=PDF, file_name="list.csv", created_by=broker, list_name="L")
    with pytest.raises(ImportRefused):  # a table, but nothing to place a house with
        import_job_create(content=b"Name,Color\nRita,red\n", file_name="list.csv", created_by=broker, list_name="L")
    with pytest.raises(Exception, match="not a PDF"):
        document_upload(lead=lead, kind="hardship_letter", actor=agent,
                        file=SimpleUploadedFile("h.pdf", b"<html><script>alert(1)</script></html>"))
    with pytest.raises(Exception, match="zip"):
        registry_load_create(source=national_registry, kind=LoadKind.FULL, version_date=date(2026, 11, 16),
                             content=b"PK\x03\x04 not really a zip", file_name="dnc.zip", loaded_by=None)
    assert bucket["keys"]() == [] and _local_files(settings) == []
    assert not DocumentUpload.objects.exists() and not RegistryLoad.objects.exists()


# Serving a private object ---------------------------------------------------------------


def test_a_document_is_served_by_a_short_lived_signed_url_only_to_who_may_see_the_lead(
        bucket, lead, agent, other_agent, client_as):
    stored = document_upload(lead=lead, kind="hardship_letter", actor=agent, file=SimpleUploadedFile("h.pdf", PDF))
    assert bucket["keys"]() == [stored.stored_file]
    url = reverse("pipeline:document_download", args=[stored.pk])

    # another agent learns nothing, not even where the object is
    refused = client_as(other_agent).get(url)
    assert refused.status_code == 404 and "Location" not in refused
    assert client_as(None).get(url).status_code == 302 and "login" in client_as(None).get(url)["Location"]

    response = client_as(agent).get(url)
    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
    signed = response["Location"]
    parts = urlsplit(signed)
    query = parse_qs(parts.query)
    assert signed.startswith(f"{bucket['endpoint']}/{bucket['name']}/{stored.stored_file}")
    assert query["X-Amz-Expires"] == ["60"] and "X-Amz-Signature" in query
    assert query["response-content-type"] == ["application/pdf"]
    fetched = requests.get(signed, timeout=10)
    assert fetched.status_code == 200 and fetched.content == PDF
    # the object itself is private: without the signature the store refuses it
    assert requests.get(f"{parts.scheme}://{parts.netloc}{parts.path}", timeout=10).status_code == 403


def test_a_document_gone_from_the_bucket_is_a_404_not_a_dead_link(bucket, lead, agent, client_as):
    stored = document_upload(lead=lead, kind="hardship_letter", actor=agent, file=SimpleUploadedFile("h.pdf", PDF))
    bucket["client"].delete_object(Bucket=bucket["name"], Key=stored.stored_file)
    assert client_as(agent).get(reverse("pipeline:document_download", args=[stored.pk])).status_code == 404


def test_an_export_file_is_written_to_the_bucket_and_fetched_by_its_owner_only(bucket, lead, agent, other_agent,
                                                                              client_as):
    export = LeadExport.objects.create(requested_by=agent, format="csv", expires_at=timezone.now() + timedelta(days=1))
    lead_export_run(export_id=export.pk)
    export.refresh_from_db()
    assert bucket["keys"]() == [export.file.name]
    url = reverse("pipeline:export_download", args=[export.pk])
    assert client_as(other_agent).get(url).status_code == 404
    response = client_as(agent).get(url)
    assert response.status_code == 302
    fetched = requests.get(response["Location"], timeout=10)
    assert fetched.status_code == 200 and fetched.headers["Content-Disposition"].startswith("attachment;")
    assert fetched.content == _bucket_bytes(bucket, export.file.name) and lead.property.street.encode() in fetched.content


def test_the_agents_photo_is_replaced_and_removed_in_the_bucket(bucket, agent, client_as):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    client = client_as(agent)
    url = reverse("pipeline:my_photo")
    client.post(url, {"photo": SimpleUploadedFile("me.png", png)})
    first = bucket["keys"]()
    client.post(url, {"photo": SimpleUploadedFile("me.png", png + b"new")})
    second = bucket["keys"]()
    assert len(first) == len(second) == 1 and first != second  # the old one is deleted
    # Shown in pages as an <img>, whose CSP allows only our own origin: streamed through
    # the view from the bucket, never a redirect to it (a download still redirects).
    response = client.get(url)
    assert response.status_code == 200 and "Location" not in response
    assert response["Content-Type"] == "image/png" and b"".join(response.streaming_content) == png + b"new"
    client.post(url, {"action": "remove"})
    assert bucket["keys"]() == [] and client.get(url).status_code == 404


# The local default ----------------------------------------------------------------------


def test_the_local_default_is_unchanged(lead, agent, client_as, settings):
    assert Path(default_storage.location) == Path(settings.MEDIA_ROOT)
    assert type(default_storage._wrapped) is FileSystemStorage
    stored = document_upload(lead=lead, kind="hardship_letter", actor=agent, file=SimpleUploadedFile("h.pdf", PDF))
    assert (Path(settings.MEDIA_ROOT) / stored.stored_file).read_bytes() == PDF
    response = client_as(agent).get(reverse("pipeline:document_download", args=[stored.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF


def _settings_with(monkeypatch, **variables) -> dict:
    for name in ("LEADCRM_STORAGE", "LEADCRM_S3_BUCKET", "LEADCRM_S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_SETTINGS))


def test_the_storage_is_chosen_by_the_environment(monkeypatch):
    assert _settings_with(monkeypatch)["STORAGES"]["default"] == {
        "BACKEND": "django.core.files.storage.FileSystemStorage"}
    s3 = _settings_with(monkeypatch, LEADCRM_S3_BUCKET="crm-uploads",
                        LEADCRM_S3_ENDPOINT_URL="http://127.0.0.1:9000")["STORAGES"]["default"]
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    options = s3["OPTIONS"]
    assert (options["bucket_name"], options["endpoint_url"]) == ("crm-uploads", "http://127.0.0.1:9000")
    assert (options["default_acl"], options["querystring_auth"], options["querystring_expire"],
            options["file_overwrite"]) == (None, True, 60, False)
    with pytest.raises(environ.ImproperlyConfigured):
        _settings_with(monkeypatch, LEADCRM_STORAGE="s3")  # s3 without a bucket
    with pytest.raises(environ.ImproperlyConfigured, match="local or s3"):
        _settings_with(monkeypatch, LEADCRM_STORAGE="ftp")


def test_production_keeps_uploads_in_the_bucket_it_is_given():
    result = settings_in_subprocess("leadcrm.settings.production",
                                    "[s['BACKEND'] for s in settings.STORAGES.values()]",
                                    LEADCRM_S3_BUCKET="crm-uploads", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(["storages.backends.s3.S3Storage",
                                         "whitenoise.storage.CompressedManifestStaticFilesStorage"])


# Moving the files -----------------------------------------------------------------------


def test_storage_move_copies_and_verifies_and_names_the_missing_and_the_corrupt(
        s3_endpoint, lead, agent, broker, settings):
    # given: three documents and a list on the local disk, as before the move
    docs = [document_upload(lead=lead, kind=kind, actor=agent, file=SimpleUploadedFile(f"{kind}.pdf", PDF + kind.encode()))
            for kind in ("hardship_letter", "tax_returns", "financial_worksheet")]
    good, corrupt, gone = docs
    job = import_job_create(content=(SAMPLES / "propstream_export_sample.csv").read_bytes(), file_name="ps.csv",
                            created_by=broker, list_name="PS")
    local = Path(settings.MEDIA_ROOT)
    (local / corrupt.stored_file).write_bytes(PDF + b"bit rot")
    (local / gone.stored_file).unlink()
    # and: the storage is now a bucket
    name = f"leadcrm-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=name)
    settings.STORAGES = {**settings.STORAGES, "default": _s3_settings(s3_endpoint, name)}
    keys = lambda: sorted(o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", []))  # noqa: E731

    # a dry run says what it would do and writes nothing
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("storage_move", "--from-local", str(local), "--dry-run", stdout=out)
    assert f"would copy  {good.stored_file}" in out.getvalue() and keys() == []

    # a partial copy left by an earlier, interrupted run is replaced
    client.put_object(Bucket=name, Key=job.stored_file, Body=b"Address,Ci")
    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("storage_move", "--from-local", str(local), stdout=out)
    assert corrupt.stored_file in str(failed.value) and gone.stored_file in str(failed.value)
    assert good.stored_file not in str(failed.value)
    report = out.getvalue()
    assert f"missing     {gone.stored_file} (pipeline.documentupload {gone.pk})" in report
    assert f"mismatched  {corrupt.stored_file}" in report
    assert f"copied      {good.stored_file}" in report and f"copied      {job.stored_file}" in report
    assert keys() == sorted([good.stored_file, job.stored_file])
    body = client.get_object(Bucket=name, Key=job.stored_file)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256((local / job.stored_file).read_bytes()).hexdigest()

    # run again: what is there and whole is only verified; the failures are named again
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("storage_move", "--from-local", str(local), stdout=out)
    assert "0 copied, 2 already there and verified, 1 missing, 1 mismatched." in out.getvalue()

    # once the missing and corrupt ones are put right, it finishes and exits cleanly
    (local / corrupt.stored_file).write_bytes(PDF + b"tax_returns")
    (local / gone.stored_file).write_bytes(PDF + b"financial_worksheet")
    out = io.StringIO()
    call_command("storage_move", "--from-local", str(local), stdout=out)
    assert "2 copied, 2 already there and verified, 0 missing, 0 mismatched." in out.getvalue()
    # and the moved documents are served from the bucket
    assert _bucket_bytes({"client": client, "name": name}, gone.stored_file) == PDF + b"financial_worksheet"


def _empty_bucket(s3_endpoint, settings):
    name = f"leadcrm-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=name)
    settings.STORAGES = {**settings.STORAGES, "default": _s3_settings(s3_endpoint, name)}
    return lambda: sorted(o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", []))


def test_storage_move_moves_the_evidence_exports_no_row_names_and_holds_them_to_their_manifests(
        s3_endpoint, settings):
    # given: two months of a table exported to the local disk, each with its manifest,
    # and one export gone bad since its manifest was written
    local = Path(settings.MEDIA_ROOT)
    folder = local / EXPORT_DIR / "checks"
    folder.mkdir(parents=True, exist_ok=True)
    exports = {}
    for month in ("2020-01", "2020-02"):
        body = f"id,checked_at\n1,{month}-03\n".encode()
        path = folder / f"checks-{month}.csv.gz"
        path.write_bytes(body)
        Path(f"{path}.json").write_text(json.dumps({"rows": 1, "sha256": hashlib.sha256(body).hexdigest()}))
        exports[month] = path.relative_to(local).as_posix()
    (folder / "checks-2020-02.csv.gz").write_bytes(b"bit rot")
    keys = _empty_bucket(s3_endpoint, settings)

    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("storage_move", "--from-local", str(local), stdout=out)
    report = out.getvalue()
    assert f"copied      {exports['2020-01']}" in report and f"copied      {exports['2020-01']}.json" in report
    assert f"mismatched  {exports['2020-02']} ({EXPORT_DIR} folder)" in report
    assert str(failed.value).endswith(exports["2020-02"])
    assert keys() == sorted([exports["2020-01"], f"{exports['2020-01']}.json", f"{exports['2020-02']}.json"])
    assert "3 copied, 0 already there and verified, 0 missing, 1 mismatched." in report


def test_storage_move_refuses_names_that_are_absolute_or_climb_out_of_the_folder(
        s3_endpoint, lead, agent, settings, tmp_path):
    local = tmp_path / "media"
    local.mkdir()
    settings.MEDIA_ROOT = str(local)
    kept = document_upload(lead=lead, kind="hardship_letter", actor=agent, file=SimpleUploadedFile("h.pdf", PDF))
    secret = tmp_path / "secret.pdf"  # beside the folder, not in it
    secret.write_bytes(PDF + b"not an upload")
    (local / "uploads").mkdir(exist_ok=True)
    (local / "uploads" / "link.pdf").symlink_to(secret)
    bad = {}
    for kind, name in (("tax_returns", "../secret.pdf"), ("financial_worksheet", str(secret)),
                       ("other", "uploads/link.pdf")):
        made = document_upload(lead=lead, kind=kind, actor=agent, file=SimpleUploadedFile(f"{kind}.pdf", PDF))
        DocumentUpload.objects.filter(pk=made.pk).update(stored_file=name, sha256="")
        bad[name] = made.pk
    keys = _empty_bucket(s3_endpoint, settings)

    out = io.StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("storage_move", "--from-local", str(local), stdout=out)
    report = out.getvalue()
    for name, pk in bad.items():
        assert f"refused     {name} (pipeline.documentupload {pk})" in report and name in str(failed.value)
    assert keys() == [kept.stored_file]
    assert "1 copied, 0 already there and verified, 0 missing, 0 mismatched, 3 refused." in report
