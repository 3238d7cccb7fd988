"""/api/v1/: the API's names reverse to it, the unversioned paths answer the same as
deprecated aliases pointing at it, and the schema describes v1 alone."""

from collections import Counter

import pytest
from django.urls import get_resolver, resolve, reverse
from rest_framework.test import APIClient

from leadcrm.shared.versioning import UNVERSIONED_DEPRECATED_AT, UNVERSIONED_NAMESPACE

from ...helpers import api_as

pytestmark = pytest.mark.django_db

DEPRECATION = f"@{int(UNVERSIONED_DEPRECATED_AT.timestamp())}"



def test_the_apis_names_reverse_to_v1(lead):
    assert reverse("api:lead-list") == "/api/v1/leads"
    assert reverse("api:lead-detail", args=[lead.pk]) == f"/api/v1/leads/{lead.pk}"
    assert reverse("api-compliance-check") == "/api/v1/compliance/check"
    assert reverse("api-lead-source-post") == "/api/v1/lead-sources/leads"
    assert reverse("api-lead-source-upsert", args=["x-1"]) == "/api/v1/lead-sources/leads/x-1"
    # the schema and its page stay where clients and the docs link to them
    assert (reverse("api-schema"), reverse("api-docs")) == ("/api/schema/", "/api/docs/")


def test_every_v1_path_has_its_unversioned_alias_on_the_same_view(lead):
    v1 = {name for name in get_resolver().reverse_dict if isinstance(name, str) and name.startswith("api")}
    aliases = get_resolver().namespace_dict[UNVERSIONED_NAMESPACE][1].reverse_dict
    names = get_resolver().namespace_dict["api"][1].reverse_dict
    router_names = {name for name in names if isinstance(name, str)}
    assert router_names and router_names <= {name for name in aliases if isinstance(name, str)}
    assert {"api-compliance-check", "api-lead-source-post", "api-lead-source-upsert"} <= v1
    path = reverse("api:lead-detail", args=[lead.pk])
    assert resolve(path).func.cls is resolve(path.replace("/api/v1/", "/api/") + "/").func.cls
    assert reverse(f"{UNVERSIONED_NAMESPACE}:lead-detail", args=[lead.pk]) == f"/api/leads/{lead.pk}/"


def test_the_unversioned_path_answers_the_same_and_names_its_successor(lead, agent):
    client = api_as(agent)
    old, current = client.get(f"/api/leads/{lead.pk}/"), client.get(f"/api/v1/leads/{lead.pk}/")
    assert old.status_code == current.status_code == 200 and old.json() == current.json()
    assert "Deprecation" not in current and "Link" not in current and "Sunset" not in current
    assert old["Deprecation"] == DEPRECATION
    assert old["Link"] == f'</api/v1/leads/{lead.pk}>; rel="successor-version"'
    assert "Sunset" not in old  # no date chosen yet


def test_writes_and_refusals_through_the_unversioned_paths_are_marked_too(lead, other_lead, agent):
    client = api_as(agent)
    check = {"lead": lead.pk, "channel": "call", "phone": lead.contacts.first().phones.first().pk,
             "purpose": "short_sale_listing"}
    response = client.post("/api/compliance/check/", check, format="json")
    assert response.status_code == 200 and response["Deprecation"] == DEPRECATION
    assert response["Link"] == '</api/v1/compliance/check>; rel="successor-version"'
    refused = client.get(f"/api/leads/{other_lead.pk}/")
    assert refused.status_code == 404 and refused["Link"] == f'</api/v1/leads/{other_lead.pk}>; rel="successor-version"'
    source = APIClient().post("/api/lead-sources/leads/", {}, format="json")
    assert source.status_code == 401 and source["Deprecation"] == DEPRECATION


def test_the_schema_lists_v1_alone_with_unique_operation_ids(client):
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = set(schema["paths"])
    assert "/api/v1/leads/{id}" in paths and "/api/v1/lead-sources/leads" in paths
    assert all(path.startswith("/api/v1/") for path in paths), sorted(paths)
    ids = Counter(operation["operationId"] for item in schema["paths"].values()
                  for operation in item.values() if isinstance(operation, dict) and "operationId" in operation)
    assert ids and max(ids.values()) == 1, [name for name, count in ids.items() if count > 1]
    # the ids and tags read as before the version came into the paths
    assert "leads_list" in ids and "lead_sources_leads_create" in ids
