"""Failed sign-ins lock a (username, address) pair and an address, and only slow a username:
nobody can lock someone else's account (docs/security.md#signing-in)."""

import logging
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from leadcrm.accounts.throttle import LOGIN_THROTTLED, USERNAME_SLOWED, client_address

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


def test_five_failures_stop_the_pair_even_with_the_right_password(user, caplog):
    client = Client()
    with caplog.at_level(logging.WARNING, logger="leadcrm.accounts.throttle"):
        fail(client, "ana", 5)
    assert "Sign-in throttled: 5 failures for username 'ana' from 203.0.113.5" in caplog.text
    response = sign_in(client, "ana", PASSWORD)
    assert response.status_code == 429
    assert THROTTLED_START in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_five_failures_from_one_address_leave_the_owner_free_elsewhere(user):
    """Before: five wrong passwords from anywhere locked the username for everyone (429)."""
    fail(Client(), "ana", 5, address="192.0.2.66")
    client = Client()
    assert sign_in(client, "ana", PASSWORD, address="203.0.113.5").status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_fifty_failures_for_the_broker_from_ten_addresses_only_slow_the_username():
    """The finding: before, these locked the broker out for 15 minutes from everywhere, and
    repeating kept it locked (429 with the right password from a fresh address). Now the
    guesses are paced (most of the fifty refused unchecked), and the broker waits at most
    the cap from a fresh address, and not at all from one they signed in from before."""
    broker = BrokerFactory(username="broker")
    assert sign_in(Client(), "broker", PASSWORD, address="198.51.100.200").status_code == 302  # the office
    statuses = []
    for attempt in range(50):
        statuses.append(sign_in(Client(), "broker", "wrong", address=f"192.0.2.{attempt % 10}").status_code)
    assert set(statuses) <= {200, 429}
    # the first ten were checked, then the pace began: the rest came too fast to be checked
    assert 10 <= statuses.count(200) < 20

    office = Client()
    assert sign_in(office, "broker", PASSWORD, address="198.51.100.200").status_code == 302
    assert office.session["_auth_user_id"] == str(broker.pk)

    fresh = Client()
    response = sign_in(fresh, "broker", PASSWORD, address="203.0.113.77")
    if response.status_code == 429:  # a wait of seconds, said in plain words: never a lock
        assert USERNAME_SLOWED.split(".")[0] in response.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=31)):
        assert sign_in(fresh, "broker", PASSWORD, address="203.0.113.77").status_code == 302
        assert fresh.session["_auth_user_id"] == str(broker.pk)


def test_a_paced_username_is_refused_unchecked_and_refusals_do_not_count(user, settings):
    settings.LEADCRM_LOGIN_USERNAME_FREE_FAILURES = 2
    # The clock stands still: on a busy machine twenty requests can outlast the one-second
    # wait, and a guess made after it is checked (and counted), as it should be.
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for index in range(3):
            assert sign_in(Client(), "ana", "wrong", address=f"192.0.2.{index}").status_code == 200
        # the third failure put a one-second delay on the username: refused, not checked
        response = sign_in(Client(), "ana", "wrong", address="192.0.2.50")
        assert response.status_code == 429
        assert "Wait 1 seconds" in response.content.decode()
        for _ in range(20):  # refused guesses add nothing to the wait
            assert sign_in(Client(), "ana", "wrong", address="192.0.2.51").status_code == 429
        clock.shift(timedelta(seconds=2))
        assert sign_in(Client(), "ana", PASSWORD, address="192.0.2.52").status_code == 302


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


def test_the_username_is_counted_whatever_its_case(user):
    client = Client()
    for spelling in ["ana", "ANA", "Ana ", "aNa", "ana"]:
        sign_in(client, spelling, "wrong", address="198.51.100.1")
    assert sign_in(client, "ana", PASSWORD, address="198.51.100.1").status_code == 429


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
