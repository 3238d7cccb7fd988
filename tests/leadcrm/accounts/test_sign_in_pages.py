"""The sign-in pages as a person meets them: django-otp's own wait said as a wait, codes and
keys shown once without a reload making new ones, words that fit the step, and a header
with nothing to click but "Sign out" while the second factor is owed
(docs/security.md#second-factor)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from leadcrm.accounts.tokens import ApiToken

from ...helpers import force_login_password_only
from ..factories import PASSWORD, AgentFactory, BrokerFactory, UserFactory
from .test_two_factor import ADDRESS, code_of, set_up, sign_in

pytestmark = pytest.mark.django_db

CODES = r'<code class="fs-5">(\w+)</code>'


def wrong_code(device) -> str:
    return "000000" if code_of(device) != "000000" else "111111"


@pytest.fixture
def broker(db):
    return BrokerFactory(username="dana")


@pytest.fixture
def enrolled(broker):
    """The broker with the app and recovery codes set up; a fresh client at the code page."""
    first = Client()
    sign_in(first, broker)
    device, codes = set_up(first, broker)
    client = Client()
    sign_in(client, broker)
    return client, device, codes


def test_the_right_code_during_django_otps_wait_is_told_to_wait_and_is_not_counted(enrolled, settings):
    client, device, _codes = enrolled
    now = timezone.now() + timedelta(minutes=1)
    for attempt in range(3):  # each outside the wait before it: 1, 2, then 4 seconds
        with time_machine.travel(now + timedelta(minutes=attempt), tick=False):
            wrong = client.post(reverse("two_factor"), {"code": wrong_code(device)}, REMOTE_ADDR=ADDRESS)
            assert "That code is not right" in wrong.content.decode()
    with time_machine.travel(now + timedelta(minutes=2), tick=False):
        for _again in range(settings.LEADCRM_LOGIN_CODE_FAILURES + 1):
            waiting = client.post(reverse("two_factor"), {"code": code_of(device)}, REMOTE_ADDR=ADDRESS)
            assert waiting.status_code == 429
            page = waiting.content.decode()
            assert "Wait 4 seconds before trying a code again." in page and "not right" not in page
        assert client.get(reverse("pipeline:dashboard")).status_code == 302
    with time_machine.travel(now + timedelta(minutes=3), tick=False):
        # Six waits did not count as wrong codes: no "Too many wrong codes" lock.
        response = client.post(reverse("two_factor"), {"code": code_of(device)}, REMOTE_ADDR=ADDRESS)
        assert response.status_code == 302
        assert client.get(reverse("pipeline:dashboard")).status_code == 200


def test_a_recovery_code_is_not_held_up_by_the_apps_wait(enrolled):
    client, device, codes = enrolled
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False):
        client.post(reverse("two_factor"), {"code": wrong_code(device)}, REMOTE_ADDR=ADDRESS)
        assert client.post(reverse("two_factor"), {"code": code_of(device)}, REMOTE_ADDR=ADDRESS).status_code == 429
        response = client.post(reverse("two_factor"), {"code": codes[0]}, REMOTE_ADDR=ADDRESS)
        assert response.status_code == 302
        assert client.get(reverse("pipeline:dashboard")).status_code == 200


def test_a_wrong_code_while_setting_up_waits_too_and_speaks_of_no_recovery_codes(broker, settings):
    settings.LEADCRM_LOGIN_CODE_FAILURES = 2
    client = Client()
    sign_in(client, broker)
    client.get(reverse("two_factor_setup"))
    device = TOTPDevice.objects.get(user=broker, confirmed=False)
    now = timezone.now() + timedelta(minutes=1)
    with time_machine.travel(now, tick=False):
        wrong = client.post(reverse("two_factor_setup"), {"code": wrong_code(device)}, REMOTE_ADDR=ADDRESS)
        page = wrong.content.decode()
        assert wrong.status_code == 200 and "That code is not right" in page
        assert "recovery code" not in page.split("<form")[1]
        waiting = client.post(reverse("two_factor_setup"), {"code": code_of(device)}, REMOTE_ADDR=ADDRESS)
        assert waiting.status_code == 429 and "Wait 1 second before trying a code again." in waiting.content.decode()
    with time_machine.travel(now + timedelta(minutes=1), tick=False):
        client.post(reverse("two_factor_setup"), {"code": wrong_code(device)}, REMOTE_ADDR=ADDRESS)
    with time_machine.travel(now + timedelta(minutes=2), tick=False):
        locked = client.post(reverse("two_factor_setup"), {"code": code_of(device)}, REMOTE_ADDR=ADDRESS)
        page = locked.content.decode()
        assert locked.status_code == 429 and "Too many wrong codes" in page
        assert "recovery code" not in page.split("<form")[1] and "change your password" not in page


def test_reloading_the_recovery_codes_makes_none_and_counts_no_failure(broker):
    client = Client()
    sign_in(client, broker)
    _device, codes = set_up(client, broker)  # the POST redirected; its GET showed them
    assert len(codes) == 10
    reload = client.get(reverse("two_factor_recovery_codes"))
    page = reload.content.decode()
    assert reload.status_code == 200 and re.findall(CODES, page) == []
    assert "shown once" in page and "not right" not in page
    assert set(StaticToken.objects.filter(device__user=broker).values_list("token", flat=True)) == set(codes)
    assert client.get(reverse("pipeline:dashboard")).status_code == 200

    made = client.post(reverse("two_factor_recovery_codes"))
    assert made.status_code == 302 and made["Location"] == reverse("two_factor_recovery_codes")
    new_codes = re.findall(CODES, client.get(made["Location"]).content.decode())
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert re.findall(CODES, client.get(made["Location"]).content.decode()) == []
    assert set(StaticToken.objects.filter(device__user=broker).values_list("token", flat=True)) == set(new_codes)


def test_reloading_the_settings_page_after_a_new_api_token_keeps_that_token(client_as):
    agent = AgentFactory()
    client = client_as(agent)
    made = client.post(reverse("pipeline:my_settings"), {"action": "api_token_new", "token-name": "My script",
                                                         "token-scopes": ["read"], "token-expires": "30"})
    assert made.status_code == 302 and made["Location"] == reverse("pipeline:my_settings") + "#api-tokens"
    page = client.get(made["Location"]).content.decode()
    key = re.search(r'<code class="feed-url d-block mb-1" id="new-api-token">(\w+)</code>', page).group(1)
    again = client.get(reverse("pipeline:my_settings")).content.decode()
    assert key not in again and 'class="feed-url' not in again
    assert ApiToken.objects.filter(user=agent).count() == 1
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/leads/").status_code == 200


def test_reloading_after_a_new_calendar_address_makes_no_other(client_as):
    agent = AgentFactory()
    client = client_as(agent)
    made = client.post(reverse("pipeline:my_settings"), {"action": "calendar_new"})
    assert made.status_code == 302
    token = re.search(r"/calendar/([\w-]+)\.ics", client.get(made["Location"]).content.decode()).group(1)
    assert token not in client.get(reverse("pipeline:my_settings")).content.decode()
    assert Client().get(f"/calendar/{token}.ics").status_code == 200


def test_while_the_second_factor_is_owed_the_header_offers_only_sign_out(broker):
    client = Client()
    force_login_password_only(client, broker)
    for url in [reverse("two_factor_setup"), reverse("two_factor")]:
        page = client.get(url, follow=True).content.decode()
        header = page.split("<nav", 1)[1].split("</nav>", 1)[0]
        assert "Sign out" in header, url
        for link in [reverse("leads:list"), reverse("pipeline:notifications"), reverse("pipeline:my_settings"),
                     reverse("admin:index")]:
            assert f'href="{link}' not in header, (url, link)
    set_up(client, broker)
    header = client.get(reverse("pipeline:dashboard")).content.decode().split("<nav", 1)[1].split("</nav>", 1)[0]
    assert f'href="{reverse("leads:list")}"' in header and f'href="{reverse("pipeline:notifications")}"' in header


def test_the_key_to_type_by_hand_is_in_groups_of_four_and_an_agent_can_go_back(client_as):
    agent = AgentFactory()
    page = client_as(agent).get(reverse("two_factor_setup")).content.decode()
    key = re.search(r'<code class="user-select-all">([A-Z2-7 ]+)</code>', page).group(1)
    assert all(len(group) == 4 for group in key.split(" ")) and len(key.replace(" ", "")) == 32
    assert "Back to settings" in page and f'href="{reverse("pipeline:my_settings")}#sign-in"' in page


def test_a_broker_setting_it_up_gets_no_way_round_it(broker):
    client = Client()
    force_login_password_only(client, broker)
    assert "Back to settings" not in client.get(reverse("two_factor_setup")).content.decode()


def test_a_wrong_password_is_told_in_the_apps_words():
    agent = AgentFactory()
    page = Client().post(reverse("login"), {"username": agent.username, "password": PASSWORD + "x"},
                         REMOTE_ADDR=ADDRESS).content.decode()
    assert "That username and password do not match. Check Caps Lock, or reset your password." in page
    assert "Please enter a correct" not in page


def test_a_used_reset_link_is_headed_as_such():
    page = Client().get(reverse("password_reset_confirm", kwargs={"uidb64": "MQ", "token": "used-link"}),
                        follow=True)
    assert page.status_code == 404
    assert "<h1 class=\"h3 mt-2 mb-1\">This link has expired or was used</h1>" in page.content.decode()
    assert "Choose a new password" not in page.content.decode()


def test_the_admins_users_list_heads_the_name_column_name():
    superuser = UserFactory(is_superuser=True, is_staff=True)
    client = Client()
    client.force_login(superuser)
    page = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    assert "Get full name" not in page
    assert re.search(r'<th scope="col" class="[^"]*column-full_name[^"]*">.*?Name', page, re.S)
