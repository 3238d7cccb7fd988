"""Failed sign-ins are throttled per username and per address, on every sign-in page."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from leadcrm.accounts.throttle import LOGIN_THROTTLED, client_address

from ..factories import PASSWORD, AgentFactory, BrokerFactory

pytestmark = pytest.mark.django_db

THROTTLED_START = LOGIN_THROTTLED.split(".")[0]


def sign_in(client, username, password, url=None, address="203.0.113.5"):
    return client.post(url or reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=address)


def fail(client, username, times, **kwargs):
    for _ in range(times):
        response = sign_in(client, username, "wrong-password", **kwargs)
        assert response.status_code == 200, response.status_code


@pytest.fixture
def user(db):
    return AgentFactory(username="ana")


def test_five_failures_stop_the_username_even_with_the_right_password(user, caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="leadcrm.accounts.throttle"):
        fail(client, "ana", 5)
    assert "Sign-in throttled: 5 failures for username 'ana'" in caplog.text
    response = sign_in(client, "ana", PASSWORD)
    assert response.status_code == 429
    assert THROTTLED_START in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_four_failures_still_let_the_right_password_in(user):
    client = Client()
    fail(client, "ana", 4)
    response = sign_in(client, "ana", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_the_username_is_free_again_once_the_window_has_passed(user):
    client = Client()
    fail(client, "ana", 5)
    assert sign_in(client, "ana", PASSWORD).status_code == 429
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert sign_in(Client(), "ana", PASSWORD).status_code == 302


def test_a_successful_sign_in_clears_the_usernames_count(user):
    fail(Client(), "ana", 4)
    assert sign_in(Client(), "ana", PASSWORD).status_code == 302
    fail(Client(), "ana", 4)  # four more: the earlier four no longer count
    assert sign_in(Client(), "ana", PASSWORD).status_code == 302


def test_the_username_is_counted_whatever_its_case_and_from_any_address(user):
    client = Client()
    for index, spelling in enumerate(["ana", "ANA", "Ana ", "aNa", "ana"]):
        sign_in(client, spelling, "wrong", address=f"198.51.100.{index}")
    assert sign_in(client, "ana", PASSWORD, address="198.51.100.99").status_code == 429


def test_an_address_that_fails_for_many_usernames_is_stopped_for_all(user, settings):
    client = Client()
    for index in range(settings.LEADCRM_LOGIN_FAILURES_PER_ADDRESS):
        sign_in(client, f"guess{index}", "wrong", address="192.0.2.7")
    assert sign_in(client, "ana", PASSWORD, address="192.0.2.7").status_code == 429
    assert sign_in(Client(), "ana", PASSWORD, address="192.0.2.8").status_code == 302


def test_the_admins_sign_in_is_throttled_too_and_shares_the_count():
    broker = BrokerFactory(username="dana")
    client = Client()
    admin_login = reverse("admin:login")
    fail(client, "dana", 3, url=admin_login)
    fail(client, "dana", 2)  # the two pages count together
    response = sign_in(client, "dana", PASSWORD, url=admin_login)
    assert THROTTLED_START in response.content.decode()
    assert "_auth_user_id" not in client.session
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert sign_in(client, "dana", PASSWORD, url=admin_login).status_code == 302
    assert client.session["_auth_user_id"] == str(broker.pk)


def test_any_password_check_is_refused_while_throttled(user):
    """authenticate() itself refuses: a sign-in path added later is throttled too."""
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        assert authenticate(request, username="ana", password="wrong") is None
    assert authenticate(request, username="ana", password=PASSWORD) is None


def test_the_api_takes_no_passwords(settings):
    """Tokens are made on the settings page: no API endpoint checks a password (and any
    that did would go through authenticate(), throttled above)."""
    from rest_framework.authtoken.views import ObtainAuthToken

    from ..test_url_walk import discover

    views = {getattr(route.callback, "cls", None) or getattr(route.callback, "view_class", None)
             for route in discover()}
    assert not any(isinstance(view, type) and issubclass(view, ObtainAuthToken) for view in views)
    assert "rest_framework.authentication.BasicAuthentication" not in settings.REST_FRAMEWORK[
        "DEFAULT_AUTHENTICATION_CLASSES"]


def test_behind_a_proxy_the_clients_address_is_the_one_the_proxy_saw(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    settings.LEADCRM_TRUSTED_PROXIES = 0
    assert client_address(request) == "10.0.0.2"
    settings.LEADCRM_TRUSTED_PROXIES = 1  # the client may forge the left part, never the proxy's entry
    assert client_address(request) == "203.0.113.5"
    settings.LEADCRM_TRUSTED_PROXIES = 2
    assert client_address(request) == "6.6.6.6"


def test_the_sign_in_page_says_why_it_refuses(user):
    client = Client()
    fail(client, "ana", 5)
    page = sign_in(client, "ana", "wrong").content.decode()
    assert "Wait 15 minutes" in page
    assert "Please enter a correct" not in page
