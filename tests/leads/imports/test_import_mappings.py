"""A column mapping saved by name is reused for a later upload whose headers we would not
recognise: through the service, the upload form and ``import_leads --mapping``."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from leads.imports.services import ImportRefused, import_job_create, import_run
from leads.models import ImportJob, ImportStatus, Lead, Phone

from ..factories import ColumnMappingFactory

pytestmark = pytest.mark.django_db

# A county clerk's spellings: none of them is an alias, so detection alone finds no street.
ODD = (b"Situs Street Line,Town,ST Code,Postal,Homeowner Given,Homeowner Family,Cell No\n"
       b"14 Walnut Way,Tulsa,OK,74101,Rosa,Vega,918 555 0160\n"
       b"9 Hickory Pl,Tulsa,OK,74103,Ivan,Cho,918 555 0161\n")
COLUMNS = {"street": "Situs Street Line", "city": "Town", "state": "ST Code", "zip": "Postal",
           "owner1_first": "Homeowner Given", "owner1_last": "Homeowner Family", "phone1": "Cell No"}


@pytest.fixture
def county_mapping(broker):
    return ColumnMappingFactory(name="County clerk", columns=COLUMNS, created_by=broker)


def test_the_odd_headers_are_refused_without_the_saved_mapping(broker):
    with pytest.raises(ImportRefused, match="no column for the street address"):
        import_job_create(content=ODD, file_name="clerk.csv", created_by=broker, list_name="clerk")


def test_a_saved_mapping_is_used_for_a_later_upload(broker, county_mapping):
    job = import_job_create(content=ODD, file_name="clerk.csv", created_by=broker, list_name="clerk",
                            mapping=county_mapping)
    assert (job.columns, job.status, job.rows_total) == (COLUMNS, ImportStatus.QUEUED, None)  # the worker counts
    job = import_run(job_id=job.pk)
    assert (job.rows_total, job.leads_created, job.rows_rejected) == (2, 2, 0)
    assert set(Lead.objects.values_list("property__street", flat=True)) == {"14 Walnut Way", "9 Hickory Pl"}
    assert Lead.objects.get(property__street="14 Walnut Way").contacts.get().last_name == "Vega"
    assert set(Phone.objects.values_list("number", flat=True)) == {"+19185550160", "+19185550161"}


def test_a_saved_mapping_naming_columns_the_file_lacks_is_refused_naming_them(broker, county_mapping):
    other = b"Situs Street Line,Postal\n14 Walnut Way,74101\n"
    with pytest.raises(ImportRefused, match="the file does not have: Cell No, Homeowner Family"):
        import_job_create(content=other, file_name="short.csv", created_by=broker, list_name="x",
                          mapping=county_mapping)
    assert not ImportJob.objects.exists()


def test_the_upload_form_uses_the_saved_mapping_picked(agent, client_as, county_mapping):
    client = client_as(agent)
    response = client.post(reverse("leads:imports"), {
        "file": SimpleUploadedFile("clerk.csv", ODD), "source": "county", "list_name": "Clerk pull",
        "mapping": county_mapping.pk, "assign": "me"})
    job = ImportJob.objects.get()
    assert response["Location"] == reverse("leads:import_map", args=[job.pk])
    assert job.columns == COLUMNS
    page = client.get(response["Location"]).content.decode()
    assert '<option value="Situs Street Line" selected>' in page  # the saved mapping, picked for the check
    client.post(response["Location"], {f"col_{name}": header for name, header in job.columns.items()})
    job = import_run(job_id=job.pk)
    assert (job.status, job.leads_created) == (ImportStatus.DONE, 2)
    assert set(Lead.objects.values_list("assigned_agent", flat=True)) == {agent.pk}


def test_import_leads_takes_a_saved_mapping_by_name(broker, county_mapping, tmp_path, capsys):
    path = tmp_path / "clerk.csv"
    path.write_bytes(ODD)
    call_command("import_leads", str(path), "--mapping", "County clerk", "--as", broker.username)
    assert "leads created                          2" in capsys.readouterr().out
    assert ImportJob.objects.get().columns == COLUMNS
    assert Lead.objects.count() == 2


def test_import_leads_refuses_a_mapping_it_does_not_hold(broker, tmp_path):
    path = tmp_path / "clerk.csv"
    path.write_bytes(ODD)
    with pytest.raises(CommandError, match="No saved column mapping named .No such mapping."):
        call_command("import_leads", str(path), "--mapping", "No such mapping", "--as", broker.username)
    assert not ImportJob.objects.exists()
