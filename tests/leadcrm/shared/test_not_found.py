"""Under ``make run`` (the local settings, DEBUG on) a mistyped address or a lead that is
not yours shows the app's own "Not found" page, not Django's technical 404 listing the
site's URL patterns; a real error still shows Django's debug page to the developer."""

import json

import pytest
from django.http import Http404
from django.test import Client
from django.urls import include, path, reverse

from ..test_settings import settings_in_subprocess

pytestmark = pytest.mark.django_db

TECHNICAL_404 = "Using the URLconf defined in"
APP_404 = "This page does not exist, or it is not one you have access to."


def boom(request):
    raise RuntimeError("a real bug")


def missing(request):
    raise Http404("No Lead matches the given query.")


# This module is the URLconf of the tests below: the site's, plus a page that fails.
urlpatterns = [path("boom/", boom), path("missing/", missing), path("", include("leadcrm.urls"))]
handler404 = "leadcrm.urls.not_found"


def local_middleware(**environ) -> list[str]:
    result = settings_in_subprocess("leadcrm.settings.local", "__import__('json').dumps(settings.MIDDLEWARE)",
                                    **environ)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def make_run(settings):
    """The request handling of ``make run``: DEBUG on, the local settings' middleware."""
    settings.DEBUG = True
    settings.MIDDLEWARE = local_middleware()
    settings.ROOT_URLCONF = __name__


@pytest.mark.slow
def test_make_run_shows_the_apps_404_for_a_mistyped_address(make_run, agent, client_as):
    response = client_as(agent).get("/leads/nosuchpage/")
    content = response.content.decode()
    assert response.status_code == 404
    assert APP_404 in content and TECHNICAL_404 not in content
    assert "Ana Torres" in content  # the app's page, with its menu, for the person signed in


@pytest.mark.slow
def test_make_run_shows_the_apps_404_for_a_lead_you_may_not_see(make_run, other_lead, agent, client_as):
    response = client_as(agent).get(reverse("leads:detail", args=[other_lead.pk]))
    content = response.content.decode()
    assert response.status_code == 404 and APP_404 in content and "No Lead matches" not in content
    assert APP_404 in client_as(agent).get("/missing/").content.decode()


@pytest.mark.slow
def test_make_run_keeps_the_api_404_in_json_and_the_trailing_slash_redirect(make_run, agent, client_as):
    client = client_as(agent)
    assert client.get("/api/nothing-here/").json()["detail"] == "Not found."
    response = client.get("/leads")
    assert (response.status_code, response["Location"]) == (301, "/leads/")


@pytest.mark.slow
def test_make_run_keeps_djangos_debug_page_for_a_real_error(make_run, agent):
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "RuntimeError" in response.content.decode() and "a real bug" in response.content.decode()


@pytest.mark.slow
def test_a_developer_can_ask_for_djangos_technical_404_back():
    assert "leadcrm.shared.not_found.AppNotFoundMiddleware" in local_middleware()
    assert "leadcrm.shared.not_found.AppNotFoundMiddleware" not in local_middleware(LEADCRM_TECHNICAL_404="true")
    assert "leadcrm.shared.not_found.AppNotFoundMiddleware" not in local_middleware(DJANGO_DEBUG="false")
