"""The broker's privacy pages: a broker uses them, everyone else gets a 404."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from django.urls import reverse

from leads.models import Contact
from pipeline.models import PrivacyRequest
from pipeline.privacy.services import NOT_CONFIRMED

from ...leadcrm.test_url_walk import OWNER_NAME
from .test_erasure import VERIFIED, world  # noqa: F401  (the lead's world, files in a temporary folder)

pytestmark = pytest.mark.django_db

URLS = [("get", "privacy:index"), ("post", "privacy:download"), ("post", "privacy:erase_preview"),
        ("post", "privacy:erase_confirm")]


@pytest.mark.parametrize(("method", "name"), URLS)
def test_anyone_but_a_broker_gets_a_404(method, name, agent, team_lead, client_as):
    for user in (agent, team_lead):
        assert getattr(client_as(user), method)(reverse(name), {"name": OWNER_NAME}).status_code == 404
    signed_out = getattr(client_as(None), method)(reverse(name), {"name": OWNER_NAME})
    assert signed_out.status_code == 302 and signed_out["Location"].startswith(reverse("admin:login"))
    assert OWNER_NAME not in signed_out["Location"]


def test_broker_finds_downloads_previews_and_erases(world, client_as, django_capture_on_commit_callbacks):  # noqa: F811
    client = client_as(world.broker)
    found = client.post(reverse("privacy:index"), {"phone": "918-555-0187"})
    assert found.status_code == 200
    assert f'name="lead" value="{world.lead.pk}"' in found.content.decode()
    assert "has the phone (918) 555-0187" in found.content.decode()

    form = {"phone": "918-555-0187", "lead": [world.lead.pk], "requester": "homeowner", "verification": VERIFIED}
    download = client.post(reverse("privacy:download"), form)
    assert download.status_code == 200 and download["Content-Type"] == "application/zip"
    assert "records.json" in zipfile.ZipFile(BytesIO(download.content)).namelist()

    preview = client.post(reverse("privacy:erase_preview"), form)
    assert preview.status_code == 200 and "What will change" in preview.content.decode()
    assert "Erase for good" in preview.content.decode()

    refused = client.post(reverse("privacy:erase_confirm"), {**form, "confirmation": "yes"})
    assert refused.status_code == 400 and NOT_CONFIRMED in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        erased = client.post(reverse("privacy:erase_confirm"), {**form, "confirmation": "ERASE"})
    assert erased.status_code == 302
    assert Contact.objects.get(pk=world.contact.pk).last_name == "[erased]"
    assert list(PrivacyRequest.objects.values_list("kind", flat=True)) == ["erasure", "access"]
    listed = client.get(reverse("privacy:index")).content.decode()
    assert "Erase" in listed and VERIFIED.replace("'", "&#x27;") in listed and OWNER_NAME not in listed


def test_download_without_how_it_was_verified_is_refused(world, client_as):  # noqa: F811
    response = client_as(world.broker).post(reverse("privacy:download"), {"lead": [world.lead.pk], "name": OWNER_NAME})
    assert response.status_code == 400 and "Say how you confirmed" in response.content.decode()
    assert f'name="lead" value="{world.lead.pk}"' in response.content.decode()  # the search is still there
    assert not PrivacyRequest.objects.exists()
