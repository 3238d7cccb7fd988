"""The moving-in pages: brokers only, a wrong file refused with its reason, the mapping page
asking for each unknown value, the result page and its CSV; query counts bounded."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from leads.models import Stage
from pipeline.models import CrmImport, CrmImportStatus, CrmSystem, CrmValueMapping
from pipeline.moving_in.services import POND, crm_import_create, crm_import_run

from .conftest import SAMPLES

pytestmark = pytest.mark.django_db


@pytest.fixture
def waiting(crm_world, fub_zip):
    job = crm_import_create(system=CrmSystem.FOLLOW_UP_BOSS, content=fub_zip, file_name="fub.zip",
                            created_by=crm_world["broker"])
    return crm_import_run(job_id=job.pk)


@pytest.mark.parametrize("who, expected", [("agent", 403), ("team_lead", 403), ("broker", 200)])
def test_only_brokers_open_the_upload(crm_world, team_lead, client_as, who, expected):
    user = {"agent": crm_world["agent"], "team_lead": team_lead, "broker": crm_world["broker"]}[who]
    assert client_as(user).get(reverse("moving_in:upload")).status_code == expected


def test_anonymous_is_sent_to_sign_in(client_as, waiting):
    for url in (reverse("moving_in:upload"), reverse("moving_in:detail", args=[waiting.pk]),
                reverse("moving_in:mapping", args=[waiting.pk]), reverse("moving_in:report", args=[waiting.pk])):
        assert client_as(None).get(url).status_code == 302


@pytest.mark.parametrize("name", ["moving_in:detail", "moving_in:mapping", "moving_in:report"])
def test_team_leads_and_agents_never_see_an_import(crm_world, team_lead, client_as, waiting, name):
    for user in (crm_world["agent"], team_lead):
        assert client_as(user).get(reverse(name, args=[waiting.pk])).status_code in (403, 404)


def test_the_imports_page_links_brokers_to_moving_in(crm_world, client_as):
    page = client_as(crm_world["broker"]).get(reverse("leads:imports")).content.decode()
    assert reverse("moving_in:upload") in page
    page = client_as(crm_world["agent"]).get(reverse("leads:imports")).content.decode()
    assert reverse("moving_in:upload") not in page


def test_a_podio_file_uploaded_as_follow_up_boss_says_so(crm_world, client_as):
    upload = SimpleUploadedFile("leads.csv", (SAMPLES / "podio" / "leads.csv").read_bytes())

    response = client_as(crm_world["broker"]).post(reverse("moving_in:upload"),
                                                   {"system": "followupboss", "file": upload})

    assert response.status_code == 200
    assert "looks like a Podio export" in response.content.decode()
    assert not CrmImport.objects.exists()


def test_upload_queues_and_stops_at_the_mapping_page(crm_world, client_as, fub_zip, django_capture_on_commit_callbacks):
    client = client_as(crm_world["broker"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("moving_in:upload"),
                                {"system": "followupboss", "file": SimpleUploadedFile("fub.zip", fub_zip)})
    job = CrmImport.objects.get()
    assert response.url == reverse("moving_in:detail", args=[job.pk])
    assert len(queued) == 1  # the task, sent once the job is committed
    assert "Queued" in client.get(response.url).content.decode()
    job = crm_import_run(job_id=job.pk)  # what the worker does with it
    assert job.status == CrmImportStatus.NEEDS_MAPPING
    assert reverse("moving_in:mapping", args=[job.pk]) in client.get(response.url).content.decode()

    page = client.get(reverse("moving_in:mapping", args=[job.pk])).content.decode()
    assert "Hot Prospect" in page and "Jo Smith" in page
    assert "“DNC” in Follow Up Boss is" in page and "A stop request (nothing on any channel)" in page
    assert "“Hot Prospect” in Follow Up Boss is" in page and "Leads of “Jo Smith” go to" in page

    refused = client.post(reverse("moving_in:mapping", args=[job.pk]), {"stage_0": "qualify"})
    assert "Choose what “Jo Smith” means here." in refused.content.decode()
    assert "Choose what “DNC” means here." in refused.content.decode()  # never silent

    with django_capture_on_commit_callbacks(execute=False) as queued:
        done = client.post(reverse("moving_in:mapping", args=[job.pk]),
                           {"stage_0": "qualify", "agent_0": POND, "stop_0": "stop"})
    assert done.status_code == 302 and len(queued) == 1
    job = crm_import_run(job_id=job.pk)
    assert job.status == CrmImportStatus.DONE and job.leads_created == 7 and job.people_stopped == 1
    assert CrmValueMapping.objects.get(value="DNC").is_stop is True
    assert "<strong>1</strong> person marked as an opt-out in Follow Up Boss" in client.get(
        response.url).content.decode()
    assert CrmValueMapping.objects.get(value="Hot Prospect").stage == Stage.QUALIFY
    assert CrmValueMapping.objects.get(value="Jo Smith").agent is None


def test_result_page_and_report(crm_world, client_as, waiting, django_assert_max_num_queries):
    from pipeline.moving_in.services import crm_import_map
    crm_import_map(job=waiting, stages={"Hot Prospect": "contact"}, agents={"Jo Smith": None},
                   stops={"DNC": True}, actor=crm_world["broker"])
    crm_import_run(job_id=waiting.pk)
    client = client_as(crm_world["broker"])

    with django_assert_max_num_queries(20):
        page = client.get(reverse("moving_in:detail", args=[waiting.pk])).content.decode()
    assert "No address" in page and "555-01" in page
    # the headings count the two kinds apart, and agree with the count box
    from pipeline.models import CrmImportRow, CrmRowOutcome
    waiting.refresh_from_db()
    rows = CrmImportRow.objects.filter(job=waiting)
    rejected, left_out = (rows.filter(outcome=CrmRowOutcome.REJECTED).count(),
                          rows.filter(outcome=CrmRowOutcome.VALUE_LEFT_OUT).count())
    assert rejected == waiting.rows_rejected and rejected and left_out
    assert f'Rows not imported <span class="num">{rejected}</span>' in page
    assert f'Values left out of imported rows <span class="num">{left_out}</span>' in page
    assert "Left out (" not in page
    report = b"".join(client.get(reverse("moving_in:report", args=[waiting.pk])).streaming_content).decode()
    lines = report.strip().splitlines()
    assert lines[0].lstrip("\ufeff").startswith("File,Line,Id in the export,Outcome,Reason,Lead")
    assert any(",102," in line and "Added to the lead already holding the house" in line for line in lines)


def test_a_stalled_import_can_be_run_again(crm_world, client_as, fub_zip, django_capture_on_commit_callbacks):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from pipeline.moving_in.services import crm_import_map

    broker = crm_world["broker"]
    job = crm_import_create(system=CrmSystem.FOLLOW_UP_BOSS, content=fub_zip, file_name="fub.zip", created_by=broker)
    crm_import_run(job_id=job.pk)
    crm_import_map(job=job, stages={"Hot Prospect": "qualify"}, agents={"Jo Smith": None}, stops={"DNC": True},
                   actor=broker)
    # as if the worker that took it had died at once: running, its last beat now
    CrmImport.objects.filter(pk=job.pk).update(status=CrmImportStatus.RUNNING, heartbeat_at=timezone.now())
    client = client_as(broker)
    url = reverse("moving_in:detail", args=[job.pk])
    assert "Run it again" not in client.get(url).content.decode()  # it beat a moment ago: it is running
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=False):
        assert "Paused: its worker stopped" in client.get(url).content.decode()
        with django_capture_on_commit_callbacks(execute=False) as queued:
            client.post(url, {"action": "resume"})
    assert len(queued) == 1

    job = crm_import_run(job_id=job.pk)

    assert (job.status, job.leads_created) == (CrmImportStatus.DONE, 7)
    client.post(url, {"action": "resume"})  # a done import is not run again
    job.refresh_from_db()
    assert job.status == CrmImportStatus.DONE


def test_the_upload_page_lists_earlier_moves_in_a_fixed_number_of_queries(crm_world, client_as,
                                                                         django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as(crm_world["broker"])
    CrmImport.objects.create(system="podio", file_name="a.csv", stored_file="a", created_by=crm_world["broker"])
    client.get(reverse("moving_in:upload"))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("moving_in:upload"))
    for n in range(10):
        CrmImport.objects.create(system="podio", file_name=f"{n}.csv", stored_file="b", created_by=crm_world["agent"])
    with django_assert_num_queries(len(one.captured_queries)):
        page = client.get(reverse("moving_in:upload")).content.decode()
    assert "9.csv" in page
